//! A directory stream's cursor: where a listing in progress stands, and when the stream last
//! synced. Stored as JSON in the stream record's `cursor`, so it moves under the same lease
//! and fencing as the System Log cursor.
//!
//! A listing (full or delta) is resumable: `next` is the parent page to fetch, `fanout` the
//! child listings (members, app users, app groups) still owed for parents already forwarded.
//! The cursor is committed after every acknowledged page, so a run stopped by its deadline
//! resumes exactly there: no gap, and nothing sent twice.
//!
//! The delta high-water mark is the highest `lastUpdated` seen, never the wall clock (Okta's
//! clock and ours differ). A first full sync sets it no later than Okta's `Date` when the sync
//! started, so an object changed while the sync was listing is caught by the next delta.

use crate::record::SyncMode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;

/// A child listing owed for one parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FanoutTask {
    /// The child stream (`group_members`, `app_users`, `app_groups`).
    pub stream: String,
    pub parent: String,
    /// The child page to fetch next; `None` means its first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A listing in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub mode: SyncMode,
    /// Our clock, when the listing started.
    pub started_at: DateTime<Utc>,
    /// Okta's clock (`Date` of the first page), when the listing started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub okta_started_at: Option<DateTime<Utc>>,
    /// The parent page to fetch next; `None` once every parent page was forwarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub fanout: VecDeque<FanoutTask>,
    /// Highest `lastUpdated` (or `lastMembershipUpdated`) seen by this listing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seen: Option<DateTime<Utc>>,
    /// Delta listings: the lower bound they query from (high-water mark minus the overlap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
}

impl Listing {
    pub fn new(mode: SyncMode, now: DateTime<Utc>, first_page: String) -> Self {
        Self {
            mode,
            started_at: now,
            okta_started_at: None,
            next: Some(first_page),
            fanout: VecDeque::new(),
            max_seen: None,
            since: None,
        }
    }

    pub fn is_done(&self) -> bool {
        self.next.is_none() && self.fanout.is_empty()
    }

    pub fn saw(&mut self, at: Option<DateTime<Utc>>) {
        self.max_seen = self.max_seen.max(at);
    }
}

/// The stream's whole cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryCursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing: Option<Listing>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_full_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_delta_at: Option<DateTime<Utc>>,
    /// Delta runs query objects updated after this (less the overlap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_water: Option<DateTime<Utc>>,
}

/// What a directory stream should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryDue {
    /// A listing is in progress: go on with it.
    Resume(SyncMode),
    /// Start a listing.
    Start(SyncMode),
    /// Nothing to do before this time.
    NotBefore(DateTime<Utc>),
}

impl InventoryCursor {
    /// Reads a stored cursor; an unreadable one starts over (a full sync re-sends everything,
    /// it never skips anything).
    pub fn parse(stored: Option<&str>) -> Self {
        match stored.map(serde_json::from_str::<Self>) {
            None => Self::default(),
            Some(Ok(cursor)) => cursor,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "unreadable directory cursor; starting a full sync");
                Self::default()
            }
        }
    }

    pub fn to_json(&self) -> String {
        // Plain data: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether and how the stream runs at `now`. A full sync wins over a delta; a delta needs a
    /// high-water mark (from an earlier full sync).
    pub fn due(
        &self,
        now: DateTime<Utc>,
        interval: Duration,
        delta_interval: Option<Duration>,
    ) -> InventoryDue {
        if let Some(listing) = &self.listing {
            return InventoryDue::Resume(listing.mode);
        }
        let after = |t: Option<DateTime<Utc>>, every: Duration| {
            t.map(|t| t + chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX))
        };
        let Some(next_full) = after(self.last_full_at, interval) else {
            return InventoryDue::Start(SyncMode::Full);
        };
        if now >= next_full {
            return InventoryDue::Start(SyncMode::Full);
        }
        let next_delta = delta_interval
            .filter(|_| self.high_water.is_some())
            .and_then(|every| after(self.last_delta_at.or(self.last_full_at), every));
        match next_delta {
            Some(at) if now >= at => InventoryDue::Start(SyncMode::Delta),
            Some(at) => InventoryDue::NotBefore(at.min(next_full)),
            None => InventoryDue::NotBefore(next_full),
        }
    }

    /// Records a finished listing.
    pub fn finish(&mut self, now: DateTime<Utc>) {
        let Some(listing) = self.listing.take() else {
            return;
        };
        match listing.mode {
            SyncMode::Full => {
                self.last_full_at = Some(now);
                if self.high_water.is_none() {
                    self.high_water = match (listing.max_seen, listing.okta_started_at) {
                        (Some(seen), Some(okta)) => Some(seen.min(okta)),
                        (seen, okta) => seen.or(okta),
                    };
                }
            }
            SyncMode::Delta => {
                self.last_delta_at = Some(now);
                self.high_water = self.high_water.max(listing.max_seen);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    const DAY: Duration = Duration::from_secs(86_400);
    const QUARTER: Duration = Duration::from_secs(900);

    #[test]
    fn full_first_then_deltas_then_full_again() {
        let mut c = InventoryCursor::default();
        assert_eq!(
            c.due(t(0), DAY, Some(QUARTER)),
            InventoryDue::Start(SyncMode::Full)
        );
        let mut full = Listing::new(SyncMode::Full, t(0), "https://o/api/v1/users".into());
        assert_eq!(
            InventoryCursor {
                listing: Some(full.clone()),
                ..c.clone()
            }
            .due(t(5), DAY, Some(QUARTER)),
            InventoryDue::Resume(SyncMode::Full)
        );
        full.okta_started_at = Some(t(-3));
        full.saw(Some(t(-10)));
        full.saw(Some(t(2)));
        full.next = None;
        c.listing = Some(full);
        c.finish(t(60));
        assert_eq!(c.last_full_at, Some(t(60)));
        assert_eq!(c.high_water, Some(t(-3)), "no later than Okta's start");
        assert_eq!(
            c.due(t(100), DAY, Some(QUARTER)),
            InventoryDue::NotBefore(t(960))
        );
        assert_eq!(
            c.due(t(960), DAY, Some(QUARTER)),
            InventoryDue::Start(SyncMode::Delta)
        );
        assert_eq!(
            c.due(t(960), DAY, None),
            InventoryDue::NotBefore(t(60 + 86_400))
        );
        let mut delta = Listing::new(SyncMode::Delta, t(960), "x".into());
        delta.saw(Some(t(900)));
        delta.next = None;
        c.listing = Some(delta);
        c.finish(t(970));
        assert_eq!(c.high_water, Some(t(900)));
        assert_eq!(c.last_delta_at, Some(t(970)));
        // A delta that saw nothing keeps the mark.
        c.listing = Some(Listing {
            next: None,
            ..Listing::new(SyncMode::Delta, t(2000), "x".into())
        });
        c.finish(t(2000));
        assert_eq!(c.high_water, Some(t(900)));
        assert_eq!(
            c.due(t(60 + 86_400), DAY, Some(QUARTER)),
            InventoryDue::Start(SyncMode::Full)
        );
        // A later full sync keeps the delta's mark.
        c.listing = Some(Listing {
            max_seen: Some(t(99_999)),
            next: None,
            ..Listing::new(SyncMode::Full, t(90_000), "x".into())
        });
        c.finish(t(90_000));
        assert_eq!(c.high_water, Some(t(900)));
    }

    #[test]
    fn the_cursor_round_trips_and_garbage_starts_over() {
        let mut listing = Listing::new(SyncMode::Delta, t(0), "https://o/api/v1/groups".into());
        listing.fanout.push_back(FanoutTask {
            stream: "group_members".into(),
            parent: "00g1".into(),
            next: Some("https://o/api/v1/groups/00g1/users?after=x".into()),
        });
        let c = InventoryCursor {
            listing: Some(listing),
            high_water: Some(t(-5)),
            ..InventoryCursor::default()
        };
        assert_eq!(InventoryCursor::parse(Some(&c.to_json())), c);
        assert_eq!(
            InventoryCursor::parse(Some("https://o/api/v1/logs?after=1")),
            InventoryCursor::default()
        );
        assert_eq!(InventoryCursor::parse(None), InventoryCursor::default());
    }
}
