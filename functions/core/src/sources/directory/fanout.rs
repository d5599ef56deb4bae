//! The child listings of a parent page (members of its groups, users and groups of its apps).
//!
//! The queue lives in memory only; the cursor keeps the parent page's URL and the one child
//! listing in progress ([`FanoutPosition`]), so it stays small whatever the page size (a
//! groups page can hold 10 000 groups). A resumed run reads the parent page again and rebuilds
//! the queue from the listing in progress on; if that one is no longer on the page, the page's
//! child listings start over (records sent again, none skipped).

use super::DirectorySource;
use crate::config::inventory::ChildStream;
use crate::inventory::cursor::FanoutPosition;
use crate::inventory::{FanoutTask, Listing};
use crate::okta::OktaError;
use crate::record::SyncMode;
use crate::run::{Next, Okta, PollError, SourcePage};
use crate::shape::directory_object::{self, Found, ObjectHeader};
use std::collections::VecDeque;
use url::Url;

/// The child listings a parent page implies, in its order: the first is in progress.
pub(super) struct Fanout {
    /// The parent page's URL.
    pub page: String,
    pub tasks: VecDeque<FanoutTask>,
}

impl Fanout {
    /// Where the cursor says the fan-out stands (`None` once every child listing is done).
    pub fn position(&self) -> Option<FanoutPosition> {
        self.tasks.front().map(|task| FanoutPosition {
            page: self.page.clone(),
            task: task.clone(),
        })
    }
}

impl DirectorySource<'_> {
    /// The child listings a parent object implies (none in a delta if its children did not
    /// move).
    pub(super) fn tasks_for(&self, header: &ObjectHeader, listing: &Listing) -> Vec<FanoutTask> {
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

    /// The next page of the child listing in progress (rebuilding the queue first after a
    /// resume); the listing leaves the queue once complete.
    pub(super) async fn child_page(
        &mut self,
        listing: &Listing,
        at: &FanoutPosition,
        okta: &Okta<'_>,
    ) -> Result<SourcePage, PollError> {
        let mut out = SourcePage::empty(None, Next::More);
        if self.queue.is_none() {
            self.queue = Some(self.rebuild(listing, at, okta).await?);
            out.fetched += 1;
        }
        let Some(mut task) = self.queue.as_mut().and_then(|q| q.tasks.pop_front()) else {
            return Ok(out);
        };
        let page = self.list_children(&mut task, okta).await;
        let done = task.next.is_none();
        if let Some(queue) = self.queue.as_mut()
            && (page.is_err() || !done)
        {
            queue.tasks.push_front(task);
        }
        let page = page?;
        out.fetched += page.fetched;
        out.items = page.items;
        out.records = page.records;
        out.lake = page.lake;
        Ok(out)
    }

    /// After a resume: reads the parent page again and rebuilds its child listings from the one
    /// in progress on.
    async fn rebuild(
        &self,
        listing: &Listing,
        at: &FanoutPosition,
        okta: &Okta<'_>,
    ) -> Result<Fanout, PollError> {
        let layout = self.stream.spec.paging.layout();
        let page = okta.page_in(&super::stored_url(&at.page)?, layout).await?;
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
            None => tracing::warn!(parent = %at.task.parent,
                "the child listing in progress is no longer on its parent page; listing the page's children again"),
        }
        Ok(Fanout {
            page: at.page.clone(),
            tasks,
        })
    }

    /// The next page of one child listing; `task.next` becomes `None` when it is complete.
    async fn list_children(
        &mut self,
        task: &mut FanoutTask,
        okta: &Okta<'_>,
    ) -> Result<SourcePage, PollError> {
        let mut out = SourcePage::empty(None, Next::More);
        let Some(child) = self
            .stream
            .children
            .iter()
            .find(|c| c.spec.name == task.stream)
        else {
            // The configuration no longer collects this child.
            task.next = None;
            return Ok(out);
        };
        let url = match &task.next {
            Some(next) => super::stored_url(next)?,
            None => child_url(okta, child, &task.parent)?,
        };
        if self.refused.contains_key(child.spec.name) {
            task.next = None;
            return Ok(out);
        }
        let page = match okta.page_in(&url, child.spec.paging.layout()).await {
            Ok(page) => page,
            // The parent was deleted since its page was read: its deletion reaches the SIEM as
            // an inventory change record, and it has no children to list.
            Err(PollError::Okta(OktaError::Api { status: 404, .. })) => {
                tracing::info!(child = child.spec.name, parent = %task.parent,
                    "parent no longer exists; skipping its listing");
                task.next = None;
                out.fetched = 1;
                return Ok(out);
            }
            // A stream with a scope of its own that the credentials lack: the parent goes on,
            // the child is reported once as a configuration error of its own.
            Err(PollError::Okta(e @ OktaError::Api { status: 403, .. }))
                if child.spec.own_scope() =>
            {
                tracing::error!(child = child.spec.name, error = %e,
                    "Okta refused this stream (its scope is {}); listing its parent without it",
                    child.spec.scope);
                self.refused.insert(child.spec.name, e);
                task.next = None;
                out.fetched = 1;
                return Ok(out);
            }
            Err(e) => return Err(e),
        };
        self.listed.insert(child.spec.name);
        let collected_at = okta.now();
        let found = Found {
            org: &self.org.name,
            okta_org_id: self.org.okta_org_id.as_deref(),
            spec: child.spec,
            parent: Some(&task.parent),
            parent_version: task.parent_version.as_deref(),
            sync: SyncMode::Full,
            collected_at,
            output: self.org.output,
            lake: self.org.lake_delivery,
        };
        out.fetched = 1;
        out.items = page.items.len();
        for raw in &page.items {
            match ObjectHeader::parse(raw, child.spec) {
                Ok(header) => {
                    let (records, lake) = directory_object::records(raw, &header, &found);
                    out.records.extend(records);
                    out.lake.extend(lake);
                }
                Err(e) => out
                    .records
                    .push(self.unreadable(raw, &e, child.spec, collected_at)),
            }
        }
        task.next = page.next.map(String::from);
        Ok(out)
    }
}

/// A child listing's first page: the parent's id as one path segment (percent-encoded).
fn child_url(okta: &Okta<'_>, child: &ChildStream, parent: &str) -> Result<Url, PollError> {
    let (before, after) = child
        .spec
        .path
        .split_once("{id}")
        .unwrap_or((child.spec.path, ""));
    let mut url = okta
        .org()
        .join(before.trim_end_matches('/'))
        .map_err(OktaError::from)?;
    if let Ok(mut segments) = url.path_segments_mut() {
        segments
            .push(parent)
            .extend(after.split('/').filter(|s| !s.is_empty()));
    }
    if child.spec.limit {
        url.query_pairs_mut()
            .append_pair("limit", &child.page_size.to_string());
    }
    Ok(url)
}
