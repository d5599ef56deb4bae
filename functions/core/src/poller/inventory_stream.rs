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
    CursorError, PollError, PollerPorts, RunSettings, StreamSummary, fetch_page, keep_lease,
    release_lease,
};
use crate::clock::until;
use crate::config::OrgConfig;
use crate::inventory::catalogue::StreamSpec;
use crate::inventory::cursor::FanoutPosition;
use crate::inventory::object::{self, Found, InvalidObject, ObjectHeader};
use crate::inventory::{
    FanoutTask, InventoryCursor, InventoryDue, InventoryStream, Listing, settings::ChildStream,
};
use crate::limits::MAX_CURSOR_BYTES;
use crate::okta::{OktaClient, OktaError, OrgUrlError, Page};
use crate::pipeline::{DeliveryPolicy, MarkPolicy, PendingRecord, quarantine};
use crate::ports::{Lease, StreamKey};
use crate::record::{CollectionPath, SyncMode};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::value::RawValue;
use std::collections::VecDeque;
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
#[derive(Default)]
struct PageRecords {
    records: Vec<PendingRecord>,
    items: usize,
}

/// The child listings a parent page implies, in its order: the first is in progress.
struct Fanout {
    /// The parent page's URL.
    page: String,
    tasks: VecDeque<FanoutTask>,
}

impl Fanout {
    /// Where the cursor says the fan-out stands (`None` once every child listing is done).
    fn position(&self) -> Option<FanoutPosition> {
        self.tasks.front().map(|task| FanoutPosition {
            page: self.page.clone(),
            task: task.clone(),
        })
    }
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
        let mut cursor = InventoryCursor::parse(lease.cursor.as_deref())
            .map_err(|e| PollError::Cursor(e.into()))?;
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
            resuming_fanout = listing.fanout.is_some(), "directory listing");
        // The child listings the parent page read last implies, in memory only (the cursor
        // keeps the one in progress).
        let mut queue: Option<Fanout> = None;
        loop {
            if listing.is_done() {
                cursor.listing = Some(listing);
                cursor.finish(self.ports.clock.now());
                self.commit(lease, &cursor).await?;
                summary.caught_up = true;
                break;
            }
            if until(self.ports.clock.now(), deadline) < self.settings.deadline_margin {
                summary.stopped_for_deadline = true;
                tracing::info!(stream = %lease.key, "stopping before the deadline; the next run resumes from the cursor");
                break;
            }
            self.keep(lease).await?;
            let page =
                match listing.fanout.clone() {
                    Some(at) => {
                        let fanout = match queue.take() {
                            Some(fanout) => Ok(fanout),
                            None => self.rebuild(&listing, &at, lease, deadline, summary).await,
                        };
                        match fanout {
                            Ok(mut fanout) => {
                                let page = self.next_child_page(&mut fanout, lease, deadline).await;
                                listing.fanout = fanout.position();
                                queue = listing.fanout.is_some().then_some(fanout);
                                page
                            }
                            Err(e) => Err(e),
                        }
                    }
                    None => self.parent_page(&mut listing, lease, deadline).await.map(
                        |(page, fanout)| {
                            listing.fanout = fanout.position();
                            queue = listing.fanout.is_some().then_some(fanout);
                            page
                        },
                    ),
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
            cursor.listing = Some(listing.clone());
            self.commit(lease, &cursor).await?;
        }
        Ok(())
    }

    /// Moves the cursor under the lease; a cursor that would not fit the state table's item is
    /// refused before the write (it would fail there, as a transient error, forever).
    async fn commit(&self, lease: &mut Lease, cursor: &InventoryCursor) -> Result<(), PollError> {
        let text = cursor.to_json();
        if text.len() > MAX_CURSOR_BYTES {
            return Err(PollError::Cursor(CursorError::TooLarge {
                bytes: text.len(),
            }));
        }
        self.keep(lease).await?;
        *lease = self.ports.streams.commit_cursor(lease, &text).await?;
        Ok(())
    }

    /// The child listings a parent object implies (none in a delta if its children did not
    /// move).
    fn tasks_for(&self, header: &ObjectHeader, listing: &Listing) -> Vec<FanoutTask> {
        let fanout_when = self.stream.spec.delta.and_then(|r| r.fanout_when_moved);
        let fan_out = match (listing.mode, listing.since, fanout_when) {
            (SyncMode::Delta, Some(since), Some(_)) => header
                .last_membership_updated
                .is_some_and(|moved| moved > since),
            _ => true,
        };
        if !fan_out {
            return Vec::new();
        }
        self.stream
            .children
            .iter()
            .map(|child| FanoutTask {
                stream: child.spec.name.to_string(),
                parent: header.id.clone(),
                parent_version: header.last_membership_updated_text.clone(),
                next: None,
            })
            .collect()
    }

    /// After a resume: reads the parent page again and rebuilds its child listings from the one
    /// in progress on. If that one is no longer on the page, the page's child listings start
    /// over (records sent again, none skipped).
    async fn rebuild(
        &self,
        listing: &Listing,
        at: &FanoutPosition,
        lease: &mut Lease,
        deadline: DateTime<Utc>,
        summary: &mut StreamSummary,
    ) -> Result<Fanout, PollError> {
        let url = self.stored_url(&at.page)?;
        let page: Page<Box<RawValue>> = self.fetch(lease, deadline, &url).await?;
        summary.pages += 1;
        let mut tasks: VecDeque<FanoutTask> = page
            .items
            .iter()
            // Unreadable objects were quarantined when the page was first read.
            .filter_map(|raw| ObjectHeader::parse(raw, self.stream.spec).ok())
            .flat_map(|header| self.tasks_for(&header, listing))
            .collect();
        match tasks.iter().position(|t| t.same_listing(&at.task)) {
            Some(i) => {
                tasks.drain(..i);
                if let Some(first) = tasks.front_mut() {
                    first.next = at.task.next.clone();
                }
            }
            None => tracing::warn!(stream = %lease.key, parent = %at.task.parent,
                "the child listing in progress is no longer on its parent page; listing the page's children again"),
        }
        Ok(Fanout {
            page: at.page.clone(),
            tasks,
        })
    }

    /// The next page of the first child listing; the listing leaves the queue once complete.
    async fn next_child_page(
        &self,
        fanout: &mut Fanout,
        lease: &mut Lease,
        deadline: DateTime<Utc>,
    ) -> Result<PageRecords, PollError> {
        let Some(task) = fanout.tasks.front_mut() else {
            return Ok(PageRecords::default());
        };
        let page = self.child_page(task, lease, deadline).await?;
        if task.next.is_none() {
            fanout.tasks.pop_front();
        }
        Ok(page)
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
    ) -> Result<(PageRecords, Fanout), PollError> {
        let page_url = listing.next.clone().unwrap_or_default();
        let url = self.stored_url(&page_url)?;
        let page: Page<Box<RawValue>> = self.fetch(lease, deadline, &url).await?;
        if listing.okta_started_at.is_none() {
            listing.okta_started_at = page.rate_limit.server_date;
        }
        let collected_at = self.ports.clock.now();
        let found = Found {
            org: &self.org.name,
            spec: self.stream.spec,
            parent: None,
            parent_version: None,
            sync: listing.mode,
            collected_at,
        };
        let mut records = Vec::with_capacity(page.items.len());
        let mut tasks = VecDeque::new();
        for raw in &page.items {
            let header = match ObjectHeader::parse(raw, self.stream.spec) {
                Ok(header) => header,
                Err(e) => {
                    records.push(self.unreadable(raw, &e, self.stream.spec, collected_at));
                    continue;
                }
            };
            listing.saw(header.last_updated.max(header.last_membership_updated));
            tasks.extend(self.tasks_for(&header, listing));
            records.push(object::to_record(raw, &header, &found));
        }
        listing.next = page.next.map(String::from);
        Ok((
            PageRecords {
                records,
                items: page.items.len(),
            },
            Fanout {
                page: page_url,
                tasks,
            },
        ))
    }

    /// The quarantine record of an object the relay cannot read.
    fn unreadable(
        &self,
        raw: &RawValue,
        problem: &InvalidObject,
        spec: &StreamSpec,
        collected_at: DateTime<Utc>,
    ) -> PendingRecord {
        quarantine::unreadable(
            raw,
            &problem.to_string(),
            &quarantine::FoundAt {
                org: &self.org.name,
                stream: spec.name,
                detail_type: spec.detail_type,
                path: CollectionPath::Pull,
                collected_at,
            },
        )
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
            return Ok(PageRecords::default());
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
                return Ok(PageRecords::default());
            }
            Err(e) => return Err(e),
        };
        let collected_at = self.ports.clock.now();
        let found = Found {
            org: &self.org.name,
            spec: child.spec,
            parent: Some(&task.parent),
            parent_version: task.parent_version.as_deref(),
            sync: SyncMode::Full,
            collected_at,
        };
        let mut records = Vec::with_capacity(page.items.len());
        for raw in &page.items {
            match ObjectHeader::parse(raw, child.spec) {
                Ok(header) => records.push(object::to_record(raw, &header, &found)),
                Err(e) => records.push(self.unreadable(raw, &e, child.spec, collected_at)),
            }
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
