//! Streams stopped by errors a retry cannot fix (configuration and permanent errors) wait
//! before they are tried again: a wrong token is retried, but never in a storm.

use crate::ErrorKind;
use crate::ports::HealthReport;
use chrono::{DateTime, Utc};
use std::time::Duration;

use crate::limits::FIRST_BACKOFF_MINUTES;
use crate::limits::LONGEST_BACKOFF_MINUTES;

/// After `failures` consecutive configuration errors, wait 5 min × 2^(failures−1), at most 6 h.
pub fn configuration_backoff(failures: u64) -> Duration {
    let minutes = FIRST_BACKOFF_MINUTES.saturating_mul(1 << failures.saturating_sub(1).min(10));
    Duration::from_secs(minutes.min(LONGEST_BACKOFF_MINUTES) * 60)
}

/// `Some(until)` while a stream's last failures were configuration or permanent errors (a
/// retry gives the same answer until someone changes something) and their backoff
/// ([`configuration_backoff`]) has not passed at `now`.
pub fn backoff_until(health: &HealthReport, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let stops = matches!(
        health.last_error_kind,
        Some(ErrorKind::Configuration | ErrorKind::Permanent)
    );
    if !stops || health.consecutive_failures == 0 {
        return None;
    }
    let backoff =
        chrono::Duration::from_std(configuration_backoff(health.consecutive_failures)).ok()?;
    let until = health.last_error_at? + backoff;
    (now < until).then_some(until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_backoff_doubles_and_is_capped() {
        let minutes: Vec<u64> = (1..=9)
            .map(|n| configuration_backoff(n).as_secs() / 60)
            .collect();
        assert_eq!(minutes, [5, 10, 20, 40, 80, 160, 320, 360, 360]);
        assert_eq!(configuration_backoff(u64::MAX).as_secs(), 360 * 60);
    }
}
