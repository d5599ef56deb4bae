//! JSON shapes of the identity-context objects, with the field names and nesting of Okta's
//! published schemas (StandardRole / CustomRole assignments, RoleAssignedUser, IamRole,
//! ResourceSet, UserFactor, Authenticator, Device, DeviceUser, Policy, PolicyRule,
//! AuthorizationServer with its policies, scopes and claims, GroupRule, UserType,
//! BehaviorRule, TrustedOrigin, ApiToken, EventHook, InlineHook, LogStream, ProfileMapping).

use crate::shapes::ts;
use crate::store::Store;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// `RoleAssignedUser`: every user holding a role in `user_roles`, as Okta lists them.
pub fn admin_users(store: &Store) -> Vec<(String, Value)> {
    store
        .context
        .get("user_roles")
        .into_iter()
        .flat_map(|by_user| by_user.iter())
        .filter(|(user, roles)| !roles.is_empty() && store.users.contains_key(*user))
        .map(|(user, _)| {
            let base = &store.base_url;
            (
                user.clone(),
                json!({
                    "id": user,
                    "orn": format!("orn:okta:directory:00o1sim:users:{user}"),
                    "_links": {"self": {"href": format!("{base}/api/v1/users/{user}")},
                               "roles": {"href": format!("{base}/api/v1/users/{user}/roles")}},
                }),
            )
        })
        .collect()
}

/// A standard role assigned to a user or a group.
pub fn standard_role(
    id: &str,
    role: &str,
    label: &str,
    assignment: &str,
    at: DateTime<Utc>,
) -> Value {
    json!({
        "id": id, "label": label, "type": role, "status": "ACTIVE",
        "created": ts(at), "lastUpdated": ts(at), "assignmentType": assignment,
        "_links": {"assignee": {"href": "https://example.okta.com/api/v1/users"}},
    })
}

/// A custom role bound to a resource set, assigned to a user.
pub fn custom_role_assignment(
    id: &str,
    role: &str,
    resource_set: &str,
    at: DateTime<Utc>,
) -> Value {
    json!({
        "id": id, "label": "Help desk", "type": "CUSTOM", "status": "ACTIVE",
        "created": ts(at), "lastUpdated": ts(at), "assignmentType": "USER",
        "resource-set": resource_set, "role": role,
        "_links": {"role": {"href": format!("https://example.okta.com/api/v1/iam/roles/{role}")}},
    })
}

pub fn custom_role(id: &str, label: &str, at: DateTime<Utc>) -> Value {
    json!({
        "id": id, "label": label, "description": format!("{label} (simulated)"),
        "created": ts(at), "lastUpdated": ts(at),
        "_links": {"permissions": {"href": format!("https://example.okta.com/api/v1/iam/roles/{id}/permissions")}},
    })
}

pub fn resource_set(id: &str, label: &str, at: DateTime<Utc>) -> Value {
    json!({
        "id": id, "label": label, "description": format!("{label} (simulated)"),
        "created": ts(at), "lastUpdated": ts(at),
        "_links": {"resources": {"href": format!("https://example.okta.com/api/v1/iam/resource-sets/{id}/resources")}},
    })
}

pub fn factor(id: &str, kind: usize, login: &str, at: DateTime<Utc>) -> Value {
    match kind % 2 {
        0 => json!({
            "id": id, "factorType": "token:software:totp", "provider": "GOOGLE",
            "vendorName": "GOOGLE", "status": "ACTIVE", "created": ts(at), "lastUpdated": ts(at),
            "profile": {"credentialId": login},
        }),
        _ => json!({
            "id": id, "factorType": "push", "provider": "OKTA", "vendorName": "OKTA",
            "status": "ACTIVE", "created": ts(at), "lastUpdated": ts(at),
            "profile": {"credentialId": login, "deviceType": "SmartPhone_IPhone",
                        "name": "iPhone", "platform": "IOS", "version": "17.1"},
        }),
    }
}

pub fn authenticator(id: &str, key: &str, name: &str, at: DateTime<Utc>) -> Value {
    json!({
        "type": if key == "okta_password" { "password" } else { "app" },
        "id": id, "key": key, "status": "ACTIVE", "name": name,
        "created": ts(at), "lastUpdated": ts(at), "settings": {},
    })
}

pub fn device(id: &str, i: usize, at: DateTime<Utc>) -> Value {
    let (platform, manufacturer, model, os) = [
        ("MACOS", "APPLE", "MacBookPro18,3", "14.1.0"),
        ("WINDOWS", "LENOVO", "ThinkPad X1", "10.0.22631"),
        ("IOS", "APPLE", "iPhone15,2", "17.1"),
    ][i % 3];
    json!({
        "id": id, "status": "ACTIVE", "created": ts(at), "lastUpdated": ts(at),
        "profile": {"displayName": format!("Sim device {i}"), "platform": platform,
                    "manufacturer": manufacturer, "model": model, "osVersion": os,
                    "serialNumber": format!("SIM{i:08}"), "registered": true,
                    "secureHardwarePresent": true, "diskEncryptionType": "ALL_INTERNAL_VOLUMES"},
        "resourceId": id, "resourceDisplayName": {"value": format!("Sim device {i}"), "sensitive": false},
        "resourceType": "UDDevice",
    })
}

pub fn device_user(user: &Value, at: DateTime<Utc>) -> Value {
    json!({"created": ts(at), "managementStatus": "NOT_MANAGED", "screenLockType": "BIOMETRIC", "user": user})
}

pub fn policy(id: &str, kind: &str, i: usize, at: DateTime<Utc>) -> Value {
    json!({
        "id": id, "type": kind, "name": format!("{kind} policy {i}"), "status": "ACTIVE",
        "priority": i + 1, "system": i == 0, "created": ts(at), "lastUpdated": ts(at),
        "conditions": {"people": {"groups": {"include": ["EVERYONE"]}}},
    })
}

pub fn policy_rule(id: &str, i: usize, at: DateTime<Utc>) -> Value {
    json!({
        "id": id, "type": "SIGN_ON", "name": format!("Rule {i}"), "status": "ACTIVE",
        "priority": i + 1, "system": false, "created": ts(at), "lastUpdated": ts(at),
        "conditions": {"network": {"connection": "ANYWHERE"}},
        "actions": {"signon": {"access": "ALLOW", "requireFactor": i.is_multiple_of(2)}},
    })
}

pub fn authorization_server(base: &str, id: &str, name: &str, at: DateTime<Utc>) -> Value {
    json!({
        "id": id, "name": name, "description": format!("{name} (simulated)"),
        "audiences": [format!("api://{}", name.to_lowercase().replace(' ', "-"))],
        "issuer": format!("{base}/oauth2/{id}"), "issuerMode": "ORG_URL", "status": "ACTIVE",
        "created": ts(at), "lastUpdated": ts(at),
        "credentials": {"signing": {"rotationMode": "AUTO", "kid": "sim-as-key"}},
    })
}

pub fn auth_server_policy(id: &str, i: usize, at: DateTime<Utc>) -> Value {
    json!({
        "type": "OAUTH_AUTHORIZATION_POLICY", "id": id, "status": "ACTIVE",
        "name": format!("Access policy {i}"), "priority": i + 1, "system": false,
        "conditions": {"clients": {"include": ["ALL_CLIENTS"]}},
        "created": ts(at), "lastUpdated": ts(at),
    })
}

pub fn scope(id: &str, name: &str) -> Value {
    json!({"id": id, "name": name, "description": format!("{name} (simulated)"), "system": false,
           "metadataPublish": "NO_CLIENTS", "consent": "IMPLICIT", "default": false})
}

pub fn claim(id: &str, name: &str) -> Value {
    json!({"id": id, "name": name, "status": "ACTIVE", "claimType": "RESOURCE",
           "valueType": "EXPRESSION", "value": "user.email", "alwaysIncludeInToken": true,
           "system": false})
}

pub fn group_rule(id: &str, group: &str, i: usize, at: DateTime<Utc>) -> Value {
    json!({
        "type": "group_rule", "id": id, "status": "ACTIVE", "name": format!("Department rule {i}"),
        "created": ts(at), "lastUpdated": ts(at),
        "conditions": {"expression": {"value": format!("user.department==\"Dept {i}\""),
                                      "type": "urn:okta:expression:1.0"}},
        "actions": {"assignUserToGroups": {"groupIds": [group]}},
    })
}

pub fn user_type(id: &str, name: &str, at: DateTime<Utc>) -> Value {
    json!({
        "id": id, "displayName": name, "name": name.to_lowercase().replace(' ', "_"),
        "description": format!("{name} (simulated)"), "default": name == "User",
        "createdBy": "00uadmin000000000000", "lastUpdatedBy": "00uadmin000000000000",
        "created": ts(at), "lastUpdated": ts(at),
    })
}

pub fn behavior(id: &str, name: &str, kind: &str, at: DateTime<Utc>) -> Value {
    json!({
        "id": id, "name": name, "type": kind, "status": "ACTIVE",
        "settings": {"maxEventsUsedForEvaluation": 50}, "created": ts(at), "lastUpdated": ts(at),
    })
}

pub fn trusted_origin(id: &str, i: usize, at: DateTime<Utc>) -> Value {
    json!({
        "id": id, "name": format!("Portal {i}"), "origin": format!("https://portal{i}.example.com"),
        "scopes": [{"type": "CORS"}, {"type": "REDIRECT"}], "status": "ACTIVE",
        "created": ts(at), "createdBy": "00uadmin000000000000",
        "lastUpdated": ts(at), "lastUpdatedBy": "00uadmin000000000000",
    })
}

/// Okta lists a token's metadata only: there is no field for its value.
pub fn api_token(id: &str, i: usize, user: &str, at: DateTime<Utc>) -> Value {
    json!({
        "id": id, "name": format!("Integration token {i}"), "userId": user,
        "clientName": "Okta API", "network": {"connection": "ANYWHERE"}, "tokenWindow": "P30D",
        "created": ts(at), "lastUpdated": ts(at), "expiresAt": ts(at + chrono::Duration::days(30)),
    })
}

pub fn event_hook(id: &str, i: usize, at: DateTime<Utc>) -> Value {
    json!({
        "id": id, "status": "ACTIVE", "verificationStatus": "VERIFIED",
        "name": format!("Event hook {i}"),
        "events": {"type": "EVENT_TYPE", "items": ["user.lifecycle.create"]},
        "channel": {"type": "HTTP", "version": "1.0.0",
                    "config": {"uri": format!("https://hooks{i}.example.com/okta"), "headers": [],
                               "authScheme": {"type": "HEADER", "key": "Authorization"}}},
        "created": ts(at), "createdBy": "00uadmin000000000000", "lastUpdated": ts(at),
    })
}

pub fn inline_hook(id: &str, i: usize, at: DateTime<Utc>) -> Value {
    json!({
        "id": id, "status": "ACTIVE", "name": format!("Token hook {i}"),
        "type": "com.okta.oauth2.tokens.transform", "version": "1.0.0",
        "channel": {"type": "HTTP", "version": "1.0.0",
                    "config": {"uri": format!("https://inline{i}.example.com/okta"), "headers": [],
                               "method": "POST",
                               "authScheme": {"type": "HEADER", "key": "Authorization"}}},
        "created": ts(at), "lastUpdated": ts(at),
    })
}

pub fn log_stream(id: &str, i: usize, at: DateTime<Utc>) -> Value {
    json!({
        "id": id, "type": "aws_eventbridge", "name": format!("Log stream {i}"), "status": "ACTIVE",
        "settings": {"accountId": "123456789012", "eventSourceName": format!("okta-relay-{i}"),
                     "region": "us-east-1"},
        "created": ts(at), "lastUpdated": ts(at),
    })
}

pub fn mapping(id: &str, app: &str, user_type: &str) -> Value {
    json!({
        "id": id,
        "source": {"id": app, "name": "sim_app", "type": "appuser"},
        "target": {"id": user_type, "name": "user", "type": "user"},
    })
}
