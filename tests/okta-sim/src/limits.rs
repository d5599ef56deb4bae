//! Okta's rate limits: per-bucket windows with `X-Rate-Limit-Limit/-Remaining/-Reset` on every
//! response, 429 `E0000047` when a bucket is spent, and an optional org-wide concurrency limit
//! whose 429s report limit and remaining as `0`.
//!
//! A window lasts 60 s divided by `time_scale`, so tests can compress minutes into seconds; it
//! starts at a bucket's first request (Okta's windows are not aligned to wall-clock minutes).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The bucket a path is metered in (Okta's Workforce buckets).
pub fn bucket_for(path: &str) -> &'static str {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["api", "v1", "logs", ..] => "/api/v1/logs",
        ["api", "v1", "users"] => "/api/v1/users",
        ["api", "v1", "users", ..] => "/api/v1/users/{id}",
        ["api", "v1", "groups"] => "/api/v1/groups",
        ["api", "v1", "groups", ..] => "/api/v1/groups/{id}",
        ["api", "v1", "apps", ..] => "/api/v1/apps",
        ["api", "v1", "idps", ..] => "/api/v1/idps",
        ["api", "v1", "zones", ..] => "/api/v1/zones",
        ["oauth2", "v1", "clients", ..] => "/oauth2/v1/clients",
        ["oauth2", "v1", "token"] => "/oauth2/v1/token",
        [".well-known", ..] => "/.well-known",
        _ => "/api/v1",
    }
}

fn default_limit(bucket: &str) -> u32 {
    match bucket {
        "/api/v1/logs" => 120,
        "/api/v1/users" => 600,
        "/api/v1/users/{id}" => 2000,
        "/api/v1/groups" => 500,
        "/api/v1/groups/{id}" => 1000,
        "/api/v1/apps" => 100,
        _ => 1200,
    }
}

/// Limits as set by flags or the control API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitConfig {
    /// Per-minute limits by bucket; missing buckets use Okta's Workforce defaults.
    pub per_minute: BTreeMap<String, u32>,
    /// Simulated minutes per real minute.
    pub time_scale: f64,
    /// Org-wide simultaneous requests; `None` = unlimited.
    pub concurrency: Option<u32>,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            per_minute: BTreeMap::new(),
            time_scale: 1.0,
            concurrency: None,
        }
    }
}

#[derive(Debug, Clone)]
struct Window {
    start: DateTime<Utc>,
    used: u32,
}

/// Counters per bucket.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BucketCounters {
    pub requests: u64,
    pub throttled: u64,
    pub concurrency_throttled: u64,
    pub spent_by_others: u64,
}

/// The headers one response carries.
#[derive(Debug, Clone, Copy)]
pub struct RateHeaders {
    pub limit: u32,
    pub remaining: u32,
    pub reset: i64,
}

pub struct Limits {
    pub config: LimitConfig,
    windows: BTreeMap<String, Window>,
    pub counters: BTreeMap<String, BucketCounters>,
}

pub enum Admission {
    Allowed(RateHeaders),
    Throttled(RateHeaders),
}

impl Limits {
    pub fn new(config: LimitConfig) -> Self {
        Self {
            config,
            windows: BTreeMap::new(),
            counters: BTreeMap::new(),
        }
    }

    fn limit(&self, bucket: &str) -> u32 {
        self.config
            .per_minute
            .get(bucket)
            .copied()
            .unwrap_or_else(|| default_limit(bucket))
    }

    fn window_len(&self) -> Duration {
        let ms = (60_000.0 / self.config.time_scale.max(0.001)).round() as i64;
        Duration::milliseconds(ms.max(1))
    }

    fn window(&mut self, bucket: &str, now: DateTime<Utc>) -> &mut Window {
        let len = self.window_len();
        let w = self.windows.entry(bucket.to_string()).or_insert(Window {
            start: now,
            used: 0,
        });
        if now >= w.start + len {
            *w = Window {
                start: now,
                used: 0,
            };
        }
        w
    }

    /// Counts one request on `bucket`; `skew` shifts the reported reset like the `Date` header.
    pub fn admit(&mut self, bucket: &str, now: DateTime<Utc>, skew: Duration) -> Admission {
        let limit = self.limit(bucket);
        let len = self.window_len();
        let w = self.window(bucket, now);
        let reset_at = w.start + len + skew;
        // Epoch seconds, rounded up so the reset is never reported before the window ends.
        let reset = (reset_at.timestamp_millis() + 999).div_euclid(1000);
        let throttled = w.used >= limit;
        if !throttled {
            w.used += 1;
        }
        let remaining = limit - w.used;
        let counters = self.counters.entry(bucket.to_string()).or_default();
        counters.requests += 1;
        if throttled {
            counters.throttled += 1;
            return Admission::Throttled(RateHeaders {
                limit,
                remaining: 0,
                reset,
            });
        }
        Admission::Allowed(RateHeaders {
            limit,
            remaining,
            reset,
        })
    }

    /// Another integration spends `n` requests of the bucket's current window.
    pub fn spend(&mut self, bucket: &str, n: u32, now: DateTime<Utc>) {
        let limit = self.limit(bucket);
        let w = self.window(bucket, now);
        w.used = (w.used + n).min(limit);
        self.counters
            .entry(bucket.to_string())
            .or_default()
            .spent_by_others += u64::from(n);
    }

    pub fn record_concurrency_throttle(&mut self, bucket: &str) {
        let c = self.counters.entry(bucket.to_string()).or_default();
        c.requests += 1;
        c.concurrency_throttled += 1;
    }
}
