//! The simulated org: directory objects and the System Log.
//!
//! The log is kept in **persistence order** (`seq`), which is what polling requests page by; a
//! separate index orders it by `published` for bounded requests. Late-persisted events (published
//! before events already stored) are exactly what separates the two: a client that pages by
//! `published` misses them, one that follows polling `next` links does not.
//!
//! Events are stored as serialized JSON (plus the few fields queries need) so a backlog of
//! hundreds of thousands of 2–4 KB events fits in memory.

use crate::context::ObjectRef;
use crate::ids;
use crate::shapes::{self, EventSpec};
use chrono::{DateTime, Duration, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One stored System Log event.
#[derive(Debug, Clone)]
pub struct LogRecord {
    pub seq: u64,
    pub persisted_at: DateTime<Utc>,
    pub published: DateTime<Utc>,
    pub uuid: String,
    pub event_type: String,
    pub json: Arc<str>,
}

/// Sizes of the seeded org.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedConfig {
    pub seed: u64,
    pub users: usize,
    pub groups: usize,
    pub memberships: usize,
    pub apps: usize,
    pub app_users: usize,
    pub app_groups: usize,
    pub idps: usize,
    pub zones: usize,
    pub clients: usize,
    /// Objects per identity-context list (custom roles, authorization servers, hooks, …);
    /// 0 seeds no identity context at all.
    pub context: usize,
    pub factors_per_user: usize,
    pub devices: usize,
    pub backlog_events: usize,
    /// The backlog's events are spread over this many hours before start-up.
    pub backlog_hours: u32,
    /// Share of backlog events persisted late (published up to `max_late_seconds` earlier).
    pub late_share: f64,
    pub max_late_seconds: u32,
}

impl Default for SeedConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            users: 50,
            groups: 10,
            memberships: 100,
            apps: 5,
            app_users: 50,
            app_groups: 10,
            idps: 2,
            zones: 3,
            clients: 3,
            context: 3,
            factors_per_user: 2,
            devices: 4,
            backlog_events: 200,
            backlog_hours: 12,
            late_share: 0.05,
            max_late_seconds: 120,
        }
    }
}

/// A batch of directory changes, applied with their System Log events.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChangeRequest {
    pub update_users: usize,
    pub deactivate_users: usize,
    pub delete_users: usize,
    pub add_memberships: usize,
    pub remove_memberships: usize,
    pub remove_app_users: usize,
    /// These memberships, (group, user), are removed (as an admin's
    /// `DELETE /api/v1/groups/{g}/users/{u}` does); unknown or absent ones are skipped.
    pub remove_membership_pairs: Vec<(String, String)>,
    /// These memberships are added (`PUT /api/v1/groups/{g}/users/{u}`).
    pub add_membership_pairs: Vec<(String, String)>,
    /// These identity-context objects are deleted (with their children), each with the System
    /// Log event Okta writes for it; unknown ones are skipped.
    pub delete_objects: Vec<ObjectRef>,
}

/// What a change batch did, so tests can assert exactly those changes arrive.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChangeReport {
    pub updated_users: Vec<String>,
    pub deactivated_users: Vec<String>,
    pub deleted_users: Vec<String>,
    pub added_memberships: Vec<(String, String)>,
    pub removed_memberships: Vec<(String, String)>,
    pub removed_app_users: Vec<(String, String)>,
    pub deleted_objects: Vec<ObjectRef>,
    pub events: Vec<String>,
}

const FIRST: &[&str] = &[
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Leslie",
    "Margaret", "Niklaus",
];
const LAST: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman",
    "Lamport", "Hamilton", "Wirth",
];
const ACTIVITY: &[(&str, &str, &str)] = &[
    ("user.session.start", "User login to Okta", "SUCCESS"),
    (
        "user.authentication.sso",
        "User single sign on to app",
        "SUCCESS",
    ),
    (
        "user.authentication.auth_via_mfa",
        "Authentication of user via MFA",
        "SUCCESS",
    ),
    (
        "policy.evaluate_sign_on",
        "Evaluation of sign-on policy",
        "ALLOW",
    ),
    ("user.session.end", "User logout from Okta", "SUCCESS"),
    ("user.session.start", "User login to Okta", "FAILURE"),
    (
        "user.account.update_password",
        "User update password for Okta",
        "SUCCESS",
    ),
];

pub struct Store {
    pub base_url: String,
    rng: ChaCha8Rng,
    /// The identity context ([`crate::context`]): collection → parent id (empty for top-level
    /// lists) → object id → object.
    pub context: BTreeMap<&'static str, BTreeMap<String, BTreeMap<String, Value>>>,
    pub users: BTreeMap<String, Value>,
    pub groups: BTreeMap<String, Value>,
    /// group id → member user ids
    pub members: BTreeMap<String, BTreeSet<String>>,
    pub apps: BTreeMap<String, Value>,
    /// app id → user id → AppUser
    pub app_users: BTreeMap<String, BTreeMap<String, Value>>,
    /// app id → group id → ApplicationGroupAssignment
    pub app_groups: BTreeMap<String, BTreeMap<String, Value>>,
    pub idps: BTreeMap<String, Value>,
    pub zones: BTreeMap<String, Value>,
    pub clients: BTreeMap<String, Value>,
    /// Persistence order: `log[i].seq == i + 1`.
    pub log: Vec<LogRecord>,
    /// (published millis, seq): the order of bounded requests.
    pub by_published: BTreeSet<(i64, u64)>,
}

impl Store {
    pub fn seeded(base_url: &str, cfg: &SeedConfig, now: DateTime<Utc>) -> Self {
        let mut store = Store {
            base_url: base_url.trim_end_matches('/').to_string(),
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            context: BTreeMap::new(),
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            members: BTreeMap::new(),
            apps: BTreeMap::new(),
            app_users: BTreeMap::new(),
            app_groups: BTreeMap::new(),
            idps: BTreeMap::new(),
            zones: BTreeMap::new(),
            clients: BTreeMap::new(),
            log: Vec::new(),
            by_published: BTreeSet::new(),
        };
        let base = store.base_url.clone();
        let days_ago = |rng: &mut ChaCha8Rng, max: i64| {
            now - Duration::seconds(rng.random_range(3600..max.max(3601)))
        };
        for i in 0..cfg.users {
            let id = ids::seeded(&mut store.rng, "00u");
            let first = FIRST[i % FIRST.len()];
            let last = format!("{}{}", LAST[(i / FIRST.len()) % LAST.len()], i);
            let created = days_ago(&mut store.rng, 86_400 * 400);
            let updated = days_ago(&mut store.rng, 86_400 * 30).max(created);
            store.users.insert(
                id.clone(),
                shapes::user(&base, &id, first, &last, "ACTIVE", created, updated),
            );
        }
        for i in 0..cfg.groups {
            let id = ids::seeded(&mut store.rng, "00g");
            let created = days_ago(&mut store.rng, 86_400 * 400);
            let updated = days_ago(&mut store.rng, 86_400 * 30).max(created);
            store.groups.insert(
                id.clone(),
                shapes::group(&base, &id, &format!("Team {i}"), created, updated),
            );
            store.members.insert(id, BTreeSet::new());
        }
        let user_ids: Vec<String> = store.users.keys().cloned().collect();
        let group_ids: Vec<String> = store.groups.keys().cloned().collect();
        let target = cfg.memberships.min(user_ids.len() * group_ids.len());
        let mut made = 0;
        while made < target {
            let g = &group_ids[store.rng.random_range(0..group_ids.len())];
            let u = &user_ids[store.rng.random_range(0..user_ids.len())];
            if store
                .members
                .get_mut(g)
                .is_some_and(|m| m.insert(u.clone()))
            {
                made += 1;
            }
        }
        for i in 0..cfg.apps {
            let id = ids::seeded(&mut store.rng, "0oa");
            let at = days_ago(&mut store.rng, 86_400 * 200);
            store.apps.insert(
                id.clone(),
                shapes::app(&base, &id, &format!("Sim App {i}"), at, at),
            );
            store.app_users.insert(id.clone(), BTreeMap::new());
            store.app_groups.insert(id, BTreeMap::new());
        }
        let app_ids: Vec<String> = store.apps.keys().cloned().collect();
        if !app_ids.is_empty() && !user_ids.is_empty() {
            let target = cfg.app_users.min(app_ids.len() * user_ids.len());
            let mut made = 0;
            while made < target {
                let a = app_ids[store.rng.random_range(0..app_ids.len())].clone();
                let u = &user_ids[store.rng.random_range(0..user_ids.len())];
                let at = days_ago(&mut store.rng, 86_400 * 100);
                let assignment = shapes::app_user(&base, &a, &store.users[u], at);
                if store
                    .app_users
                    .get_mut(&a)
                    .is_some_and(|m| m.insert(u.clone(), assignment).is_none())
                {
                    made += 1;
                }
            }
        }
        if !app_ids.is_empty() && !group_ids.is_empty() {
            let target = cfg.app_groups.min(app_ids.len() * group_ids.len());
            let mut made = 0;
            while made < target {
                let a = app_ids[store.rng.random_range(0..app_ids.len())].clone();
                let g = group_ids[store.rng.random_range(0..group_ids.len())].clone();
                let at = days_ago(&mut store.rng, 86_400 * 100);
                let entry = shapes::app_group(&base, &a, &g, made, at);
                if store
                    .app_groups
                    .get_mut(&a)
                    .is_some_and(|m| m.insert(g, entry).is_none())
                {
                    made += 1;
                }
            }
        }
        for i in 0..cfg.idps {
            let id = ids::seeded(&mut store.rng, "0oa");
            let at = days_ago(&mut store.rng, 86_400 * 300);
            store.idps.insert(
                id.clone(),
                shapes::idp(&id, &format!("Partner IdP {i}"), at),
            );
        }
        for i in 0..cfg.zones {
            let id = ids::seeded(&mut store.rng, "nzo");
            let at = days_ago(&mut store.rng, 86_400 * 300);
            store.zones.insert(
                id.clone(),
                shapes::zone(&id, &format!("Office network {i}"), at),
            );
        }
        for i in 0..cfg.clients {
            let id = ids::seeded(&mut store.rng, "0oa");
            store.clients.insert(
                id.clone(),
                shapes::oauth_client(&base, &id, &format!("Service client {i}")),
            );
        }
        crate::context::seed(&mut store, cfg, now);
        // The backlog: persisted over `backlog_hours` up to now, some of it late.
        // Late events are late by up to `max_late_seconds` or three event spacings, whichever is
        // longer, so they really overtake events already stored.
        let span_ms = i64::from(cfg.backlog_hours.max(1)) * 3_600_000;
        let n = cfg.backlog_events as i64;
        let spacing_s = (span_ms / n.max(1) / 1000) as u32;
        let max_late = cfg.max_late_seconds.max(spacing_s.saturating_mul(3));
        for k in 0..n {
            let persisted = now - Duration::milliseconds(span_ms - span_ms * k / n.max(1));
            store.append_activity(persisted, cfg.late_share, max_late);
        }
        store
    }

    /// Appends one user-activity event persisted at `persisted`; with probability `late_share`
    /// it was published up to `max_late_seconds` earlier (a late-persisted event).
    pub fn append_activity(
        &mut self,
        persisted: DateTime<Utc>,
        late_share: f64,
        max_late_seconds: u32,
    ) -> String {
        let late = self.rng.random_bool(late_share.clamp(0.0, 1.0));
        let delay_ms = if late {
            self.rng
                .random_range(1_000..=i64::from(max_late_seconds.max(2)) * 1000)
        } else {
            self.rng.random_range(0..200)
        };
        let published = persisted - Duration::milliseconds(delay_ms);
        let (event_type, message, outcome) = ACTIVITY[self.rng.random_range(0..ACTIVITY.len())];
        let actor = self.random_user_actor();
        self.append(
            EventSpecOwned {
                published,
                event_type: event_type.to_string(),
                display_message: message.to_string(),
                actor,
                targets: Vec::new(),
                outcome: outcome.to_string(),
            },
            persisted,
        )
    }

    fn random_user_actor(&mut self) -> Value {
        if self.users.is_empty() {
            return shapes::actor_user("00usystem00000000000", "system@okta.com", "Okta System");
        }
        let idx = self.rng.random_range(0..self.users.len());
        let user = self.users.values().nth(idx).cloned().unwrap_or_default();
        shapes::actor_user(
            user["id"].as_str().unwrap_or_default(),
            user["profile"]["login"].as_str().unwrap_or_default(),
            &format!(
                "{} {}",
                user["profile"]["firstName"].as_str().unwrap_or(""),
                user["profile"]["lastName"].as_str().unwrap_or("")
            ),
        )
    }

    /// Appends an event. `persisted` must not go backwards (it is clamped to the last one).
    pub fn append(&mut self, spec: EventSpecOwned, persisted: DateTime<Utc>) -> String {
        let uuid = ids::uuid(&mut self.rng);
        let persisted = self
            .log
            .last()
            .map_or(persisted, |last| persisted.max(last.persisted_at));
        let value = shapes::log_event(
            &mut self.rng,
            EventSpec {
                uuid: &uuid,
                published: spec.published,
                event_type: &spec.event_type,
                display_message: &spec.display_message,
                actor: spec.actor,
                targets: spec.targets,
                outcome: &spec.outcome,
            },
        );
        let seq = self.log.len() as u64 + 1;
        self.by_published
            .insert((spec.published.timestamp_millis(), seq));
        self.log.push(LogRecord {
            seq,
            persisted_at: persisted,
            published: spec.published,
            uuid: uuid.clone(),
            event_type: spec.event_type,
            json: Arc::from(value.to_string()),
        });
        uuid
    }

    /// Appends a caller-supplied event object (control API). Missing `uuid`/`published` are
    /// filled in; the object is otherwise stored as given.
    pub fn append_raw(
        &mut self,
        mut value: Value,
        persisted: DateTime<Utc>,
    ) -> Result<String, String> {
        let obj = value.as_object_mut().ok_or("event must be a JSON object")?;
        let uuid = match obj.get("uuid").and_then(Value::as_str) {
            Some(u) => u.to_string(),
            None => ids::uuid(&mut self.rng),
        };
        obj.insert("uuid".into(), Value::String(uuid.clone()));
        let published = match obj.get("published").and_then(Value::as_str) {
            Some(p) => DateTime::parse_from_rfc3339(p)
                .map_err(|e| format!("published: {e}"))?
                .with_timezone(&Utc),
            None => persisted,
        };
        obj.insert("published".into(), Value::String(shapes::ts(published)));
        let event_type = obj
            .get("eventType")
            .and_then(Value::as_str)
            .unwrap_or("sim.custom")
            .to_string();
        obj.insert("eventType".into(), Value::String(event_type.clone()));
        let persisted = self
            .log
            .last()
            .map_or(persisted, |last| persisted.max(last.persisted_at));
        let seq = self.log.len() as u64 + 1;
        self.by_published
            .insert((published.timestamp_millis(), seq));
        self.log.push(LogRecord {
            seq,
            persisted_at: persisted,
            published,
            uuid: uuid.clone(),
            event_type,
            json: Arc::from(value.to_string()),
        });
        Ok(uuid)
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        (!items.is_empty()).then(|| items[self.rng.random_range(0..items.len())].clone())
    }

    fn user_target(&self, id: &str) -> Value {
        let u = &self.users[id];
        shapes::target(
            id,
            "User",
            u["profile"]["login"].as_str().unwrap_or(""),
            u["profile"]["firstName"].as_str().unwrap_or(""),
        )
    }

    fn admin_event(
        &mut self,
        at: DateTime<Utc>,
        event_type: &str,
        message: &str,
        targets: Vec<Value>,
    ) -> String {
        let actor = shapes::actor_user("00uadmin000000000000", "admin@example.com", "Sim Admin");
        self.append(
            EventSpecOwned {
                published: at,
                event_type: event_type.into(),
                display_message: message.into(),
                actor,
                targets,
                outcome: "SUCCESS".into(),
            },
            at,
        )
    }

    /// Marks the group's membership as changed and writes the membership event.
    fn membership_event(
        &mut self,
        group: &str,
        user: &str,
        at: DateTime<Utc>,
        event_type: &str,
        message: &str,
    ) -> String {
        self.touch_group(group, at);
        let name = self.groups[group]["profile"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let targets = vec![
            self.user_target(user),
            shapes::target(group, "UserGroup", "unknown", &name),
        ];
        self.admin_event(at, event_type, message, targets)
    }

    fn touch_group(&mut self, group: &str, at: DateTime<Utc>) {
        if let Some(g) = self.groups.get_mut(group) {
            g["lastMembershipUpdated"] = Value::String(shapes::ts(at));
        }
    }

    /// Applies directory changes and writes their System Log events.
    pub fn apply_changes(&mut self, req: &ChangeRequest, at: DateTime<Utc>) -> ChangeReport {
        let mut report = ChangeReport::default();
        let active = |s: &Store| -> Vec<String> {
            s.users
                .iter()
                .filter(|(_, u)| u["status"] == "ACTIVE")
                .map(|(id, _)| id.clone())
                .collect()
        };
        for _ in 0..req.update_users {
            let Some(id) = self.pick(&active(self)) else {
                break;
            };
            let phone = format!("+1 555 {:04}", self.rng.random_range(0..10_000));
            if let Some(u) = self.users.get_mut(&id) {
                u["profile"]["mobilePhone"] = Value::String(phone);
                u["lastUpdated"] = Value::String(shapes::ts(at));
            }
            let t = self.user_target(&id);
            report.events.push(self.admin_event(
                at,
                "user.account.update_profile",
                "Update user profile for Okta",
                vec![t],
            ));
            report.updated_users.push(id);
        }
        for _ in 0..req.deactivate_users {
            let Some(id) = self.pick(&active(self)) else {
                break;
            };
            self.deactivate(&id, at, &mut report);
            report.deactivated_users.push(id);
        }
        for _ in 0..req.delete_users {
            let Some(id) = self.pick(&active(self)) else {
                break;
            };
            self.deactivate(&id, at, &mut report);
            let t = self.user_target(&id);
            report.events.push(self.admin_event(
                at,
                "user.lifecycle.delete.initiated",
                "Delete Okta user",
                vec![t],
            ));
            self.users.remove(&id);
            let groups: Vec<String> = self
                .members
                .iter()
                .filter(|(_, m)| m.contains(&id))
                .map(|(g, _)| g.clone())
                .collect();
            for g in groups {
                self.members.get_mut(&g).map(|m| m.remove(&id));
                self.touch_group(&g, at);
            }
            for assignments in self.app_users.values_mut() {
                assignments.remove(&id);
            }
            for collection in ["user_roles", "user_factors"] {
                self.context.get_mut(collection).map(|c| c.remove(&id));
            }
            report.deleted_users.push(id);
        }
        for _ in 0..req.remove_memberships {
            let pairs: Vec<(String, String)> = self
                .members
                .iter()
                .flat_map(|(g, m)| m.iter().map(move |u| (g.clone(), u.clone())))
                .collect();
            let Some((g, u)) = self.pick(&pairs) else {
                break;
            };
            self.members.get_mut(&g).map(|m| m.remove(&u));
            report.events.push(self.membership_event(
                &g,
                &u,
                at,
                "group.user_membership.remove",
                "Remove user from group membership",
            ));
            report.removed_memberships.push((g, u));
        }
        for _ in 0..req.add_memberships {
            let users = active(self);
            let groups: Vec<String> = self.groups.keys().cloned().collect();
            let mut added = None;
            for _ in 0..100 {
                let (Some(g), Some(u)) = (self.pick(&groups), self.pick(&users)) else {
                    break;
                };
                if self
                    .members
                    .get_mut(&g)
                    .is_some_and(|m| m.insert(u.clone()))
                {
                    added = Some((g, u));
                    break;
                }
            }
            let Some((g, u)) = added else { break };
            report.events.push(self.membership_event(
                &g,
                &u,
                at,
                "group.user_membership.add",
                "Add user to group membership",
            ));
            report.added_memberships.push((g, u));
        }
        for (g, u) in &req.remove_membership_pairs {
            if !self.members.get_mut(g).is_some_and(|m| m.remove(u)) {
                continue;
            }
            report.events.push(self.membership_event(
                g,
                u,
                at,
                "group.user_membership.remove",
                "Remove user from group membership",
            ));
            report.removed_memberships.push((g.clone(), u.clone()));
        }
        for (g, u) in &req.add_membership_pairs {
            if !self.users.contains_key(u)
                || !self.members.get_mut(g).is_some_and(|m| m.insert(u.clone()))
            {
                continue;
            }
            report.events.push(self.membership_event(
                g,
                u,
                at,
                "group.user_membership.add",
                "Add user to group membership",
            ));
            report.added_memberships.push((g.clone(), u.clone()));
        }
        for _ in 0..req.remove_app_users {
            let pairs: Vec<(String, String)> = self
                .app_users
                .iter()
                .flat_map(|(a, m)| m.keys().map(move |u| (a.clone(), u.clone())))
                .collect();
            let Some((a, u)) = self.pick(&pairs) else {
                break;
            };
            self.app_users.get_mut(&a).map(|m| m.remove(&u));
            let targets = vec![
                self.user_target(&u),
                shapes::target(
                    &a,
                    "AppInstance",
                    self.apps[&a]["name"].as_str().unwrap_or(""),
                    self.apps[&a]["label"].as_str().unwrap_or(""),
                ),
            ];
            report.events.push(self.admin_event(
                at,
                "application.user_membership.remove",
                "Remove user from application membership",
                targets,
            ));
            report.removed_app_users.push((a, u));
        }
        for object in &req.delete_objects {
            if let Some(uuid) = self.delete_context(object, at) {
                report.events.push(uuid);
                report.deleted_objects.push(object.clone());
            }
        }
        report
    }

    /// An identity-context object, if it exists.
    pub fn context_object(&self, collection: &str, parent: &str, id: &str) -> Option<&Value> {
        self.context.get(collection)?.get(parent)?.get(id)
    }

    /// Deletes an identity-context object and its children, and writes the System Log event
    /// Okta writes for it (none for collections Okta logs no deletion of).
    fn delete_context(&mut self, object: &ObjectRef, at: DateTime<Utc>) -> Option<String> {
        let endpoint = crate::context::endpoint(&object.collection)?;
        let removed = self
            .context
            .get_mut(endpoint.name)?
            .get_mut(&object.parent)?
            .remove(&object.id)?;
        for child in crate::context::ENDPOINTS
            .iter()
            .filter(|e| e.parent == Some(crate::context::Parent::Of(endpoint.name)))
        {
            self.context
                .get_mut(child.name)
                .map(|c| c.remove(&object.id));
        }
        let deletion = endpoint.deletion?;
        let name = |v: &Value| {
            ["name", "label", "displayName"]
                .iter()
                .find_map(|k| v[*k].as_str())
                .unwrap_or("")
                .to_string()
        };
        let targets = deletion
            .targets
            .iter()
            .map(|(who, kind)| {
                let id = match who {
                    crate::context::Who::Object => &object.id,
                    crate::context::Who::Parent => &object.parent,
                };
                match *kind {
                    "User" if self.users.contains_key(id) => self.user_target(id),
                    "UserGroup" => {
                        let group = self.groups.get(id).map(|g| name(&g["profile"]));
                        shapes::target(id, kind, "unknown", &group.unwrap_or_default())
                    }
                    _ => shapes::target(id, kind, "unknown", &name(&removed)),
                }
            })
            .collect();
        Some(self.admin_event(at, deletion.event_type, deletion.message, targets))
    }

    fn deactivate(&mut self, id: &str, at: DateTime<Utc>, report: &mut ChangeReport) {
        if let Some(u) = self.users.get_mut(id) {
            u["status"] = Value::String("DEPROVISIONED".into());
            u["statusChanged"] = Value::String(shapes::ts(at));
            u["lastUpdated"] = Value::String(shapes::ts(at));
        }
        let t = self.user_target(id);
        report.events.push(self.admin_event(
            at,
            "user.lifecycle.deactivate",
            "Deactivate Okta user",
            vec![t],
        ));
    }
}

/// An event to append, owning its parts.
pub struct EventSpecOwned {
    pub published: DateTime<Utc>,
    pub event_type: String,
    pub display_message: String,
    pub actor: Value,
    pub targets: Vec<Value>,
    pub outcome: String,
}
