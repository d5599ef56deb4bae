//! Who can do what: admin role assignments (to users and to groups), the custom roles and
//! resource sets they refer to, each user's enrolled factors, the org's authenticators, and
//! devices with their users. The System Log says when these changed; only these lists say what
//! holds now ("who is an admin today").

use super::{DeltaRule, StreamSpec};

/// Every role-assignment list needs this scope (and a service app a read-only admin role).
const ROLES: &str = "okta.roles.read";

/// The users that hold at least one admin role (directly or through a group): the parent of
/// [`USER_ROLES`], so roles are read for admins only, not for every user.
pub const ADMIN_USERS: StreamSpec = StreamSpec::list(
    "admin_users",
    "Okta Admin User",
    "/api/v1/iam/assignees/users",
    ROLES,
)
.envelope("value")
.pages(100, 100)
.unversioned();

/// The roles assigned to each admin user (standard and custom, with their resource set).
pub const USER_ROLES: StreamSpec = StreamSpec::list(
    "user_roles",
    "Okta User Role Assignment",
    "/api/v1/users/{id}/roles",
    ROLES,
)
.under("admin_users", "user")
.whole();

/// The roles assigned to each group: the one stream whose scope its parent (`groups`) lacks.
pub const GROUP_ROLES: StreamSpec = StreamSpec::list(
    "group_roles",
    "Okta Group Role Assignment",
    "/api/v1/groups/{id}/roles",
    ROLES,
)
.under("groups", "group")
.whole();

pub const CUSTOM_ROLES: StreamSpec = StreamSpec::list(
    "custom_roles",
    "Okta Custom Role",
    "/api/v1/iam/roles",
    ROLES,
)
.envelope("roles")
.no_limit();

pub const RESOURCE_SETS: StreamSpec = StreamSpec::list(
    "resource_sets",
    "Okta Resource Set",
    "/api/v1/iam/resource-sets",
    ROLES,
)
.envelope("resource-sets")
.no_limit();

/// Each user's enrolled factors: one request per user, so a full sync costs as many requests
/// as the org has users (BENCHMARKS.md budgets it against the rate limit).
pub const USER_FACTORS: StreamSpec = StreamSpec::list(
    "user_factors",
    "Okta User Factor",
    "/api/v1/users/{id}/factors",
    "okta.users.read",
)
.under("users", "user")
.whole();

pub const AUTHENTICATORS: StreamSpec = StreamSpec::list(
    "authenticators",
    "Okta Authenticator",
    "/api/v1/authenticators",
    "okta.authenticators.read",
)
.whole();

/// The one list here with a server-side delta: `search` on `lastUpdated` (eventually
/// consistent, like users').
pub const DEVICES: StreamSpec = StreamSpec::list(
    "devices",
    "Okta Device",
    "/api/v1/devices",
    "okta.devices.read",
)
.pages(200, 200)
.delta(DeltaRule {
    param: "search",
    attributes: &["lastUpdated"],
    interval_seconds: super::directory::DELTA_SECONDS,
    fanout_when_moved: None,
});

/// A device's users: Okta lists them as `{"created", "managementStatus", "user": {...}}`, so the
/// id is the user's, and the entry has no version of its own.
pub const DEVICE_USERS: StreamSpec = StreamSpec::list(
    "device_users",
    "Okta Device User",
    "/api/v1/devices/{id}/users",
    "okta.devices.read",
)
.under("devices", "device")
.id_field("user.id")
.whole()
.unversioned();
