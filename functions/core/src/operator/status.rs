//! `status`: every configured stream of every org as an operator needs it on a bad day: its
//! state in one word and since when, whose fault an error is, when it last succeeded, how far
//! behind it is, and how much of Okta's rate limit is left. Read from the state table only (no
//! Okta call, no lease).
//!
//! The health record keeps the phase a run (or a check) established; what only the clock tells
//! is added here: `pending` (nothing recorded yet) and `overdue` (no success within the
//! stream's interval plus `overdue_slack_seconds`, or a silent push path).

use crate::config::{OrgConfig, RelayConfig};
use crate::poller::{backoff_until, overdue_since};
use crate::ports::{
    HealthReport, HealthStore, Phase, PhaseMark, RateLimitHeadroom, StateError, StreamKey,
    StreamSnapshot, StreamStateStore,
};
use crate::stream::StreamId;
use crate::stream_watch::{self, PushState};
use crate::{ErrorKind, Fault};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

/// What a stream is doing, in one word an operator (or an alarm) can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamState {
    /// Configured, never ran (a new org or stream, or the poller was never scheduled).
    Pending,
    /// Okta accepted the credentials (a check, or a run that found nothing yet); nothing
    /// collected yet.
    Authenticated,
    /// The last run read events or objects and has more to read (a backlog); the push path
    /// while partner events arrive.
    Collecting,
    /// The last run read everything Okta had.
    CaughtUp,
    /// Due and not run within its interval plus `overdue_slack_seconds` (pull), or no partner
    /// event within the silence window (push): the schedule is not reaching it, or Okta's
    /// delivery stopped arriving.
    Overdue,
    /// The last run failed; `fault` says whose fault it is.
    Error,
}

impl StreamState {
    /// Whether an operator needs to look.
    pub fn needs_attention(self) -> bool {
        matches!(self, StreamState::Overdue | StreamState::Error)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StreamState::Pending => "pending",
            StreamState::Authenticated => "authenticated",
            StreamState::Collecting => "collecting",
            StreamState::CaughtUp => "caught_up",
            StreamState::Overdue => "overdue",
            StreamState::Error => "error",
        }
    }
}

/// One stream's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamStatus {
    pub org: String,
    pub stream: String,
    pub state: StreamState,
    /// When the stream entered its state, if known.
    pub since: Option<DateTime<Utc>>,
    /// `error`: whose fault (Okta configuration, Okta transient, AWS, the relay).
    pub fault: Option<Fault>,
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
    /// Who holds the lease, while someone does (a run is under way).
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
    // Each directory stream, then the fan-out streams that run inside it.
    for stream in org.inventory_streams() {
        ids.push(StreamId::Directory(stream.spec.name));
        ids.extend(
            stream
                .children
                .iter()
                .map(|c| StreamId::Directory(c.spec.name)),
        );
    }
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
            let slack = Duration::from_secs(config.overdue_slack_seconds);
            out.push(derive(
                org,
                &key,
                snapshot.as_ref(),
                report.as_ref(),
                slack,
                now,
            ));
        }
    }
    Ok(out)
}

/// A stream's state, when it entered it, and whose fault an error is. Pure.
fn state_of(
    org: &OrgConfig,
    id: Option<StreamId>,
    health: Option<&HealthReport>,
    slack: Duration,
    now: DateTime<Utc>,
) -> (StreamState, Option<DateTime<Utc>>, Option<Fault>) {
    if id == Some(StreamId::Push) {
        let push = stream_watch::push_state(now, &org.push, true, health);
        if let PushState::Stopped { at, .. } = push {
            return (StreamState::Error, Some(at), Some(Fault::OktaConfiguration));
        }
        // The poller records the push path's silence (okta_transient) and stop
        // (okta_configuration) as failures too, for their message; those are `overdue` and the
        // error above. A failure of AWS's or the relay's is the events function's own.
        if let Some(h) = health
            && h.consecutive_failures > 0
            && let (Some(fault @ (Fault::Aws | Fault::Relay)), Some(mark)) =
                (h.last_error_fault, h.phase)
            && mark.phase == Phase::Error
        {
            return (StreamState::Error, Some(mark.since), Some(fault));
        }
        match push {
            // Nothing received and nothing recorded yet: a new org (the poller records the
            // silence at its first run, and from then on it is overdue).
            PushState::Silent {
                last_event_at: None,
            } if health.is_none() => return (StreamState::Pending, None, None),
            PushState::Silent { last_event_at } => {
                let window = chrono::Duration::seconds(org.push.silence_window_seconds as i64);
                let since = last_event_at
                    .map(|t| t + window)
                    .or(health.and_then(|h| h.phase.map(|p| p.since)));
                return (StreamState::Overdue, since, None);
            }
            PushState::NotConfigured | PushState::Delivering | PushState::Stopped { .. } => {}
        }
    }
    let Some(h) = health else {
        return (StreamState::Pending, None, None);
    };
    let phase = h.phase.or_else(|| legacy_phase(h));
    let Some(PhaseMark { phase, since }) = phase else {
        return (StreamState::Pending, None, None);
    };
    let overdue = id.and_then(|id| overdue_since(org, id, h, slack, now));
    if phase == Phase::Error && h.consecutive_failures > 0 {
        // A transient failure (timeouts, 5xx, throttling) is expected to clear by itself; one
        // that has outlasted the stream's interval plus the slack is overdue, with its fault:
        // the org is not being collected. Any other error needs an operator at once.
        if let (Some(ErrorKind::Transient), Some(due_by)) = (h.last_error_kind, overdue) {
            return (StreamState::Overdue, Some(due_by), h.last_error_fault);
        }
        return (StreamState::Error, Some(since), h.last_error_fault);
    }
    if let Some(due_by) = overdue {
        return (StreamState::Overdue, Some(due_by), None);
    }
    let state = match phase {
        Phase::Authenticated => StreamState::Authenticated,
        Phase::Collecting | Phase::Error => StreamState::Collecting,
        Phase::CaughtUp => StreamState::CaughtUp,
    };
    (state, Some(since), None)
}

/// The phase of a health record written before phases were recorded (unknown since when).
fn legacy_phase(h: &HealthReport) -> Option<PhaseMark> {
    let (phase, since) = if h.consecutive_failures > 0 {
        (Phase::Error, h.last_error_at?)
    } else {
        let success = h.last_success_at?;
        let caught_up = h.caught_up_at.is_some_and(|t| t >= success);
        let phase = if caught_up {
            Phase::CaughtUp
        } else {
            Phase::Collecting
        };
        (phase, success)
    };
    Some(PhaseMark { phase, since })
}

/// One stream's status from its records. Pure.
pub fn derive(
    org: &OrgConfig,
    key: &StreamKey,
    snapshot: Option<&StreamSnapshot>,
    health: Option<&HealthReport>,
    slack: Duration,
    now: DateTime<Utc>,
) -> StreamStatus {
    let lease_owner = snapshot
        .filter(|s| s.lease_expires_at.is_some_and(|t| t > now))
        .and_then(|s| s.lease_owner.clone());
    let backoff = health.and_then(|h| backoff_until(h, now));
    let id = StreamId::parse(&key.stream);
    let (state, since, fault) = state_of(org, id, health, slack, now);
    let is_log = matches!(id, Some(StreamId::Logs | StreamId::Push));
    StreamStatus {
        org: key.org.clone(),
        stream: key.stream.clone(),
        state,
        since,
        fault,
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
            r#","inventory":{"users":{},"groups":{},"user_factors":{},"group_roles":{}},"partner_event_source":"aws.partner/okta.com/acme/s""#,
        );
        assert_eq!(
            configured_streams(&org)
                .iter()
                .map(StreamId::name)
                .collect::<Vec<_>>(),
            [
                "logs",
                "users",
                "user_factors",
                "groups",
                "group_roles",
                "push"
            ],
            "each fan-out stream after its parent"
        );
    }

    const SLACK: Duration = Duration::from_secs(900);

    fn mark(phase: Phase, seconds_ago: i64) -> Option<PhaseMark> {
        Some(PhaseMark {
            phase,
            since: ago(seconds_ago).unwrap(),
        })
    }

    fn state(org: &OrgConfig, stream: &str, h: Option<&HealthReport>) -> StreamStatus {
        derive(org, &StreamKey::new("acme", stream), None, h, SLACK, now())
    }

    #[test]
    fn a_caught_up_stream_shows_since_when_with_its_lag_and_headroom() {
        let health = HealthReport {
            last_success_at: ago(30),
            newest_event_at: ago(95),
            phase: mark(Phase::CaughtUp, 3600),
            rate_limit: Some(RateLimitHeadroom {
                remaining: 80,
                limit: 120,
            }),
            ..HealthReport::default()
        };
        let s = state(&org(""), "logs", Some(&health));
        assert_eq!((s.state, s.since), (StreamState::CaughtUp, ago(3600)));
        assert_eq!(s.lag_seconds, Some(95));
        assert_eq!(s.rate_limit.unwrap().remaining, 80);
        assert!(!s.state.needs_attention());
    }

    #[test]
    fn pending_authenticated_and_collecting_come_from_the_recorded_phase() {
        let org = org("");
        assert_eq!(state(&org, "logs", None).state, StreamState::Pending);
        let empty = HealthReport::default();
        assert_eq!(
            state(&org, "logs", Some(&empty)).state,
            StreamState::Pending
        );
        let checked = HealthReport {
            phase: mark(Phase::Authenticated, 60),
            ..HealthReport::default()
        };
        let s = state(&org, "logs", Some(&checked));
        assert_eq!((s.state, s.since), (StreamState::Authenticated, ago(60)));
        let backlog = HealthReport {
            last_success_at: ago(20),
            phase: mark(Phase::Collecting, 300),
            ..HealthReport::default()
        };
        let s = state(&org, "logs", Some(&backlog));
        assert_eq!((s.state, s.since), (StreamState::Collecting, ago(300)));
    }

    #[test]
    fn an_error_says_whose_fault_and_since_when_and_a_lease_does_not_hide_it() {
        let key = StreamKey::new("acme", "logs");
        let org = org("");
        let wrong_token = HealthReport {
            last_error_at: ago(10),
            last_error: Some("Okta answered 401".into()),
            last_error_kind: Some(ErrorKind::Configuration),
            last_error_fault: Some(Fault::OktaConfiguration),
            consecutive_failures: 2,
            phase: mark(Phase::Error, 700),
            ..HealthReport::default()
        };
        let s = derive(&org, &key, None, Some(&wrong_token), SLACK, now());
        assert_eq!(
            (s.state, s.fault, s.since),
            (StreamState::Error, Some(Fault::OktaConfiguration), ago(700))
        );
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
        let s = derive(&org, &key, Some(&held), Some(&wrong_token), SLACK, now());
        assert_eq!(s.state, StreamState::Error);
        assert_eq!(s.lease_owner.as_deref(), Some("req-1"));
        let expired = StreamSnapshot {
            lease_expires_at: ago(1),
            ..held
        };
        let s = derive(&org, &key, Some(&expired), None, SLACK, now());
        assert_eq!((s.state, s.lease_owner), (StreamState::Pending, None));
    }

    #[test]
    fn a_transient_failure_that_outlasts_the_interval_is_overdue_with_its_fault() {
        let key = StreamKey::new("slow", "logs");
        let org = org(r#","logs":{"interval_seconds":60}"#);
        let timing_out = |failing_for: i64| HealthReport {
            last_success_at: ago(failing_for),
            newest_event_at: ago(failing_for + 5),
            last_error_at: ago(10),
            last_error: Some("timed out".into()),
            last_error_kind: Some(ErrorKind::Transient),
            last_error_fault: Some(Fault::OktaTransient),
            consecutive_failures: 3,
            phase: mark(Phase::Error, failing_for - 1),
            ..HealthReport::default()
        };
        let short = derive(&org, &key, None, Some(&timing_out(300)), SLACK, now());
        assert_eq!(
            (short.state, short.fault),
            (StreamState::Error, Some(Fault::OktaTransient))
        );
        let long = derive(&org, &key, None, Some(&timing_out(1200)), SLACK, now());
        assert_eq!(
            (long.state, long.fault, long.since),
            (
                StreamState::Overdue,
                Some(Fault::OktaTransient),
                ago(1200 - 60 - 900)
            )
        );
        assert_eq!(long.lag_seconds, Some(1205));
    }

    #[test]
    fn a_stream_not_run_within_its_interval_and_the_slack_is_overdue() {
        let org = org(r#","logs":{"interval_seconds":3600},"inventory":{"users":{}}"#);
        let health = |last: i64| HealthReport {
            last_success_at: ago(last),
            phase: mark(Phase::CaughtUp, last),
            ..HealthReport::default()
        };
        // Within the hour and the 15 minutes: fine; past it: overdue since the limit passed.
        assert_eq!(
            state(&org, "logs", Some(&health(3600 + 899))).state,
            StreamState::CaughtUp
        );
        let s = state(&org, "logs", Some(&health(3600 + 960)));
        assert_eq!((s.state, s.since), (StreamState::Overdue, ago(60)));
        assert!(s.state.needs_attention());
        // A directory stream by its delta interval (users: 15 min by default).
        let users = StreamKey::new("acme", "users");
        let s = derive(&org, &users, None, Some(&health(1000)), SLACK, now());
        assert_eq!(s.state, StreamState::CaughtUp, "{s:?}");
        let s = derive(&org, &users, None, Some(&health(100_000)), SLACK, now());
        assert_eq!(s.state, StreamState::Overdue);
    }

    #[test]
    fn a_record_from_before_phases_still_reads_as_a_state() {
        let org = org("");
        let old = HealthReport {
            last_success_at: ago(60),
            caught_up_at: ago(60),
            ..HealthReport::default()
        };
        assert_eq!(state(&org, "logs", Some(&old)).state, StreamState::CaughtUp);
        let failing = HealthReport {
            last_error_at: ago(5),
            consecutive_failures: 1,
            ..old
        };
        assert_eq!(
            state(&org, "logs", Some(&failing)).state,
            StreamState::Error
        );
    }

    #[test]
    fn the_push_path_is_overdue_when_silent_and_an_okta_error_when_stopped() {
        let org = org(r#","partner_event_source":"aws.partner/okta.com/acme/s""#);
        let quiet = HealthReport {
            last_success_at: ago(3600),
            newest_event_at: ago(3600),
            phase: mark(Phase::Collecting, 7200),
            ..HealthReport::default()
        };
        assert_eq!(state(&org, "push", None).state, StreamState::Pending);
        let s = state(&org, "push", Some(&quiet));
        assert_eq!((s.state, s.lag_seconds), (StreamState::Overdue, Some(3600)));
        assert_eq!(s.since, ago(3600 - 900), "the silence window ended then");
        let stopped = HealthReport {
            lifecycle_event: Some("system.log_stream.lifecycle.deactivate".into()),
            lifecycle_at: ago(60),
            ..quiet.clone()
        };
        let s = state(&org, "push", Some(&stopped));
        assert_eq!(
            (s.state, s.fault, s.since),
            (StreamState::Error, Some(Fault::OktaConfiguration), ago(60))
        );
        let flowing = HealthReport {
            last_success_at: ago(5),
            newest_event_at: ago(6),
            ..quiet
        };
        assert_eq!(
            state(&org, "push", Some(&flowing)).state,
            StreamState::Collecting
        );
    }
}
