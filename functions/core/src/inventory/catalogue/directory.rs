//! The directory itself: users, groups and their members, apps and their assignments, IdPs,
//! network zones and OAuth clients.

use super::{DeltaRule, StreamSpec};

/// `search` on `lastUpdated` is Okta's documented way to list users *including*
/// `DEPROVISIONED` ones (a plain list omits them).
const ALL_USERS: &str = "lastUpdated gt \"1970-01-01T00:00:00.000Z\"";

/// Deltas every quarter of an hour (Okta's partner guidance for directory sync).
pub(super) const DELTA_SECONDS: u64 = 900;

pub const USERS: StreamSpec =
    StreamSpec::list("users", "Okta User", "/api/v1/users", "okta.users.read")
        .pages(200, 200)
        .full_query("search", ALL_USERS)
        .delta(DeltaRule {
            param: "search",
            attributes: &["lastUpdated"],
            interval_seconds: DELTA_SECONDS,
            fanout_when_moved: None,
        });

pub const GROUPS: StreamSpec =
    StreamSpec::list("groups", "Okta Group", "/api/v1/groups", "okta.groups.read")
        .pages(1000, 10_000)
        .delta(DeltaRule {
            param: "filter",
            attributes: &["lastUpdated", "lastMembershipUpdated"],
            interval_seconds: DELTA_SECONDS,
            fanout_when_moved: Some("lastMembershipUpdated"),
        });

pub const GROUP_MEMBERS: StreamSpec = StreamSpec::list(
    "group_members",
    "Okta Group Membership",
    "/api/v1/groups/{id}/users",
    "okta.groups.read",
)
.under("groups", "group")
.pages(1000, 1000)
.unversioned();

pub const APPS: StreamSpec = StreamSpec::list("apps", "Okta App", "/api/v1/apps", "okta.apps.read");

pub const APP_USERS: StreamSpec = StreamSpec::list(
    "app_users",
    "Okta App User",
    "/api/v1/apps/{id}/users",
    "okta.apps.read",
)
.under("apps", "app")
.pages(20, 500);

pub const APP_GROUPS: StreamSpec = StreamSpec::list(
    "app_groups",
    "Okta App Group",
    "/api/v1/apps/{id}/groups",
    "okta.apps.read",
)
.under("apps", "app");

pub const IDPS: StreamSpec = StreamSpec::list(
    "idps",
    "Okta Identity Provider",
    "/api/v1/idps",
    "okta.idps.read",
);

pub const ZONES: StreamSpec = StreamSpec::list(
    "zones",
    "Okta Network Zone",
    "/api/v1/zones",
    "okta.networkZones.read",
)
.pages(200, 200);

pub const CLIENTS: StreamSpec = StreamSpec::list(
    "clients",
    "Okta OAuth Client",
    "/oauth2/v1/clients",
    "okta.clients.read",
)
.id_field("client_id");
