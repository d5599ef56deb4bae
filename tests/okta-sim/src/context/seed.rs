//! The seeded identity context: a few admins (one with a custom role on a resource set), two
//! groups with roles, each user's factors, devices with a user each, a policy of every swept
//! type with two rules, authorization servers with their policies, scopes and claims, and a
//! few of everything else. Its own generator, so the core directory's ids stay as they were.

use super::shapes;
use crate::ids;
use crate::store::{SeedConfig, Store};
use chrono::{DateTime, Duration, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

/// Settings objects that differ only by their number: collection, id prefix, shape.
type Numbered = fn(&str, usize, DateTime<Utc>) -> Value;
const NUMBERED: [(&str, &str, Numbered); 4] = [
    ("trusted_origins", "tos", shapes::trusted_origin),
    ("event_hooks", "who", shapes::event_hook),
    ("inline_hooks", "cal", shapes::inline_hook),
    ("log_streams", "0oa", shapes::log_stream),
];

/// Policy types the relay sweeps (it asks for each; Okta requires `type`).
pub const POLICY_TYPES: &[&str] = &[
    "OKTA_SIGN_ON",
    "PASSWORD",
    "MFA_ENROLL",
    "IDP_DISCOVERY",
    "ACCESS_POLICY",
    "PROFILE_ENROLLMENT",
];

const STANDARD_ROLES: &[(&str, &str)] = &[
    ("SUPER_ADMIN", "Super Administrator"),
    ("ORG_ADMIN", "Organizational Administrator"),
    ("READ_ONLY_ADMIN", "Read-only Administrator"),
];
const GROUP_ROLES: &[(&str, &str)] = &[
    ("HELP_DESK_ADMIN", "Help Desk Administrator"),
    ("GROUP_MEMBERSHIP_ADMIN", "Group Membership Administrator"),
];
const AUTHENTICATORS: &[(&str, &str)] = &[
    ("okta_password", "Password"),
    ("okta_verify", "Okta Verify"),
    ("google_otp", "Google Authenticator"),
];
const BEHAVIORS: &[(&str, &str)] = &[
    ("New Country", "ANOMALOUS_LOCATION"),
    ("New Device", "ANOMALOUS_DEVICE"),
    ("New IP", "ANOMALOUS_IP"),
    ("Velocity", "VELOCITY"),
];

struct Seeder<'a> {
    store: &'a mut Store,
    rng: ChaCha8Rng,
    at: DateTime<Utc>,
}

impl Seeder<'_> {
    fn id(&mut self, prefix: &str) -> String {
        ids::seeded(&mut self.rng, prefix)
    }

    fn put(&mut self, collection: &'static str, parent: &str, id: String, object: Value) {
        self.store
            .context
            .entry(collection)
            .or_default()
            .entry(parent.to_string())
            .or_default()
            .insert(id, object);
    }
}

/// Seeds the identity context into `store` (nothing when `cfg.context` is 0).
pub fn seed(store: &mut Store, cfg: &SeedConfig, now: DateTime<Utc>) {
    if cfg.context == 0 {
        return;
    }
    let n = cfg.context;
    let users: Vec<(String, Value)> = store
        .users
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let groups: Vec<String> = store.groups.keys().cloned().collect();
    let apps: Vec<String> = store.apps.keys().cloned().collect();
    let base = store.base_url.clone();
    let mut s = Seeder {
        store,
        rng: ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x00c0_7e47),
        at: now - Duration::days(3),
    };
    let at = s.at;
    let mut role_ids = Vec::new();
    for i in 0..n {
        let role = s.id("cr0");
        s.put(
            "custom_roles",
            "",
            role.clone(),
            shapes::custom_role(&role, &format!("Custom role {i}"), at),
        );
        let set = s.id("iam");
        s.put(
            "resource_sets",
            "",
            set.clone(),
            shapes::resource_set(&set, &format!("Resource set {i}"), at),
        );
        role_ids.push((role, set));
    }
    for (i, (user, _)) in users.iter().take(STANDARD_ROLES.len()).enumerate() {
        let (role, label) = STANDARD_ROLES[i];
        let id = s.id("ra1");
        s.put(
            "user_roles",
            user,
            id.clone(),
            shapes::standard_role(&id, role, label, "USER", at),
        );
        if i == 1
            && let Some((role, set)) = role_ids.first().cloned()
        {
            let id = s.id("irb");
            s.put(
                "user_roles",
                user,
                id.clone(),
                shapes::custom_role_assignment(&id, &role, &set, at),
            );
        }
    }
    for (i, group) in groups.iter().take(GROUP_ROLES.len()).enumerate() {
        let (role, label) = GROUP_ROLES[i];
        let id = s.id("ra1");
        s.put(
            "group_roles",
            group,
            id.clone(),
            shapes::standard_role(&id, role, label, "GROUP", at),
        );
    }
    for (user, value) in &users {
        let login = value["profile"]["login"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for k in 0..cfg.factors_per_user {
            let id = s.id("mfa");
            s.put(
                "user_factors",
                user,
                id.clone(),
                shapes::factor(&id, k, &login, at),
            );
        }
    }
    for (key, name) in AUTHENTICATORS {
        let id = s.id("aut");
        s.put(
            "authenticators",
            "",
            id.clone(),
            shapes::authenticator(&id, key, name, at),
        );
    }
    for i in 0..cfg.devices {
        let id = s.id("guo");
        s.put("devices", "", id.clone(), shapes::device(&id, i, at));
        if let Some((user, value)) = users.get(i % users.len().max(1)) {
            s.put(
                "device_users",
                &id,
                user.clone(),
                shapes::device_user(value, at),
            );
        }
    }
    for (i, kind) in POLICY_TYPES.iter().enumerate() {
        let id = s.id("00p");
        s.put("policies", "", id.clone(), shapes::policy(&id, kind, i, at));
        for r in 0..2 {
            let rule = s.id("0pr");
            s.put(
                "policy_rules",
                &id,
                rule.clone(),
                shapes::policy_rule(&rule, r, at),
            );
        }
    }
    for i in 0..n {
        let id = s.id("aus");
        let name = format!("Sim API {i}");
        s.put(
            "authorization_servers",
            "",
            id.clone(),
            shapes::authorization_server(&base, &id, &name, at),
        );
        for p in 0..2 {
            let policy = s.id("00p");
            s.put(
                "auth_server_policies",
                &id,
                policy.clone(),
                shapes::auth_server_policy(&policy, p, at),
            );
        }
        for name in ["read:orders", "write:orders", "admin:orders"] {
            let scope = s.id("scp");
            s.put(
                "auth_server_scopes",
                &id,
                scope.clone(),
                shapes::scope(&scope, name),
            );
        }
        for name in ["email", "groups"] {
            let claim = s.id("ocl");
            s.put(
                "auth_server_claims",
                &id,
                claim.clone(),
                shapes::claim(&claim, name),
            );
        }
    }
    let mut user_types = Vec::new();
    for i in 0..n {
        if let Some(group) = groups.get(i) {
            let id = s.id("0pr");
            s.put(
                "group_rules",
                "",
                id.clone(),
                shapes::group_rule(&id, group, i, at),
            );
        }
        let id = s.id("oty");
        let name = if i == 0 {
            "User".to_string()
        } else {
            format!("Contractor {i}")
        };
        s.put(
            "user_types",
            "",
            id.clone(),
            shapes::user_type(&id, &name, at),
        );
        user_types.push(id);
        let (name, kind) = BEHAVIORS[i % BEHAVIORS.len()];
        let id = s.id("abh");
        s.put(
            "behaviors",
            "",
            id.clone(),
            shapes::behavior(&id, name, kind, at),
        );
        let owner = users.first().map(|(u, _)| u.clone()).unwrap_or_default();
        let id = s.id("00T");
        s.put(
            "api_tokens",
            "",
            id.clone(),
            shapes::api_token(&id, i, &owner, at),
        );
        for (collection, prefix, shape) in NUMBERED {
            let id = s.id(prefix);
            s.put(collection, "", id.clone(), shape(&id, i, at));
        }
        if let Some(app) = apps.get(i) {
            let id = s.id("prm");
            s.put(
                "profile_mappings",
                "",
                id.clone(),
                shapes::mapping(&id, app, &user_types[0]),
            );
        }
    }
}
