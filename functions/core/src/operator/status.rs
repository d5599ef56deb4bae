//! `status`: every configured stream of every org as an operator needs it on a bad day: is it
//! working, when did it last succeed, how far behind is it, what failed and why, and how much
//! of Okta's rate limit is left. Read from the state table only (no Okta call, no lease).

use crate::ErrorKind;
use crate::config::{OrgConfig, RelayConfig};
use crate::poller::backoff_until;
use crate::ports::{
    HealthReport, HealthStore, RateLimitHeadroom, StateError, StreamKey, StreamSnapshot,
    StreamStateStore,
};
use crate::stream::StreamId;
use crate::stream_watch::{self, PushState};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// What a stream is doing, in one word an alarm or a human can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamState {
    /// Its last run (or partner event) succeeded.
    Healthy,
    /// A run holds its lease right now.
    Running,
    /// Its last run failed; the next schedule retries.
    Failing,
    /// Stopped by configuration errors (a wrong token, a missing secret) and retrying with
    /// backoff: fix the configuration.
    BackingOff,
    /// Never ran (new org or stream, or the poller has not been scheduled yet).
    NeverRun,
    /// Push path: no partner event within the silence window; the poller fills the gap.
    Silent,
    /// Push path: Okta deactivated or deleted the log stream; re-activate it in Okta.
    Stopped,
}

impl StreamState {
    /// Whether an operator needs to look.
    pub fn needs_attention(self) -> bool {
        matches!(
            self,
            StreamState::Failing
                | StreamState::BackingOff
                | StreamState::Silent
                | StreamState::Stopped
        )
    }
}

/// One stream's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamStatus {
    pub org: String,
    pub stream: String,
    pub state: StreamState,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Seconds between now and the newest event the stream forwarded (System Log and push).
    pub lag_seconds: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_kind: Option<ErrorKind>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u64,
    /// End of the configuration-error backoff.
    pub backoff_until: Option<DateTime<Utc>>,
    /// The stream's rate-limit bucket after its last successful run.
    pub rate_limit: Option<RateLimitHeadroom>,
    /// Who holds the lease, while someone does.
    pub lease_owner: Option<String>,
    pub cursor_updated_at: Option<DateTime<Utc>>,
    /// Events or objects forwarded since the stream's health record was created.
    pub forwarded_total: u64,
}

/// The streams an org's configuration enables, in the poller's order, then the push path.
pub fn configured_streams(org: &OrgConfig) -> Vec<StreamId> {
    let mut ids = Vec::new();
    if org.logs.enabled {
        ids.push(StreamId::Logs);
    }
    ids.extend(
        org.inventory_streams()
            .iter()
            .map(|s| StreamId::Directory(s.spec.name)),
    );
    if org.partner_event_source.is_some() {
        ids.push(StreamId::Push);
    }
    ids
}

/// Reads every configured stream's records (of `only` the org with that name, if given).
pub async fn gather(
    config: &RelayConfig,
    only: Option<&str>,
    streams: &dyn StreamStateStore,
    health: &dyn HealthStore,
    now: DateTime<Utc>,
) -> Result<Vec<StreamStatus>, StateError> {
    let mut out = Vec::new();
    for org in config
        .orgs
        .iter()
        .filter(|o| only.is_none_or(|n| n == o.name))
    {
        for id in configured_streams(org) {
            let key = id.key(&org.name);
            let snapshot = if id == StreamId::Push {
                None
            } else {
                streams.snapshot(&key).await?
            };
            let report = health.read(&key).await?;
            out.push(derive(org, &key, snapshot.as_ref(), report.as_ref(), now));
        }
    }
    Ok(out)
}

/// One stream's status from its records. Pure.
pub fn derive(
    org: &OrgConfig,
    key: &StreamKey,
    snapshot: Option<&StreamSnapshot>,
    health: Option<&HealthReport>,
    now: DateTime<Utc>,
) -> StreamStatus {
    let lease_owner = snapshot
        .filter(|s| s.lease_expires_at.is_some_and(|t| t > now))
        .and_then(|s| s.lease_owner.clone());
    let backoff = health.and_then(|h| backoff_until(h, now));
    let id = StreamId::parse(&key.stream);
    let state = if id == Some(StreamId::Push) {
        let push = stream_watch::push_state(now, &org.push, true, health);
        match push {
            PushState::Stopped { .. } => StreamState::Stopped,
            PushState::Silent { .. } => StreamState::Silent,
            PushState::NotConfigured | PushState::Delivering => StreamState::Healthy,
        }
    } else if lease_owner.is_some() {
        StreamState::Running
    } else if backoff.is_some() {
        StreamState::BackingOff
    } else {
        match health {
            Some(h) if h.consecutive_failures > 0 => StreamState::Failing,
            Some(h) if h.last_success_at.is_some() => StreamState::Healthy,
            _ => StreamState::NeverRun,
        }
    };
    let is_log = matches!(id, Some(StreamId::Logs | StreamId::Push));
    StreamStatus {
        org: key.org.clone(),
        stream: key.stream.clone(),
        state,
        last_success_at: health.and_then(|h| h.last_success_at),
        lag_seconds: health
            .and_then(|h| h.newest_event_at)
            .filter(|_| is_log)
            .map(|t| (now - t).num_seconds().max(0)),
        last_error: health.and_then(|h| h.last_error.clone()),
        last_error_kind: health.and_then(|h| h.last_error_kind),
        last_error_at: health.and_then(|h| h.last_error_at),
        consecutive_failures: health.map_or(0, |h| h.consecutive_failures),
        backoff_until: backoff,
        rate_limit: health.and_then(|h| h.rate_limit),
        lease_owner,
        cursor_updated_at: snapshot.and_then(|s| s.cursor_updated_at),
        forwarded_total: health
            .and_then(|h| h.counters.get("forwarded").copied())
            .unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(extra: &str) -> OrgConfig {
        let text = format!(
            r#"{{"orgs":[{{"name":"acme","secret_arn":"arn:aws:secretsmanager:us-east-1:1:secret:x"{extra}}}]}}"#
        );
        RelayConfig::from_json(&text).unwrap().orgs.remove(0)
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn ago(seconds: i64) -> Option<DateTime<Utc>> {
        Some(now() - chrono::Duration::seconds(seconds))
    }

    #[test]
    fn the_configured_streams_are_logs_inventory_then_push() {
        let org = org(
            r#","inventory":{"users":{},"groups":{}},"partner_event_source":"aws.partner/okta.com/acme/s""#,
        );
        assert_eq!(
            configured_streams(&org)
                .iter()
                .map(StreamId::name)
                .collect::<Vec<_>>(),
            ["logs", "users", "groups", "push"]
        );
    }

    #[test]
    fn a_succeeding_stream_is_healthy_with_its_lag_and_headroom() {
        let health = HealthReport {
            last_success_at: ago(30),
            newest_event_at: ago(95),
            rate_limit: Some(RateLimitHeadroom {
                remaining: 80,
                limit: 120,
            }),
            ..HealthReport::default()
        };
        let s = derive(
            &org(""),
            &StreamKey::new("acme", "logs"),
            None,
            Some(&health),
            now(),
        );
        assert_eq!(s.state, StreamState::Healthy);
        assert_eq!(s.lag_seconds, Some(95));
        assert_eq!(s.rate_limit.unwrap().remaining, 80);
        assert!(!s.state.needs_attention());
    }

    #[test]
    fn failures_backoff_leases_and_no_records_each_have_their_state() {
        let key = StreamKey::new("acme", "logs");
        let org = org("");
        let failing = HealthReport {
            last_error_at: ago(10),
            last_error: Some("Okta answered 500".into()),
            last_error_kind: Some(ErrorKind::Transient),
            consecutive_failures: 2,
            ..HealthReport::default()
        };
        assert_eq!(
            derive(&org, &key, None, Some(&failing), now()).state,
            StreamState::Failing
        );
        let wrong_token = HealthReport {
            last_error_kind: Some(ErrorKind::Configuration),
            ..failing.clone()
        };
        let s = derive(&org, &key, None, Some(&wrong_token), now());
        assert_eq!(s.state, StreamState::BackingOff);
        assert_eq!(s.backoff_until, ago(10 - 600), "10 min after 2 failures");
        assert!(s.state.needs_attention());
        let held = StreamSnapshot {
            key: key.clone(),
            cursor: None,
            version: 3,
            lease_owner: Some("req-1".into()),
            lease_expires_at: ago(-60),
            cursor_updated_at: ago(5),
        };
        let s = derive(&org, &key, Some(&held), Some(&failing), now());
        assert_eq!(s.state, StreamState::Running);
        assert_eq!(s.lease_owner.as_deref(), Some("req-1"));
        let expired = StreamSnapshot {
            lease_expires_at: ago(1),
            ..held
        };
        let s = derive(&org, &key, Some(&expired), None, now());
        assert_eq!((s.state, s.lease_owner), (StreamState::NeverRun, None));
    }

    #[test]
    fn the_push_path_is_silent_or_stopped_from_the_stream_watch() {
        let org = org(r#","partner_event_source":"aws.partner/okta.com/acme/s""#);
        let key = StreamKey::new("acme", "push");
        let quiet = HealthReport {
            last_success_at: ago(3600),
            newest_event_at: ago(3600),
            ..HealthReport::default()
        };
        let s = derive(&org, &key, None, Some(&quiet), now());
        assert_eq!((s.state, s.lag_seconds), (StreamState::Silent, Some(3600)));
        let stopped = HealthReport {
            lifecycle_event: Some("system.log_stream.lifecycle.deactivate".into()),
            lifecycle_at: ago(60),
            ..quiet
        };
        assert_eq!(
            derive(&org, &key, None, Some(&stopped), now()).state,
            StreamState::Stopped
        );
    }
}
