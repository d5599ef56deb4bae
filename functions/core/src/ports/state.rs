//! The state table's three jobs: stream leases with their cursors, dedupe marks, and health.
//!
//! A stream's lease and cursor live in one record, so "move the cursor only if I still hold the
//! lease and nobody moved it since I read it" is a single conditional write (fencing). Dedupe
//! marks are written only after the sink acknowledged a record, so a mark always means
//! "delivered" and nothing an interrupted delivery leaves behind can suppress a record.

use crate::{ErrorKind, Fault};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use thiserror::Error;

/// One stream of one org: `("acme", "logs")`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamKey {
    pub org: String,
    pub stream: String,
}

impl StreamKey {
    pub fn new(org: impl Into<String>, stream: impl Into<String>) -> Self {
        Self {
            org: org.into(),
            stream: stream.into(),
        }
    }
}

impl std::fmt::Display for StreamKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.org, self.stream)
    }
}

/// A held lease on a stream, with the cursor as it was when the lease was taken or last written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub key: StreamKey,
    pub owner: String,
    /// Increases every time anyone takes the lease: a fencing token.
    pub fence: u64,
    pub expires_at: DateTime<Utc>,
    pub cursor: Option<String>,
    /// Increases with every cursor write.
    pub version: u64,
}

/// A stream's record as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSnapshot {
    pub key: StreamKey,
    pub cursor: Option<String>,
    pub version: u64,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub cursor_updated_at: Option<DateTime<Utc>>,
}

/// The state table could not do what was asked.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StateError {
    #[error("lease on {key} is no longer ours (taken over, expired, or the cursor moved)")]
    LeaseLost { key: String },
    #[error("state table {table} does not exist")]
    TableMissing { table: String },
    #[error("not allowed to use the state table: {0}")]
    AccessDenied(String),
    #[error("state table unavailable (will retry): {0}")]
    Unavailable(String),
    #[error("state record {key} is malformed: {detail}")]
    Corrupt { key: String, detail: String },
}

impl StateError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            StateError::LeaseLost { .. } | StateError::Unavailable(_) => ErrorKind::Transient,
            StateError::TableMissing { .. } | StateError::AccessDenied(_) => {
                ErrorKind::Configuration
            }
            StateError::Corrupt { .. } => ErrorKind::Permanent,
        }
    }

    /// A record the relay cannot read is the relay's problem; the rest is the table's.
    pub fn fault(&self) -> crate::Fault {
        match self {
            StateError::Corrupt { .. } => crate::Fault::Relay,
            _ => crate::Fault::Aws,
        }
    }
}

/// Leases and cursors, one record per stream.
#[async_trait]
pub trait StreamStateStore: Send + Sync {
    /// Takes the lease if it is free, expired, or already `owner`'s. `None` when someone else
    /// holds it.
    async fn acquire(
        &self,
        key: &StreamKey,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StateError>;

    /// Extends a held lease. [`StateError::LeaseLost`] if it is no longer held.
    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<Lease, StateError>;

    /// Moves the cursor, only if `lease` is still held, unexpired, and the cursor's version is
    /// the one the lease last saw.
    async fn commit_cursor(&self, lease: &Lease, cursor: &str) -> Result<Lease, StateError>;

    /// Gives the lease up early (best effort; it also expires by itself).
    async fn release_lease(&self, lease: &Lease) -> Result<(), StateError>;

    /// The stream's record, without taking the lease.
    async fn snapshot(&self, key: &StreamKey) -> Result<Option<StreamSnapshot>, StateError>;

    /// Removes the cursor under a held lease (an operator's reset: the next run starts over,
    /// the System Log from its lookback window, a directory stream with a full sync), fenced
    /// like [`commit_cursor`](Self::commit_cursor).
    async fn clear_cursor(&self, lease: &Lease) -> Result<Lease, StateError>;
}

/// The key of a dedupe mark: a record's stable id within one org (a System Log `uuid`, a
/// directory record's id), stored as `dedupe#<org>#<id>` so two orgs never suppress each other.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DedupeKey {
    pub org: String,
    pub id: String,
}

impl DedupeKey {
    pub fn new(org: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            org: org.into(),
            id: id.into(),
        }
    }
}

impl std::fmt::Display for DedupeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.org, self.id)
    }
}

/// Dedupe marks, shared by the push and pull paths. A mark says one thing only: the sink
/// acknowledged this record (see `ARCHITECTURE.md`, "The dedupe contract"). There are no
/// pending claims, so nothing a failed, stalled or killed delivery leaves behind can make a
/// later one skip a record.
#[async_trait]
pub trait DedupeStore: Send + Sync {
    /// For each key, in order: whether an unexpired delivered mark exists. A mark whose expiry
    /// has passed counts as absent, whether or not the table has deleted it yet.
    async fn delivered(&self, keys: &[DedupeKey]) -> Result<Vec<bool>, StateError>;

    /// Records that the sink acknowledged these keys' records; each mark lasts `ttl`. Call only
    /// after the acknowledgment.
    async fn mark_delivered(&self, keys: &[DedupeKey], ttl: Duration) -> Result<(), StateError>;
}

/// A stream's health, readable by operators.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_kind: Option<ErrorKind>,
    /// Whose fault the last error was.
    pub last_error_fault: Option<Fault>,
    pub consecutive_failures: u64,
    /// Where the stream stands and since when (`None`: it never reported anything).
    pub phase: Option<PhaseMark>,
    /// Running totals (events forwarded, duplicates dropped, …).
    pub counters: BTreeMap<String, u64>,
    /// When a pull stream last read everything Okta had.
    pub caught_up_at: Option<DateTime<Utc>>,
    /// When something (the stream watch) last asked this pull stream to catch up now.
    pub catch_up_requested_at: Option<DateTime<Utc>>,
    pub catch_up_reason: Option<String>,
    /// The last Okta log-stream lifecycle event seen for a push stream, and when.
    pub lifecycle_event: Option<String>,
    pub lifecycle_at: Option<DateTime<Utc>>,
    /// The newest event `published` a successful run saw (lag = now − this).
    pub newest_event_at: Option<DateTime<Utc>>,
    /// The stream's Okta rate-limit bucket at the end of its last successful run.
    pub rate_limit: Option<RateLimitHeadroom>,
}

/// Where a stream stands, as its health record keeps it: the last thing a run (or a check)
/// established. `okta-relay-ctl status` adds what only time tells (pending, overdue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Okta accepted the credentials (`validate-config`); no run yet.
    Authenticated,
    /// The last run had more to read than it got to (a backlog, or its deadline came first),
    /// or the push path is receiving events.
    Collecting,
    /// The last run read everything Okta had.
    CaughtUp,
    /// The last run failed.
    Error,
}

impl Phase {
    pub const ALL: [Phase; 4] = [
        Phase::Authenticated,
        Phase::Collecting,
        Phase::CaughtUp,
        Phase::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Authenticated => "authenticated",
            Phase::Collecting => "collecting",
            Phase::CaughtUp => "caught_up",
            Phase::Error => "error",
        }
    }
}

/// A phase and when the stream entered it (a run that stays in its phase keeps the time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseMark {
    pub phase: Phase,
    pub since: DateTime<Utc>,
}

/// An Okta rate-limit bucket as the relay last saw it: requests left in the window, of `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitHeadroom {
    pub remaining: u32,
    pub limit: u32,
}

/// What a successful run reports to health.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunRecord {
    /// Added to the running totals (events forwarded, duplicates dropped, …).
    pub counters: BTreeMap<String, u64>,
    /// The newest event `published` seen, if any (kept when `None`).
    pub newest_event_at: Option<DateTime<Utc>>,
    /// The stream's rate-limit bucket at the end of the run, if known (kept when `None`).
    pub rate_limit: Option<RateLimitHeadroom>,
    /// The phase the run ended in (`Collecting` or `CaughtUp`); `None` keeps the phase (a run
    /// that read nothing, or stopped before its first page).
    pub phase: Option<Phase>,
}

impl HealthReport {
    /// A catch-up was requested after the stream last caught up.
    pub fn catch_up_pending(&self) -> bool {
        match (self.catch_up_requested_at, self.caught_up_at) {
            (Some(requested), Some(caught_up)) => requested > caught_up,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// A failed run as health records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure<'a> {
    pub kind: ErrorKind,
    pub fault: Fault,
    /// Free of secrets (error types here never carry one).
    pub message: &'a str,
}

/// A dated fact about a stream that is not the outcome of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthNote<'a> {
    /// The pull stream read everything Okta had (an empty page: the cursor is at the head).
    CaughtUp,
    /// Ask this pull stream to catch up at its next schedule, whatever its interval.
    CatchUpRequested { reason: &'a str },
    /// An Okta log-stream lifecycle event (`system.log_stream.lifecycle.deactivate`, …).
    Lifecycle { event_type: &'a str },
    /// Okta accepted the credentials for this stream (`validate-config`). Recorded only for a
    /// stream that never reported a run: it never hides what a run found.
    Authenticated,
}

/// Stream health records.
#[async_trait]
pub trait HealthStore: Send + Sync {
    /// Records a successful run: adds its counters to the running totals and keeps its newest
    /// event time and rate-limit headroom.
    async fn record_success(
        &self,
        key: &StreamKey,
        at: DateTime<Utc>,
        run: &RunRecord,
    ) -> Result<(), StateError>;

    /// Records a failed run. `message` must not carry secrets (error types here never do).
    async fn record_failure(
        &self,
        key: &StreamKey,
        at: DateTime<Utc>,
        failure: &Failure<'_>,
    ) -> Result<(), StateError>;

    /// Records a [`HealthNote`] at `at`.
    async fn note(
        &self,
        key: &StreamKey,
        at: DateTime<Utc>,
        note: HealthNote<'_>,
    ) -> Result<(), StateError>;

    async fn read(&self, key: &StreamKey) -> Result<Option<HealthReport>, StateError>;
}
