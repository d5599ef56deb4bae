//! A directory stream of the catalogue ([`crate::inventory::catalogue`]): one source for every
//! stream, the differences are data.
//!
//! A listing is a full sync (every object re-listed and emitted: a snapshot) or a delta (only
//! what changed since the high-water mark, with a small overlap because Okta's search index
//! trails writes; the dedupe marks drop what the overlap repeats). Parent pages come first;
//! each parent page implies child listings (members of its groups, users and groups of its
//! apps), and those run before the next parent page ([`fanout`]). The cursor
//! ([`crate::inventory::cursor`]) is committed after every acknowledged page, so the deadline
//! (or a crash) costs at most the page in flight.

mod fanout;
mod objects;

use crate::config::InventoryStream;
use crate::config::OrgConfig;
use crate::inventory::{InventoryCursor, InventoryDue, Listing};
use crate::limits::MAX_CURSOR_BYTES;
use crate::okta::{OktaError, OrgUrl, OrgUrlError};
use crate::pipeline::MarkPolicy;
use crate::record::SyncMode;
use crate::run::{CursorError, Next, Okta, Opened, PollError, Source, SourcePage};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use fanout::Fanout;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use url::Url;

/// How far behind the high-water mark a delta starts: Okta's search index trails writes by up
/// to about a second.
pub const DELTA_OVERLAP: chrono::Duration = chrono::Duration::seconds(5);

/// One org's directory stream.
pub struct DirectorySource<'a> {
    org: &'a OrgConfig,
    stream: &'a InventoryStream,
    cursor: InventoryCursor,
    listing: Option<Listing>,
    /// The child listings the parent page read last implies, in memory only (the cursor keeps
    /// the one in progress).
    queue: Option<Fanout>,
    /// Fan-out streams Okta refused in this run (a scope their parent does not need): the
    /// parent goes on without them, and each is reported once, as its own configuration error.
    refused: BTreeMap<&'static str, OktaError>,
    /// Fan-out streams this run read at least one listing of.
    listed: BTreeSet<&'static str>,
}

impl<'a> DirectorySource<'a> {
    pub fn new(org: &'a OrgConfig, stream: &'a InventoryStream) -> Self {
        Self {
            org,
            stream,
            cursor: InventoryCursor::default(),
            listing: None,
            queue: None,
            refused: BTreeMap::new(),
            listed: BTreeSet::new(),
        }
    }

    /// A new listing: a full sync of everything, or a delta from the high-water mark. A stream
    /// that sweeps a required parameter lists each value in turn (one first page each).
    fn start(
        &self,
        mode: SyncMode,
        org: &OrgUrl,
        now: DateTime<Utc>,
    ) -> Result<Listing, PollError> {
        let spec = self.stream.spec;
        let mut url = org.join(spec.path).map_err(OktaError::from)?;
        if spec.limit {
            url.query_pairs_mut()
                .append_pair("limit", &self.stream.page_size.to_string());
        }
        let mut since = None;
        match (mode, spec.delta, self.cursor.high_water) {
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
        let mut first_pages: VecDeque<String> = match spec.sweep {
            None => VecDeque::from([url.to_string()]),
            Some(sweep) => sweep
                .values
                .iter()
                .map(|value| {
                    let mut page = url.clone();
                    page.query_pairs_mut().append_pair(sweep.param, value);
                    page.to_string()
                })
                .collect(),
        };
        let first = first_pages.pop_front().unwrap_or_else(|| url.to_string());
        Ok(Listing {
            since,
            queued: first_pages,
            ..Listing::new(mode, now, first)
        })
    }

    /// The cursor to store: the listing as it now stands. One that would not fit the state
    /// table's item is refused here (it would fail there, as a transient error, forever).
    fn stored(&mut self, listing: Option<Listing>) -> Result<String, PollError> {
        self.cursor.listing = listing;
        let text = self.cursor.to_json();
        if text.len() > MAX_CURSOR_BYTES {
            return Err(CursorError::TooLarge { bytes: text.len() }.into());
        }
        Ok(text)
    }
}

#[async_trait]
impl Source for DirectorySource<'_> {
    fn open(&mut self, cursor: Option<&str>, okta: &Okta<'_>) -> Result<Opened, PollError> {
        self.cursor = InventoryCursor::parse(cursor).map_err(CursorError::from)?;
        let now = okta.now();
        let due = self
            .cursor
            .due(now, self.stream.interval, self.stream.delta_interval);
        let listing = match (self.cursor.listing.take(), due) {
            (Some(listing), _) => listing,
            (None, InventoryDue::Start(mode)) => self.start(mode, okta.org(), now)?,
            (None, _) => return Ok(Opened::NothingToDo),
        };
        tracing::info!(mode = ?listing.mode, since = ?listing.since,
            resuming_fanout = listing.fanout.is_some(), "directory listing");
        self.listing = Some(listing);
        Ok(Opened::Ready)
    }

    fn sync(&self) -> Option<SyncMode> {
        self.listing.as_ref().map(|l| l.mode)
    }

    fn refused_children(&self) -> Vec<(&'static str, String)> {
        self.refused
            .iter()
            .map(|(name, e)| (*name, e.to_string()))
            .collect()
    }

    fn listed_children(&self) -> Vec<&'static str> {
        self.listed.iter().copied().collect()
    }

    async fn next_page(&mut self, okta: &Okta<'_>) -> Result<SourcePage, PollError> {
        let Some(mut listing) = self.listing.take() else {
            return Ok(SourcePage::empty(None, Next::Stop));
        };
        if listing.is_done() {
            self.cursor.listing = Some(listing);
            self.cursor.finish(okta.now());
            let cursor = self.stored(None)?;
            return Ok(SourcePage::empty(Some(cursor), Next::CaughtUp));
        }
        let page = match listing.fanout.clone() {
            Some(at) => self.child_page(&listing, &at, okta).await,
            None => self.parent_page(&mut listing, okta).await,
        };
        let mut page = match page {
            Ok(page) => page,
            Err(e) => {
                self.listing = Some(listing);
                return Err(e);
            }
        };
        listing.fanout = self.queue.as_ref().and_then(Fanout::position);
        page.marks = match listing.mode {
            SyncMode::Full => MarkPolicy::Refresh,
            SyncMode::Delta => MarkPolicy::Check,
        };
        page.cursor = Some(self.stored(Some(listing.clone()))?);
        self.listing = Some(listing);
        Ok(page)
    }
}

/// A URL from the cursor; the client refuses it unless it is on the org's origin.
fn stored_url(text: &str) -> Result<Url, PollError> {
    Url::parse(text).map_err(|_| {
        OktaError::from(OrgUrlError::Invalid(
            "stored directory cursor is not a URL".into(),
        ))
        .into()
    })
}
