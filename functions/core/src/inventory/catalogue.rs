//! Every directory stream as data: endpoint, page sizes, interval, delta rule, fan-out parent.
//!
//! The streams differ only in these parameters, so one listing loop
//! ([`crate::poller::InventoryRun`]) serves them all. Defaults follow Okta's partner guidance
//! (docs/configuration.md's directory stream table) and the endpoints' documented page limits
//! (Okta's API reference for each list endpoint).

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

/// One directory stream.
#[derive(Debug, PartialEq, Eq)]
pub struct StreamSpec {
    /// Configuration key, state-key stream name and `relay.stream` of its records.
    pub name: &'static str,
    /// `DetailType` of its records.
    pub detail_type: &'static str,
    /// The list endpoint; `{id}` stands for the parent's id in fan-out streams.
    pub path: &'static str,
    /// The object's id attribute (`client_id` for OAuth clients).
    pub id_field: &'static str,
    /// The OAuth scope the endpoint needs.
    pub scope: &'static str,
    pub default_page_size: u32,
    pub max_page_size: u32,
    /// Default seconds between full listings (ignored for fan-out streams: they run with their
    /// parent).
    pub interval_seconds: u64,
    /// Extra query of a full listing (users: a `search`, so `DEPROVISIONED` users are included).
    pub full_query: Option<(&'static str, &'static str)>,
    pub delta: Option<DeltaRule>,
    /// Fan-out streams: the stream whose objects they belong to, and its kind in records.
    pub parent: Option<(&'static str, &'static str)>,
    /// Record ids carry `@lastUpdated` (memberships do not: they have no version of their own).
    pub versioned: bool,
}

use crate::limits::DAY_SECONDS as DAY;

/// `search` on `lastUpdated` is Okta's documented way to list users *including*
/// `DEPROVISIONED` ones (a plain list omits them).
const ALL_USERS: (&str, &str) = ("search", "lastUpdated gt \"1970-01-01T00:00:00.000Z\"");

/// The catalogue.
pub const STREAMS: &[StreamSpec] = &[
    StreamSpec {
        name: "users",
        detail_type: "Okta User",
        path: "/api/v1/users",
        id_field: "id",
        scope: "okta.users.read",
        default_page_size: 200,
        max_page_size: 200,
        interval_seconds: DAY,
        full_query: Some(ALL_USERS),
        delta: Some(DeltaRule {
            param: "search",
            attributes: &["lastUpdated"],
            interval_seconds: 900,
            fanout_when_moved: None,
        }),
        parent: None,
        versioned: true,
    },
    StreamSpec {
        name: "groups",
        detail_type: "Okta Group",
        path: "/api/v1/groups",
        id_field: "id",
        scope: "okta.groups.read",
        default_page_size: 1000,
        max_page_size: 10_000,
        interval_seconds: DAY,
        full_query: None,
        delta: Some(DeltaRule {
            param: "filter",
            attributes: &["lastUpdated", "lastMembershipUpdated"],
            interval_seconds: 900,
            fanout_when_moved: Some("lastMembershipUpdated"),
        }),
        parent: None,
        versioned: true,
    },
    StreamSpec {
        name: "group_members",
        detail_type: "Okta Group Membership",
        path: "/api/v1/groups/{id}/users",
        id_field: "id",
        scope: "okta.groups.read",
        default_page_size: 1000,
        max_page_size: 1000,
        interval_seconds: DAY,
        full_query: None,
        delta: None,
        parent: Some(("groups", "group")),
        versioned: false,
    },
    StreamSpec {
        name: "apps",
        detail_type: "Okta App",
        path: "/api/v1/apps",
        id_field: "id",
        scope: "okta.apps.read",
        default_page_size: 20,
        max_page_size: 200,
        interval_seconds: DAY,
        full_query: None,
        delta: None,
        parent: None,
        versioned: true,
    },
    StreamSpec {
        name: "app_users",
        detail_type: "Okta App User",
        path: "/api/v1/apps/{id}/users",
        id_field: "id",
        scope: "okta.apps.read",
        default_page_size: 20,
        max_page_size: 500,
        interval_seconds: DAY,
        full_query: None,
        delta: None,
        parent: Some(("apps", "app")),
        versioned: true,
    },
    StreamSpec {
        name: "app_groups",
        detail_type: "Okta App Group",
        path: "/api/v1/apps/{id}/groups",
        id_field: "id",
        scope: "okta.apps.read",
        default_page_size: 20,
        max_page_size: 200,
        interval_seconds: DAY,
        full_query: None,
        delta: None,
        parent: Some(("apps", "app")),
        versioned: true,
    },
    StreamSpec {
        name: "idps",
        detail_type: "Okta Identity Provider",
        path: "/api/v1/idps",
        id_field: "id",
        scope: "okta.idps.read",
        default_page_size: 20,
        max_page_size: 200,
        interval_seconds: DAY,
        full_query: None,
        delta: None,
        parent: None,
        versioned: true,
    },
    StreamSpec {
        name: "zones",
        detail_type: "Okta Network Zone",
        path: "/api/v1/zones",
        id_field: "id",
        scope: "okta.networkZones.read",
        default_page_size: 200,
        max_page_size: 200,
        interval_seconds: DAY,
        full_query: None,
        delta: None,
        parent: None,
        versioned: true,
    },
    StreamSpec {
        name: "clients",
        detail_type: "Okta OAuth Client",
        path: "/oauth2/v1/clients",
        id_field: "client_id",
        scope: "okta.clients.read",
        default_page_size: 20,
        max_page_size: 200,
        interval_seconds: DAY,
        full_query: None,
        delta: None,
        parent: None,
        versioned: true,
    },
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

    #[test]
    fn the_catalogue_is_consistent() {
        for s in STREAMS {
            assert!(s.default_page_size >= 1 && s.default_page_size <= s.max_page_size);
            assert_eq!(spec(s.name), Some(s));
            assert_eq!(s.path.contains("{id}"), s.parent.is_some(), "{}", s.name);
            if let Some((parent, _)) = s.parent {
                let p = spec(parent).expect("parent exists");
                assert!(p.parent.is_none(), "one level of fan-out");
                assert_eq!(p.scope, s.scope, "a child needs its parent's scope");
            }
        }
        assert!(names().starts_with("users, groups"));
    }
}
