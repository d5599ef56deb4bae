//! A parent page of a directory listing: its objects as records, the high-water mark they
//! reach, and the child listings they imply. An object the relay cannot read is quarantined.

use super::DirectorySource;
use super::fanout::Fanout;
use crate::inventory::Listing;
use crate::inventory::catalogue::StreamSpec;
use crate::pipeline::{PendingRecord, quarantine};
use crate::record::CollectionPath;
use crate::run::{Next, Okta, PollError, SourcePage};
use crate::shape::directory_object::{self, Found, InvalidObject, ObjectHeader};
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use std::collections::VecDeque;

impl DirectorySource<'_> {
    /// The next parent page; its child listings become the queue.
    pub(super) async fn parent_page(
        &mut self,
        listing: &mut Listing,
        okta: &Okta<'_>,
    ) -> Result<SourcePage, PollError> {
        let page_url = listing.next.clone().unwrap_or_default();
        let layout = self.stream.spec.paging.layout();
        let page = okta.page_in(&super::stored_url(&page_url)?, layout).await?;
        if listing.okta_started_at.is_none() {
            listing.okta_started_at = page.rate_limit.server_date;
        }
        let collected_at = okta.now();
        let found = Found {
            org: &self.org.name,
            okta_org_id: self.org.okta_org_id.as_deref(),
            spec: self.stream.spec,
            parent: None,
            parent_version: None,
            sync: listing.mode,
            collected_at,
            output: self.org.output,
            lake: self.org.lake_delivery,
        };
        let mut out = SourcePage::empty(None, Next::More);
        out.fetched = 1;
        out.items = page.items.len();
        let mut tasks = VecDeque::new();
        for raw in &page.items {
            let header = match ObjectHeader::parse(raw, self.stream.spec) {
                Ok(header) => header,
                Err(e) => {
                    out.records
                        .push(self.unreadable(raw, &e, self.stream.spec, collected_at));
                    continue;
                }
            };
            listing.saw(header.last_updated.max(header.last_membership_updated));
            tasks.extend(self.tasks_for(&header, listing));
            let (records, lake) = directory_object::records(raw, &header, &found);
            out.records.extend(records);
            out.lake.extend(lake);
        }
        listing.next = page
            .next
            .map(String::from)
            .or_else(|| listing.queued.pop_front());
        self.queue = Some(Fanout {
            page: page_url,
            tasks,
        });
        Ok(out)
    }

    /// The quarantine record of an object the relay cannot read.
    pub(super) fn unreadable(
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
                okta_org_id: self.org.okta_org_id.as_deref(),
                stream: spec.name,
                detail_type: spec.detail_type,
                path: CollectionPath::Pull,
                collected_at,
            },
        )
    }
}
