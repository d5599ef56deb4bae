//! Delivery to the sink: batching by AWS's limits and retrying only what can succeed.
//!
//! PutEvents takes at most 10 entries and a request of at most the bus's byte limit (256 KiB by
//! default; AWS raised it to 1 MiB in 2026, so it is configurable), measured with AWS's entry-size
//! formula. It answers 200 even when entries failed; only `InternalFailure` and
//! `ThrottlingException` entries are sent again, with backoff. If they still fail, delivery fails
//! and the caller commits nothing.
//!
//! An entry the sink refuses for good for what it holds ([`EntryFault::Record`]: PutEvents'
//! `MalformedDetail`, `InvalidArgument`) is a poison record: it is reported back as a
//! [`Rejection`] for the caller to quarantine, and delivery goes on, so one bad record never
//! stalls a stream. A call the sink refuses whole as invalid (`ValidationException`: a request
//! over the bus's real size limit, say) is sent again one entry per call, so the entry that
//! caused it is the one rejected and the rest go through. A refusal for the deployment's sake
//! (permissions, the account) fails delivery as a configuration error. Any other code, one the
//! adapter does not know included, is sent again and then fails delivery: an unknown answer is
//! never a reason to give up on a record (`DESIGN.md` §5.19).
//!
//! Acknowledgement is explicit: an entry is delivered only when its own outcome says accepted.
//! An answer without one outcome per entry says nothing about any of them, so the whole call is
//! sent again.
//!
//! Before every request a [`Heartbeat`] runs: the poller renews its stream lease there, so a
//! slow delivery (a throttled or stalled bus) never outlives the lease.

use super::InFlightWindow;
use crate::ErrorKind;
use crate::limits::{PUT_EVENTS_DEFAULT_REQUEST_BYTES, PUT_EVENTS_MAX_ENTRIES};
use crate::ports::{
    EntryFault, EntryOutcome, EventSink, SinkEntry, SinkError, SinkLimits, StateError,
};
use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::FuturesOrdered;
use std::borrow::Borrow;
use std::collections::VecDeque;
use std::time::Duration;
use thiserror::Error;

/// Limits and retry behaviour of delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Entries per PutEvents call (AWS: at most 10).
    pub max_entries: usize,
    /// Request size limit by AWS's entry-size formula.
    pub max_request_bytes: usize,
    /// Calls per entry, the first included.
    pub max_attempts: u32,
    /// PutEvents requests in flight at once: adapts below the configured bound.
    pub in_flight: InFlightWindow,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            max_entries: PUT_EVENTS_MAX_ENTRIES,
            max_request_bytes: PUT_EVENTS_DEFAULT_REQUEST_BYTES,
            max_attempts: 5,
            in_flight: InFlightWindow::new(crate::limits::PUT_EVENTS_IN_FLIGHT),
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// How much one call takes on a given sink: the policy's PutEvents limits for the delivery bus,
/// the service's own for a sink that fixes them ([`SinkLimits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    pub max_entries: usize,
    /// All entries of one call, by [`SinkEntry::size`].
    pub max_request_bytes: usize,
    /// One entry; a larger record goes as its oversize marker.
    pub max_entry_bytes: usize,
    /// Added to each entry's [`SinkEntry::size`]: what the sink's record adds (its envelope).
    pub entry_overhead: usize,
}

impl BatchLimits {
    /// What `entry` counts for in a call.
    pub fn size(&self, entry: &SinkEntry) -> usize {
        entry.size() + self.entry_overhead
    }
}

impl DeliveryPolicy {
    /// The limits of one call on a sink with `limits`.
    pub fn batch_limits(&self, limits: SinkLimits) -> BatchLimits {
        match limits {
            SinkLimits::Configured => BatchLimits {
                max_entries: self.max_entries.clamp(1, PUT_EVENTS_MAX_ENTRIES),
                max_request_bytes: self.max_request_bytes,
                max_entry_bytes: self.max_request_bytes,
                entry_overhead: 0,
            },
            SinkLimits::Fixed {
                max_entries,
                max_request_bytes,
                max_entry_bytes,
                entry_overhead,
            } => BatchLimits {
                max_entries: max_entries.max(1),
                max_request_bytes,
                max_entry_bytes: max_entry_bytes.min(max_request_bytes),
                entry_overhead,
            },
        }
    }
}

/// Runs before each PutEvents request of a delivery (the poller renews its lease here). An error
/// stops the delivery: what was acknowledged so far is reported, nothing else is sent.
#[async_trait]
pub trait Heartbeat: Send + Sync {
    /// Keeps the lease (renews it when it runs low).
    async fn beat(&self) -> Result<(), StateError>;

    /// Proves the lease is still held now, with a conditional write: before a write that a
    /// stale holder must not make (a lake object).
    async fn confirm(&self) -> Result<(), StateError> {
        self.beat().await
    }
}

/// The entries of one PutEvents call, as indices into the caller's slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryBatch {
    pub indices: Vec<usize>,
    pub bytes: usize,
}

impl DeliveryBatch {
    /// Splits entries into calls within both limits, keeping their order. An entry larger than
    /// the request limit gets a call of its own (the caller should not send such entries; see
    /// [`crate::pipeline::forward`]).
    pub fn plan<E: Borrow<SinkEntry>>(
        entries: &[E],
        indices: &[usize],
        limits: &BatchLimits,
    ) -> Vec<Self> {
        let mut batches = Vec::new();
        let mut current = DeliveryBatch {
            indices: Vec::new(),
            bytes: 0,
        };
        for &i in indices {
            let size = limits.size(entries[i].borrow());
            let full = current.indices.len() >= limits.max_entries
                || current.bytes + size > limits.max_request_bytes;
            if full && !current.indices.is_empty() {
                batches.push(std::mem::replace(
                    &mut current,
                    DeliveryBatch {
                        indices: Vec::new(),
                        bytes: 0,
                    },
                ));
            }
            current.indices.push(i);
            current.bytes += size;
        }
        if !current.indices.is_empty() {
            batches.push(current);
        }
        batches
    }
}

/// An entry the bus refused for good: the record is poison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The entry's index in the caller's slice.
    pub index: usize,
    pub code: String,
    pub message: String,
}

/// What a finished delivery did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Entries the sink accepted, each by its own outcome (indices into the caller's slice).
    pub acknowledged: Vec<usize>,
    /// Entry failures PutEvents reported along the way that a retry then delivered: the
    /// `PutEventsFailedEntries` metric.
    pub failed_entries: usize,
    /// Entries refused for good, for the caller to quarantine. Every entry is either here or
    /// in `acknowledged`.
    pub rejected: Vec<Rejection>,
}

/// Delivery failed; `acknowledged` says which entries did get through (they may be marked
/// delivered, the rest must not be).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DeliveryError {
    #[error("{failed} entries still failing after {attempts} attempts (last error code {code})")]
    Exhausted {
        failed: usize,
        attempts: u32,
        code: String,
        acknowledged: Vec<usize>,
    },
    #[error(
        "the delivery bus refused an entry with {code} (check the function's permissions): {message}"
    )]
    Forbidden {
        code: String,
        message: String,
        acknowledged: Vec<usize>,
    },
    #[error("{source}")]
    Sink {
        source: SinkError,
        acknowledged: Vec<usize>,
    },
    #[error("delivery stopped: {source}")]
    Heartbeat {
        source: StateError,
        acknowledged: Vec<usize>,
    },
    /// The delivery's stop time came (the run's deadline less what its commit needs): no new
    /// request was started, the ones in flight were answered and their acknowledgements kept.
    #[error("the delivery stopped for the run's deadline with {pending} entries not sent")]
    OutOfTime {
        pending: usize,
        acknowledged: Vec<usize>,
    },
    /// The sink refused the quarantine marker that stood in for a refused record: the record
    /// has nowhere to go, so it is not acknowledged and the cursor stays before it.
    #[error("the delivery bus refused record {record_id}, then its quarantine marker ({refusal})")]
    MarkerRefused {
        record_id: String,
        /// The bus's code and message for the marker.
        refusal: String,
        acknowledged: Vec<usize>,
    },
}

impl DeliveryError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            DeliveryError::Exhausted { .. } => ErrorKind::Transient,
            DeliveryError::Forbidden { .. } => ErrorKind::Configuration,
            DeliveryError::Sink { source, .. } => source.kind(),
            DeliveryError::Heartbeat { source, .. } => source.kind(),
            DeliveryError::OutOfTime { .. } => ErrorKind::Transient,
            DeliveryError::MarkerRefused { .. } => ErrorKind::Permanent,
        }
    }

    /// The delivery bus, its permissions, or the lease table: AWS's side.
    pub fn fault(&self) -> crate::Fault {
        match self {
            DeliveryError::Heartbeat { source, .. } => source.fault(),
            // The relay's own marker is what the bus refused.
            DeliveryError::MarkerRefused { .. } => crate::Fault::Relay,
            _ => crate::Fault::Aws,
        }
    }

    /// Indices of the entries the sink acknowledged before delivery failed.
    pub fn acknowledged(&self) -> &[usize] {
        match self {
            DeliveryError::Exhausted { acknowledged, .. }
            | DeliveryError::Forbidden { acknowledged, .. }
            | DeliveryError::Sink { acknowledged, .. }
            | DeliveryError::Heartbeat { acknowledged, .. }
            | DeliveryError::OutOfTime { acknowledged, .. }
            | DeliveryError::MarkerRefused { acknowledged, .. } => acknowledged,
        }
    }
}

/// Sends entries through an [`EventSink`] under a [`DeliveryPolicy`].
pub struct Delivery<'a> {
    sink: &'a dyn EventSink,
    policy: &'a DeliveryPolicy,
    limits: BatchLimits,
    heartbeat: Option<&'a dyn Heartbeat>,
    stop_at: Option<std::time::Instant>,
}

impl<'a> Delivery<'a> {
    pub fn new(sink: &'a dyn EventSink, policy: &'a DeliveryPolicy) -> Self {
        Self {
            sink,
            policy,
            limits: policy.batch_limits(sink.limits()),
            heartbeat: None,
            stop_at: None,
        }
    }

    /// Starts no request after `stop_at`: the requests in flight are answered and their
    /// acknowledgements kept, the rest is [`DeliveryError::OutOfTime`].
    pub fn with_stop_at(mut self, stop_at: Option<std::time::Instant>) -> Self {
        self.stop_at = stop_at;
        self
    }

    fn out_of_time(&self) -> bool {
        self.stop_at.is_some_and(|t| std::time::Instant::now() >= t)
    }

    /// Runs `heartbeat` before every request.
    pub fn with_heartbeat(mut self, heartbeat: Option<&'a dyn Heartbeat>) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// Delivers every entry (or reports it rejected), or says which were acknowledged before it
    /// gave up. The entries are the caller's, owned or borrowed: none is copied.
    pub async fn deliver<E: Borrow<SinkEntry> + Sync>(
        &self,
        entries: &[E],
    ) -> Result<Delivered, DeliveryError> {
        let mut progress = Progress::default();
        let mut pending: Vec<usize> = (0..entries.len()).collect();
        let mut backoff = self.policy.base_backoff;
        let attempts = self.policy.max_attempts.max(1);
        for attempt in 1..=attempts {
            if self.out_of_time() {
                return Err(DeliveryError::OutOfTime {
                    pending: pending.len(),
                    acknowledged: progress.delivered.acknowledged,
                });
            }
            self.attempt(entries, &pending, &mut progress).await?;
            let retry = std::mem::take(&mut progress.retry);
            if retry.is_empty() {
                return Ok(progress.delivered);
            }
            if attempt == attempts {
                return Err(DeliveryError::Exhausted {
                    failed: retry.len(),
                    attempts: attempt,
                    code: progress.last_code,
                    acknowledged: progress.delivered.acknowledged,
                });
            }
            tracing::warn!(attempt, failed = retry.len(), code = %progress.last_code,
                backoff_ms = backoff.as_millis() as u64,
                "PutEvents entries failed retryably; resending only those");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.policy.max_backoff);
            pending = retry;
        }
        Ok(progress.delivered)
    }

    /// Sends `pending` once, as many requests at a time as the in-flight window allows, and
    /// takes in each answer in order (the window learns from each). A call refused whole as
    /// invalid is sent again one entry per call within the attempt.
    async fn attempt<E: Borrow<SinkEntry> + Sync>(
        &self,
        entries: &[E],
        pending: &[usize],
        progress: &mut Progress,
    ) -> Result<(), DeliveryError> {
        let window = &self.policy.in_flight;
        let mut queue: VecDeque<DeliveryBatch> =
            DeliveryBatch::plan(entries, pending, &self.limits).into();
        let mut calls = FuturesOrdered::new();
        loop {
            let out_of_time = self.out_of_time();
            while !out_of_time && calls.len() < window.current() {
                let Some(batch) = queue.pop_front() else {
                    break;
                };
                calls.push_back(self.call(entries, batch));
            }
            let Some(call) = calls.next().await else {
                if !queue.is_empty() {
                    return Err(DeliveryError::OutOfTime {
                        pending: queue.iter().map(|b| b.indices.len()).sum(),
                        acknowledged: progress.delivered.acknowledged.clone(),
                    });
                }
                return Ok(());
            };
            let (batch, answer) = call.map_err(|source| DeliveryError::Heartbeat {
                source,
                acknowledged: progress.delivered.acknowledged.clone(),
            })?;
            if overloaded(&answer) {
                window.overloaded();
            } else {
                window.acknowledged();
            }
            progress.take(&batch, answer)?;
            queue.extend(progress.isolate.drain(..).map(|i| DeliveryBatch {
                indices: vec![i],
                bytes: entries[i].borrow().size(),
            }));
        }
    }

    /// One PutEvents request, after the heartbeat.
    async fn call<E: Borrow<SinkEntry> + Sync>(
        &self,
        entries: &[E],
        batch: DeliveryBatch,
    ) -> Result<(DeliveryBatch, Result<Vec<EntryOutcome>, SinkError>), StateError> {
        if let Some(heartbeat) = self.heartbeat {
            heartbeat.beat().await?;
        }
        let request: Vec<&SinkEntry> = batch.indices.iter().map(|&i| entries[i].borrow()).collect();
        let answer = self.sink.put(&request).await;
        Ok((batch, answer))
    }
}

/// Whether an answer says the bus is overloaded: the call failed transiently (a timeout, a 5xx,
/// throttling) or it throttled entries.
fn overloaded(answer: &Result<Vec<EntryOutcome>, SinkError>) -> bool {
    match answer {
        Err(e) => e.kind() == ErrorKind::Transient,
        Ok(outcomes) => outcomes.iter().any(|o| {
            matches!(o, EntryOutcome::Failed { code, cause: EntryFault::Transient, .. }
                if code.contains("Throttl"))
        }),
    }
}

/// Where a delivery stands.
#[derive(Default)]
struct Progress {
    delivered: Delivered,
    /// Entries to send again in the next attempt.
    retry: Vec<usize>,
    /// Entries of a call refused whole as invalid, to send again one per call now.
    isolate: Vec<usize>,
    last_code: String,
}

impl Progress {
    /// One call's answer.
    fn take(
        &mut self,
        batch: &DeliveryBatch,
        answer: Result<Vec<EntryOutcome>, SinkError>,
    ) -> Result<(), DeliveryError> {
        let outcomes = match answer {
            Ok(outcomes) if outcomes.len() == batch.indices.len() => outcomes,
            Ok(outcomes) => {
                // Outcomes are matched to entries by position: a short or long answer says
                // nothing about any of them.
                tracing::warn!(
                    entries = batch.indices.len(),
                    outcomes = outcomes.len(),
                    "the sink answered a call without one outcome per entry; sending it again"
                );
                self.last_code = "no outcome per entry".into();
                self.retry.extend(&batch.indices);
                return Ok(());
            }
            Err(e) if e.kind() == ErrorKind::Transient => {
                tracing::warn!(error = %e, entries = batch.indices.len(), "PutEvents call failed; will retry");
                self.last_code = "transient call failure".into();
                self.retry.extend(&batch.indices);
                return Ok(());
            }
            Err(SinkError::Invalid(detail)) => {
                self.invalid(batch, detail);
                return Ok(());
            }
            Err(source) => {
                return Err(DeliveryError::Sink {
                    source,
                    acknowledged: std::mem::take(&mut self.delivered.acknowledged),
                });
            }
        };
        for (&i, outcome) in batch.indices.iter().zip(outcomes) {
            self.entry(i, outcome)?;
        }
        Ok(())
    }

    /// A call refused whole as invalid: its entries go again one per call; an entry refused
    /// alone is the record's own fault.
    fn invalid(&mut self, batch: &DeliveryBatch, detail: String) {
        if let [i] = batch.indices[..] {
            let message: String = detail.chars().take(200).collect();
            self.delivered.rejected.push(Rejection {
                index: i,
                code: "ValidationException".into(),
                message,
            });
        } else {
            tracing::warn!(entries = batch.indices.len(), error = %detail,
                "PutEvents refused a call as invalid; sending its entries one per call");
            self.isolate.extend(&batch.indices);
        }
    }

    /// One entry's outcome.
    fn entry(&mut self, i: usize, outcome: EntryOutcome) -> Result<(), DeliveryError> {
        let EntryOutcome::Failed {
            code,
            message,
            cause,
        } = outcome
        else {
            self.delivered.acknowledged.push(i);
            return Ok(());
        };
        let message: String = message.chars().take(200).collect();
        match cause {
            EntryFault::Transient => {
                self.delivered.failed_entries += 1;
                self.last_code = code;
                self.retry.push(i);
            }
            EntryFault::Deployment => {
                return Err(DeliveryError::Forbidden {
                    code,
                    message,
                    acknowledged: std::mem::take(&mut self.delivered.acknowledged),
                });
            }
            EntryFault::Record => self.delivered.rejected.push(Rejection {
                index: i,
                code,
                message,
            }),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    /// `n` entries whose details are `e0`, `e1`, …
    fn named(n: usize) -> Vec<SinkEntry> {
        (0..n)
            .map(|i| SinkEntry {
                detail: format!("e{i}"),
                ..entry(0)
            })
            .collect()
    }

    fn entry(detail_bytes: usize) -> SinkEntry {
        SinkEntry {
            source: "okta-relay".into(),
            detail_type: "T".into(),
            detail: "x".repeat(detail_bytes),
            time: None,
            resources: vec![],
        }
    }

    fn policy() -> DeliveryPolicy {
        DeliveryPolicy {
            base_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            ..DeliveryPolicy::default()
        }
    }

    /// One scripted answer: per-entry error codes (`None` = accepted), or a call error.
    type Reply = Result<Vec<Option<&'static str>>, SinkError>;

    /// A sink that answers from a script: for each call, a list of per-entry codes (`None` =
    /// accepted), or a call error. Records every call's detail strings.
    #[derive(Default)]
    struct ScriptedSink {
        script: Mutex<VecDeque<Reply>>,
        calls: Mutex<Vec<Vec<String>>>,
    }

    #[async_trait]
    impl EventSink for ScriptedSink {
        async fn put(&self, entries: &[&SinkEntry]) -> Result<Vec<EntryOutcome>, SinkError> {
            self.calls
                .lock()
                .unwrap()
                .push(entries.iter().map(|e| e.detail.clone()).collect());
            let next = self.script.lock().unwrap().pop_front();
            match next {
                None => Ok(entries.iter().map(|_| EntryOutcome::Accepted).collect()),
                Some(Err(e)) => Err(e),
                Some(Ok(codes)) => Ok(codes
                    .into_iter()
                    .map(|c| match c {
                        None => EntryOutcome::Accepted,
                        Some(code) => EntryOutcome::failed(
                            code,
                            "m",
                            crate::adapters::eventbridge::entry_fault(code),
                        ),
                    })
                    .collect()),
            }
        }
    }

    fn idx_all(n: usize) -> Vec<usize> {
        (0..n).collect()
    }

    #[test]
    fn batches_respect_count_and_size() {
        let p = DeliveryPolicy {
            max_request_bytes: 1000,
            ..policy()
        }
        .batch_limits(SinkLimits::Configured);
        let entries: Vec<_> = (0..25).map(|_| entry(10)).collect();
        let idx: Vec<usize> = (0..25).collect();
        let sizes: Vec<usize> = DeliveryBatch::plan(&entries, &idx, &p)
            .iter()
            .map(|b| b.indices.len())
            .collect();
        assert_eq!(sizes, [10, 10, 5]);
        // 300-byte details: entry size 300 + 10 + 1 = 311, three fit in 1000.
        let big: Vec<_> = (0..7).map(|_| entry(300)).collect();
        let idx: Vec<usize> = (0..7).collect();
        let plans = DeliveryBatch::plan(&big, &idx, &p);
        assert_eq!(
            plans.iter().map(|b| b.indices.len()).collect::<Vec<_>>(),
            [3, 3, 1]
        );
        assert!(plans.iter().all(|b| b.bytes <= 1000));
        // A sink with its own limits batches by them, not by the bus's.
        let firehose_like = policy().batch_limits(SinkLimits::Fixed {
            max_entries: 500,
            max_request_bytes: 4000,
            max_entry_bytes: 1000,
            entry_overhead: 0,
        });
        let sizes: Vec<usize> = DeliveryBatch::plan(&entries, &idx_all(25), &firehose_like)
            .iter()
            .map(|b| b.indices.len())
            .collect();
        assert_eq!(sizes, [25], "one call, not three of ten");
        let plans = DeliveryBatch::plan(&big, &idx_all(7), &firehose_like);
        assert_eq!(
            plans.iter().map(|b| b.indices.len()).collect::<Vec<_>>(),
            [7],
            "7 × 311 bytes within 4000"
        );
        // Order is kept.
        let order: Vec<usize> = plans.iter().flat_map(|b| b.indices.clone()).collect();
        assert_eq!(order, idx);
    }

    #[tokio::test]
    async fn retries_only_the_failed_entries() {
        let sink = ScriptedSink::default();
        sink.script.lock().unwrap().push_back(Ok(vec![
            None,
            Some("ThrottlingException"),
            None,
            Some("InternalFailure"),
        ]));
        let entries = named(4);
        let delivered = Delivery::new(&sink, &policy())
            .deliver(&entries)
            .await
            .unwrap();
        let calls = sink.calls.lock().unwrap().clone();
        assert_eq!(calls, vec![vec!["e0", "e1", "e2", "e3"], vec!["e1", "e3"]]);
        assert_eq!(
            delivered.failed_entries, 2,
            "two entries failed once, then went through"
        );
    }

    #[tokio::test]
    async fn persistent_retryable_failures_exhaust_and_report_what_was_acknowledged() {
        let sink = ScriptedSink::default();
        sink.script
            .lock()
            .unwrap()
            .push_back(Ok(vec![None, Some("ThrottlingException")]));
        // After the first call only entry 1 is resent, and keeps failing.
        for _ in 0..4 {
            sink.script
                .lock()
                .unwrap()
                .push_back(Ok(vec![Some("InternalFailure")]));
        }
        let entries = named(2);
        let err = Delivery::new(&sink, &policy())
            .deliver(&entries)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                DeliveryError::Exhausted {
                    failed: 1,
                    attempts: 5,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.acknowledged(), &[0]);
        assert_eq!(err.kind(), ErrorKind::Transient);
        assert_eq!(sink.calls.lock().unwrap().len(), 5);
    }

    #[tokio::test]
    async fn a_poison_entry_is_rejected_and_the_rest_delivered() {
        let sink = ScriptedSink::default();
        sink.script
            .lock()
            .unwrap()
            .push_back(Ok(vec![None, Some("MalformedDetail"), None]));
        let entries: Vec<_> = (0..3).map(|_| entry(1)).collect();
        let delivered = Delivery::new(&sink, &policy())
            .deliver(&entries)
            .await
            .unwrap();
        assert_eq!(
            delivered.rejected,
            vec![Rejection {
                index: 1,
                code: "MalformedDetail".into(),
                message: "m".into()
            }]
        );
        assert_eq!(delivered.failed_entries, 0, "a poison entry is not retried");
        assert_eq!(
            sink.calls.lock().unwrap().len(),
            1,
            "no retry of a permanent failure"
        );
    }

    #[tokio::test]
    async fn a_refusal_for_permissions_is_a_configuration_error() {
        let sink = ScriptedSink::default();
        sink.script
            .lock()
            .unwrap()
            .push_back(Ok(vec![None, Some("AccessDeniedException")]));
        let entries: Vec<_> = (0..2).map(|_| entry(1)).collect();
        let err = Delivery::new(&sink, &policy())
            .deliver(&entries)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration);
        assert_eq!(err.acknowledged(), &[0]);
    }

    #[tokio::test]
    async fn an_unknown_code_is_sent_again_then_fails_the_delivery_and_is_never_rejected() {
        for code in ["InvalidAccountIdException", "SomethingNew", "NoErrorCode"] {
            let sink = ScriptedSink::default();
            for _ in 0..5 {
                sink.script.lock().unwrap().push_back(Ok(vec![Some(code)]));
            }
            let result = Delivery::new(&sink, &policy()).deliver(&[entry(1)]).await;
            match code {
                // An account code is the deployment's fault: no retry, a configuration error.
                "InvalidAccountIdException" => {
                    assert_eq!(result.unwrap_err().kind(), ErrorKind::Configuration);
                }
                _ => {
                    let err = result.unwrap_err();
                    assert!(matches!(err, DeliveryError::Exhausted { .. }), "{err:?}");
                    assert!(err.acknowledged().is_empty());
                    assert_eq!(
                        sink.calls.lock().unwrap().len(),
                        5,
                        "sent again each attempt"
                    );
                }
            }
        }
        // Once the code stops, the record goes through: nothing was given up.
        let sink = ScriptedSink::default();
        sink.script
            .lock()
            .unwrap()
            .push_back(Ok(vec![Some("SomethingNew")]));
        let delivered = Delivery::new(&sink, &policy())
            .deliver(&[entry(1)])
            .await
            .unwrap();
        assert_eq!(
            (delivered.acknowledged, delivered.rejected),
            (vec![0], vec![])
        );
    }

    #[tokio::test]
    async fn an_answer_without_one_outcome_per_entry_acknowledges_nothing() {
        let sink = ScriptedSink::default();
        // Two outcomes for three entries, then a full answer.
        sink.script.lock().unwrap().push_back(Ok(vec![None, None]));
        let entries = named(3);
        let delivered = Delivery::new(&sink, &policy())
            .deliver(&entries)
            .await
            .unwrap();
        let calls = sink.calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 2, "the whole call is sent again: {calls:?}");
        assert_eq!(calls[1], vec!["e0", "e1", "e2"]);
        assert_eq!(delivered.acknowledged, vec![0, 1, 2]);

        // A sink that never answers whole: nothing is acknowledged.
        let sink = ScriptedSink::default();
        for _ in 0..5 {
            sink.script.lock().unwrap().push_back(Ok(vec![None]));
        }
        let err = Delivery::new(&sink, &policy())
            .deliver(&entries)
            .await
            .unwrap_err();
        assert!(err.acknowledged().is_empty(), "{err:?}");
    }

    #[tokio::test]
    async fn a_call_refused_as_invalid_is_split_and_only_the_entry_that_caused_it_is_rejected() {
        let sink = ScriptedSink::default();
        // The call of three is invalid as a whole; alone, e0 and e2 go through and e1 is
        // refused again.
        sink.script.lock().unwrap().extend([
            Err(SinkError::Invalid("request too large".into())),
            Ok(vec![None]),
            Err(SinkError::Invalid("entry too large".into())),
            Ok(vec![None]),
        ]);
        let entries = named(3);
        let one_at_a_time = DeliveryPolicy {
            in_flight: InFlightWindow::new(1),
            ..policy()
        };
        let delivered = Delivery::new(&sink, &one_at_a_time)
            .deliver(&entries)
            .await
            .unwrap();
        assert_eq!(delivered.acknowledged, vec![0, 2]);
        assert_eq!(delivered.rejected.len(), 1);
        assert_eq!(delivered.rejected[0].index, 1);
        assert_eq!(delivered.rejected[0].code, "ValidationException");
        let calls = sink.calls.lock().unwrap().clone();
        assert_eq!(
            calls,
            vec![vec!["e0", "e1", "e2"], vec!["e0"], vec!["e1"], vec!["e2"]]
        );
    }

    /// Counts beats; fails from the `fail_at`th on.
    struct CountingHeartbeat {
        beats: Mutex<usize>,
        fail_at: usize,
    }

    #[async_trait]
    impl Heartbeat for CountingHeartbeat {
        async fn beat(&self) -> Result<(), StateError> {
            let mut beats = self.beats.lock().unwrap();
            *beats += 1;
            if *beats >= self.fail_at {
                return Err(StateError::LeaseLost { key: "k".into() });
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn the_heartbeat_runs_before_every_request_and_can_stop_delivery() {
        let entries: Vec<_> = (0..25).map(|_| entry(1)).collect();
        let heartbeat = CountingHeartbeat {
            beats: Mutex::new(0),
            fail_at: usize::MAX,
        };
        let sink = ScriptedSink::default();
        Delivery::new(&sink, &policy())
            .with_heartbeat(Some(&heartbeat))
            .deliver(&entries)
            .await
            .unwrap();
        assert_eq!(
            *heartbeat.beats.lock().unwrap(),
            3,
            "one beat per call of 10"
        );

        let failing = CountingHeartbeat {
            beats: Mutex::new(0),
            fail_at: 2,
        };
        let sink = ScriptedSink::default();
        let err = Delivery::new(&sink, &policy())
            .with_heartbeat(Some(&failing))
            .deliver(&entries)
            .await
            .unwrap_err();
        assert!(matches!(err, DeliveryError::Heartbeat { .. }), "{err:?}");
        assert_eq!(err.acknowledged(), (0..10).collect::<Vec<_>>());
        assert_eq!(
            sink.calls.lock().unwrap().len(),
            1,
            "nothing sent after the lease was lost"
        );
    }

    #[tokio::test]
    async fn transient_call_failures_are_retried_configuration_failures_are_not() {
        let sink = ScriptedSink::default();
        sink.script
            .lock()
            .unwrap()
            .push_back(Err(SinkError::Transient("503".into())));
        Delivery::new(&sink, &policy())
            .deliver(&[entry(1)])
            .await
            .unwrap();
        assert_eq!(sink.calls.lock().unwrap().len(), 2);

        let sink = ScriptedSink::default();
        sink.script
            .lock()
            .unwrap()
            .push_back(Err(SinkError::Configuration("no bus".into())));
        let err = Delivery::new(&sink, &policy())
            .deliver(&[entry(1)])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration);
        assert_eq!(sink.calls.lock().unwrap().len(), 1);
    }

    /// Counts the calls in flight at once; above `capacity` it answers like an overloaded bus
    /// (a transient call failure).
    struct SlowSink {
        capacity: usize,
        now: std::sync::atomic::AtomicUsize,
        most: std::sync::atomic::AtomicUsize,
    }

    impl SlowSink {
        fn with_capacity(capacity: usize) -> Self {
            Self {
                capacity,
                now: Default::default(),
                most: Default::default(),
            }
        }
    }

    #[async_trait]
    impl EventSink for SlowSink {
        async fn put(&self, entries: &[&SinkEntry]) -> Result<Vec<EntryOutcome>, SinkError> {
            use std::sync::atomic::Ordering::SeqCst;
            let now = self.now.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(now, SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.now.fetch_sub(1, SeqCst);
            if now > self.capacity {
                return Err(SinkError::Transient("timed out".into()));
            }
            Ok(entries.iter().map(|_| EntryOutcome::Accepted).collect())
        }
    }

    #[tokio::test]
    async fn the_window_grows_to_its_bound_and_answers_are_taken_in_order() {
        let sink = SlowSink::with_capacity(usize::MAX);
        let entries: Vec<_> = (0..1000).map(|_| entry(1)).collect();
        let in_flight = DeliveryPolicy {
            in_flight: InFlightWindow::new(8),
            ..policy()
        };
        let delivered = Delivery::new(&sink, &in_flight)
            .deliver(&entries)
            .await
            .unwrap();
        assert_eq!(delivered.acknowledged, (0..1000).collect::<Vec<_>>());
        assert!(delivered.rejected.is_empty());
        assert_eq!(sink.most.load(std::sync::atomic::Ordering::SeqCst), 8);
        assert_eq!(in_flight.in_flight.current(), 8);
    }

    #[tokio::test]
    async fn an_overloaded_bus_shrinks_the_window_and_everything_is_still_delivered() {
        let sink = SlowSink::with_capacity(2);
        let entries: Vec<_> = (0..300).map(|_| entry(1)).collect();
        let in_flight = DeliveryPolicy {
            in_flight: InFlightWindow::new(16),
            ..policy()
        };
        let delivered = Delivery::new(&sink, &in_flight)
            .deliver(&entries)
            .await
            .unwrap();
        assert!(delivered.rejected.is_empty());
        assert!(
            in_flight.in_flight.current() <= 3,
            "the window came down to what the bus can take: {}",
            in_flight.in_flight.current()
        );
    }
}
