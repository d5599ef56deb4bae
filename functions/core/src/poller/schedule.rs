//! When a pull stream is due.
//!
//! Each org's schedule invokes the poller often (every 5 minutes by default); each stream
//! decides from its health whether to poll: a stream that has not caught up since its last run (it stopped at the
//! deadline or failed) polls at once, so a backlog drains at the schedule's pace; a caught-up
//! stream waits for its interval, unless a catch-up was requested or the org's push path needs
//! one (see [`crate::stream_watch`]).

use crate::config::OrgConfig;
use crate::ports::HealthReport;
use crate::stream::StreamId;
use crate::stream_watch::PushState;
pub use crate::summary::DueReason;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Whether a stream polls now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Now(DueReason),
    /// Caught up; the interval ends at this time.
    NotBefore(DateTime<Utc>),
}

/// Decides whether a stream polls at `now`.
pub fn due(
    now: DateTime<Utc>,
    interval: Duration,
    health: Option<&HealthReport>,
    push: &PushState,
) -> Due {
    let Some(h) = health else {
        return Due::Now(DueReason::NotCaughtUp);
    };
    let Some(caught_up) = h.caught_up_at else {
        return Due::Now(DueReason::NotCaughtUp);
    };
    let ran_since = |t: Option<DateTime<Utc>>| t.is_some_and(|t| t > caught_up);
    if ran_since(h.last_success_at) || ran_since(h.last_error_at) {
        return Due::Now(DueReason::NotCaughtUp);
    }
    if h.catch_up_pending() {
        return Due::Now(DueReason::Requested);
    }
    if push.needs_catch_up() {
        return Due::Now(DueReason::PushNeedsCatchUp);
    }
    let next = caught_up + chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX);
    if now >= next {
        Due::Now(DueReason::Interval)
    } else {
        Due::NotBefore(next)
    }
}

/// How long a pull stream may go without a successful run before it is overdue: its interval
/// (a directory stream's delta interval, if it has one) plus the slack. `None` for the push
/// path, which the stream watch judges.
pub fn overdue_after(org: &OrgConfig, id: StreamId, slack: Duration) -> Option<Duration> {
    let interval = match id {
        StreamId::Logs => Duration::from_secs(org.logs.interval_seconds),
        // A fan-out stream runs with its parent, on the parent's intervals.
        StreamId::Directory(name) => org
            .inventory_streams()
            .into_iter()
            .find(|s| s.spec.name == name || s.children.iter().any(|c| c.spec.name == name))
            .map(|s| s.delta_interval.unwrap_or(s.interval))?,
        _ => return None,
    };
    Some(interval + slack)
}

/// When the stream became overdue, if it is: no successful run (nor, before the first, a
/// recorded phase) within [`overdue_after`]. A stream that never reported anything is not
/// overdue but pending.
pub fn overdue_since(
    org: &OrgConfig,
    id: StreamId,
    health: &HealthReport,
    slack: Duration,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let limit = chrono::Duration::from_std(overdue_after(org, id, slack)?).ok()?;
    let last_run = health.last_success_at.or(health.phase.map(|p| p.since))?;
    let due_by = last_run + limit;
    (now > due_by).then_some(due_by)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_up_stream_waits_for_its_interval_unless_asked() {
        let now = Utc::now();
        let ago = |s: i64| Some(now - chrono::Duration::seconds(s));
        let hour = Duration::from_secs(3600);
        let quiet = PushState::Delivering;
        assert_eq!(
            due(now, hour, None, &quiet),
            Due::Now(DueReason::NotCaughtUp)
        );
        // The last run ended caught up 10 minutes ago: wait.
        let caught_up = HealthReport {
            last_success_at: ago(600),
            caught_up_at: ago(600),
            ..HealthReport::default()
        };
        assert_eq!(
            due(now, hour, Some(&caught_up), &quiet),
            Due::NotBefore(now + chrono::Duration::seconds(3000))
        );
        assert_eq!(
            due(now, Duration::from_secs(60), Some(&caught_up), &quiet),
            Due::Now(DueReason::Interval)
        );
        // A later run stopped at the deadline, or failed: go on at once.
        let stopped = HealthReport {
            last_success_at: ago(60),
            ..caught_up.clone()
        };
        assert_eq!(
            due(now, hour, Some(&stopped), &quiet),
            Due::Now(DueReason::NotCaughtUp)
        );
        let failed = HealthReport {
            last_error_at: ago(60),
            ..caught_up.clone()
        };
        assert_eq!(
            due(now, hour, Some(&failed), &quiet),
            Due::Now(DueReason::NotCaughtUp)
        );
        // A catch-up request after the last catch-up, or a silent push path.
        let requested = HealthReport {
            catch_up_requested_at: ago(30),
            ..caught_up.clone()
        };
        assert_eq!(
            due(now, hour, Some(&requested), &quiet),
            Due::Now(DueReason::Requested)
        );
        let old_request = HealthReport {
            catch_up_requested_at: ago(900),
            ..caught_up.clone()
        };
        assert!(matches!(
            due(now, hour, Some(&old_request), &quiet),
            Due::NotBefore(_)
        ));
        let silent = PushState::Silent {
            last_event_at: None,
        };
        assert_eq!(
            due(now, hour, Some(&caught_up), &silent),
            Due::Now(DueReason::PushNeedsCatchUp)
        );
    }
}
