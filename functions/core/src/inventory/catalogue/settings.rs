//! How the org is configured: sign-on and other policies with their rules, authorization
//! servers with their policies, scopes and claims, group rules, user types, behaviors, trusted
//! origins, API token metadata, event and inline hooks, log streams and profile mappings. An
//! attacker who holds an admin session changes these; the SIEM compares them day by day.

use super::StreamSpec;

const POLICIES_SCOPE: &str = "okta.policies.read";
const AUTH_SERVERS_SCOPE: &str = "okta.authorizationServers.read";

/// Okta requires `type` on `GET /api/v1/policies` and takes one per request: the policy types
/// of every Identity Engine org. Those of add-on features (`ENTITY_RISK`, `POST_AUTH_SESSION`,
/// `SESSION_VIOLATION_DETECTION`: Identity Threat Protection) and Early Access ones are left
/// out, because an org without the feature refuses the request.
pub const POLICY_TYPES: &[&str] = &[
    "OKTA_SIGN_ON",
    "PASSWORD",
    "MFA_ENROLL",
    "IDP_DISCOVERY",
    "ACCESS_POLICY",
    "PROFILE_ENROLLMENT",
];

pub const POLICIES: StreamSpec = StreamSpec::list(
    "policies",
    "Okta Policy",
    "/api/v1/policies",
    POLICIES_SCOPE,
)
.no_limit()
.sweep("type", POLICY_TYPES);

pub const POLICY_RULES: StreamSpec = StreamSpec::list(
    "policy_rules",
    "Okta Policy Rule",
    "/api/v1/policies/{id}/rules",
    POLICIES_SCOPE,
)
.under("policies", "policy")
.whole();

pub const AUTHORIZATION_SERVERS: StreamSpec = StreamSpec::list(
    "authorization_servers",
    "Okta Authorization Server",
    "/api/v1/authorizationServers",
    AUTH_SERVERS_SCOPE,
)
.pages(200, 200);

pub const AUTH_SERVER_POLICIES: StreamSpec = StreamSpec::list(
    "auth_server_policies",
    "Okta Authorization Server Policy",
    "/api/v1/authorizationServers/{id}/policies",
    AUTH_SERVERS_SCOPE,
)
.under("authorization_servers", "authorization_server")
.whole();

pub const AUTH_SERVER_SCOPES: StreamSpec = StreamSpec::list(
    "auth_server_scopes",
    "Okta Authorization Server Scope",
    "/api/v1/authorizationServers/{id}/scopes",
    AUTH_SERVERS_SCOPE,
)
.under("authorization_servers", "authorization_server")
.pages(200, 200);

pub const AUTH_SERVER_CLAIMS: StreamSpec = StreamSpec::list(
    "auth_server_claims",
    "Okta Authorization Server Claim",
    "/api/v1/authorizationServers/{id}/claims",
    AUTH_SERVERS_SCOPE,
)
.under("authorization_servers", "authorization_server")
.whole();

pub const GROUP_RULES: StreamSpec = StreamSpec::list(
    "group_rules",
    "Okta Group Rule",
    "/api/v1/groups/rules",
    "okta.groups.read",
)
.pages(50, 200);

pub const USER_TYPES: StreamSpec = StreamSpec::list(
    "user_types",
    "Okta User Type",
    "/api/v1/meta/types/user",
    "okta.userTypes.read",
)
.whole();

pub const BEHAVIORS: StreamSpec = StreamSpec::list(
    "behaviors",
    "Okta Behavior Rule",
    "/api/v1/behaviors",
    "okta.behaviors.read",
)
.whole();

pub const TRUSTED_ORIGINS: StreamSpec = StreamSpec::list(
    "trusted_origins",
    "Okta Trusted Origin",
    "/api/v1/trustedOrigins",
    "okta.trustedOrigins.read",
);

/// API token metadata: Okta never returns a token's value after creation.
pub const API_TOKENS: StreamSpec = StreamSpec::list(
    "api_tokens",
    "Okta API Token",
    "/api/v1/api-tokens",
    "okta.apiTokens.read",
)
.whole();

pub const EVENT_HOOKS: StreamSpec = StreamSpec::list(
    "event_hooks",
    "Okta Event Hook",
    "/api/v1/eventHooks",
    "okta.eventHooks.read",
)
.whole();

pub const INLINE_HOOKS: StreamSpec = StreamSpec::list(
    "inline_hooks",
    "Okta Inline Hook",
    "/api/v1/inlineHooks",
    "okta.inlineHooks.read",
)
.whole();

pub const LOG_STREAMS: StreamSpec = StreamSpec::list(
    "log_streams",
    "Okta Log Stream",
    "/api/v1/logStreams",
    "okta.logStreams.read",
);

/// Profile mappings have no `lastUpdated`: each full sync sends them again.
pub const PROFILE_MAPPINGS: StreamSpec = StreamSpec::list(
    "profile_mappings",
    "Okta Profile Mapping",
    "/api/v1/mappings",
    "okta.profileMappings.read",
);
