//! One org's System Log stream for one invocation.
//!
//! The cursor is the `next` link of a *polling request* (`since` on the first run, no `until`,
//! `sortOrder=ASCENDING`), never a timestamp built from `published`: polling results are ordered
//! by persistence time, so late-persisted events arrive after the cursor instead of behind it
//! (`DESIGN.md` §5.1). An empty page still has a `next` link: it is stored and the run stops.
//! So does a page shorter than the requested `limit`: Okta had nothing more at that moment.

use super::{
    BackfillJob, BackfillProgress, CursorError, PollError, PollerPorts, RunSettings, fetch_page,
    keep_lease, release_lease,
};
use crate::clock::until;
use crate::config::OrgConfig;
use crate::inventory;
use crate::limits::{OKTA_DEFAULT_LOG_PAGE, OKTA_LOG_RETENTION, OKTA_LOG_RETENTION_MARGIN};
use crate::okta::{OktaClient, OktaError, Page, RateLimitBucket};
use crate::pipeline::log_event::{self, LogEventHeader};
use crate::pipeline::quarantine;
use crate::pipeline::{DeliveryPolicy, MarkPolicy};
use crate::ports::{HealthNote, Lease, RateLimitHeadroom, RunRecord, StreamKey};
use crate::record::SYSTEM_LOG_DETAIL_TYPE;
use crate::record::{CollectionPath, SyncMode};
use crate::stream_watch;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::time::Duration;
use url::Url;

/// The System Log endpoint.
pub const LOGS_PATH: &str = "/api/v1/logs";

/// Counters of one run.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct StreamSummary {
    pub pages: u64,
    pub events: u64,
    pub forwarded: u64,
    pub duplicates: u64,
    pub oversize: u64,
    /// Events the org's event-type list excluded.
    pub filtered: u64,
    /// Seconds between now and the newest `published` seen, if any event was seen.
    pub lag_seconds: Option<i64>,
    /// The newest `published` seen, if any event was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_event_at: Option<DateTime<Utc>>,
    /// Entries PutEvents reported failed and that a retry then delivered.
    pub failed_entries: u64,
    /// Records that went out as quarantine markers (poison: refused by the bus, or unreadable).
    pub quarantined: u64,
    /// Delivered records whose dedupe mark could not be written (each may come again).
    pub unmarked: u64,
    /// The stream's Okta rate-limit bucket at the end of the run, if Okta reported it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitHeadroom>,
    pub stopped_for_deadline: bool,
    /// Okta's rate limit (with the reserve kept for other integrations) would have made the run
    /// wait past its deadline: it stopped cleanly and the next run resumes from the cursor.
    pub stopped_for_rate_limit: bool,
    /// Another invocation held the lease, so this one did nothing.
    pub lease_busy: bool,
    /// The run read everything Okta had (it ended on an empty or short page).
    pub caught_up: bool,
    /// Okta log-stream lifecycle events seen (they feed the stream watch).
    pub lifecycle_events: u64,
    /// Inventory change records (deletions, removals) derived from System Log events.
    pub inventory_changes: u64,
    /// Directory streams: whether this run was a full sync or a delta.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncMode>,
}

impl StreamSummary {
    pub fn counters(&self) -> BTreeMap<String, u64> {
        BTreeMap::from([
            ("pages".to_string(), self.pages),
            ("events".to_string(), self.events),
            ("forwarded".to_string(), self.forwarded),
            ("duplicates".to_string(), self.duplicates),
            ("oversize".to_string(), self.oversize),
            ("filtered".to_string(), self.filtered),
            ("inventory_changes".to_string(), self.inventory_changes),
            ("failed_entries".to_string(), self.failed_entries),
            ("quarantined".to_string(), self.quarantined),
            ("unmarked".to_string(), self.unmarked),
        ])
    }

    /// Adds what one page's forwarding did.
    pub fn add(&mut self, report: &crate::pipeline::ForwardReport) {
        self.forwarded += report.forwarded as u64;
        self.duplicates += report.duplicates as u64;
        self.oversize += report.oversize as u64;
        self.failed_entries += report.failed_entries as u64;
        self.quarantined += report.quarantined as u64;
        self.unmarked += report.unmarked as u64;
    }

    /// What a successful run reports to health.
    pub fn run_record(&self) -> RunRecord {
        RunRecord {
            counters: self.counters(),
            newest_event_at: self.newest_event_at,
            rate_limit: self.rate_limit,
        }
    }
}

/// Everything one stream run needs.
pub struct LogStreamRun<'a> {
    pub org: &'a OrgConfig,
    pub client: &'a OktaClient,
    pub ports: &'a PollerPorts,
    pub delivery: DeliveryPolicy,
    pub mark_ttl: Duration,
    pub settings: &'a RunSettings,
    /// An operator's bounded window instead of the scheduled stream.
    pub backfill: Option<&'a BackfillJob<'a>>,
}

impl LogStreamRun<'_> {
    pub async fn run(
        &self,
        key: &StreamKey,
        owner: &str,
        deadline: DateTime<Utc>,
        summary: &mut StreamSummary,
    ) -> Result<(), PollError> {
        let ttl = self.settings.lease_ttl;
        let Some(mut lease) = self.ports.streams.acquire(key, owner, ttl).await? else {
            tracing::info!(stream = %key, "another invocation holds the lease; skipping");
            summary.lease_busy = true;
            return Ok(());
        };
        let result = self.pages(&mut lease, deadline, summary).await;
        release_lease(self.ports, &lease).await;
        result
    }

    async fn pages(
        &self,
        lease: &mut Lease,
        deadline: DateTime<Utc>,
        summary: &mut StreamSummary,
    ) -> Result<(), PollError> {
        let mut url = self.start_url(lease)?;
        let mut newest: Option<DateTime<Utc>> = None;
        loop {
            let now = self.ports.clock.now();
            if until(now, deadline) < self.settings.deadline_margin {
                summary.stopped_for_deadline = true;
                tracing::info!(stream = %lease.key, "stopping before the deadline; the next run resumes from the cursor");
                break;
            }
            let page: Page<Box<RawValue>> = match self.fetch(lease, deadline, &url).await {
                Ok(page) => page,
                Err(PollError::Okta(OktaError::RateLimited { retry_after, .. })) => {
                    summary.stopped_for_rate_limit = true;
                    tracing::info!(stream = %lease.key, retry_after_ms = retry_after.as_millis() as u64,
                        "rate-limit wait does not fit in this run; the next run resumes from the cursor");
                    break;
                }
                Err(e) => return Err(e),
            };
            summary.pages += 1;
            summary.events += page.items.len() as u64;
            let collected_at = self.ports.clock.now();
            let mut records = Vec::with_capacity(page.items.len());
            for raw in &page.items {
                let header = match LogEventHeader::parse(raw) {
                    Ok(header) => header,
                    Err(e) => {
                        records.push(self.unreadable(raw, &e, collected_at));
                        continue;
                    }
                };
                newest = newest.max(Some(header.published));
                if stream_watch::is_lifecycle_event(&header.event_type) {
                    summary.lifecycle_events += 1;
                    self.note_lifecycle(&header).await;
                }
                // A deletion or removal also updates the SIEM's inventory, whatever the
                // event-type filter says about forwarding the event itself.
                if let Some(change) = inventory::change_record(
                    raw,
                    &header,
                    self.org,
                    CollectionPath::Pull,
                    collected_at,
                ) {
                    summary.inventory_changes += 1;
                    records.push(change);
                }
                if !self.org.event_types.allows(&header.event_type) {
                    summary.filtered += 1;
                    continue;
                }
                records.push(log_event::to_record(
                    raw,
                    &header,
                    &self.org.name,
                    CollectionPath::Pull,
                    collected_at,
                ));
            }
            self.keep(lease).await?;
            let report = super::forward_page(
                self.ports,
                self.settings,
                lease,
                &self.delivery,
                self.mark_ttl,
                MarkPolicy::Check,
                records,
            )
            .await?;
            summary.add(&report);
            if let Some(job) = self.backfill {
                (job.on_page)(&BackfillProgress {
                    pages: summary.pages,
                    events: summary.events,
                    forwarded: summary.forwarded,
                    duplicates: summary.duplicates,
                    reached: newest,
                    rate_limit: super::headroom(self.client, &RateLimitBucket::for_path(LOGS_PATH)),
                });
            }
            let Some(next) = page.next else {
                if self.backfill.is_some() {
                    // A bounded request ends with a page without `next`: the window is done.
                    summary.caught_up = true;
                } else {
                    tracing::warn!(stream = %lease.key, "Okta sent no next link for a polling request; the cursor stays");
                }
                break;
            };
            self.keep(lease).await?;
            *lease = self
                .ports
                .streams
                .commit_cursor(lease, next.as_str())
                .await?;
            tracing::info!(org = %lease.key.org, stream = %lease.key.stream, events = page.items.len(),
                forwarded = report.forwarded, duplicates = report.duplicates, failed_entries = report.failed_entries,
                okta_request_id = page.request_id.as_deref().unwrap_or(""), "page done");
            // (A bounded request is done only at its page without `next`, or an empty one.)
            let short = page.items.len() < requested_limit(&url);
            if short && (self.backfill.is_none() || page.items.is_empty()) {
                // Okta had no more than this page at the time of the request: the run is at the
                // head of the log. An empty page is the documented end; a short page saves the
                // extra request that would find it (the next run resumes from `next` either way).
                summary.caught_up = true;
                break;
            }
            if let Some(max) = self.backfill.and_then(|job| job.max_pages)
                && summary.pages >= max
            {
                tracing::info!(stream = %lease.key, pages = summary.pages, "page limit reached; run the backfill again to go on");
                break;
            }
            url = next;
        }
        summary.newest_event_at = newest;
        summary.lag_seconds = newest.map(|p| (self.ports.clock.now() - p).num_seconds());
        Ok(())
    }

    /// Records a log-stream lifecycle event in the org's push health, so the stream watch knows
    /// about a deactivation even when the push path could not deliver it. Best effort: the event
    /// is forwarded either way.
    async fn note_lifecycle(&self, header: &LogEventHeader) {
        tracing::warn!(org = %self.org.name, uuid = %header.uuid, event_type = %header.event_type,
            "Okta log stream lifecycle event");
        let key = StreamKey::new(&self.org.name, stream_watch::PUSH_STREAM);
        let note = HealthNote::Lifecycle {
            event_type: &header.event_type,
        };
        if let Err(e) = self.ports.health.note(&key, header.published, note).await {
            tracing::warn!(org = %self.org.name, error = %e, "could not record the lifecycle event in health");
        }
    }

    async fn keep(&self, lease: &mut Lease) -> Result<(), PollError> {
        keep_lease(self.ports, self.settings, lease).await
    }

    async fn fetch(
        &self,
        lease: &mut Lease,
        deadline: DateTime<Utc>,
        url: &Url,
    ) -> Result<Page<Box<RawValue>>, PollError> {
        fetch_page(self.ports, self.settings, self.client, lease, deadline, url).await
    }

    /// The quarantine record of an event the relay cannot read.
    fn unreadable(
        &self,
        raw: &RawValue,
        problem: &log_event::InvalidLogEvent,
        collected_at: DateTime<Utc>,
    ) -> crate::pipeline::PendingRecord {
        quarantine::unreadable(
            raw,
            &problem.to_string(),
            &quarantine::FoundAt {
                org: &self.org.name,
                stream: log_event::LOGS_STREAM,
                detail_type: SYSTEM_LOG_DETAIL_TYPE,
                path: CollectionPath::Pull,
                collected_at,
            },
        )
    }

    /// The stored `next` link, or a first polling request. A stored link that is not on the
    /// org's URL, or not a URL, stops the stream: starting over silently would skip or repeat a
    /// window.
    fn start_url(&self, lease: &Lease) -> Result<Url, PollError> {
        if let Some(cursor) = &lease.cursor {
            let url = Url::parse(cursor).map_err(|_| CursorError::NotAUrl)?;
            if self.client.org().ensure_same_origin(&url).is_err() {
                return Err(CursorError::ForeignOrigin {
                    stored: url.origin().ascii_serialization(),
                    org: self.client.org().as_url().origin().ascii_serialization(),
                }
                .into());
            }
            return Ok(url);
        }
        let since = first_since(self.ports.clock.now(), self.org.logs.initial_lookback_hours);
        let mut url = self
            .client
            .org()
            .join(LOGS_PATH)
            .map_err(crate::okta::OktaError::from)?;
        let millis = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut query = url.query_pairs_mut();
        match self.backfill {
            // A bounded request: Okta returns the window's events and then no `next` link.
            Some(job) => query
                .append_pair("since", &millis(job.window.since))
                .append_pair("until", &millis(job.window.until)),
            None => query.append_pair("since", &millis(since)),
        };
        query
            .append_pair("sortOrder", "ASCENDING")
            .append_pair("limit", &self.org.logs.page_size.to_string());
        drop(query);
        Ok(url)
    }
}

/// The `limit` a polling URL asks for (Okta's default when absent or unreadable).
fn requested_limit(url: &Url) -> usize {
    url.query_pairs()
        .find(|(k, _)| k == "limit")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(OKTA_DEFAULT_LOG_PAGE)
}

/// A first polling request's `since`: `lookback_hours` ago, but never outside Okta's 180-day
/// window (less a margin), where Okta answers 400 `E0000053` on every run.
fn first_since(now: DateTime<Utc>, lookback_hours: u32) -> DateTime<Utc> {
    let wanted = now - chrono::Duration::hours(i64::from(lookback_hours));
    let oldest = now - OKTA_LOG_RETENTION + OKTA_LOG_RETENTION_MARGIN;
    wanted.max(oldest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_since_stays_inside_oktas_180_days() {
        let now = Utc::now();
        assert_eq!(first_since(now, 24), now - chrono::Duration::hours(24));
        let oldest = first_since(now, 180 * 24);
        assert!(oldest > now - chrono::Duration::days(180), "{oldest}");
        assert_eq!(
            oldest,
            now - chrono::Duration::days(180) + chrono::Duration::hours(1)
        );
    }

    #[test]
    fn the_limit_comes_from_the_polling_url() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            requested_limit(&url("https://a.okta.com/api/v1/logs?after=x&limit=1000")),
            1000
        );
        assert_eq!(
            requested_limit(&url("https://a.okta.com/api/v1/logs?after=x")),
            100
        );
        assert_eq!(
            requested_limit(&url("https://a.okta.com/api/v1/logs?limit=lots")),
            100
        );
    }
}
