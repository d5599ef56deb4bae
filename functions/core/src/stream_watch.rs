//! The stream watch: noticing that Okta Log Streaming stopped, so the poller fills the gap.
//!
//! Okta deactivates a log stream after two failed deliveries and has no replay; an outage is a
//! silent gap unless something notices (`ARCHITECTURE.md`, "Okta's rules of the road"). Two signals say the push
//! path is not delivering: a log-stream lifecycle event (`system.log_stream.lifecycle.deactivate`
//! or `.delete`, seen by either path) and silence (no partner event for the org within the
//! configured window). Either makes the org's System Log stream due at every poller schedule
//! until the push path delivers again; the shared dedupe marks make the overlap harmless.
//!
//! The push path's health lives under [`StreamId::Push`](crate::stream::StreamId): every handled partner
//! event is a success, silence is recorded as a failure by the poller, and the last lifecycle
//! event is a note.

use crate::config::PushConfig;
use crate::ports::HealthReport;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Okta's log-stream lifecycle event types share this prefix.
pub const LIFECYCLE_PREFIX: &str = "system.log_stream.lifecycle.";

/// A System Log event type about a log stream's lifecycle (create, activate, deactivate, …).
pub fn is_lifecycle_event(event_type: &str) -> bool {
    event_type.starts_with(LIFECYCLE_PREFIX) && event_type.len() > LIFECYCLE_PREFIX.len()
}

/// A lifecycle event after which the stream no longer delivers.
pub fn stops_delivery(event_type: &str) -> bool {
    matches!(
        event_type.strip_prefix(LIFECYCLE_PREFIX),
        Some("deactivate" | "delete")
    )
}

/// Whether an org's push path is delivering, as far as the relay can tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PushState {
    /// The org has no partner event source configured: pull only.
    NotConfigured,
    /// Partner events arrived within the silence window (or the check is off).
    Delivering,
    /// No partner event within the window; `last_event_at` is `None` if none ever arrived.
    Silent {
        last_event_at: Option<DateTime<Utc>>,
    },
    /// The last lifecycle event stopped the stream (deactivated or deleted in Okta).
    Stopped {
        event_type: String,
        at: DateTime<Utc>,
    },
}

impl PushState {
    /// The poller should poll the org's System Log now, whatever its interval.
    pub fn needs_catch_up(&self) -> bool {
        matches!(self, PushState::Silent { .. } | PushState::Stopped { .. })
    }
}

/// The push path's state from its health record.
pub fn push_state(
    now: DateTime<Utc>,
    config: &PushConfig,
    has_source: bool,
    health: Option<&HealthReport>,
) -> PushState {
    if !has_source {
        return PushState::NotConfigured;
    }
    // Stopped until a partner event published after the stop arrives (or `.activate`).
    if let Some(h) = health
        && let (Some(event_type), Some(at)) = (&h.lifecycle_event, h.lifecycle_at)
        && stops_delivery(event_type)
        && h.newest_event_at.is_none_or(|newest| newest <= at)
    {
        return PushState::Stopped {
            event_type: event_type.clone(),
            at,
        };
    }
    if config.silence_window_seconds == 0 {
        return PushState::Delivering;
    }
    let last_event_at = health.and_then(|h| h.last_success_at);
    let window = chrono::Duration::seconds(config.silence_window_seconds as i64);
    match last_event_at {
        Some(at) if now - at <= window => PushState::Delivering,
        _ => PushState::Silent { last_event_at },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes_ago: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        Some(now - chrono::Duration::minutes(minutes_ago))
    }

    #[test]
    fn lifecycle_events_are_recognised() {
        assert!(is_lifecycle_event("system.log_stream.lifecycle.deactivate"));
        assert!(is_lifecycle_event("system.log_stream.lifecycle.activate"));
        assert!(!is_lifecycle_event("system.log_stream.lifecycle."));
        assert!(!is_lifecycle_event("user.session.start"));
        assert!(stops_delivery("system.log_stream.lifecycle.deactivate"));
        assert!(stops_delivery("system.log_stream.lifecycle.delete"));
        assert!(!stops_delivery("system.log_stream.lifecycle.activate"));
        assert!(!stops_delivery("system.log_stream.lifecycle.create"));
    }

    #[test]
    fn silence_and_deactivation_need_a_catch_up() {
        let now = Utc::now();
        let config = PushConfig::default(); // 15 minutes
        let seen = |minutes| HealthReport {
            last_success_at: at(minutes, now),
            ..HealthReport::default()
        };
        assert_eq!(
            push_state(now, &config, false, None),
            PushState::NotConfigured
        );
        assert_eq!(
            push_state(now, &config, true, Some(&seen(5))),
            PushState::Delivering
        );
        let silent = push_state(now, &config, true, Some(&seen(20)));
        assert!(silent.needs_catch_up(), "{silent:?}");
        assert_eq!(
            push_state(now, &config, true, None),
            PushState::Silent {
                last_event_at: None
            },
            "a source that never delivered is silent"
        );
        let off = PushConfig {
            silence_window_seconds: 0,
            ..PushConfig::default()
        };
        assert_eq!(push_state(now, &off, true, None), PushState::Delivering);

        let mut deactivated = seen(1);
        deactivated.lifecycle_event = Some("system.log_stream.lifecycle.deactivate".into());
        deactivated.lifecycle_at = at(2, now);
        let state = push_state(now, &off, true, Some(&deactivated));
        assert!(matches!(state, PushState::Stopped { .. }), "{state:?}");
        assert!(state.needs_catch_up());
        // The deactivate event itself arriving by push is no sign of delivery; an event
        // published after it is: delivery resumed.
        deactivated.newest_event_at = deactivated.lifecycle_at;
        let state = push_state(now, &off, true, Some(&deactivated));
        assert!(matches!(state, PushState::Stopped { .. }), "{state:?}");
        deactivated.newest_event_at = at(1, now);
        assert_eq!(
            push_state(now, &config, true, Some(&deactivated)),
            PushState::Delivering,
            "a partner event published after the stop"
        );
        deactivated.newest_event_at = None;

        deactivated.lifecycle_event = Some("system.log_stream.lifecycle.activate".into());
        assert_eq!(
            push_state(now, &config, true, Some(&deactivated)),
            PushState::Delivering,
            "re-activated"
        );
    }
}
