//! JSON shapes of Okta objects, with the field names and nesting of Okta's published schemas
//! (LogEvent, User, Group, Application, AppUser, ApplicationGroupAssignment, IdentityProvider,
//! NetworkZone, OAuth client). Realistic sizes matter: a System Log event is 2–4 KB.

use chrono::{DateTime, SecondsFormat, Utc};
use rand::RngExt;
use serde_json::{Value, json};

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

const CITIES: &[(&str, &str, &str, &str, f64, f64)] = &[
    (
        "Seattle",
        "Washington",
        "United States",
        "98101",
        47.6062,
        -122.3321,
    ),
    ("Dublin", "Leinster", "Ireland", "D02", 53.3498, -6.2603),
    ("Berlin", "Land Berlin", "Germany", "10115", 52.52, 13.405),
    (
        "Sydney",
        "New South Wales",
        "Australia",
        "2000",
        -33.8688,
        151.2093,
    ),
    ("Toronto", "Ontario", "Canada", "M5H", 43.6532, -79.3832),
];

const AGENTS: &[(&str, &str, &str)] = &[
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
        "Mac OS X",
        "SAFARI",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Windows 10",
        "CHROME",
    ),
    (
        "okta-sdk-java/20.0.0 java/21.0.2 Linux/6.1",
        "Linux",
        "UNKNOWN",
    ),
];

/// What a log event is about.
pub struct EventSpec<'a> {
    pub uuid: &'a str,
    pub published: DateTime<Utc>,
    pub event_type: &'a str,
    pub display_message: &'a str,
    pub actor: Value,
    pub targets: Vec<Value>,
    pub outcome: &'a str,
}

pub fn actor_user(id: &str, login: &str, name: &str) -> Value {
    json!({"id": id, "type": "User", "alternateId": login, "displayName": name, "detailEntry": null})
}

pub fn target(id: &str, kind: &str, alternate: &str, name: &str) -> Value {
    json!({"id": id, "type": kind, "alternateId": alternate, "displayName": name, "detailEntry": null})
}

/// A System Log event.
pub fn log_event(rng: &mut impl rand::Rng, spec: EventSpec<'_>) -> Value {
    let (city, state, country, postal, lat, lon) = CITIES[rng.random_range(0..CITIES.len())];
    let (agent, os, browser) = AGENTS[rng.random_range(0..AGENTS.len())];
    let ip = format!(
        "198.51.{}.{}",
        rng.random_range(0..255u8),
        rng.random_range(1..255u8)
    );
    let geo = json!({"city": city, "state": state, "country": country, "postalCode": postal,
        "geolocation": {"lat": lat, "lon": lon}});
    let request_id = crate::ids::seeded(rng, "aZ");
    json!({
        "actor": spec.actor,
        "client": {
            "userAgent": {"rawUserAgent": agent, "os": os, "browser": browser},
            "zone": "null",
            "device": "Computer",
            "id": null,
            "ipAddress": ip,
            "geographicalContext": geo,
        },
        "device": null,
        "authenticationContext": {
            "authenticationProvider": null, "credentialProvider": null, "credentialType": null,
            "issuer": null, "interface": null, "authenticationStep": 0,
            "externalSessionId": crate::ids::seeded(rng, "102"),
        },
        "displayMessage": spec.display_message,
        "eventType": spec.event_type,
        "outcome": {"result": spec.outcome, "reason": null},
        "published": ts(spec.published),
        "securityContext": {"asNumber": 64496, "asOrg": "example networks", "isp": "example isp",
            "domain": "example.net", "isProxy": false},
        "severity": if spec.outcome == "SUCCESS" { "INFO" } else { "WARN" },
        "debugContext": {"debugData": {
            "requestId": request_id,
            "requestUri": "/idp/idx/identify",
            "url": "/idp/idx/identify?",
            "dtHash": format!("{:064x}", rng.random::<u128>()),
            "threatSuspected": "false",
        }},
        "legacyEventType": null,
        "transaction": {"type": "WEB", "id": request_id, "detail": {}},
        "uuid": spec.uuid,
        "version": "0",
        "request": {"ipChain": [{"ip": ip, "geographicalContext": geo, "version": "V4", "source": null}]},
        "target": if spec.targets.is_empty() { Value::Null } else { Value::Array(spec.targets) },
    })
}

pub fn user(
    base: &str,
    id: &str,
    first: &str,
    last: &str,
    status: &str,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
) -> Value {
    let login = format!(
        "{}.{}@example.com",
        first.to_lowercase(),
        last.to_lowercase()
    );
    json!({
        "id": id,
        "status": status,
        "created": ts(created),
        "activated": ts(created),
        "statusChanged": ts(created),
        "lastLogin": ts(updated),
        "lastUpdated": ts(updated),
        "passwordChanged": ts(created),
        "type": {"id": "oty1sim0000000000000"},
        "profile": {"firstName": first, "lastName": last, "mobilePhone": null, "secondEmail": null,
            "login": login, "email": login},
        "credentials": {"password": {}, "emails": [{"value": login, "status": "VERIFIED", "type": "PRIMARY"}],
            "provider": {"type": "OKTA", "name": "OKTA"}},
        "_links": {"self": {"href": format!("{base}/api/v1/users/{id}")}},
    })
}

pub fn group(
    base: &str,
    id: &str,
    name: &str,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
) -> Value {
    json!({
        "id": id,
        "created": ts(created),
        "lastUpdated": ts(updated),
        "lastMembershipUpdated": ts(updated),
        "objectClass": ["okta:user_group"],
        "type": "OKTA_GROUP",
        "profile": {"name": name, "description": format!("{name} (simulated)")},
        "_links": {
            "logo": [{"name": "medium", "href": "https://ok12static.oktacdn.com/assets/img/logos/groups/okta-medium.png", "type": "image/png"}],
            "users": {"href": format!("{base}/api/v1/groups/{id}/users")},
            "apps": {"href": format!("{base}/api/v1/groups/{id}/apps")},
        },
    })
}

pub fn app(
    base: &str,
    id: &str,
    label: &str,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
) -> Value {
    json!({
        "id": id,
        "name": format!("sim_{}", label.to_lowercase().replace(' ', "_")),
        "label": label,
        "status": "ACTIVE",
        "lastUpdated": ts(updated),
        "created": ts(created),
        "accessibility": {"selfService": false, "errorRedirectUrl": null, "loginRedirectUrl": null},
        "visibility": {"autoSubmitToolbar": false, "hide": {"iOS": false, "web": false}},
        "features": [],
        "signOnMode": "SAML_2_0",
        "credentials": {"userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"}, "signing": {"kid": "sim-signing-key"}},
        "settings": {"app": {}, "notifications": {"vpn": {"network": {"connection": "DISABLED"}}}},
        "_links": {
            "users": {"href": format!("{base}/api/v1/apps/{id}/users")},
            "groups": {"href": format!("{base}/api/v1/apps/{id}/groups")},
            "self": {"href": format!("{base}/api/v1/apps/{id}")},
        },
    })
}

pub fn app_user(base: &str, app_id: &str, user: &Value, at: DateTime<Utc>) -> Value {
    let id = user["id"].as_str().unwrap_or_default();
    json!({
        "id": id,
        "externalId": null,
        "created": ts(at),
        "lastUpdated": ts(at),
        "scope": "USER",
        "status": "PROVISIONED",
        "statusChanged": ts(at),
        "passwordChanged": null,
        "syncState": "DISABLED",
        "credentials": {"userName": user["profile"]["login"]},
        "profile": {},
        "_links": {"app": {"href": format!("{base}/api/v1/apps/{app_id}")}, "user": {"href": format!("{base}/api/v1/users/{id}")}},
    })
}

pub fn app_group(
    base: &str,
    app_id: &str,
    group_id: &str,
    priority: usize,
    at: DateTime<Utc>,
) -> Value {
    json!({
        "id": group_id,
        "lastUpdated": ts(at),
        "priority": priority,
        "profile": {},
        "_links": {"app": {"href": format!("{base}/api/v1/apps/{app_id}")}, "group": {"href": format!("{base}/api/v1/groups/{group_id}")}},
    })
}

pub fn idp(id: &str, name: &str, at: DateTime<Utc>) -> Value {
    json!({
        "id": id, "type": "SAML2", "issuerMode": "ORG_URL", "name": name, "status": "ACTIVE",
        "created": ts(at), "lastUpdated": ts(at),
        "protocol": {"type": "SAML2", "endpoints": {"sso": {"url": "https://idp.example.com/sso", "binding": "HTTP-POST"}}},
        "policy": {"provisioning": {"action": "AUTO"}, "maxClockSkew": 120000},
    })
}

pub fn zone(id: &str, name: &str, at: DateTime<Utc>) -> Value {
    json!({
        "type": "IP", "id": id, "name": name, "status": "ACTIVE", "usage": "POLICY", "system": false,
        "created": ts(at), "lastUpdated": ts(at),
        "gateways": [{"type": "CIDR", "value": "203.0.113.0/24"}], "proxies": null,
    })
}

pub fn oauth_client(base: &str, id: &str, name: &str) -> Value {
    json!({
        "client_id": id, "client_name": name, "client_uri": null, "logo_uri": null,
        "application_type": "service", "redirect_uris": [], "response_types": ["token"],
        "grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt",
        "_links": {"app": {"href": format!("{base}/api/v1/apps/{id}")}},
    })
}
