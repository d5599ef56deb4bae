//! The identity context beyond the core directory: admin roles, factors, authenticators,
//! devices, policies, authorization servers, group rules, user types, behaviors, trusted
//! origins, API tokens, hooks, log streams and profile mappings. Each endpoint is data: its
//! path, scope, paging as Okta documents it (a `Link` header, a JSON envelope with
//! `_links.next` for `/api/v1/iam`, or one unpaged response), a required parameter, its parent,
//! and the System Log event Okta writes when one of its objects is deleted.

mod seed;
mod shapes;

pub use seed::seed;

use crate::api::{LinkBase, page_response};
use crate::errors::OktaError;
use crate::store::Store;
use axum::extract::OriginalUri;

use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// How an endpoint pages.
#[derive(Debug, Clone, Copy)]
pub enum Paging {
    /// A JSON array; `limit` and `after`, the next page in a `Link` header.
    Link { default: usize, max: usize },
    /// `{"<key>": [...], "_links": {"self", "next"}}`; `after`, and `limit` when `max` is set
    /// (otherwise Okta's own page size, `default`).
    Envelope {
        key: &'static str,
        default: usize,
        max: Option<usize>,
    },
    /// One unpaged JSON array.
    Whole,
}

/// What a collection's objects belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    Users,
    Groups,
    /// Another collection of this module.
    Of(&'static str),
}

/// Which side a System Log target names.
#[derive(Debug, Clone, Copy)]
pub enum Who {
    Object,
    Parent,
}

/// The System Log event of a deletion, with its targets.
#[derive(Debug, Clone, Copy)]
pub struct Deletion {
    pub event_type: &'static str,
    pub message: &'static str,
    pub targets: &'static [(Who, &'static str)],
}

/// One list endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// The store's name for the collection.
    pub name: &'static str,
    /// The route, with `{id}` for the parent.
    pub route: &'static str,
    pub scope: &'static str,
    pub paging: Paging,
    pub parent: Option<Parent>,
    /// A parameter Okta requires, matched against the object's field of the same name.
    pub required: Option<&'static str>,
    pub deletion: Option<Deletion>,
}

const fn ep(
    name: &'static str,
    route: &'static str,
    scope: &'static str,
    paging: Paging,
) -> Endpoint {
    Endpoint {
        name,
        route,
        scope,
        paging,
        parent: None,
        required: None,
        deletion: None,
    }
}

impl Endpoint {
    const fn under(self, parent: Parent) -> Self {
        Self {
            parent: Some(parent),
            ..self
        }
    }

    const fn requires(self, param: &'static str) -> Self {
        Self {
            required: Some(param),
            ..self
        }
    }

    const fn deleted_by(
        self,
        event_type: &'static str,
        message: &'static str,
        targets: &'static [(Who, &'static str)],
    ) -> Self {
        Self {
            deletion: Some(Deletion {
                event_type,
                message,
                targets,
            }),
            ..self
        }
    }
}

const LINK_20: Paging = Paging::Link {
    default: 20,
    max: 200,
};
const ROLES: &str = "okta.roles.read";
const POLICIES: &str = "okta.policies.read";
const AUTH_SERVERS: &str = "okta.authorizationServers.read";
const AS_PARENT: Parent = Parent::Of("authorization_servers");

/// Every endpoint, parents before children.
pub const ENDPOINTS: &[Endpoint] = &[
    // Derived: the users that hold a role in `user_roles` (never stored on its own).
    ep(
        "admin_users",
        "/api/v1/iam/assignees/users",
        ROLES,
        Paging::Envelope {
            key: "value",
            default: 100,
            max: Some(100),
        },
    ),
    ep(
        "user_roles",
        "/api/v1/users/{id}/roles",
        ROLES,
        Paging::Whole,
    )
    .under(Parent::Users)
    .deleted_by(
        "user.account.privilege.revoke",
        "User's admin privileges revoked",
        &[(Who::Parent, "User")],
    ),
    ep(
        "group_roles",
        "/api/v1/groups/{id}/roles",
        ROLES,
        Paging::Whole,
    )
    .under(Parent::Groups)
    .deleted_by(
        "group.privilege.revoke",
        "Group's admin privileges revoked",
        &[(Who::Parent, "UserGroup")],
    ),
    ep(
        "custom_roles",
        "/api/v1/iam/roles",
        ROLES,
        Paging::Envelope {
            key: "roles",
            default: 20,
            max: None,
        },
    )
    .deleted_by(
        "iam.role.delete",
        "Delete a custom role",
        &[(Who::Object, "CUSTOM_ROLE")],
    ),
    ep(
        "resource_sets",
        "/api/v1/iam/resource-sets",
        ROLES,
        Paging::Envelope {
            key: "resource-sets",
            default: 20,
            max: None,
        },
    )
    .deleted_by(
        "iam.resourceset.delete",
        "Delete a resource set",
        &[(Who::Object, "RESOURCE_SET")],
    ),
    ep(
        "user_factors",
        "/api/v1/users/{id}/factors",
        "okta.users.read",
        Paging::Whole,
    )
    .under(Parent::Users)
    .deleted_by(
        "user.mfa.factor.deactivate",
        "Reset factor for user",
        &[(Who::Parent, "User")],
    ),
    ep(
        "authenticators",
        "/api/v1/authenticators",
        "okta.authenticators.read",
        Paging::Whole,
    ),
    ep(
        "devices",
        "/api/v1/devices",
        "okta.devices.read",
        Paging::Link {
            default: 200,
            max: 200,
        },
    )
    .deleted_by(
        "device.lifecycle.delete",
        "Delete device",
        &[(Who::Object, "Device")],
    ),
    ep(
        "device_users",
        "/api/v1/devices/{id}/users",
        "okta.devices.read",
        Paging::Whole,
    )
    .under(Parent::Of("devices"))
    .deleted_by(
        "device.user.remove",
        "Remove user from device",
        &[(Who::Object, "User"), (Who::Parent, "Device")],
    ),
    ep(
        "policies",
        "/api/v1/policies",
        POLICIES,
        Paging::Link {
            default: 20,
            max: 200,
        },
    )
    .requires("type")
    .deleted_by(
        "policy.lifecycle.delete",
        "Delete policy",
        &[(Who::Object, "PolicyEntity")],
    ),
    ep(
        "policy_rules",
        "/api/v1/policies/{id}/rules",
        POLICIES,
        Paging::Whole,
    )
    .under(Parent::Of("policies"))
    .deleted_by(
        "policy.rule.delete",
        "Delete policy rule",
        &[(Who::Object, "PolicyRule"), (Who::Parent, "PolicyEntity")],
    ),
    ep(
        "authorization_servers",
        "/api/v1/authorizationServers",
        AUTH_SERVERS,
        Paging::Link {
            default: 200,
            max: 200,
        },
    )
    .deleted_by(
        "oauth2.as.deleted",
        "Authorization server deleted",
        &[(Who::Object, "AuthorizationServer")],
    ),
    ep(
        "auth_server_policies",
        "/api/v1/authorizationServers/{id}/policies",
        AUTH_SERVERS,
        Paging::Whole,
    )
    .under(AS_PARENT),
    ep(
        "auth_server_scopes",
        "/api/v1/authorizationServers/{id}/scopes",
        AUTH_SERVERS,
        Paging::Link {
            default: 200,
            max: 200,
        },
    )
    .under(AS_PARENT)
    .deleted_by(
        "oauth2.scope.deleted",
        "Authorization server scope deleted",
        &[
            (Who::Object, "OAuth2Scope"),
            (Who::Parent, "AuthorizationServer"),
        ],
    ),
    ep(
        "auth_server_claims",
        "/api/v1/authorizationServers/{id}/claims",
        AUTH_SERVERS,
        Paging::Whole,
    )
    .under(AS_PARENT)
    .deleted_by(
        "oauth2.claim.deleted",
        "Authorization server claim deleted",
        &[
            (Who::Object, "OAuth2Claim"),
            (Who::Parent, "AuthorizationServer"),
        ],
    ),
    ep(
        "group_rules",
        "/api/v1/groups/rules",
        "okta.groups.read",
        Paging::Link {
            default: 50,
            max: 200,
        },
    ),
    ep(
        "user_types",
        "/api/v1/meta/types/user",
        "okta.userTypes.read",
        Paging::Whole,
    ),
    ep(
        "behaviors",
        "/api/v1/behaviors",
        "okta.behaviors.read",
        Paging::Whole,
    )
    .deleted_by(
        "security.behavior.settings.delete",
        "Delete behavior detection rule",
        &[(Who::Object, "Behavior")],
    ),
    ep(
        "trusted_origins",
        "/api/v1/trustedOrigins",
        "okta.trustedOrigins.read",
        LINK_20,
    )
    .deleted_by(
        "security.trusted_origin.delete",
        "Delete trusted origin",
        &[(Who::Object, "TrustedOrigin")],
    ),
    ep(
        "api_tokens",
        "/api/v1/api-tokens",
        "okta.apiTokens.read",
        Paging::Whole,
    )
    .deleted_by(
        "system.api_token.revoke",
        "Revoke API token",
        &[(Who::Object, "Token")],
    ),
    ep(
        "event_hooks",
        "/api/v1/eventHooks",
        "okta.eventHooks.read",
        Paging::Whole,
    )
    .deleted_by(
        "event_hook.deleted",
        "Event hook deleted",
        &[(Who::Object, "EventHook")],
    ),
    ep(
        "inline_hooks",
        "/api/v1/inlineHooks",
        "okta.inlineHooks.read",
        Paging::Whole,
    )
    .deleted_by(
        "inline_hook.deleted",
        "Inline hook deleted",
        &[(Who::Object, "InlineHook")],
    ),
    ep(
        "log_streams",
        "/api/v1/logStreams",
        "okta.logStreams.read",
        LINK_20,
    )
    .deleted_by(
        "system.log_stream.lifecycle.delete",
        "Delete log stream",
        &[(Who::Object, "LogStream")],
    ),
    ep(
        "profile_mappings",
        "/api/v1/mappings",
        "okta.profileMappings.read",
        LINK_20,
    ),
];

/// The endpoint called `name`.
pub fn endpoint(name: &str) -> Option<&'static Endpoint> {
    ENDPOINTS.iter().find(|e| e.name == name)
}

/// Whether `path` is `route` with any segment for `{id}`.
fn route_matches(route: &str, path: &str) -> bool {
    let route: Vec<&str> = route.split('/').filter(|s| !s.is_empty()).collect();
    let path: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    route.len() == path.len() && route.iter().zip(&path).all(|(r, p)| *r == "{id}" || r == p)
}

/// The scope of the endpoint `path` belongs to, if it is one of these.
pub fn scope_for(path: &str) -> Option<&'static str> {
    ENDPOINTS
        .iter()
        .find(|e| route_matches(e.route, path))
        .map(|e| e.scope)
}

/// The objects, in id order, of `endpoint` under `parent` (empty for top-level ones); `None`
/// when the parent does not exist.
fn items(store: &Store, endpoint: &Endpoint, parent: &str) -> Option<Vec<(String, Value)>> {
    if endpoint.name == "admin_users" {
        return Some(shapes::admin_users(store));
    }
    let exists = match endpoint.parent {
        None => true,
        Some(Parent::Users) => store.users.contains_key(parent),
        Some(Parent::Groups) => store.groups.contains_key(parent),
        Some(Parent::Of(of)) => store.context_object(of, "", parent).is_some(),
    };
    if !exists {
        return None;
    }
    Some(
        store
            .context
            .get(endpoint.name)
            .and_then(|by_parent| by_parent.get(parent))
            .map(|objects| {
                objects
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// `GET` of any endpoint here.
pub fn list(
    store: &Store,
    endpoint: &Endpoint,
    parent: &str,
    q: &HashMap<String, String>,
    link: &LinkBase,
    uri: &OriginalUri,
    base_url: &str,
) -> Result<Response, OktaError> {
    let mut objects = items(store, endpoint, parent).ok_or_else(|| OktaError::not_found(parent))?;
    if let Some(param) = endpoint.required {
        let Some(wanted) = q.get(param) else {
            return Err(OktaError::bad_param(format!(
                "{param}: a value is required"
            )));
        };
        objects.retain(|(_, o)| o[param].as_str() == Some(wanted.as_str()));
    }
    let path = endpoint.route.replace("{id}", parent);
    let self_url = format!(
        "{base_url}{}",
        uri.0.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let (default, max, envelope) = match endpoint.paging {
        Paging::Whole => {
            let body = Value::Array(objects.into_iter().map(|(_, v)| v).collect());
            return Ok(axum::Json(body).into_response());
        }
        Paging::Link { default, max } => (default, Some(max), None),
        Paging::Envelope { key, default, max } => (default, max, Some(key)),
    };
    let limit = match (max, q.get("limit")) {
        (Some(max), Some(raw)) => match raw.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(max),
            _ => {
                return Err(OktaError::bad_param(format!(
                    "limit: '{raw}' is not a valid number between 1 and {max}"
                )));
            }
        },
        _ => default,
    };
    let after = q.get("after");
    let mut rest = objects
        .into_iter()
        .filter(|(id, _)| after.is_none_or(|a| id.as_str() > a.as_str()));
    let page: Vec<(String, Value)> = rest.by_ref().take(limit).collect();
    let next = match (rest.next().is_some(), page.last()) {
        (true, Some((last, _))) => {
            let mut url = url::Url::parse(&format!("{}{path}", link.origin))
                .map_err(|_| OktaError::bad_param("bad origin"))?;
            {
                let mut pairs = url.query_pairs_mut();
                if max.is_some() {
                    pairs.append_pair("limit", &limit.to_string());
                }
                if let Some(param) = endpoint.required
                    && let Some(v) = q.get(param)
                {
                    pairs.append_pair(param, v);
                }
                pairs.append_pair("after", last);
            }
            Some(url.to_string())
        }
        _ => None,
    };
    let items: Vec<Value> = page.into_iter().map(|(_, v)| v).collect();
    match envelope {
        Some(key) => {
            let mut links = json!({"self": {"href": self_url}});
            if let Some(next) = next {
                links["next"] = json!({"href": next});
            }
            Ok(axum::Json(json!({ key: items, "_links": links })).into_response())
        }
        None => {
            let body = serde_json::to_string(&items).unwrap_or_else(|_| "[]".into());
            Ok(page_response(body, &self_url, next, link))
        }
    }
}

/// An object an operator deletes (`POST /__sim/directory`, `delete_objects`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectRef {
    pub collection: String,
    /// The parent's id, for objects of a fan-out collection.
    #[serde(default)]
    pub parent: String,
    pub id: String,
}

/// Every stored object, by collection, as `ObjectRef`s (for `GET /__sim/directory`).
pub fn inventory(store: &Store) -> BTreeMap<&'static str, Vec<ObjectRef>> {
    let mut out = BTreeMap::new();
    for endpoint in ENDPOINTS {
        let refs: Vec<ObjectRef> = if endpoint.name == "admin_users" {
            shapes::admin_users(store)
                .into_iter()
                .map(|(id, _)| ObjectRef {
                    collection: endpoint.name.into(),
                    parent: String::new(),
                    id,
                })
                .collect()
        } else {
            store
                .context
                .get(endpoint.name)
                .into_iter()
                .flat_map(|by_parent| {
                    by_parent.iter().flat_map(|(parent, objects)| {
                        objects.keys().map(|id| ObjectRef {
                            collection: endpoint.name.into(),
                            parent: parent.clone(),
                            id: id.clone(),
                        })
                    })
                })
                .collect()
        };
        out.insert(endpoint.name, refs);
    }
    out
}
