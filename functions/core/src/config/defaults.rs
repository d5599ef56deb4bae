//! Every default of the configuration, and the bounds it is validated against: the one source
//! the serde defaults, the poller's settings and the documentation use.

use crate::limits::{
    AWS_ATTEMPT_TIMEOUT, AWS_CALL_TIMEOUT, PUT_EVENTS_DEFAULT_REQUEST_BYTES, PUT_EVENTS_IN_FLIGHT,
};

/// Share of each Okta rate-limit bucket left for the org's other integrations.
pub const RATE_LIMIT_RESERVE: f64 = 0.10;
/// How long a delivered mark suppresses the same id: a week.
pub const DEDUPE_TTL_HOURS: u64 = 7 * 24;
/// The longest dedupe mark: a year.
pub const MAX_DEDUPE_TTL_HOURS: u64 = 366 * 24;
/// The poller stops taking pages this long before the Lambda deadline.
pub const DEADLINE_MARGIN_SECONDS: u64 = 45;
/// How long a run may take when the runtime gives no usable deadline.
pub const MAX_RUN_SECONDS: u64 = 240;
/// How long a stream lease lasts without renewal.
pub const LEASE_SECONDS: u64 = 120;
/// Where a System Log stream's first run starts.
pub const INITIAL_LOOKBACK_HOURS: u32 = 24;
/// A push stream is silent after this long without a partner event.
pub const SILENCE_WINDOW_SECONDS: u64 = 15 * 60;
/// The longest silence window of a push stream: 30 days.
pub const MAX_SILENCE_WINDOW_SECONDS: u64 = 30 * 24 * 3600;
/// Partner events older than this are old.
pub const MAX_EVENT_AGE_DEFAULT_SECONDS: u64 = 24 * 3600;
/// The oldest a partner event can be: Okta keeps the System Log for 180 days.
pub const MAX_EVENT_AGE_SECONDS: u64 = 180 * 24 * 3600;

pub(super) fn user_agent() -> String {
    crate::DEFAULT_USER_AGENT.to_string()
}
pub(super) fn reserve() -> f64 {
    RATE_LIMIT_RESERVE
}
pub(super) fn max_request_bytes() -> usize {
    PUT_EVENTS_DEFAULT_REQUEST_BYTES
}
pub(super) fn dedupe_ttl_hours() -> u64 {
    DEDUPE_TTL_HOURS
}
pub(super) fn deadline_margin_seconds() -> u64 {
    DEADLINE_MARGIN_SECONDS
}
pub(super) fn max_run_seconds() -> u64 {
    MAX_RUN_SECONDS
}
pub(super) fn lease_seconds() -> u64 {
    LEASE_SECONDS
}
pub(super) fn aws_attempt_timeout_seconds() -> u64 {
    AWS_ATTEMPT_TIMEOUT.as_secs()
}
pub(super) fn aws_call_timeout_seconds() -> u64 {
    AWS_CALL_TIMEOUT.as_secs()
}
pub(super) fn put_events_attempt_timeout_seconds() -> u64 {
    crate::limits::PUT_EVENTS_ATTEMPT_TIMEOUT.as_secs()
}
/// A stream is overdue this long after its interval ended without a successful run: long
/// enough for a backlog run or two to finish, short enough to page someone the same hour.
pub const OVERDUE_SLACK_SECONDS: u64 = 15 * 60;
/// The bounds of `overdue_slack_seconds`: a minute to a week.
pub const OVERDUE_SLACK_RANGE: (u64, u64) = (60, 7 * 86_400);
pub(super) fn overdue_slack_seconds() -> u64 {
    OVERDUE_SLACK_SECONDS
}
/// How often a function re-reads a stored configuration (SSM, S3): an edit reaches warm
/// functions within five minutes, at 288 reads a day per execution environment.
pub const CONFIG_RELOAD_SECONDS: u64 = 5 * 60;
/// The bounds of `config_reload_seconds`: ten seconds to 15 minutes, the time the push queue
/// keeps redelivering a new org's partner events (5 receives × 180 s) before they go to the DLQ.
pub const CONFIG_RELOAD_RANGE: (u64, u64) = (10, 900);
pub(super) fn config_reload_seconds() -> u64 {
    CONFIG_RELOAD_SECONDS
}
pub(super) fn put_events_in_flight() -> usize {
    PUT_EVENTS_IN_FLIGHT
}

// ---- Configuration defaults and bounds of the Security Lake and directory settings ----

// Used by config/security_lake.rs.
/// A buffer of up to 100 000 events or 32 MiB of OCSF JSON (its Parquet is about a tenth of
/// that: BENCHMARKS.md): large objects, as Security Lake asks, in the poller's 512 MB while the
/// JSON, the decoded batches and the encoded row group are in memory together at the flush.
pub const MAX_BUFFER_EVENTS: usize = 100_000;

// Used by config/security_lake.rs.
pub const MAX_BUFFER_BYTES: usize = 32 * 1024 * 1024;

// Used by config/security_lake.rs.
/// A pull run writes (and commits) at least every two minutes: a backlog run of several
/// minutes keeps its progress even if it dies before it ends.
pub const MAX_BUFFER_SECONDS: u64 = 120;

// Used by config/security_lake.rs.
/// The bounds: a buffer never outlives the 15-minute Lambda limit, nor the memory above.
pub const MAX_BUFFER_RANGE: (u64, u64) = (1, 600);

// Used by config/security_lake.rs.
pub const MAX_BUFFER_BYTES_RANGE: (usize, usize) = (1024, 64 * 1024 * 1024);

// Used by inventory/settings.rs.
pub const MIN_DIRECTORY_INTERVAL_SECONDS: u64 = 60;

// Used by inventory/settings.rs.
pub const MAX_DIRECTORY_INTERVAL_SECONDS: u64 = 30 * 86_400;

/// How long a class's staged lake events wait before the poller writes them to the lake: the
/// shortest of Security Lake's recommended 5 minutes to a day.
pub const LAKE_WRITE_INTERVAL_SECONDS: u64 = 300;
/// The bounds of `security_lake.staging.write_interval_seconds`: up to a day (0: at every
/// poller run, for tests and demos).
pub const LAKE_WRITE_INTERVAL_RANGE: (u64, u64) = (0, 24 * 3600);
