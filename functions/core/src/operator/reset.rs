//! `reset-cursor`: make one stream start over. The System Log then reads again from its
//! lookback window and a directory stream does a full sync; the dedupe marks keep what was
//! forwarded recently from being forwarded twice.
//!
//! The reset takes the stream's lease like a run does, so it never races a running poller: a
//! stream whose lease is held is refused, and a poller that took the lease in the meantime
//! cannot commit over the reset (its fence is older).

use crate::config::RelayConfig;
use crate::inventory::catalogue;
use crate::operator::status::configured_streams;
use crate::ports::{StateError, StreamKey, StreamStateStore};
use crate::stream::StreamId;
use chrono::{DateTime, Utc};
use std::time::Duration;
use thiserror::Error;

/// Why a reset did not happen.
#[derive(Debug, Error)]
pub enum ResetError {
    #[error("no org named {0:?} in the configuration")]
    UnknownOrg(String),
    #[error(
        "org {org:?} has no stream {stream:?} (configured: {configured}; or a backfill-… window)"
    )]
    UnknownStream {
        org: String,
        stream: String,
        configured: String,
    },
    #[error("the push path has no cursor: Okta delivers partner events, the relay does not read")]
    NoCursor,
    #[error(
        "{stream} runs inside {parent} and keeps its place in {parent}'s cursor: reset {parent}"
    )]
    RunsWithParent {
        stream: &'static str,
        parent: &'static str,
    },
    #[error("{key} is running right now (lease held by {owner} until {until}); try again after it")]
    Busy {
        key: StreamKey,
        owner: String,
        until: DateTime<Utc>,
    },
    #[error("{0}")]
    State(#[from] StateError),
}

impl ResetError {
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            ResetError::Busy { .. } => crate::ErrorKind::Transient,
            ResetError::State(e) => e.kind(),
            _ => crate::ErrorKind::Configuration,
        }
    }

    /// The operator's request (an org, a stream) or a running poller: the relay's side; the
    /// state table's failures are AWS's.
    pub fn fault(&self) -> crate::Fault {
        match self {
            ResetError::State(e) => e.fault(),
            _ => crate::Fault::Relay,
        }
    }
}

/// The System Log a reset makes the relay skip, on the bus and in the lake: the events after
/// the newest the relay read and before the start of the next run's lookback window. The
/// relay cannot count them without reading Okta; a backfill of the window reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// The next run's window reaches back past what the relay last read: nothing is skipped.
    Nothing,
    /// Events published in `[from, until)` are not read again.
    Window {
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    },
    /// The relay has no record of what it read (no health record): events before `until` may
    /// be skipped.
    Unknown { until: DateTime<Utc> },
}

impl Skipped {
    /// What a System Log reset at `now` skips, given the newest event the stream read (its
    /// health record's `newest_event_at`, else when it last caught up) and its lookback.
    pub fn by_reset(
        last_read: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        lookback_hours: u32,
    ) -> Self {
        let until = now - chrono::Duration::hours(i64::from(lookback_hours));
        match last_read {
            None => Skipped::Unknown { until },
            Some(from) if from < until => Skipped::Window { from, until },
            Some(_) => Skipped::Nothing,
        }
    }

    /// What to tell the operator before the reset, with the backfill command that covers the
    /// window.
    pub fn explain(&self, org: &str) -> String {
        let at = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        match self {
            Skipped::Nothing => {
                "nothing is skipped: the new window reaches back past the newest event read"
                    .to_string()
            }
            Skipped::Window { from, until } => format!(
                "events published from {} to {} will NOT be read again, on the bus or in the \
                 lake (the relay cannot count them without reading Okta); to cover them, run \
                 afterwards: okta-relay-ctl backfill --org {org} --since {} --until {}",
                at(from),
                at(until),
                at(from),
                at(until)
            ),
            Skipped::Unknown { until } => format!(
                "the relay has no record of the newest event it read, so events published \
                 before {} may not be read again; if the stream was behind, cover them with: \
                 okta-relay-ctl backfill --org {org} --since <when it stopped> --until {}",
                at(until),
                at(until)
            ),
        }
    }
}

/// What a reset of `key` at `now` skips: [`Skipped::Nothing`] for a directory stream (a full
/// sync reads every object) and a backfill window (it starts over).
pub async fn skipped_by_reset(
    config: &RelayConfig,
    key: &StreamKey,
    health: &dyn crate::ports::HealthStore,
    now: DateTime<Utc>,
) -> Result<Skipped, ResetError> {
    if StreamId::parse(&key.stream) != Some(StreamId::Logs) {
        return Ok(Skipped::Nothing);
    }
    let lookback = config
        .orgs
        .iter()
        .find(|o| o.name == key.org)
        .map_or(0, |o| o.logs.initial_lookback_hours);
    let report = health.read(key).await?;
    let last_read = report.and_then(|r| r.newest_event_at.or(r.caught_up_at));
    Ok(Skipped::by_reset(last_read, now, lookback))
}

/// What the reset found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetDone {
    /// The cursor before the reset (`None`: there was none).
    pub previous: Option<String>,
}

/// Checks that `stream` is a stream of `org` that has a cursor.
pub fn resettable(config: &RelayConfig, org: &str, stream: &str) -> Result<StreamKey, ResetError> {
    let org_config = config
        .orgs
        .iter()
        .find(|o| o.name == org)
        .ok_or_else(|| ResetError::UnknownOrg(org.to_string()))?;
    let configured = configured_streams(org_config);
    match StreamId::parse(stream) {
        Some(StreamId::Push) => Err(ResetError::NoCursor),
        // A fan-out stream keeps its place in its parent's cursor.
        Some(StreamId::Directory(name))
            if let Some((parent, _)) = catalogue::spec(name).and_then(|s| s.parent) =>
        {
            Err(ResetError::RunsWithParent {
                stream: name,
                parent,
            })
        }
        Some(id @ StreamId::Backfill(_)) => Ok(id.key(org)),
        Some(id) if configured.contains(&id) => Ok(id.key(org)),
        _ => Err(ResetError::UnknownStream {
            org: org.to_string(),
            stream: stream.to_string(),
            configured: configured
                .into_iter()
                .filter(|id| *id != StreamId::Push)
                .map(|id| id.name())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Clears the stream's cursor under its lease, taken as `owner` for `ttl`.
pub async fn reset_cursor(
    streams: &dyn StreamStateStore,
    key: &StreamKey,
    owner: &str,
    ttl: Duration,
) -> Result<ResetDone, ResetError> {
    let Some(lease) = streams.acquire(key, owner, ttl).await? else {
        let snapshot = streams.snapshot(key).await?;
        return Err(ResetError::Busy {
            key: key.clone(),
            owner: snapshot
                .as_ref()
                .and_then(|s| s.lease_owner.clone())
                .unwrap_or_default(),
            until: snapshot
                .and_then(|s| s.lease_expires_at)
                .unwrap_or_else(Utc::now),
        });
    };
    let previous = lease.cursor.clone();
    let result = streams.clear_cursor(&lease).await;
    let release = match &result {
        Ok(cleared) => streams.release_lease(cleared).await,
        Err(_) => streams.release_lease(&lease).await,
    };
    result?;
    if let Err(e) = release {
        tracing::warn!(stream = %key, error = %e, "could not release the lease; it will expire");
    }
    Ok(ResetDone { previous })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RelayConfig {
        RelayConfig::from_json(
            r#"{"orgs":[{"name":"acme","secret_arn":"arn:aws:secretsmanager:us-east-1:1:secret:x",
                "inventory":{"users":{}},"partner_event_source":"aws.partner/okta.com/acme/s"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn a_reset_names_the_window_it_skips_and_the_backfill_that_covers_it() {
        let now = DateTime::parse_from_rfc3339("2026-12-06T12:00:00Z")
            .unwrap()
            .to_utc();
        let last = now - chrono::Duration::hours(30);
        let skipped = Skipped::by_reset(Some(last), now, 24);
        assert_eq!(
            skipped,
            Skipped::Window {
                from: last,
                until: now - chrono::Duration::hours(24)
            }
        );
        let told = skipped.explain("acme");
        assert!(
            told.contains("okta-relay-ctl backfill --org acme --since 2026-12-05T06:00:00Z --until 2026-12-05T12:00:00Z"),
            "{told}"
        );
        assert_eq!(
            Skipped::by_reset(Some(now - chrono::Duration::hours(1)), now, 24),
            Skipped::Nothing
        );
        assert!(matches!(
            Skipped::by_reset(None, now, 24),
            Skipped::Unknown { .. }
        ));
    }

    #[test]
    fn only_configured_streams_with_a_cursor_can_be_reset() {
        let c = config();
        assert_eq!(
            resettable(&c, "acme", "users").unwrap(),
            StreamKey::new("acme", "users")
        );
        assert!(resettable(&c, "acme", "backfill-1-2").is_ok());
        assert!(matches!(
            resettable(&c, "acme", "push"),
            Err(ResetError::NoCursor)
        ));
        let typo = resettable(&c, "acme", "user").unwrap_err().to_string();
        assert!(typo.contains("configured: logs, users"), "{typo}");
        assert!(matches!(
            resettable(&c, "globex", "logs"),
            Err(ResetError::UnknownOrg(_))
        ));
    }
}
