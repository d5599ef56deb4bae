//! How a run works to its deadline: tunables that are not part of the user configuration, and
//! the deadline itself.

use crate::config::RelayConfig;
use crate::config::defaults::{DEADLINE_MARGIN_SECONDS, LEASE_SECONDS};
use crate::limits::LAMBDA_MAX_RUN;
use crate::okta::ClientSettings;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Tunables of a run.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub client: ClientSettings,
    /// Stop taking new pages when less than this is left before the deadline.
    pub deadline_margin: Duration,
    pub lease_ttl: Duration,
}

impl RunSettings {
    /// The settings the configuration asks for.
    pub fn from_config(config: &RelayConfig) -> Self {
        Self {
            deadline_margin: Duration::from_secs(config.deadline_margin_seconds),
            lease_ttl: config.lease_ttl(),
            ..Self::default()
        }
    }

    /// When a run that must end by `deadline` stops taking pages and waiting.
    pub fn stop_by(&self, deadline: DateTime<Utc>) -> DateTime<Utc> {
        deadline - chrono::Duration::from_std(self.deadline_margin).unwrap_or_default()
    }
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            client: ClientSettings::default(),
            deadline_margin: Duration::from_secs(DEADLINE_MARGIN_SECONDS),
            lease_ttl: Duration::from_secs(LEASE_SECONDS),
        }
    }
}

/// The deadline a run works to: the runtime's (Lambda's invocation deadline), unless it is not
/// in the future or beyond Lambda's 15-minute maximum (local emulators send none), in which case
/// `now + fallback`. The flag says whether the fallback was used.
pub fn effective_deadline(
    runtime_deadline_ms: u64,
    now: DateTime<Utc>,
    fallback: Duration,
) -> (DateTime<Utc>, bool) {
    let runtime = i64::try_from(runtime_deadline_ms)
        .ok()
        .and_then(DateTime::<Utc>::from_timestamp_millis);
    let longest = chrono::Duration::from_std(LAMBDA_MAX_RUN).unwrap_or_default();
    match runtime {
        Some(d) if d > now && d <= now + longest => (d, false),
        _ => (
            now + chrono::Duration::from_std(fallback).unwrap_or_default(),
            true,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_deadline_is_used_only_when_plausible() {
        let now = DateTime::<Utc>::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
        let fallback = Duration::from_secs(240);
        let real = now + chrono::Duration::seconds(300);
        assert_eq!(
            effective_deadline(real.timestamp_millis() as u64, now, fallback),
            (real, false)
        );
        for bogus in [
            0,
            (now - chrono::Duration::seconds(1)).timestamp_millis() as u64,
            (now + chrono::Duration::hours(1)).timestamp_millis() as u64,
            u64::MAX,
        ] {
            let (deadline, fell_back) = effective_deadline(bogus, now, fallback);
            assert!(fell_back, "{bogus}");
            assert_eq!(deadline, now + chrono::Duration::seconds(240));
        }
    }
}
