//! What a stream run reads: the System Log, a directory stream of the catalogue, or an
//! operator's backfill window. Each is its own [`Source`]; this says which, its id, its rate
//! bucket, and when it is due.

use super::schedule::{Due, due};
use crate::config::InventoryStream;
use crate::config::OrgConfig;
use crate::inventory::{InventoryCursor, InventoryDue};
use crate::okta::RateLimitBucket;
use crate::ports::{HealthReport, StreamSnapshot};
use crate::record::SyncMode;
use crate::run::Source;
use crate::sources::{BackfillJob, BackfillSource, DirectorySource, LOGS_PATH, SystemLogSource};
use crate::stream::StreamId;
use crate::stream_watch::PushState;
use crate::summary::DueReason;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// One stream to run.
#[derive(Clone, Copy)]
pub enum StreamJob<'a> {
    Logs,
    Directory(&'a InventoryStream),
    Backfill(&'a BackfillJob<'a>),
}

impl<'a> StreamJob<'a> {
    pub fn id(&self) -> StreamId {
        match self {
            StreamJob::Logs => StreamId::Logs,
            StreamJob::Directory(stream) => StreamId::Directory(stream.spec.name),
            StreamJob::Backfill(job) => StreamId::Backfill(job.window),
        }
    }

    /// Whether the schedule runs it (a backfill runs when an operator asks, backoff or not).
    pub fn scheduled(&self) -> bool {
        !matches!(self, StreamJob::Backfill(_))
    }

    /// The Okta rate-limit bucket the stream spends.
    pub fn bucket(&self) -> RateLimitBucket {
        match self {
            StreamJob::Logs | StreamJob::Backfill(_) => RateLimitBucket::for_path(LOGS_PATH),
            StreamJob::Directory(stream) => RateLimitBucket::for_path(stream.spec.path),
        }
    }

    /// The stream's source.
    pub fn source(&self, org: &'a OrgConfig) -> Box<dyn Source + 'a> {
        match *self {
            StreamJob::Logs => Box::new(SystemLogSource::new(org)),
            StreamJob::Directory(stream) => Box::new(DirectorySource::new(org, stream)),
            StreamJob::Backfill(job) => Box::new(BackfillSource::new(org, job)),
        }
    }

    /// Whether the stream polls now: `Ok(reason)`, or `Err(next poll time)`. A directory
    /// stream looks at its cursor (`snapshot`, read without the lease; the run decides again
    /// under it).
    pub fn due(
        &self,
        org: &OrgConfig,
        health: Option<&HealthReport>,
        push: Option<&PushState>,
        snapshot: Option<&StreamSnapshot>,
        now: DateTime<Utc>,
    ) -> Result<DueReason, DateTime<Utc>> {
        match self {
            StreamJob::Logs => {
                let interval = Duration::from_secs(org.logs.interval_seconds);
                let push = push.cloned().unwrap_or(PushState::NotConfigured);
                match due(now, interval, health, &push) {
                    Due::Now(reason) => Ok(reason),
                    Due::NotBefore(next) => Err(next),
                }
            }
            StreamJob::Directory(stream) => {
                let stored = snapshot.and_then(|s| s.cursor.as_deref());
                // An unreadable cursor: the run reports it.
                let Ok(cursor) = InventoryCursor::parse(stored) else {
                    return Ok(DueReason::NotCaughtUp);
                };
                match cursor.due(now, stream.interval, stream.delta_interval) {
                    InventoryDue::Resume(_) => Ok(DueReason::NotCaughtUp),
                    InventoryDue::Start(SyncMode::Full) => Ok(DueReason::FullSync),
                    InventoryDue::Start(SyncMode::Delta) => Ok(DueReason::Delta),
                    InventoryDue::NotBefore(next) => Err(next),
                }
            }
            // A finished window is not read again.
            StreamJob::Backfill(_) => match health.and_then(|h| h.caught_up_at) {
                Some(done) => Err(done),
                None => Ok(DueReason::Requested),
            },
        }
    }
}
