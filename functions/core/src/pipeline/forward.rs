//! Forwarding with dedupe: claim each record's stable id, deliver the claimed records, then
//! confirm the marks of what the sink acknowledged and release the rest.
//!
//! A claim is a short-lived pending mark, so a crash between delivery and confirmation leaves
//! marks that expire by themselves: the event is then delivered again (at least once), never
//! lost. The same marks serve the push and the pull path, so an event seen on both is forwarded
//! once.
//!
//! A record whose entry alone exceeds the request limit cannot be sent. It is replaced by an
//! `Okta Relay Oversize Record` entry that carries its id, kind and size, counted and logged by
//! id, so the SIEM knows the event exists and can fetch it from Okta.

use super::delivery::{Delivery, DeliveryError, DeliveryPolicy};
use crate::ErrorKind;
use crate::ports::{DedupeClaim, DedupeStore, EventSink, SinkEntry, StateError};
use crate::record::{self, RelayMetadata};
use futures::StreamExt;
use std::time::Duration;
use thiserror::Error;

/// How many dedupe releases run at once.
const DEDUPE_CONCURRENCY: usize = 16;

/// A shaped record waiting for delivery.
#[derive(Debug, Clone)]
pub struct PendingRecord {
    /// The dedupe mark's id: the System Log `uuid` (shared by both paths), or a directory
    /// record's org-scoped id.
    pub dedupe_key: String,
    pub relay: RelayMetadata,
    pub entry: SinkEntry,
}

/// What a forward call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForwardReport {
    pub forwarded: usize,
    pub duplicates: usize,
    pub oversize: usize,
    /// Entries PutEvents reported failed and that a retry then delivered.
    pub failed_entries: usize,
}

impl std::ops::AddAssign for ForwardReport {
    fn add_assign(&mut self, other: Self) {
        self.forwarded += other.forwarded;
        self.duplicates += other.duplicates;
        self.oversize += other.oversize;
        self.failed_entries += other.failed_entries;
    }
}

#[derive(Debug, Error)]
pub enum ForwardError {
    #[error("dedupe marks unavailable: {0}")]
    Dedupe(#[from] StateError),
    #[error("delivery failed: {0}")]
    Delivery(#[from] DeliveryError),
}

impl ForwardError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ForwardError::Dedupe(e) => e.kind(),
            ForwardError::Delivery(e) => e.kind(),
        }
    }
}

/// Forwards records through dedupe and delivery.
pub struct Forwarder<'a> {
    pub dedupe: &'a dyn DedupeStore,
    pub sink: &'a dyn EventSink,
    pub policy: &'a DeliveryPolicy,
    /// Who claims: the same owner may take over its own pending claims after a crash.
    pub claim_owner: &'a str,
    /// How long a pending claim blocks others (longer than one delivery takes).
    pub claim_hold: Duration,
    /// How long a confirmed mark suppresses duplicates.
    pub mark_ttl: Duration,
    /// A snapshot (a directory full sync): every record is delivered whatever marks exist, and
    /// the marks are then (re)written, so later delta runs drop what the snapshot sent.
    pub refresh: bool,
}

impl Forwarder<'_> {
    /// Forwards `records`. On success every non-duplicate record was acknowledged by the sink and
    /// its mark confirmed; on error nothing unacknowledged keeps a mark.
    pub async fn forward(
        &self,
        records: Vec<PendingRecord>,
    ) -> Result<ForwardReport, ForwardError> {
        let mut report = ForwardReport::default();
        // The first occurrence of an id claims it; repeats within the batch are duplicates.
        let mut seen = std::collections::HashSet::with_capacity(records.len());
        let mut unique = Vec::with_capacity(records.len());
        for record in records {
            if seen.insert(record.dedupe_key.clone()) {
                unique.push(record);
            } else {
                report.duplicates += 1;
            }
        }
        let ids: Vec<String> = unique.iter().map(|r| r.dedupe_key.clone()).collect();
        let claims = if self.refresh {
            vec![DedupeClaim::Claimed; ids.len()]
        } else {
            self.dedupe
                .claim_many(&ids, self.claim_owner, self.claim_hold)
                .await?
        };
        let mut claimed = Vec::with_capacity(unique.len());
        for (record, claim) in unique.into_iter().zip(claims) {
            match claim {
                DedupeClaim::Claimed => claimed.push(record),
                DedupeClaim::AlreadySeen => report.duplicates += 1,
            }
        }
        let entries: Vec<SinkEntry> = claimed
            .iter()
            .map(|r| {
                if r.entry.size() > self.policy.max_request_bytes {
                    report.oversize += 1;
                    tracing::warn!(
                        record_id = %r.relay.record_id,
                        org = %r.relay.org,
                        stream = %r.relay.stream,
                        bytes = r.entry.size(),
                        limit = self.policy.max_request_bytes,
                        "record too large for one PutEvents entry; forwarding an oversize marker instead"
                    );
                    record::oversize_marker(&r.relay, &r.entry)
                } else {
                    r.entry.clone()
                }
            })
            .collect();
        let result = Delivery::new(self.sink, self.policy)
            .deliver(&entries)
            .await;
        let acknowledged: Vec<usize> = match &result {
            Ok(_) => (0..claimed.len()).collect(),
            Err(e) => e.acknowledged().to_vec(),
        };
        let mut is_acked = vec![false; claimed.len()];
        for &i in &acknowledged {
            is_acked[i] = true;
        }
        let (acked, unacked): (Vec<_>, Vec<_>) =
            claimed.iter().zip(is_acked).partition(|(_, acked)| *acked);
        let acked_ids: Vec<String> = acked.iter().map(|(r, _)| r.dedupe_key.clone()).collect();
        if let Err(e) = self.dedupe.confirm_many(&acked_ids, self.mark_ttl).await {
            // Unconfirmed pending marks expire after their hold: at worst a duplicate later,
            // never a loss.
            tracing::warn!(records = acked_ids.len(), error = %e, "could not confirm dedupe marks");
        }
        // A snapshot made no claims, so there is nothing to release.
        let unacked = if self.refresh { Vec::new() } else { unacked };
        futures::stream::iter(unacked)
            .for_each_concurrent(DEDUPE_CONCURRENCY, |(r, _)| async move {
                if let Err(e) = self.dedupe.release_claim(&r.dedupe_key).await {
                    tracing::warn!(record_id = %r.relay.record_id, error = %e, "could not release a dedupe claim");
                }
            })
            .await;
        report.failed_entries = result?;
        report.forwarded = claimed.len();
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{EntryOutcome, SinkError};
    use crate::record::CollectionPath;
    use async_trait::async_trait;
    use chrono::Utc;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// In-memory dedupe marks: id → confirmed?
    #[derive(Default)]
    struct MemoryMarks(Mutex<HashMap<String, bool>>);

    #[async_trait]
    impl DedupeStore for MemoryMarks {
        async fn claim(
            &self,
            id: &str,
            _owner: &str,
            _hold: Duration,
        ) -> Result<DedupeClaim, StateError> {
            let mut marks = self.0.lock().unwrap();
            if marks.contains_key(id) {
                return Ok(DedupeClaim::AlreadySeen);
            }
            marks.insert(id.to_string(), false);
            Ok(DedupeClaim::Claimed)
        }
        async fn confirm(&self, id: &str, _ttl: Duration) -> Result<(), StateError> {
            self.0.lock().unwrap().insert(id.to_string(), true);
            Ok(())
        }
        async fn release_claim(&self, id: &str) -> Result<(), StateError> {
            let mut marks = self.0.lock().unwrap();
            if marks.get(id) == Some(&false) {
                marks.remove(id);
            }
            Ok(())
        }
    }

    /// Accepts everything except details containing "fail".
    #[derive(Default)]
    struct PickySink(Mutex<Vec<SinkEntry>>);

    #[async_trait]
    impl EventSink for PickySink {
        async fn put(&self, entries: &[&SinkEntry]) -> Result<Vec<EntryOutcome>, SinkError> {
            Ok(entries
                .iter()
                .map(|e| {
                    if e.detail.contains("fail") {
                        EntryOutcome::Failed {
                            code: "ThrottlingException".into(),
                            message: String::new(),
                        }
                    } else {
                        self.0.lock().unwrap().push((*e).clone());
                        EntryOutcome::Accepted {
                            event_id: "x".into(),
                        }
                    }
                })
                .collect())
        }
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

    const POLICY: DeliveryPolicy = DeliveryPolicy {
        max_entries: 10,
        max_request_bytes: 2048,
        max_attempts: 2,
        base_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
    };

    fn forwarder<'a>(marks: &'a MemoryMarks, sink: &'a PickySink) -> Forwarder<'a> {
        Forwarder {
            dedupe: marks,
            sink,
            policy: &POLICY,
            claim_owner: "test",
            claim_hold: Duration::from_secs(60),
            mark_ttl: Duration::from_secs(3600),
            refresh: false,
        }
    }

    #[tokio::test]
    async fn duplicates_are_dropped_and_marks_confirmed_after_ack() {
        let marks = MemoryMarks::default();
        let sink = PickySink::default();
        let f = forwarder(&marks, &sink);
        let report = f
            .forward(vec![
                record("a", "{}"),
                record("b", "{}"),
                record("a", "{}"),
            ])
            .await
            .unwrap();
        assert_eq!(
            report,
            ForwardReport {
                forwarded: 2,
                duplicates: 1,
                oversize: 0,
                failed_entries: 0
            }
        );
        let again = f
            .forward(vec![record("a", "{}"), record("c", "{}")])
            .await
            .unwrap();
        assert_eq!(
            again,
            ForwardReport {
                forwarded: 1,
                duplicates: 1,
                oversize: 0,
                failed_entries: 0
            }
        );
        assert_eq!(sink.0.lock().unwrap().len(), 3);
        assert!(marks.0.lock().unwrap().values().all(|confirmed| *confirmed));
    }

    #[tokio::test]
    async fn a_failed_delivery_keeps_no_mark_for_what_was_not_acknowledged() {
        let marks = MemoryMarks::default();
        let sink = PickySink::default();
        let f = forwarder(&marks, &sink);
        let err = f
            .forward(vec![record("ok", "{}"), record("bad", "{\"fail\":1}")])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient);
        let marks = marks.0.lock().unwrap();
        assert_eq!(
            marks.get("ok"),
            Some(&true),
            "acknowledged record keeps its mark"
        );
        assert_eq!(
            marks.get("bad"),
            None,
            "unacknowledged record can be forwarded on retry"
        );
    }

    #[tokio::test]
    async fn oversize_records_become_markers_with_their_id() {
        let marks = MemoryMarks::default();
        let sink = PickySink::default();
        let f = forwarder(&marks, &sink);
        let huge = format!("{{\"okta\":\"{}\"}}", "y".repeat(4096));
        let report = f
            .forward(vec![record("big-1", &huge), record("small", "{}")])
            .await
            .unwrap();
        assert_eq!(
            report,
            ForwardReport {
                forwarded: 2,
                duplicates: 0,
                oversize: 1,
                failed_entries: 0
            }
        );
        let sent = sink.0.lock().unwrap();
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
