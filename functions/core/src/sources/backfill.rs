//! Backfill: an operator's bounded System Log window (`okta-relay-ctl backfill`), a source of
//! its own run through the same loop as the scheduled streams: the same lease, cursor, dedupe
//! marks and sink.
//!
//! A window is its own stream (`backfill-<since>-<until>`, see [`StreamId`]), so running the
//! same command again resumes from its cursor, and a finished window is recorded as caught up
//! in its health and is not read again. The request is a *bounded* one (`since` and `until`):
//! Okta ends it with a page without a `next` link, and its events arrive in `published` order,
//! which is what makes the progress and the ETA below meaningful. Events the scheduled streams
//! already forwarded are dropped by the shared dedupe marks while those marks last.

use super::system_log::{LOGS_PATH, fetch_events, start_url, stored_cursor};
use crate::config::OrgConfig;
use crate::okta::RateLimitBucket;
use crate::ports::RateLimitHeadroom;
use crate::run::{Next, Okta, Opened, PollError, Source, SourcePage};
pub use crate::stream::{BackfillWindow, StreamId};
use crate::summary::StreamSummary;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;
use url::Url;

/// Where a backfill is, after each page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillProgress {
    pub pages: u64,
    pub events: u64,
    pub forwarded: u64,
    pub duplicates: u64,
    /// The newest `published` read so far.
    pub reached: Option<DateTime<Utc>>,
    /// The System Log bucket after the page.
    pub rate_limit: Option<RateLimitHeadroom>,
}

/// A backfill run: the window, a page limit, and who hears about progress.
pub struct BackfillJob<'a> {
    pub window: BackfillWindow,
    /// Stop after this many pages (the command can be run again to go on).
    pub max_pages: Option<u64>,
    pub on_page: &'a (dyn Fn(&BackfillProgress) + Send + Sync),
}

/// The source of a backfill window.
pub struct BackfillSource<'a> {
    org: &'a OrgConfig,
    job: &'a BackfillJob<'a>,
    url: Option<Url>,
    /// Pages read by this run (the page limit counts them).
    pages: u64,
}

impl<'a> BackfillSource<'a> {
    pub fn new(org: &'a OrgConfig, job: &'a BackfillJob<'a>) -> Self {
        Self {
            org,
            job,
            url: None,
            pages: 0,
        }
    }
}

#[async_trait]
impl Source for BackfillSource<'_> {
    fn open(&mut self, cursor: Option<&str>, okta: &Okta<'_>) -> Result<Opened, PollError> {
        let url = match stored_cursor(cursor, okta.org())? {
            Some(url) => url,
            None => start_url(
                okta.org(),
                self.org.logs.page_size,
                &[
                    ("since", self.job.window.since),
                    ("until", self.job.window.until),
                ],
            )?,
        };
        self.url = Some(url);
        Ok(Opened::Ready)
    }

    async fn next_page(&mut self, okta: &Okta<'_>) -> Result<SourcePage, PollError> {
        let Some(url) = self.url.clone() else {
            return Ok(SourcePage::empty(None, Next::Stop));
        };
        let (mut out, next) = fetch_events(okta, &url, self.org).await?;
        // A bounded request ends with a page without `next`: the window is done.
        let Some(next) = next else {
            out.next = Next::CaughtUp;
            return Ok(out);
        };
        self.pages += 1;
        out.next = if out.items == 0 {
            Next::CaughtUp
        } else if self.job.max_pages.is_some_and(|max| self.pages >= max) {
            tracing::info!(
                pages = self.pages,
                "page limit reached; run the backfill again to go on"
            );
            Next::Stop
        } else {
            Next::More
        };
        out.cursor = Some(next.to_string());
        self.url = Some(next);
        Ok(out)
    }

    fn after_page(&mut self, summary: &StreamSummary, okta: &Okta<'_>) {
        (self.job.on_page)(&BackfillProgress {
            pages: summary.pages,
            events: summary.events,
            forwarded: summary.forwarded,
            duplicates: summary.duplicates,
            // What was taken, not what was fetched ahead of it.
            reached: summary.newest_event_at,
            rate_limit: okta.headroom(&RateLimitBucket::for_path(LOGS_PATH)),
        });
    }
}

/// Time left, from the rate budget and from the pace so far, whichever is longer.
///
/// The events still to read are extrapolated from the share of the window done; the pages they
/// need cost one request each, and the relay may spend `limit − reserve` requests per minute of
/// the System Log bucket (`reserve_fraction` of it stays with the org's other integrations).
/// `None` until something was read or while the bucket's limit is unknown and nothing timed.
pub fn eta(
    window: &BackfillWindow,
    progress: &BackfillProgress,
    elapsed: Duration,
    page_size: u32,
    reserve_fraction: f64,
) -> Option<Duration> {
    let fraction = window.fraction(progress.reached?);
    if fraction <= 0.0 || progress.events == 0 {
        return None;
    }
    if fraction >= 1.0 {
        return Some(Duration::ZERO);
    }
    let left = (1.0 - fraction) / fraction;
    let events_left = progress.events as f64 * left;
    let pages_left = (events_left / f64::from(page_size.max(1))).ceil();
    let by_budget = progress.rate_limit.and_then(|h| {
        let reserve = (f64::from(h.limit) * reserve_fraction.clamp(0.0, 0.9)).ceil();
        let per_minute = f64::from(h.limit) - reserve;
        (per_minute >= 1.0).then(|| Duration::from_secs_f64(pages_left / per_minute * 60.0))
    });
    let by_pace = Duration::from_secs_f64(elapsed.as_secs_f64() * left);
    Some(by_budget.map_or(by_pace, |b| b.max(by_pace)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> BackfillWindow {
        let since = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .unwrap()
            .to_utc();
        BackfillWindow {
            since,
            until: since + chrono::Duration::days(10),
        }
    }

    fn at_day(day: i64, events: u64, limit: Option<u32>) -> BackfillProgress {
        BackfillProgress {
            pages: events / 1000,
            events,
            reached: Some(window().since + chrono::Duration::days(day)),
            rate_limit: limit.map(|limit| RateLimitHeadroom {
                remaining: limit / 2,
                limit,
            }),
            ..BackfillProgress::default()
        }
    }

    #[test]
    fn the_rate_budget_bounds_the_eta_when_it_is_slower_than_the_pace() {
        // 2 of 10 days hold 200k events: 800k to go, 800 pages of 1000. A bucket of 100 with a
        // 10 % reserve spends 90 per minute: 8.9 minutes, however fast the first pages went.
        let eta = eta(
            &window(),
            &at_day(2, 200_000, Some(100)),
            Duration::from_secs(10),
            1000,
            0.10,
        )
        .unwrap();
        assert_eq!(eta.as_secs(), 533);
    }

    #[test]
    fn the_pace_bounds_the_eta_when_it_is_slower_than_the_budget() {
        // Half done in 10 minutes: 10 more, though the budget would allow it in seconds.
        let eta = eta(
            &window(),
            &at_day(5, 5_000, Some(600)),
            Duration::from_secs(600),
            1000,
            0.10,
        )
        .unwrap();
        assert_eq!(eta.as_secs(), 600);
    }

    #[test]
    fn no_eta_before_anything_was_read_and_zero_at_the_end() {
        let empty = BackfillProgress::default();
        assert_eq!(eta(&window(), &empty, Duration::ZERO, 1000, 0.1), None);
        let done = at_day(10, 42, None);
        assert_eq!(
            eta(&window(), &done, Duration::from_secs(5), 1000, 0.1),
            Some(Duration::ZERO)
        );
        assert_eq!(
            window().fraction(window().since - chrono::Duration::days(1)),
            0.0
        );
    }
}
