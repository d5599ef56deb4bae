//! What a stream reads from: a source only fetches and parses pages. It never touches the
//! lease, the dedupe marks, the sink or the cursor's storage: the run loop does all of that.
//! Adding a stream means writing a source (or, for a directory stream, a catalogue entry).

use super::error::PollError;
use super::fetch::Okta;
use crate::pipeline::{MarkPolicy, PendingRecord};
use crate::summary::StreamSummary;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Where the stream stands after a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// More to read now.
    More,
    /// Everything Okta had is read: the run ends caught up.
    CaughtUp,
    /// The run ends here without being caught up (a page limit, Okta gave no way on).
    Stop,
}

/// An Okta log-stream lifecycle event a page held (the stream watch records it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleSeen {
    pub event_type: String,
    pub at: DateTime<Utc>,
}

/// One page, read and parsed.
#[derive(Debug)]
pub struct SourcePage {
    /// Okta pages fetched for it (0 when the source only moves its cursor; 2 when a resumed
    /// directory listing read its parent page again first).
    pub fetched: u64,
    /// Okta items read (events or objects).
    pub items: usize,
    pub records: Vec<PendingRecord>,
    /// The page's OCSF events for Security Lake (empty when the lake is off).
    pub lake: Vec<crate::lake::LakeEvent>,
    /// How forwarding uses the dedupe marks for these records.
    pub marks: MarkPolicy,
    /// The cursor to commit once every record is acknowledged; `None` leaves it.
    pub cursor: Option<String>,
    pub next: Next,
    /// The newest `published` on the page (the stream's lag).
    pub newest: Option<DateTime<Utc>>,
    /// Events the org's event-type list excluded.
    pub filtered: u64,
    /// Inventory change records among `records`.
    pub inventory_changes: u64,
    /// Events forwarded with the receipt time for want of a readable `published`.
    pub malformed_published: u64,
    pub lifecycle: Vec<LifecycleSeen>,
    /// Okta's `X-Okta-Request-Id` of the page, for the log line.
    pub request_id: Option<String>,
}

impl SourcePage {
    /// A page that moves the cursor and carries no records.
    pub fn empty(cursor: Option<String>, next: Next) -> Self {
        Self {
            fetched: 0,
            items: 0,
            records: Vec::new(),
            lake: Vec::new(),
            marks: MarkPolicy::Check,
            cursor,
            next,
            newest: None,
            filtered: 0,
            inventory_changes: 0,
            malformed_published: 0,
            lifecycle: Vec::new(),
            request_id: None,
        }
    }
}

/// Whether a source has work now that it holds the stream's cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    Ready,
    /// Another run finished the work between the poller's look and the lease.
    NothingToDo,
}

#[async_trait]
pub trait Source: Send {
    /// Starts from the stored cursor (`None`: the stream never ran), read under the lease.
    fn open(&mut self, cursor: Option<&str>, okta: &Okta<'_>) -> Result<Opened, PollError>;

    /// A directory listing's mode, once open.
    fn sync(&self) -> Option<crate::record::SyncMode> {
        None
    }

    /// Fan-out streams Okta refused in this run, each with its error (directory streams whose
    /// child needs a scope of its own).
    fn refused_children(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Fan-out streams this run read at least one listing of (their health is then their own
    /// run's; one not listed keeps what it had).
    fn listed_children(&self) -> Vec<&'static str> {
        Vec::new()
    }

    /// Reads the next page.
    async fn next_page(&mut self, okta: &Okta<'_>) -> Result<SourcePage, PollError>;

    /// After a page was acknowledged and committed (a backfill reports its progress).
    fn after_page(&mut self, _summary: &StreamSummary, _okta: &Okta<'_>) {}
}
