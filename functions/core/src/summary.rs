//! What a run did, as data: the counters of a pull stream's run, its outcome as the poller
//! returns it, and what one partner event became on the push path. Metrics, logs, health and
//! the functions' answers are all made from these, so neither path's code is needed to read
//! them.

use crate::lake::LakeReport;
use crate::pipeline::ForwardReport;
use crate::ports::{Phase, RateLimitHeadroom, RunRecord};
use crate::record::SyncMode;
use crate::stream_watch::PushState;
use crate::{ErrorKind, Fault};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Counters of one pull stream run.
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
    /// System Log events forwarded with the receipt time: their `published` was missing or
    /// unreadable.
    pub malformed_published: u64,
    /// Directory streams: fan-out streams Okta refused (a scope of their own the credentials
    /// lack), with the error; the parent was listed without them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused_children: Vec<(&'static str, String)>,
    /// Directory streams: fan-out streams this run read at least one listing of.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub listed_children: Vec<&'static str>,
    /// Directory streams: whether this run was a full sync or a delta.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncMode>,
    /// Security Lake: events written, and objects that held them.
    pub lake_events: u64,
    pub lake_objects: u64,
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
            ("malformed_published".to_string(), self.malformed_published),
            ("failed_entries".to_string(), self.failed_entries),
            ("quarantined".to_string(), self.quarantined),
            ("unmarked".to_string(), self.unmarked),
            ("lake_events".to_string(), self.lake_events),
            ("lake_objects".to_string(), self.lake_objects),
        ])
    }

    /// Adds what the lake wrote. Its unmarked events count with the bus's, and an event written
    /// degraded (it did not fit its class's Parquet schema) with the quarantined, which alarm.
    pub fn add_lake(&mut self, report: &LakeReport) {
        self.lake_events += report.written as u64;
        self.lake_objects += report.objects as u64;
        self.unmarked += report.unmarked as u64;
        self.quarantined += report.degraded as u64;
    }

    /// What a successful run reports to health.
    pub fn run_record(&self) -> RunRecord {
        RunRecord {
            counters: self.counters(),
            newest_event_at: self.newest_event_at,
            rate_limit: self.rate_limit,
            phase: self.phase(),
        }
    }

    /// The phase a successful run ended in: caught up, or collecting (it has more to read,
    /// whether or not it got to a page before its deadline). `None` when another run held
    /// the lease: that run records its own.
    pub fn phase(&self) -> Option<Phase> {
        if self.lease_busy {
            None
        } else if self.caught_up {
            Some(Phase::CaughtUp)
        } else {
            Some(Phase::Collecting)
        }
    }

    /// Adds what one page's forwarding did.
    pub fn add(&mut self, report: &ForwardReport) {
        self.forwarded += report.forwarded as u64;
        self.duplicates += report.duplicates as u64;
        self.oversize += report.oversize as u64;
        self.failed_entries += report.failed_entries as u64;
        self.quarantined += report.quarantined as u64;
        self.unmarked += report.unmarked as u64;
    }
}

/// Why a stream polls in this invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DueReason {
    /// The stream never caught up (first run, or a run stopped before the head).
    NotCaughtUp,
    /// The interval since it last caught up has passed.
    Interval,
    /// Someone (the events function's stream watch) asked for a catch-up.
    Requested,
    /// The org's push path is silent or stopped: pull fills the gap.
    PushNeedsCatchUp,
    /// A directory stream's full sync is due (first run, or its interval passed).
    FullSync,
    /// A directory stream's delta is due.
    Delta,
}

/// What one org's stream did in an invocation: the poller's answer, one per stream.
#[derive(Debug, Clone, Serialize)]
pub struct OrgOutcome {
    pub org: String,
    pub stream: String,
    #[serde(flatten)]
    pub summary: StreamSummary,
    pub error: Option<String>,
    pub error_kind: Option<ErrorKind>,
    /// Whose fault the error was.
    pub error_fault: Option<Fault>,
    /// The stream is backing off after configuration or permanent errors and was not polled.
    pub backoff_until: Option<DateTime<Utc>>,
    /// Why the stream polled, or `None` when it did not.
    pub due_reason: Option<DueReason>,
    /// Caught up and within its interval: not polled, next poll at this time.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// At the start of this invocation the stream had not succeeded within its interval plus
    /// `overdue_slack_seconds` (the `Overdue` metric).
    pub overdue: bool,
    /// The org's push path as the stream watch sees it (System Log streams only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushState>,
}

impl OrgOutcome {
    /// A stream that has not run (yet) in this invocation.
    pub fn new(org: &str, stream: &str) -> Self {
        Self {
            org: org.to_string(),
            stream: stream.to_string(),
            summary: StreamSummary::default(),
            error: None,
            error_kind: None,
            error_fault: None,
            backoff_until: None,
            due_reason: None,
            next_poll_at: None,
            overdue: false,
            push: None,
        }
    }
}

/// What the push path did with one org's partner events of an invocation: one event (a
/// direct rule), or the org's share of an SQS batch. `uuid`, `event_type` and `published` are
/// the newest event's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushSummary {
    pub org: String,
    /// Partner events handled.
    pub events: usize,
    pub uuid: String,
    pub event_type: String,
    pub forwarded: usize,
    pub duplicates: usize,
    pub oversize: usize,
    /// 1 when the org's event-type list excludes this event.
    pub filtered: usize,
    /// 1 when the event is older than the org's `push.max_event_age_seconds`.
    pub old: usize,
    /// 1 when it was old and the org's policy drops old events.
    pub dropped_old: usize,
    /// 1 when the event also produced an inventory change record (a deletion or removal).
    pub inventory_changes: usize,
    /// Entries PutEvents reported failed and that a retry then delivered.
    pub failed_entries: usize,
    /// 1 when the bus refused the event for good and it went out as a quarantine marker.
    pub quarantined: usize,
    /// 1 when its `published` was missing or unreadable (forwarded with the receipt time).
    pub malformed_published: usize,
    /// The event's `published`, if it had a readable one.
    pub published: Option<DateTime<Utc>>,
    /// Security Lake: events written, and objects that held them.
    pub lake_events: usize,
    pub lake_objects: usize,
}

impl PushSummary {
    /// A partner event nothing has been done with yet.
    pub fn new(org: &str, uuid: &str, event_type: &str, published: Option<DateTime<Utc>>) -> Self {
        Self {
            org: org.to_string(),
            events: 1,
            uuid: uuid.to_string(),
            event_type: event_type.to_string(),
            forwarded: 0,
            duplicates: 0,
            oversize: 0,
            filtered: 0,
            old: 0,
            dropped_old: 0,
            inventory_changes: 0,
            failed_entries: 0,
            quarantined: 0,
            malformed_published: 0,
            published,
            lake_events: 0,
            lake_objects: 0,
        }
    }

    /// Takes in another event of the same org.
    pub fn absorb(&mut self, other: PushSummary) {
        if other.published.is_some() && other.published >= self.published {
            self.uuid = other.uuid;
            self.event_type = other.event_type;
            self.published = other.published;
        }
        self.events += other.events;
        self.filtered += other.filtered;
        self.old += other.old;
        self.dropped_old += other.dropped_old;
        self.inventory_changes += other.inventory_changes;
        self.forwarded += other.forwarded;
        self.duplicates += other.duplicates;
        self.oversize += other.oversize;
        self.failed_entries += other.failed_entries;
        self.quarantined += other.quarantined;
        self.malformed_published += other.malformed_published;
        self.lake_events += other.lake_events;
        self.lake_objects += other.lake_objects;
    }

    /// Adds what the lake wrote for the events (a degraded one counts as quarantined).
    pub fn add_lake(&mut self, report: &LakeReport) {
        self.lake_events += report.written;
        self.lake_objects += report.objects;
        self.quarantined += report.degraded;
    }

    /// Adds what forwarding the events' records did.
    pub fn add(&mut self, report: &ForwardReport) {
        self.forwarded += report.forwarded;
        self.duplicates += report.duplicates;
        self.oversize += report.oversize;
        self.failed_entries += report.failed_entries;
        self.quarantined += report.quarantined;
    }

    /// What the event reports to the push stream's health.
    pub fn run_record(&self) -> RunRecord {
        RunRecord {
            counters: self.counters(),
            newest_event_at: self.published,
            rate_limit: None,
            // Events are arriving: the push path collects (it is never "caught up").
            phase: Some(Phase::Collecting),
        }
    }

    fn counters(&self) -> BTreeMap<String, u64> {
        BTreeMap::from([
            ("events".to_string(), self.events as u64),
            ("forwarded".to_string(), self.forwarded as u64),
            ("duplicates".to_string(), self.duplicates as u64),
            ("oversize".to_string(), self.oversize as u64),
            ("filtered".to_string(), self.filtered as u64),
            ("old".to_string(), self.old as u64),
            ("dropped_old".to_string(), self.dropped_old as u64),
            (
                "inventory_changes".to_string(),
                self.inventory_changes as u64,
            ),
            ("failed_entries".to_string(), self.failed_entries as u64),
            ("quarantined".to_string(), self.quarantined as u64),
            (
                "malformed_published".to_string(),
                self.malformed_published as u64,
            ),
            ("lake_events".to_string(), self.lake_events as u64),
            ("lake_objects".to_string(), self.lake_objects as u64),
        ])
    }
}
