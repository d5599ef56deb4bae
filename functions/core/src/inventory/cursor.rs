//! A directory stream's cursor: where a listing in progress stands, and when the stream last
//! synced. Stored as JSON in the stream record's `cursor`, so it moves under the same lease
//! and fencing as the System Log cursor.
//!
//! A listing (full or delta) is resumable: `next` is the parent page to fetch, and `fanout` the
//! child listing (members, app users, app groups) in progress for the parent page read last.
//! The cursor is committed after every acknowledged page, so a run stopped by its deadline
//! resumes exactly there: no gap, and nothing sent twice.
//!
//! The cursor stays small whatever the page size (a groups page can hold 10 000 groups): it
//! keeps the parent page's URL and the one child listing in progress, never the queue of child
//! listings the page implies. A resumed run reads that parent page again (one request) and
//! rebuilds the queue from it.
//!
//! The delta high-water mark is the highest `lastUpdated` seen, never the wall clock (Okta's
//! clock and ours differ), and never later than Okta's `Date` when the listing started: an
//! object changed while the listing ran may have been listed before its change, and the next
//! delta must pick it up.

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
    /// The parent's version of its children (a group's `lastMembershipUpdated`), for child
    /// records that have no version of their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_version: Option<String>,
    /// The child page to fetch next; `None` means its first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl FanoutTask {
    /// Whether `other` is the same child listing (whatever page it is at).
    pub fn same_listing(&self, other: &FanoutTask) -> bool {
        self.stream == other.stream && self.parent == other.parent
    }
}

/// The child listing in progress, and the parent page that implied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FanoutPosition {
    /// The parent page's URL: read again on resume to rebuild the child listings it implies.
    pub page: String,
    /// The child listing in progress; those before it (in the page's order) are done.
    pub task: FanoutTask,
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
    /// The parent page to fetch next; `None` once every parent page was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// First pages still to list after `next`'s listing ends: a sweep through a required
    /// parameter's values (policies by `type`).
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub queued: VecDeque<String>,
    /// The child listing in progress for the parent page read last.
    #[serde(default, rename = "fanout_at", skip_serializing_if = "Option::is_none")]
    pub fanout: Option<FanoutPosition>,
    /// The queue of child listings an earlier version stored (unbounded); a listing that has
    /// one starts over (see [`InventoryCursor::parse`]).
    #[serde(default, rename = "fanout", skip_serializing)]
    pub legacy_fanout: Option<serde_json::Value>,
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
            queued: VecDeque::new(),
            fanout: None,
            legacy_fanout: None,
            max_seen: None,
            since: None,
        }
    }

    pub fn is_done(&self) -> bool {
        self.next.is_none() && self.fanout.is_none()
    }

    pub fn saw(&mut self, at: Option<DateTime<Utc>>) {
        self.max_seen = self.max_seen.max(at);
    }

    /// Where the listing's high-water mark may go: the highest change it saw, but never past
    /// Okta's clock when it started.
    fn reached(&self) -> Option<DateTime<Utc>> {
        match (self.max_seen, self.okta_started_at) {
            (Some(seen), Some(okta)) => Some(seen.min(okta)),
            (seen, okta) => seen.or(okta),
        }
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

/// A stored directory cursor that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the stored directory cursor cannot be read ({detail}); reset it with `okta-relay-ctl reset-cursor`"
)]
pub struct UnreadableCursor {
    pub detail: String,
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
    /// Reads a stored cursor. An unreadable one is an error: starting over silently could
    /// hide a problem (another program writing the table, a corrupted item); the operator
    /// resets it with `okta-relay-ctl reset-cursor`. A listing stored by an earlier version
    /// with its queue of child listings starts over as a full sync (it re-sends, it never
    /// skips).
    pub fn parse(stored: Option<&str>) -> Result<Self, UnreadableCursor> {
        let Some(text) = stored else {
            return Ok(Self::default());
        };
        let mut cursor: Self = serde_json::from_str(text).map_err(|e| UnreadableCursor {
            detail: format!("{:?} error at column {}", e.classify(), e.column()),
        })?;
        if cursor
            .listing
            .as_ref()
            .is_some_and(|l| l.legacy_fanout.as_ref().is_some_and(|q| !q.is_null()))
        {
            tracing::warn!(
                "directory cursor from an earlier version; starting its listing over as a full sync"
            );
            cursor.listing = None;
            cursor.last_full_at = None;
        }
        Ok(cursor)
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
                    self.high_water = listing.reached();
                }
            }
            SyncMode::Delta => {
                self.last_delta_at = Some(now);
                self.high_water = self.high_water.max(listing.reached());
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
        assert_eq!(
            c.high_water,
            Some(t(900)),
            "Okta's start is unknown: what it saw"
        );
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
    fn a_delta_mark_never_passes_oktas_clock_at_its_start() {
        let mut c = InventoryCursor {
            high_water: Some(t(0)),
            last_full_at: Some(t(0)),
            ..InventoryCursor::default()
        };
        let mut delta = Listing::new(SyncMode::Delta, t(100), "x".into());
        delta.okta_started_at = Some(t(100));
        // An object listed on page 1 and changed at t(150); a later page shows one changed at
        // t(200). The next delta must start before t(150).
        delta.saw(Some(t(50)));
        delta.saw(Some(t(200)));
        delta.next = None;
        c.listing = Some(delta);
        c.finish(t(300));
        assert_eq!(c.high_water, Some(t(100)));
    }

    #[test]
    fn the_cursor_round_trips_and_garbage_is_an_error() {
        let mut listing = Listing::new(SyncMode::Delta, t(0), "https://o/api/v1/groups".into());
        listing.queued = ["https://o/api/v1/policies?type=MFA_ENROLL".to_string()].into();
        listing.fanout = Some(FanoutPosition {
            page: "https://o/api/v1/groups?after=00g0".into(),
            task: FanoutTask {
                stream: "group_members".into(),
                parent: "00g1".into(),
                parent_version: Some("2026-11-21T10:00:00.000Z".into()),
                next: Some("https://o/api/v1/groups/00g1/users?after=x".into()),
            },
        });
        let c = InventoryCursor {
            listing: Some(listing),
            high_water: Some(t(-5)),
            ..InventoryCursor::default()
        };
        assert_eq!(InventoryCursor::parse(Some(&c.to_json())).unwrap(), c);
        assert!(
            c.to_json().contains("MFA_ENROLL"),
            "the sweep's queue is stored"
        );
        let err = InventoryCursor::parse(Some("https://o/api/v1/logs?after=1")).unwrap_err();
        assert!(
            err.to_string().contains("okta-relay-ctl reset-cursor"),
            "{err}"
        );
        assert_eq!(
            InventoryCursor::parse(None).unwrap(),
            InventoryCursor::default()
        );
    }

    #[test]
    fn a_listing_with_an_earlier_versions_queue_starts_over_as_a_full_sync() {
        let stored = r#"{"listing":{"mode":"full","started_at":"2026-11-21T10:00:00Z",
            "next":"https://o/api/v1/groups?after=00g9",
            "fanout":[{"stream":"group_members","parent":"00g1"}]},
            "last_full_at":"2026-11-20T10:00:00Z","high_water":"2026-11-20T09:00:00Z"}"#;
        let c = InventoryCursor::parse(Some(stored)).unwrap();
        assert_eq!(c.listing, None);
        assert_eq!(c.last_full_at, None, "due for a full sync now");
        assert!(c.high_water.is_some());
    }
}
