//! One org's directory stream for one invocation: the same listing loop for every stream of
//! the catalogue ([`crate::inventory::catalogue`]).
//!
//! A listing is a full sync (every object re-listed and emitted: a snapshot) or a delta (only
//! what changed since the high-water mark, with a small overlap because Okta's search index
//! trails writes; the dedupe marks drop what the overlap repeats). Parent pages come first;
//! each parent page queues the child listings it implies (members of its groups, users and
//! groups of its apps), and those run before the next parent page. The cursor is committed
//! after every acknowledged page, so the deadline (or a crash) costs at most the page in
//! flight.

use super::{
    PollError, PollerPorts, RunSettings, StreamSummary, fetch_page, keep_lease, release_lease,
};
use crate::clock::until;
use crate::config::OrgConfig;
use crate::inventory::object::{self, Found, ObjectHeader};
use crate::inventory::{
    FanoutTask, InventoryCursor, InventoryDue, InventoryStream, Listing, settings::ChildStream,
};
use crate::okta::{OktaClient, OktaError, OrgUrlError, Page};
use crate::pipeline::{DeliveryPolicy, MarkPolicy, PendingRecord};
use crate::ports::{Lease, StreamKey};
use crate::record::SyncMode;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::value::RawValue;
use std::time::Duration;
use url::Url;

/// How far behind the high-water mark a delta starts: Okta's search index trails writes by up
/// to about a second.
pub const DELTA_OVERLAP: chrono::Duration = chrono::Duration::seconds(5);

/// Everything one directory stream run needs.
pub struct InventoryRun<'a> {
    pub org: &'a OrgConfig,
    pub stream: &'a InventoryStream,
    pub client: &'a OktaClient,
    pub ports: &'a PollerPorts,
    pub delivery: DeliveryPolicy,
    pub mark_ttl: Duration,
    pub settings: &'a RunSettings,
}

/// What one page gave.
struct PageRecords {
    records: Vec<PendingRecord>,
    items: usize,
}

impl InventoryRun<'_> {
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
        let result = self.listing(&mut lease, deadline, summary).await;
        release_lease(self.ports, &lease).await;
        result
    }

    async fn listing(
        &self,
        lease: &mut Lease,
        deadline: DateTime<Utc>,
        summary: &mut StreamSummary,
    ) -> Result<(), PollError> {
        let mut cursor = InventoryCursor::parse(lease.cursor.as_deref());
        let now = self.ports.clock.now();
        let due = cursor.due(now, self.stream.interval, self.stream.delta_interval);
        let mut listing = match (cursor.listing.take(), due) {
            (Some(listing), _) => listing,
            (None, InventoryDue::Start(mode)) => self.start(mode, &cursor, now)?,
            // Another run finished the work between our look and our lease.
            (None, _) => {
                summary.caught_up = true;
                return Ok(());
            }
        };
        summary.sync = Some(listing.mode);
        tracing::info!(stream = %lease.key, mode = ?listing.mode, since = ?listing.since,
            fanout = listing.fanout.len(), "directory listing");
        loop {
            if listing.is_done() {
                cursor.listing = Some(listing);
                cursor.finish(self.ports.clock.now());
                self.keep(lease).await?;
                *lease = self
                    .ports
                    .streams
                    .commit_cursor(lease, &cursor.to_json())
                    .await?;
                summary.caught_up = true;
                break;
            }
            if until(self.ports.clock.now(), deadline) < self.settings.deadline_margin {
                summary.stopped_for_deadline = true;
                tracing::info!(stream = %lease.key, "stopping before the deadline; the next run resumes from the cursor");
                break;
            }
            self.keep(lease).await?;
            let page = match listing.fanout.front_mut() {
                Some(task) => {
                    let page = self.child_page(task, lease, deadline).await;
                    if page.is_ok() && task.next.is_none() {
                        listing.fanout.pop_front();
                    }
                    page
                }
                None => self.parent_page(&mut listing, lease, deadline).await,
            };
            let page = match page {
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
            summary.events += page.items as u64;
            self.keep(lease).await?;
            let marks = match listing.mode {
                SyncMode::Full => MarkPolicy::Refresh,
                SyncMode::Delta => MarkPolicy::Check,
            };
            let report = super::forward_page(
                self.ports,
                self.settings,
                lease,
                &self.delivery,
                self.mark_ttl,
                marks,
                page.records,
            )
            .await?;
            summary.add(&report);
            tracing::info!(org = %lease.key.org, stream = %lease.key.stream, objects = page.items,
                forwarded = report.forwarded, duplicates = report.duplicates,
                failed_entries = report.failed_entries, "page done");
            self.keep(lease).await?;
            cursor.listing = Some(listing.clone());
            *lease = self
                .ports
                .streams
                .commit_cursor(lease, &cursor.to_json())
                .await?;
        }
        Ok(())
    }

    /// A new listing: a full sync of everything, or a delta from the high-water mark.
    fn start(
        &self,
        mode: SyncMode,
        cursor: &InventoryCursor,
        now: DateTime<Utc>,
    ) -> Result<Listing, PollError> {
        let spec = self.stream.spec;
        let mut url = self.client.org().join(spec.path).map_err(OktaError::from)?;
        url.query_pairs_mut()
            .append_pair("limit", &self.stream.page_size.to_string());
        let mut since = None;
        match (mode, spec.delta, cursor.high_water) {
            (SyncMode::Delta, Some(rule), Some(high_water)) => {
                let from = high_water - DELTA_OVERLAP;
                let at = from.to_rfc3339_opts(SecondsFormat::Millis, true);
                let expression = rule
                    .attributes
                    .iter()
                    .map(|a| format!("{a} gt \"{at}\""))
                    .collect::<Vec<_>>()
                    .join(" or ");
                url.query_pairs_mut().append_pair(rule.param, &expression);
                since = Some(from);
            }
            _ => {
                if let Some((param, value)) = spec.full_query {
                    url.query_pairs_mut().append_pair(param, value);
                }
            }
        }
        let mode = if since.is_some() {
            mode
        } else {
            SyncMode::Full
        };
        Ok(Listing {
            since,
            ..Listing::new(mode, now, url.to_string())
        })
    }

    /// The next parent page: its objects, and the child listings they imply.
    async fn parent_page(
        &self,
        listing: &mut Listing,
        lease: &mut Lease,
        deadline: DateTime<Utc>,
    ) -> Result<PageRecords, PollError> {
        let url = self.stored_url(listing.next.as_deref().unwrap_or_default())?;
        let page: Page<Box<RawValue>> = self.fetch(lease, deadline, &url).await?;
        if listing.okta_started_at.is_none() {
            listing.okta_started_at = page.rate_limit.server_date;
        }
        let found = Found {
            org: &self.org.name,
            spec: self.stream.spec,
            parent: None,
            sync: listing.mode,
            collected_at: self.ports.clock.now(),
        };
        let fanout_when = self.stream.spec.delta.and_then(|r| r.fanout_when_moved);
        let mut records = Vec::with_capacity(page.items.len());
        for raw in &page.items {
            let header = ObjectHeader::parse(raw, self.stream.spec)?;
            listing.saw(header.last_updated.max(header.last_membership_updated));
            let fan_out = match (listing.mode, listing.since, fanout_when) {
                (SyncMode::Delta, Some(since), Some(_)) => header
                    .last_membership_updated
                    .is_some_and(|moved| moved > since),
                _ => true,
            };
            if fan_out {
                listing
                    .fanout
                    .extend(self.stream.children.iter().map(|child| FanoutTask {
                        stream: child.spec.name.to_string(),
                        parent: header.id.clone(),
                        next: None,
                    }));
            }
            records.push(object::to_record(raw, &header, &found));
        }
        listing.next = page.next.map(String::from);
        Ok(PageRecords {
            records,
            items: page.items.len(),
        })
    }

    /// The next page of a child listing; `task.next` becomes `None` when it is complete.
    async fn child_page(
        &self,
        task: &mut FanoutTask,
        lease: &mut Lease,
        deadline: DateTime<Utc>,
    ) -> Result<PageRecords, PollError> {
        let Some(child) = self
            .stream
            .children
            .iter()
            .find(|c| c.spec.name == task.stream)
        else {
            // The configuration no longer collects this child.
            task.next = None;
            return Ok(PageRecords {
                records: Vec::new(),
                items: 0,
            });
        };
        let url = match &task.next {
            Some(next) => self.stored_url(next)?,
            None => self.child_url(child, &task.parent)?,
        };
        let page: Page<Box<RawValue>> = match self.fetch(lease, deadline, &url).await {
            Ok(page) => page,
            // The parent was deleted since its page was read: its deletion reaches the SIEM as
            // an inventory change record, and it has no children to list.
            Err(PollError::Okta(OktaError::Api { status: 404, .. })) => {
                tracing::info!(org = %self.org.name, stream = child.spec.name, parent = %task.parent,
                    "parent no longer exists; skipping its listing");
                task.next = None;
                return Ok(PageRecords {
                    records: Vec::new(),
                    items: 0,
                });
            }
            Err(e) => return Err(e),
        };
        let found = Found {
            org: &self.org.name,
            spec: child.spec,
            parent: Some(&task.parent),
            sync: SyncMode::Full,
            collected_at: self.ports.clock.now(),
        };
        let mut records = Vec::with_capacity(page.items.len());
        for raw in &page.items {
            let header = ObjectHeader::parse(raw, child.spec)?;
            records.push(object::to_record(raw, &header, &found));
        }
        task.next = page.next.map(String::from);
        Ok(PageRecords {
            records,
            items: page.items.len(),
        })
    }

    /// A child listing's first page: the parent's id as one path segment (percent-encoded).
    fn child_url(&self, child: &ChildStream, parent: &str) -> Result<Url, PollError> {
        let (before, after) = child
            .spec
            .path
            .split_once("{id}")
            .unwrap_or((child.spec.path, ""));
        let mut url = self
            .client
            .org()
            .join(before.trim_end_matches('/'))
            .map_err(OktaError::from)?;
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .push(parent)
                .extend(after.split('/').filter(|s| !s.is_empty()));
        }
        url.query_pairs_mut()
            .append_pair("limit", &child.page_size.to_string());
        Ok(url)
    }

    /// A URL from the cursor; the client refuses it unless it is on the org's origin.
    fn stored_url(&self, text: &str) -> Result<Url, PollError> {
        Url::parse(text).map_err(|_| {
            OktaError::from(OrgUrlError::Invalid(
                "stored directory cursor is not a URL".into(),
            ))
            .into()
        })
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
}
