//! Forwarding with dedupe: check which records were delivered already, deliver the rest, then
//! mark what the sink acknowledged.
//!
//! The dedupe contract (`ARCHITECTURE.md`): a record is skipped only when a mark says it was
//! **delivered**, that is acknowledged by the sink, and the mark has not expired. Marks are
//! written only after the acknowledgment, so there is no pending state: a failed, stalled or
//! killed delivery leaves nothing that makes a later one skip a record. What it may leave is a
//! record delivered but not marked, which a later run delivers again: a duplicate, never a loss.
//! The same marks serve the push and the pull path, so an event seen on both is forwarded once
//! in the normal case; both paths handling one event at the same moment both deliver it.
//!
//! A record whose entry alone exceeds the request limit cannot be sent. It is replaced by an
//! `Okta Relay Oversize Record` entry that carries its id, kind and size, counted and logged by
//! id, so the SIEM knows the event exists and can fetch it from Okta. A record the bus refuses
//! for good for what it holds (a poison record: a documented per-record code) is replaced by an
//! `Okta Relay Quarantined Record` entry the same way, counted and logged, and the stream goes
//! on. A record counts as delivered only when the sink acknowledged it or its marker: a marker
//! the bus refuses too fails the delivery, and the record waits, unmarked, before the cursor.

use super::delivery::{Delivered, Delivery, DeliveryError, DeliveryPolicy, Heartbeat, Rejection};
use crate::ErrorKind;
use crate::ports::{DedupeKey, DedupeStore, EventSink, SinkEntry, StateError};
use crate::record::{self, Quarantine, QuarantineReason, RelayMetadata};
use std::borrow::Cow;
use std::collections::HashSet;
use std::time::Duration;
use thiserror::Error;

/// A shaped record waiting for delivery.
#[derive(Debug, Clone)]
pub struct PendingRecord {
    /// The dedupe mark's id within the record's org (`relay.org`): the System Log `uuid`
    /// (shared by both paths), or a directory record's stream-scoped id.
    pub dedupe_key: String,
    pub relay: RelayMetadata,
    pub entry: SinkEntry,
}

impl PendingRecord {
    /// The org-scoped key of the record's dedupe mark.
    pub fn mark_key(&self) -> DedupeKey {
        DedupeKey::new(&self.relay.org, &self.dedupe_key)
    }

    fn is_quarantine_marker(&self) -> bool {
        self.entry.detail_type == record::QUARANTINE_DETAIL_TYPE
    }
}

/// What a forward call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForwardReport {
    /// Records the sink acknowledged (oversize and quarantine markers included).
    pub forwarded: usize,
    /// Records a delivered mark (or an earlier copy in the same batch) showed as sent already.
    pub duplicates: usize,
    pub oversize: usize,
    /// Records that could not be forwarded as they are and went out as quarantine markers.
    pub quarantined: usize,
    /// Entries PutEvents reported failed and that a retry then delivered.
    pub failed_entries: usize,
    /// Delivered records whose mark could not be written (each may be delivered again later).
    pub unmarked: usize,
}

impl std::ops::AddAssign for ForwardReport {
    fn add_assign(&mut self, other: Self) {
        self.forwarded += other.forwarded;
        self.duplicates += other.duplicates;
        self.oversize += other.oversize;
        self.quarantined += other.quarantined;
        self.failed_entries += other.failed_entries;
        self.unmarked += other.unmarked;
    }
}

#[derive(Debug, Error)]
pub enum ForwardError {
    #[error("dedupe marks unavailable: {0}")]
    Dedupe(#[from] StateError),
    #[error("delivery failed: {0}")]
    Delivery(#[from] DeliveryError),
    #[error("Security Lake delivery failed: {0}")]
    Lake(#[from] crate::ports::LakeError),
    /// The lease could not be confirmed before a lake write: another run holds the stream.
    #[error("Security Lake write stopped: {0}")]
    Fenced(StateError),
}

impl ForwardError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ForwardError::Dedupe(e) => e.kind(),
            ForwardError::Delivery(e) => e.kind(),
            ForwardError::Lake(e) => e.kind(),
            ForwardError::Fenced(e) => e.kind(),
        }
    }

    pub fn fault(&self) -> crate::Fault {
        match self {
            ForwardError::Dedupe(e) => e.fault(),
            ForwardError::Delivery(e) => e.fault(),
            ForwardError::Lake(e) => e.fault(),
            ForwardError::Fenced(e) => e.fault(),
        }
    }
}

/// How a forward call uses the dedupe marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkPolicy {
    /// Skip records marked delivered; mark what gets delivered.
    Check,
    /// A snapshot (a directory full sync): deliver every record whatever marks exist, then
    /// (re)write the marks, so later deltas drop what the snapshot sent.
    Refresh,
}

/// Forwards records through dedupe and delivery.
pub struct Forwarder<'a> {
    pub dedupe: &'a dyn DedupeStore,
    pub sink: &'a dyn EventSink,
    pub policy: &'a DeliveryPolicy,
    /// How long a delivered mark suppresses the same id.
    pub mark_ttl: Duration,
    pub marks: MarkPolicy,
    /// Runs before every PutEvents request (the poller's lease renewal).
    pub heartbeat: Option<&'a dyn Heartbeat>,
    /// No PutEvents request starts after this (the run's deadline less its commit).
    pub stop_at: Option<std::time::Instant>,
}

impl Forwarder<'_> {
    /// Forwards `records`. On success every record not marked delivered was acknowledged by the
    /// sink (as itself, or as its oversize or quarantine marker); on error, the records that
    /// were acknowledged are marked and the rest are not.
    pub async fn forward(
        &self,
        records: Vec<PendingRecord>,
    ) -> Result<ForwardReport, ForwardError> {
        let mut report = ForwardReport::default();
        // The first occurrence of an id goes on; repeats within the batch are duplicates.
        let received = records.len();
        let mut seen = HashSet::with_capacity(received);
        let unique: Vec<PendingRecord> = records
            .into_iter()
            .filter(|r| seen.insert(r.mark_key()))
            .collect();
        report.duplicates = received - unique.len();
        let total = unique.len();
        let todo = self.not_yet_delivered(unique).await?;
        report.duplicates += total - todo.len();
        let entries: Vec<Cow<'_, SinkEntry>> = todo
            .iter()
            .map(|r| self.entry_for(r, &mut report))
            .collect();
        let result = Delivery::new(self.sink, self.policy)
            .with_heartbeat(self.heartbeat)
            .with_stop_at(self.stop_at)
            .deliver(&entries)
            .await;
        let acknowledged: &[usize] = match &result {
            Ok(delivered) => &delivered.acknowledged,
            Err(e) => e.acknowledged(),
        };
        report.forwarded = acknowledged.len();
        report.quarantined += acknowledged
            .iter()
            .filter(|&&i| todo[i].is_quarantine_marker())
            .count();
        self.mark(acknowledged.iter().map(|&i| &todo[i]), &mut report)
            .await;
        let Delivered {
            failed_entries,
            rejected,
            ..
        } = result?;
        report.failed_entries = failed_entries;
        if !rejected.is_empty() {
            self.quarantine(&todo, &entries, &rejected, &mut report)
                .await?;
        }
        Ok(report)
    }

    /// The records without a delivered mark (all of them for a snapshot).
    async fn not_yet_delivered(
        &self,
        records: Vec<PendingRecord>,
    ) -> Result<Vec<PendingRecord>, StateError> {
        if self.marks == MarkPolicy::Refresh || records.is_empty() {
            return Ok(records);
        }
        let keys: Vec<DedupeKey> = records.iter().map(PendingRecord::mark_key).collect();
        let delivered = self.dedupe.delivered(&keys).await?;
        Ok(records
            .into_iter()
            .zip(delivered)
            .filter_map(|(r, done)| (!done).then_some(r))
            .collect())
    }

    /// The entry to send for `r`: itself (borrowed, not copied), or its oversize marker.
    fn entry_for<'r>(
        &self,
        r: &'r PendingRecord,
        report: &mut ForwardReport,
    ) -> Cow<'r, SinkEntry> {
        let limits = self.policy.batch_limits(self.sink.limits());
        let limit = limits.max_entry_bytes;
        if limits.size(&r.entry) <= limit {
            return Cow::Borrowed(&r.entry);
        }
        report.oversize += 1;
        tracing::warn!(
            record_id = %r.relay.record_id,
            org = %r.relay.org,
            stream = %r.relay.stream,
            bytes = r.entry.size(),
            limit,
            "record too large for one sink entry; forwarding an oversize marker instead"
        );
        Cow::Owned(record::oversize_marker(&r.relay, &r.entry))
    }

    /// Marks acknowledged records delivered. A failure costs a possible duplicate later, never
    /// a loss, so it is logged and counted rather than failing a delivery that happened.
    async fn mark<'r>(
        &self,
        acknowledged: impl Iterator<Item = &'r PendingRecord>,
        report: &mut ForwardReport,
    ) {
        let keys: Vec<DedupeKey> = acknowledged
            .filter(|r| !r.is_quarantine_marker())
            .map(PendingRecord::mark_key)
            .collect();
        if keys.is_empty() {
            return;
        }
        if let Err(e) = self.dedupe.mark_delivered(&keys, self.mark_ttl).await {
            report.unmarked += keys.len();
            tracing::warn!(records = keys.len(), error = %e,
                "could not mark delivered records; they may be delivered again later");
        }
    }

    /// Sends a quarantine marker for each rejected record. A marker the bus refuses as well
    /// fails the delivery: the record is neither delivered nor marked, so the cursor stays
    /// before it and the next run tries again.
    async fn quarantine(
        &self,
        todo: &[PendingRecord],
        entries: &[Cow<'_, SinkEntry>],
        rejected: &[Rejection],
        report: &mut ForwardReport,
    ) -> Result<(), DeliveryError> {
        let markers: Vec<SinkEntry> = rejected
            .iter()
            .map(|r| {
                let record = &todo[r.index];
                tracing::error!(record_id = %record.relay.record_id, org = %record.relay.org,
                    stream = %record.relay.stream, code = %r.code, message = %r.message,
                    "the delivery bus refused a record for good; forwarding a quarantine marker instead");
                record::quarantine_marker(
                    &record.relay,
                    &Quarantine {
                        reason: QuarantineReason::RejectedByBus,
                        detail_type: &entries[r.index].detail_type,
                        code: &r.code,
                        message: &r.message,
                        original: &entries[r.index].detail,
                    },
                )
            })
            .collect();
        let delivered = Delivery::new(self.sink, self.policy)
            .with_heartbeat(self.heartbeat)
            .with_stop_at(self.stop_at)
            .deliver(&markers)
            .await?;
        report.failed_entries += delivered.failed_entries;
        report.quarantined += delivered.acknowledged.len();
        report.forwarded += delivered.acknowledged.len();
        if let Some(refused) = delivered.rejected.first() {
            let record = &todo[rejected[refused.index].index];
            return Err(DeliveryError::MarkerRefused {
                record_id: record.relay.record_id.clone(),
                refusal: format!("{}: {}", refused.code, refused.message),
                acknowledged: Vec::new(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::EntryOutcome;
    use crate::record::CollectionPath;
    use crate::testing::{MemoryDedupe, MemorySink};
    use chrono::Utc;

    /// Fails entries whose detail contains "fail" retryably, and those that start with
    /// `{"poison"` for good.
    fn picky_sink() -> MemorySink {
        MemorySink::with_rule(|e| {
            let code = if e.detail.starts_with("{\"poison\"") {
                "MalformedDetail"
            } else if e.detail.contains("fail") {
                "ThrottlingException"
            } else {
                return None;
            };
            Some(EntryOutcome::failed(
                code,
                "",
                crate::adapters::eventbridge::entry_fault(code),
            ))
        })
    }

    fn record(id: &str, detail: &str) -> PendingRecord {
        PendingRecord {
            dedupe_key: id.into(),
            relay: RelayMetadata::new("acme", "logs", CollectionPath::Pull, Utc::now(), id.into()),
            entry: SinkEntry {
                source: "okta-relay".into(),
                detail_type: "Okta System Log Event".into(),
                detail: detail.into(),
                time: None,
                resources: vec![],
            },
        }
    }

    fn key(id: &str) -> DedupeKey {
        DedupeKey::new("acme", id)
    }

    static POLICY: std::sync::LazyLock<DeliveryPolicy> =
        std::sync::LazyLock::new(|| DeliveryPolicy {
            max_entries: 10,
            max_request_bytes: 2048,
            max_attempts: 2,
            in_flight: super::super::InFlightWindow::new(1),
            base_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
        });

    fn forwarder<'a>(marks: &'a MemoryDedupe, sink: &'a MemorySink) -> Forwarder<'a> {
        Forwarder {
            dedupe: marks,
            sink,
            policy: &POLICY,
            mark_ttl: Duration::from_secs(3600),
            marks: MarkPolicy::Check,
            heartbeat: None,
            stop_at: None,
        }
    }

    #[tokio::test]
    async fn duplicates_are_dropped_and_marks_written_after_the_ack() {
        let marks = MemoryDedupe::default();
        let sink = picky_sink();
        let f = forwarder(&marks, &sink);
        let report = f
            .forward(vec![
                record("a", "{}"),
                record("b", "{}"),
                record("a", "{}"),
            ])
            .await
            .unwrap();
        assert_eq!((report.forwarded, report.duplicates), (2, 1));
        assert!(marks.is_marked(&key("a")) && marks.is_marked(&key("b")));
        let again = f
            .forward(vec![record("a", "{}"), record("c", "{}")])
            .await
            .unwrap();
        assert_eq!((again.forwarded, again.duplicates), (1, 1));
        assert_eq!(sink.accepted().len(), 3);
    }

    #[tokio::test]
    async fn marks_are_per_org() {
        let marks = MemoryDedupe::default();
        let sink = picky_sink();
        let f = forwarder(&marks, &sink);
        f.forward(vec![record("u-1", "{}")]).await.unwrap();
        let mut other = record("u-1", "{}");
        other.relay.org = "beta".into();
        let report = f.forward(vec![other]).await.unwrap();
        assert_eq!(
            (report.forwarded, report.duplicates),
            (1, 0),
            "another org's mark never suppresses a record"
        );
    }

    #[tokio::test]
    async fn a_failed_delivery_marks_only_what_was_acknowledged_and_a_retry_delivers_the_rest() {
        let marks = MemoryDedupe::default();
        let sink = picky_sink();
        let f = forwarder(&marks, &sink);
        let err = f
            .forward(vec![record("ok", "{}"), record("bad", "{\"fail\":1}")])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient);
        assert!(marks.is_marked(&key("ok")), "acknowledged record is marked");
        assert!(
            !marks.is_marked(&key("bad")),
            "unacknowledged record is not"
        );
        // Nothing the failed attempt left behind suppresses the retry.
        let retry = f
            .forward(vec![record("ok", "{}"), record("bad", "{}")])
            .await
            .unwrap();
        assert_eq!((retry.forwarded, retry.duplicates), (1, 1));
    }

    #[tokio::test]
    async fn a_failed_check_delivers_nothing_and_leaves_nothing_behind() {
        let marks = MemoryDedupe::default();
        let sink = picky_sink();
        marks.fail_checks(1);
        let err = forwarder(&marks, &sink)
            .forward(vec![record("a", "{}")])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient);
        assert!(sink.accepted().is_empty() && marks.is_empty());
    }

    #[tokio::test]
    async fn a_failed_mark_write_is_counted_and_the_delivery_stands() {
        let marks = MemoryDedupe::default();
        let sink = picky_sink();
        marks.fail_marks(1);
        let report = forwarder(&marks, &sink)
            .forward(vec![record("a", "{}"), record("b", "{}")])
            .await
            .unwrap();
        assert_eq!((report.forwarded, report.unmarked), (2, 2));
        assert_eq!(sink.accepted().len(), 2);
    }

    #[tokio::test]
    async fn a_poison_record_is_quarantined_and_the_rest_go_on() {
        let marks = MemoryDedupe::default();
        let sink = picky_sink();
        let report = forwarder(&marks, &sink)
            .forward(vec![
                record("a", "{}"),
                record("p-1", "{\"poison\":1}"),
                record("b", "{}"),
            ])
            .await
            .unwrap();
        assert_eq!((report.forwarded, report.quarantined), (3, 1));
        let sent = sink.accepted();
        let marker = sent
            .iter()
            .find(|e| e.detail_type == record::QUARANTINE_DETAIL_TYPE)
            .expect("marker sent");
        let detail: serde_json::Value = serde_json::from_str(&marker.detail).unwrap();
        assert_eq!(detail["relay"]["recordId"], "p-1");
        assert_eq!(detail["quarantine"]["code"], "MalformedDetail");
        assert_eq!(detail["quarantine"]["reason"], "rejected_by_bus");
        assert_eq!(detail["quarantine"]["original"], "{\"poison\":1}");
        assert!(marks.is_marked(&key("a")) && marks.is_marked(&key("b")));
        assert!(
            !marks.is_marked(&key("p-1")),
            "a quarantined record is not marked delivered"
        );
    }

    #[tokio::test]
    async fn a_refused_quarantine_marker_fails_the_delivery_and_the_record_stays_undelivered() {
        let marks = MemoryDedupe::default();
        let refuse_markers = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let refusing = refuse_markers.clone();
        let sink = MemorySink::with_rule(move |e| {
            let poison = e.detail.starts_with("{\"poison\"");
            let marker = e.detail_type == record::QUARANTINE_DETAIL_TYPE
                && refusing.load(std::sync::atomic::Ordering::SeqCst);
            (poison || marker).then(|| {
                EntryOutcome::failed("MalformedDetail", "", crate::ports::EntryFault::Record)
            })
        });
        let f = forwarder(&marks, &sink);
        let batch = || vec![record("a", "{}"), record("p-1", "{\"poison\":1}")];
        let err = f.forward(batch()).await.unwrap_err();
        assert!(
            matches!(
                err,
                ForwardError::Delivery(DeliveryError::MarkerRefused { .. })
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("p-1"), "{err}");
        assert!(
            marks.is_marked(&key("a")),
            "what was acknowledged is marked"
        );
        assert!(!marks.is_marked(&key("p-1")));
        assert!(
            !sink
                .accepted()
                .iter()
                .any(|e| e.detail_type == record::QUARANTINE_DETAIL_TYPE),
            "nothing stands for the record on the bus"
        );
        // Once the bus takes markers again, the next run quarantines it.
        refuse_markers.store(false, std::sync::atomic::Ordering::SeqCst);
        let report = f.forward(batch()).await.unwrap();
        assert_eq!((report.duplicates, report.quarantined), (1, 1));
    }

    #[tokio::test]
    async fn an_unknown_entry_code_is_never_quarantined_and_the_record_is_delivered_once_it_clears()
    {
        let marks = MemoryDedupe::default();
        let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let fault = failing.clone();
        let sink = MemorySink::with_rule(move |_| {
            fault.load(std::sync::atomic::Ordering::SeqCst).then(|| {
                EntryOutcome::failed(
                    "Unknown",
                    "",
                    crate::adapters::eventbridge::entry_fault("Unknown"),
                )
            })
        });
        let f = forwarder(&marks, &sink);
        let err = f.forward(vec![record("a", "{}")]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
        assert!(sink.accepted().is_empty() && !marks.is_marked(&key("a")));
        failing.store(false, std::sync::atomic::Ordering::SeqCst);
        let report = f.forward(vec![record("a", "{}")]).await.unwrap();
        assert_eq!((report.forwarded, report.quarantined), (1, 0));
        assert_eq!(sink.accepted()[0].detail, "{}", "the record itself");
    }

    #[tokio::test]
    async fn a_snapshot_delivers_marked_records_again_and_refreshes_their_marks() {
        let marks = MemoryDedupe::default();
        let sink = picky_sink();
        forwarder(&marks, &sink)
            .forward(vec![record("a", "{}")])
            .await
            .unwrap();
        let snapshot = Forwarder {
            marks: MarkPolicy::Refresh,
            ..forwarder(&marks, &sink)
        };
        let report = snapshot.forward(vec![record("a", "{}")]).await.unwrap();
        assert_eq!((report.forwarded, report.duplicates), (1, 0));
        assert_eq!(sink.accepted().len(), 2);
    }

    #[tokio::test]
    async fn oversize_records_become_markers_with_their_id() {
        let marks = MemoryDedupe::default();
        let sink = picky_sink();
        let f = forwarder(&marks, &sink);
        let huge = format!("{{\"okta\":\"{}\"}}", "y".repeat(4096));
        let report = f
            .forward(vec![record("big-1", &huge), record("small", "{}")])
            .await
            .unwrap();
        assert_eq!((report.forwarded, report.oversize), (2, 1));
        let sent = sink.accepted();
        let marker = sent
            .iter()
            .find(|e| e.detail_type == record::OVERSIZE_DETAIL_TYPE)
            .expect("marker sent");
        let detail: serde_json::Value = serde_json::from_str(&marker.detail).unwrap();
        assert_eq!(detail["relay"]["recordId"], "big-1");
        assert_eq!(detail["oversize"]["detailType"], "Okta System Log Event");
        assert!(detail["oversize"]["bytes"].as_u64().unwrap() > 4096);
        assert!(marker.size() <= POLICY.max_request_bytes);
    }
}
