//! Okta's rate limits, shared with every other integration of the org.
//!
//! Okta meters requests per endpoint bucket and reports the state of the bucket a request fell
//! into on every response (`X-Rate-Limit-Limit`, `-Remaining`, `-Reset`). The limiter:
//!
//! - learns each bucket's state from those headers and counts its own requests in between;
//! - stops spending once only the reserve is left (default 10 % of the limit) so the org's other
//!   integrations keep working, and waits for the window to reset;
//! - on a 429 waits until the reset, computed on Okta's clock (`Reset − Date + 1 s`), so a skewed
//!   local clock neither hammers Okta nor sleeps for hours;
//! - on a concurrency 429 (limit and remaining both `0`) backs off exponentially;
//! - adds jitter to every wait, and caps every wait (a hostile `Reset` cannot park us forever).
//!
//! The limiter only decides; it never sleeps. That keeps it testable with a [`ManualClock`].
//!
//! [`ManualClock`]: crate::clock::ManualClock

use crate::clock::{Clock, until};
use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::HeaderMap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One of Okta's rate-limit buckets, named by the endpoint family it meters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RateLimitBucket(String);

impl RateLimitBucket {
    /// The bucket of a request path: `/api/v1/logs`, `/api/v1/users`, `/api/v1/users/*`,
    /// `/api/v1/apps*` (Okta meters all app sub-resources together), `/oauth2/v1/clients`, …
    pub fn for_path(path: &str) -> Self {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let name = match segments.as_slice() {
            ["api", "v1", "apps", ..] => "/api/v1/apps*".to_string(),
            ["api", "v1", resource] => format!("/api/v1/{resource}"),
            ["api", "v1", resource, ..] => format!("/api/v1/{resource}/*"),
            ["oauth2", "v1", resource, ..] => format!("/oauth2/v1/{resource}"),
            other => format!(
                "/{}",
                other.iter().take(3).copied().collect::<Vec<_>>().join("/")
            ),
        };
        Self(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RateLimitBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The rate-limit headers of one response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitHeaders {
    pub limit: Option<u32>,
    pub remaining: Option<u32>,
    /// `X-Rate-Limit-Reset`: epoch seconds on Okta's clock.
    pub reset_epoch: Option<i64>,
    /// The response's `Date` header: Okta's clock.
    pub server_date: Option<DateTime<Utc>>,
}

impl RateLimitHeaders {
    /// Reads the headers. When a header appears more than once, the most conservative value wins
    /// (smallest remaining, earliest reset), as Okta's SDKs do.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        fn min_of<T: std::str::FromStr + Ord>(headers: &HeaderMap, name: &str) -> Option<T> {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|v| v.trim().parse::<T>().ok())
                .min()
        }
        let server_date = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .map(DateTime::<Utc>::from);
        Self {
            limit: min_of(headers, "x-rate-limit-limit"),
            remaining: min_of(headers, "x-rate-limit-remaining"),
            reset_epoch: min_of(headers, "x-rate-limit-reset"),
            server_date,
        }
    }

    /// Okta reports concurrency-limit 429s with limit and remaining both `0`.
    pub fn is_concurrency_limit(&self) -> bool {
        self.limit == Some(0) && self.remaining == Some(0)
    }
}

/// How the limiter spends the org's budget.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitPolicy {
    /// Share of each bucket's limit left for the org's other integrations (0.0–0.9).
    pub reserve_fraction: f64,
    /// Upper bound of the random delay added to every wait.
    pub max_jitter: Duration,
    /// First backoff after a concurrency 429 (or a 429 without usable headers); doubles after.
    pub concurrency_backoff: Duration,
    /// No single wait is longer than this, whatever the server says.
    pub max_wait: Duration,
    /// The shortest wait after any 429: never a tight retry loop.
    pub min_wait_after_429: Duration,
}

impl Default for RateLimitPolicy {
    fn default() -> Self {
        Self {
            reserve_fraction: 0.10,
            max_jitter: Duration::from_millis(1_000),
            concurrency_backoff: Duration::from_secs(2),
            max_wait: Duration::from_secs(120),
            min_wait_after_429: Duration::from_secs(1),
        }
    }
}

impl RateLimitPolicy {
    /// The requests kept back for others out of `limit` (rounded up, so a reserve of 10 % of a
    /// limit of 5 still keeps one request back).
    pub fn reserve(&self, limit: u32) -> u32 {
        let fraction = self.reserve_fraction.clamp(0.0, 0.9);
        (f64::from(limit) * fraction).ceil() as u32
    }
}

/// What the caller should do before sending a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Proceed,
    /// Wait this long, then ask again.
    Wait(Duration),
}

#[derive(Debug, Clone)]
struct BucketState {
    /// `0` while unknown: a concurrency 429 can be the first thing seen of a bucket, and it
    /// says nothing about the bucket's limit.
    limit: u32,
    remaining: u32,
    /// Okta's reset epoch: identifies the window the counts belong to.
    window: i64,
    /// When the window resets, on our clock.
    reset_at: DateTime<Utc>,
    /// No request before this instant (after a 429).
    blocked_until: Option<DateTime<Utc>>,
    concurrency_strikes: u32,
}

/// Per-org rate limiter; cheap to clone and share between the org's streams.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    policy: RateLimitPolicy,
    clock: Arc<dyn Clock>,
    buckets: Arc<Mutex<HashMap<RateLimitBucket, BucketState>>>,
}

impl RateLimiter {
    pub fn new(policy: RateLimitPolicy, clock: Arc<dyn Clock>) -> Self {
        Self {
            policy,
            clock,
            buckets: Arc::default(),
        }
    }

    pub fn policy(&self) -> &RateLimitPolicy {
        &self.policy
    }

    /// Asks to send one request on `bucket`. On [`Admission::Proceed`] the request is counted.
    pub fn admit(&self, bucket: &RateLimitBucket) -> Admission {
        let now = self.clock.now();
        let mut buckets = self.lock();
        let Some(state) = buckets.get_mut(bucket) else {
            return Admission::Proceed;
        };
        if let Some(blocked) = state.blocked_until {
            if now < blocked {
                return Admission::Wait(until(now, blocked) + self.jitter());
            }
            state.blocked_until = None;
        }
        if state.limit == 0 {
            return Admission::Proceed;
        }
        if now >= state.reset_at {
            // A new window: we know the limit, not yet the new reset; count from full.
            state.remaining = state.limit;
            state.reset_at = now + chrono::Duration::seconds(60);
        }
        if state.remaining <= self.policy.reserve(state.limit) {
            return Admission::Wait(until(now, state.reset_at) + self.jitter());
        }
        state.remaining -= 1;
        Admission::Proceed
    }

    /// Learns a bucket's state from a response that was not a 429.
    pub fn observe(&self, bucket: &RateLimitBucket, headers: &RateLimitHeaders) {
        let now = self.clock.now();
        let mut buckets = self.lock();
        if let Some(state) = buckets.get_mut(bucket) {
            state.concurrency_strikes = 0;
        }
        let (Some(limit), Some(remaining), Some(window)) =
            (headers.limit, headers.remaining, headers.reset_epoch)
        else {
            return;
        };
        if limit == 0 {
            return;
        }
        let reset_at = self.reset_on_our_clock(window, headers.server_date, now);
        match buckets.get_mut(bucket) {
            // Responses of one window can arrive out of order: keep the smaller count.
            Some(state) if state.window == window => {
                state.remaining = state.remaining.min(remaining);
                state.limit = limit;
            }
            _ => {
                let blocked_until = buckets.get(bucket).and_then(|s| s.blocked_until);
                buckets.insert(
                    bucket.clone(),
                    BucketState {
                        limit,
                        remaining,
                        window,
                        reset_at,
                        blocked_until,
                        concurrency_strikes: 0,
                    },
                );
            }
        }
    }

    /// Records a 429 and says how long to wait before retrying. Every later [`admit`] on the
    /// bucket waits too, so concurrent callers do not spend the next window's first requests.
    ///
    /// [`admit`]: RateLimiter::admit
    pub fn on_too_many_requests(
        &self,
        bucket: &RateLimitBucket,
        headers: &RateLimitHeaders,
    ) -> Duration {
        let now = self.clock.now();
        let mut buckets = self.lock();
        let entry = buckets
            .entry(bucket.clone())
            .or_insert_with(|| BucketState {
                limit: headers.limit.unwrap_or(0),
                remaining: 0,
                window: headers.reset_epoch.unwrap_or(0),
                reset_at: now,
                blocked_until: None,
                concurrency_strikes: 0,
            });
        let server_reset = headers
            .reset_epoch
            .map(|epoch| self.reset_on_our_clock(epoch, headers.server_date, now));
        let wait = if headers.is_concurrency_limit() || server_reset.is_none() {
            entry.concurrency_strikes = entry.concurrency_strikes.saturating_add(1);
            let exponent = entry.concurrency_strikes.saturating_sub(1).min(16);
            let backoff = self
                .policy
                .concurrency_backoff
                .saturating_mul(1 << exponent);
            let estimate = server_reset.map(|r| until(now, r)).unwrap_or_default();
            backoff.max(estimate)
        } else {
            let reset_at = server_reset.unwrap_or(now);
            if let Some(limit) = headers.limit.filter(|l| *l > 0) {
                entry.limit = limit;
            }
            entry.remaining = 0;
            entry.window = headers.reset_epoch.unwrap_or(entry.window);
            entry.reset_at = reset_at;
            until(now, reset_at)
        };
        let wait = wait
            .max(self.policy.min_wait_after_429)
            .min(self.policy.max_wait);
        entry.blocked_until = Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
        wait + self.jitter()
    }

    /// Remaining and limit last seen for a bucket (for status and metrics).
    pub fn headroom(&self, bucket: &RateLimitBucket) -> Option<(u32, u32)> {
        self.lock().get(bucket).map(|s| (s.remaining, s.limit))
    }

    /// `Reset − Date + 1 s` after now, capped: Okta's clock, not ours, decides the wait.
    fn reset_on_our_clock(
        &self,
        reset_epoch: i64,
        server_date: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let reference = server_date.unwrap_or(now);
        let reset = Utc
            .timestamp_opt(reset_epoch, 0)
            .single()
            .unwrap_or(reference);
        let wait = until(reference, reset) + Duration::from_secs(1);
        now + chrono::Duration::from_std(wait.min(self.policy.max_wait)).unwrap_or_default()
    }

    fn jitter(&self) -> Duration {
        let max = self.policy.max_jitter.as_millis() as u64;
        if max == 0 {
            Duration::ZERO
        } else {
            Duration::from_millis(rand::random_range(0..=max))
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RateLimitBucket, BucketState>> {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
    }

    fn limiter(clock: &ManualClock, jitter_ms: u64) -> RateLimiter {
        RateLimiter::new(
            RateLimitPolicy {
                max_jitter: Duration::from_millis(jitter_ms),
                ..RateLimitPolicy::default()
            },
            Arc::new(clock.clone()),
        )
    }

    fn headers(
        limit: u32,
        remaining: u32,
        reset: DateTime<Utc>,
        date: DateTime<Utc>,
    ) -> RateLimitHeaders {
        RateLimitHeaders {
            limit: Some(limit),
            remaining: Some(remaining),
            reset_epoch: Some(reset.timestamp()),
            server_date: Some(date),
        }
    }

    fn logs() -> RateLimitBucket {
        RateLimitBucket::for_path("/api/v1/logs")
    }

    #[test]
    fn buckets_follow_okta_endpoint_families() {
        assert_eq!(
            RateLimitBucket::for_path("/api/v1/logs").as_str(),
            "/api/v1/logs"
        );
        assert_eq!(
            RateLimitBucket::for_path("/api/v1/users").as_str(),
            "/api/v1/users"
        );
        assert_eq!(
            RateLimitBucket::for_path("/api/v1/users/00u1/groups").as_str(),
            "/api/v1/users/*"
        );
        assert_eq!(
            RateLimitBucket::for_path("/api/v1/groups/00g1/users").as_str(),
            "/api/v1/groups/*"
        );
        assert_eq!(
            RateLimitBucket::for_path("/api/v1/apps").as_str(),
            "/api/v1/apps*"
        );
        assert_eq!(
            RateLimitBucket::for_path("/api/v1/apps/0oa1/users").as_str(),
            "/api/v1/apps*"
        );
        assert_eq!(
            RateLimitBucket::for_path("/oauth2/v1/clients").as_str(),
            "/oauth2/v1/clients"
        );
    }

    #[test]
    fn unknown_buckets_proceed() {
        let clock = ManualClock::new(start());
        assert_eq!(limiter(&clock, 0).admit(&logs()), Admission::Proceed);
    }

    #[test]
    fn keeps_the_reserve_for_other_integrations() {
        let clock = ManualClock::new(start());
        let limiter = limiter(&clock, 0);
        let reset = start() + chrono::Duration::seconds(40);
        // 120/min, 15 left: the reserve is 12, so three more requests, then wait.
        limiter.observe(&logs(), &headers(120, 15, reset, start()));
        for _ in 0..3 {
            assert_eq!(limiter.admit(&logs()), Admission::Proceed);
        }
        assert_eq!(
            limiter.admit(&logs()),
            Admission::Wait(Duration::from_secs(41)),
            "waits for the reset (+1 s) instead of eating the reserve"
        );
        // After the reset the bucket is spendable again.
        clock.advance(Duration::from_secs(41));
        assert_eq!(limiter.admit(&logs()), Admission::Proceed);
    }

    #[test]
    fn reserve_is_configurable_and_rounds_up() {
        let policy = RateLimitPolicy {
            reserve_fraction: 0.25,
            ..RateLimitPolicy::default()
        };
        assert_eq!(policy.reserve(120), 30);
        assert_eq!(RateLimitPolicy::default().reserve(5), 1);
        assert_eq!(RateLimitPolicy::default().reserve(0), 0);
        let clock = ManualClock::new(start());
        let limiter = RateLimiter::new(
            RateLimitPolicy {
                reserve_fraction: 0.0,
                max_jitter: Duration::ZERO,
                ..RateLimitPolicy::default()
            },
            Arc::new(clock.clone()),
        );
        limiter.observe(
            &logs(),
            &headers(10, 1, start() + chrono::Duration::seconds(5), start()),
        );
        assert_eq!(limiter.admit(&logs()), Admission::Proceed);
        assert!(matches!(limiter.admit(&logs()), Admission::Wait(_)));
    }

    #[test]
    fn out_of_order_responses_keep_the_smaller_count() {
        let clock = ManualClock::new(start());
        let limiter = limiter(&clock, 0);
        let reset = start() + chrono::Duration::seconds(30);
        limiter.observe(&logs(), &headers(100, 50, reset, start()));
        limiter.observe(&logs(), &headers(100, 70, reset, start()));
        assert_eq!(limiter.headroom(&logs()), Some((50, 100)));
        // A new window replaces the count.
        limiter.observe(
            &logs(),
            &headers(100, 99, reset + chrono::Duration::seconds(60), start()),
        );
        assert_eq!(limiter.headroom(&logs()), Some((99, 100)));
    }

    #[test]
    fn a_429_waits_until_reset_on_oktas_clock_when_ours_is_ahead() {
        // Our clock is 10 minutes ahead of Okta's. Naively `reset - our_now` is negative and
        // we would retry at once, in a loop.
        let okta_now = start();
        let clock = ManualClock::new(okta_now + chrono::Duration::minutes(10));
        let limiter = limiter(&clock, 0);
        let h = headers(120, 0, okta_now + chrono::Duration::seconds(30), okta_now);
        assert_eq!(
            limiter.on_too_many_requests(&logs(), &h),
            Duration::from_secs(31)
        );
        // Everyone else on that bucket waits too.
        assert_eq!(
            limiter.admit(&logs()),
            Admission::Wait(Duration::from_secs(31))
        );
        clock.advance(Duration::from_secs(31));
        assert_eq!(limiter.admit(&logs()), Admission::Proceed);
    }

    #[test]
    fn a_429_waits_until_reset_on_oktas_clock_when_ours_is_behind() {
        // Our clock is an hour behind: naive `reset - our_now` would sleep an hour.
        let okta_now = start();
        let clock = ManualClock::new(okta_now - chrono::Duration::hours(1));
        let limiter = limiter(&clock, 0);
        let h = headers(120, 0, okta_now + chrono::Duration::seconds(12), okta_now);
        assert_eq!(
            limiter.on_too_many_requests(&logs(), &h),
            Duration::from_secs(13)
        );
    }

    #[test]
    fn a_429_without_date_falls_back_to_our_clock() {
        let clock = ManualClock::new(start());
        let limiter = limiter(&clock, 0);
        let h = RateLimitHeaders {
            server_date: None,
            ..headers(120, 0, start() + chrono::Duration::seconds(20), start())
        };
        assert_eq!(
            limiter.on_too_many_requests(&logs(), &h),
            Duration::from_secs(21)
        );
    }

    #[test]
    fn a_429_never_means_an_immediate_retry() {
        let clock = ManualClock::new(start());
        let limiter = limiter(&clock, 0);
        // Reset already in the past on Okta's clock.
        let h = headers(120, 0, start() - chrono::Duration::seconds(5), start());
        assert_eq!(
            limiter.on_too_many_requests(&logs(), &h),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn hostile_reset_values_are_capped() {
        let clock = ManualClock::new(start());
        let limiter = limiter(&clock, 0);
        let h = headers(120, 0, start() + chrono::Duration::days(365), start());
        assert_eq!(
            limiter.on_too_many_requests(&logs(), &h),
            Duration::from_secs(120)
        );
        let h = RateLimitHeaders {
            reset_epoch: Some(i64::MAX),
            ..h
        };
        assert!(limiter.on_too_many_requests(&logs(), &h) <= Duration::from_secs(120));
    }

    #[test]
    fn concurrency_429s_back_off_exponentially_and_recover() {
        let clock = ManualClock::new(start());
        let limiter = limiter(&clock, 0);
        let h = RateLimitHeaders {
            limit: Some(0),
            remaining: Some(0),
            reset_epoch: Some(start().timestamp()),
            server_date: Some(start()),
        };
        assert!(h.is_concurrency_limit());
        let waits: Vec<_> = (0..4)
            .map(|_| limiter.on_too_many_requests(&logs(), &h))
            .collect();
        assert_eq!(
            waits,
            [2, 4, 8, 16].map(Duration::from_secs).to_vec(),
            "doubling backoff on repeated concurrency 429s"
        );
        // A successful response resets the backoff.
        limiter.observe(
            &logs(),
            &headers(120, 100, start() + chrono::Duration::seconds(60), start()),
        );
        assert_eq!(
            limiter.on_too_many_requests(&logs(), &h),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn a_first_concurrency_429_blocks_for_the_backoff_not_a_window() {
        let clock = ManualClock::new(start());
        let limiter = limiter(&clock, 0);
        let h = RateLimitHeaders {
            limit: Some(0),
            remaining: Some(0),
            reset_epoch: Some(start().timestamp() + 1),
            server_date: Some(start()),
        };
        let wait = limiter.on_too_many_requests(&logs(), &h);
        assert_eq!(wait, Duration::from_secs(2));
        assert!(matches!(limiter.admit(&logs()), Admission::Wait(w) if w <= wait));
        clock.advance(wait);
        assert_eq!(
            limiter.admit(&logs()),
            Admission::Proceed,
            "the bucket's limit is unknown, not spent"
        );
    }

    #[test]
    fn concurrency_backoff_honours_a_longer_estimate() {
        let clock = ManualClock::new(start());
        let limiter = limiter(&clock, 0);
        let h = RateLimitHeaders {
            limit: Some(0),
            remaining: Some(0),
            reset_epoch: Some((start() + chrono::Duration::seconds(9)).timestamp()),
            server_date: Some(start()),
        };
        assert_eq!(
            limiter.on_too_many_requests(&logs(), &h),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn jitter_is_added_within_bounds() {
        let clock = ManualClock::new(start());
        let limiter = limiter(&clock, 500);
        let h = headers(120, 0, start() + chrono::Duration::seconds(10), start());
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let wait = limiter.on_too_many_requests(&logs(), &h);
            assert!(
                wait >= Duration::from_secs(11) && wait <= Duration::from_millis(11_500),
                "{wait:?}"
            );
            seen.insert(wait);
        }
        assert!(seen.len() > 1, "jitter varies the wait");
    }

    #[test]
    fn buckets_are_independent() {
        let clock = ManualClock::new(start());
        let limiter = limiter(&clock, 0);
        let h = headers(120, 0, start() + chrono::Duration::seconds(10), start());
        limiter.on_too_many_requests(&logs(), &h);
        assert_eq!(
            limiter.admit(&RateLimitBucket::for_path("/api/v1/users")),
            Admission::Proceed
        );
        assert!(matches!(limiter.admit(&logs()), Admission::Wait(_)));
    }

    #[test]
    fn headers_parse_with_duplicates_taking_the_conservative_value() {
        let mut map = HeaderMap::new();
        map.append("x-rate-limit-limit", "120".parse().unwrap());
        map.append("x-rate-limit-remaining", "40".parse().unwrap());
        map.append("x-rate-limit-remaining", "35".parse().unwrap());
        map.append("x-rate-limit-reset", "1700000060".parse().unwrap());
        map.append("x-rate-limit-reset", "1700000030".parse().unwrap());
        map.append("date", "Tue, 14 Nov 2023 22:13:20 GMT".parse().unwrap());
        let h = RateLimitHeaders::from_headers(&map);
        assert_eq!(h.limit, Some(120));
        assert_eq!(h.remaining, Some(35));
        assert_eq!(h.reset_epoch, Some(1_700_000_030));
        assert_eq!(h.server_date.unwrap().timestamp(), 1_700_000_000);
        let garbage = {
            let mut m = HeaderMap::new();
            m.append("x-rate-limit-limit", "lots".parse().unwrap());
            m.append("date", "yesterday".parse().unwrap());
            m
        };
        assert_eq!(
            RateLimitHeaders::from_headers(&garbage),
            RateLimitHeaders::default()
        );
    }
}
