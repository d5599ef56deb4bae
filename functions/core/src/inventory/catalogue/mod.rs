//! Every directory stream as data: endpoint, paging, page sizes, interval, delta rule, fan-out
//! parent, scope.
//!
//! The streams differ only in these parameters, so one listing loop
//! ([`crate::sources::directory`]) serves them all. Defaults follow Okta's partner guidance
//! (docs/configuration.md's directory stream table) and the endpoints' documented page limits
//! (Okta's API reference for each list endpoint). The entries are grouped by what a security
//! team asks of them:
//!
//! - [`directory`]: users, groups, memberships, apps and their assignments, IdPs, zones, OAuth
//!   clients;
//! - [`access`]: who holds admin roles, custom roles and resource sets, enrolled factors, the
//!   org's authenticators, devices and their users;
//! - [`settings`]: policies and their rules, authorization servers with their policies, scopes
//!   and claims, group rules, user types, behaviors, trusted origins, API token metadata, hooks,
//!   log streams, profile mappings.

mod access;
mod directory;
mod settings;

use crate::okta::PageLayout;

/// How a stream finds what changed since its high-water mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeltaRule {
    /// The query parameter the expression goes in (`search` or `filter`).
    pub param: &'static str,
    /// Attributes compared with the high-water mark, joined with `or`.
    pub attributes: &'static [&'static str],
    /// Default seconds between delta runs.
    pub interval_seconds: u64,
    /// In a delta run, children are re-listed only for parents whose this attribute moved past
    /// the high-water mark (groups: `lastMembershipUpdated`).
    pub fanout_when_moved: Option<&'static str>,
}

/// How an endpoint pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// `limit` and `after`; the page is a JSON array and the next one is in a `Link` header.
    Link,
    /// `limit` and `after`; the page is a JSON object with the items under this key and the
    /// next page in `_links.next.href` (the `/api/v1/iam` lists).
    Envelope(&'static str),
    /// No paging: one response holds every object.
    Whole,
}

impl Paging {
    pub fn layout(self) -> PageLayout {
        match self {
            Paging::Envelope(key) => PageLayout::Envelope(key),
            Paging::Link | Paging::Whole => PageLayout::Array,
        }
    }
}

/// A query parameter an endpoint requires, listed once per value (policies: `type`, which Okta
/// requires and which takes one policy type per request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    pub param: &'static str,
    pub values: &'static [&'static str],
}

/// One directory stream.
#[derive(Debug, PartialEq, Eq)]
pub struct StreamSpec {
    /// Configuration key, state-key stream name and `relay.stream` of its records.
    pub name: &'static str,
    /// `DetailType` of its records.
    pub detail_type: &'static str,
    /// The list endpoint; `{id}` stands for the parent's id in fan-out streams.
    pub path: &'static str,
    /// The object's id attribute: `id`, `client_id` (OAuth clients) or `user.id` (a device's
    /// users, which Okta lists as `{"user": {...}}` entries).
    pub id_field: &'static str,
    /// The OAuth scope the endpoint needs.
    pub scope: &'static str,
    pub paging: Paging,
    /// Whether the endpoint takes `limit` (the page sizes below apply only if it does).
    pub limit: bool,
    pub default_page_size: u32,
    pub max_page_size: u32,
    /// Default seconds between full listings (ignored for fan-out streams: they run with their
    /// parent).
    pub interval_seconds: u64,
    /// Extra query of a full listing (users: a `search`, so `DEPROVISIONED` users are included).
    pub full_query: Option<(&'static str, &'static str)>,
    /// A required parameter the listing sweeps through (one listing per value).
    pub sweep: Option<Sweep>,
    pub delta: Option<DeltaRule>,
    /// Fan-out streams: the stream whose objects they belong to, and its kind in records.
    pub parent: Option<(&'static str, &'static str)>,
    /// Record ids carry `@lastUpdated` (memberships do not: they have no version of their own).
    pub versioned: bool,
}

use crate::limits::DAY_SECONDS as DAY;

impl StreamSpec {
    /// A top-level stream with Okta's most common list rules: `limit` 20 by default, at most
    /// 200, `Link` paging, listed daily, versioned by `lastUpdated`.
    const fn list(
        name: &'static str,
        detail_type: &'static str,
        path: &'static str,
        scope: &'static str,
    ) -> Self {
        Self {
            name,
            detail_type,
            path,
            id_field: "id",
            scope,
            paging: Paging::Link,
            limit: true,
            default_page_size: 20,
            max_page_size: 200,
            interval_seconds: DAY,
            full_query: None,
            sweep: None,
            delta: None,
            parent: None,
            versioned: true,
        }
    }

    /// Listed for each object of `parent` (its `{id}`); `kind` names the parent in records.
    const fn under(self, parent: &'static str, kind: &'static str) -> Self {
        Self {
            parent: Some((parent, kind)),
            ..self
        }
    }

    const fn pages(self, default: u32, max: u32) -> Self {
        Self {
            default_page_size: default,
            max_page_size: max,
            ..self
        }
    }

    /// One response holds every object.
    const fn whole(self) -> Self {
        Self {
            paging: Paging::Whole,
            ..self.no_limit()
        }
    }

    /// The endpoint pages, but by `after` alone: Okta picks the page size.
    const fn no_limit(self) -> Self {
        Self {
            limit: false,
            default_page_size: 1,
            max_page_size: 1,
            ..self
        }
    }

    const fn envelope(self, key: &'static str) -> Self {
        Self {
            paging: Paging::Envelope(key),
            ..self
        }
    }

    const fn sweep(self, param: &'static str, values: &'static [&'static str]) -> Self {
        Self {
            sweep: Some(Sweep { param, values }),
            ..self
        }
    }

    const fn id_field(self, id_field: &'static str) -> Self {
        Self { id_field, ..self }
    }

    /// Its objects have no version of their own (memberships, assignments without
    /// `lastUpdated`).
    const fn unversioned(self) -> Self {
        Self {
            versioned: false,
            ..self
        }
    }

    const fn full_query(self, param: &'static str, value: &'static str) -> Self {
        Self {
            full_query: Some((param, value)),
            ..self
        }
    }

    const fn delta(self, rule: DeltaRule) -> Self {
        Self {
            delta: Some(rule),
            ..self
        }
    }

    /// Whether a `403` of this fan-out stream is its own: it needs a scope its parent does not,
    /// so the parent is listed without it.
    pub fn own_scope(&self) -> bool {
        self.parent
            .and_then(|(parent, _)| spec(parent))
            .is_some_and(|p| p.scope != self.scope)
    }
}

/// The catalogue, in the order the poller runs the streams.
pub const STREAMS: &[StreamSpec] = &[
    directory::USERS,
    directory::GROUPS,
    directory::GROUP_MEMBERS,
    directory::APPS,
    directory::APP_USERS,
    directory::APP_GROUPS,
    directory::IDPS,
    directory::ZONES,
    directory::CLIENTS,
    access::ADMIN_USERS,
    access::USER_ROLES,
    access::GROUP_ROLES,
    access::CUSTOM_ROLES,
    access::RESOURCE_SETS,
    access::USER_FACTORS,
    access::AUTHENTICATORS,
    access::DEVICES,
    access::DEVICE_USERS,
    settings::POLICIES,
    settings::POLICY_RULES,
    settings::AUTHORIZATION_SERVERS,
    settings::AUTH_SERVER_POLICIES,
    settings::AUTH_SERVER_SCOPES,
    settings::AUTH_SERVER_CLAIMS,
    settings::GROUP_RULES,
    settings::USER_TYPES,
    settings::BEHAVIORS,
    settings::TRUSTED_ORIGINS,
    settings::API_TOKENS,
    settings::EVENT_HOOKS,
    settings::INLINE_HOOKS,
    settings::LOG_STREAMS,
    settings::PROFILE_MAPPINGS,
];

/// The stream called `name`.
pub fn spec(name: &str) -> Option<&'static StreamSpec> {
    STREAMS.iter().find(|s| s.name == name)
}

/// The names, for error messages.
pub fn names() -> String {
    STREAMS
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_catalogue_is_consistent() {
        let mut names = BTreeSet::new();
        let mut detail_types = BTreeSet::new();
        for s in STREAMS {
            assert!(names.insert(s.name), "{}: one entry per name", s.name);
            assert!(
                detail_types.insert(s.detail_type),
                "{}: its own DetailType",
                s.name
            );
            assert!(s.default_page_size >= 1 && s.default_page_size <= s.max_page_size);
            assert_eq!(spec(s.name), Some(s));
            assert_eq!(s.path.contains("{id}"), s.parent.is_some(), "{}", s.name);
            assert!(
                ["id", "client_id", "user.id"].contains(&s.id_field),
                "{}",
                s.name
            );
            assert!(
                s.scope.starts_with("okta.") && s.scope.ends_with(".read"),
                "{}",
                s.name
            );
            if let Some((parent, _)) = s.parent {
                let p = spec(parent).expect("parent exists");
                assert!(p.parent.is_none(), "one level of fan-out");
                let at = STREAMS.iter().position(|x| x.name == parent);
                let me = STREAMS.iter().position(|x| x.name == s.name);
                assert!(at < me, "{}: a parent comes before its children", s.name);
            }
            if let Some(sweep) = s.sweep {
                assert!(!sweep.values.is_empty(), "{}", s.name);
            }
        }
        assert!(self::names().starts_with("users, groups"));
        assert!(STREAMS.len() >= 25, "the audit set: {}", STREAMS.len());
    }

    #[test]
    fn only_group_roles_needs_a_scope_its_parent_lacks() {
        let own: Vec<&str> = STREAMS
            .iter()
            .filter(|s| s.own_scope())
            .map(|s| s.name)
            .collect();
        assert_eq!(own, ["group_roles"]);
    }
}
