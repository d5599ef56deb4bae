//! Delivery to the sink: batching by AWS's limits and retrying only what can succeed.
//!
//! PutEvents takes at most 10 entries and a request of at most the bus's byte limit (256 KiB by
//! default; AWS raised it to 1 MiB in 2026, so it is configurable), measured with AWS's entry-size
//! formula. It answers 200 even when entries failed; only `InternalFailure` and
//! `ThrottlingException` entries are sent again, with backoff. If they still fail, or an entry
//! fails for another reason, delivery fails and the caller commits nothing.

use crate::ErrorKind;
use crate::ports::{EntryOutcome, EventSink, SinkEntry, SinkError};
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
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            max_entries: 10,
            max_request_bytes: 256 * 1024,
            max_attempts: 5,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
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
    pub fn plan(entries: &[SinkEntry], indices: &[usize], policy: &DeliveryPolicy) -> Vec<Self> {
        let mut batches = Vec::new();
        let mut current = DeliveryBatch {
            indices: Vec::new(),
            bytes: 0,
        };
        for &i in indices {
            let size = entries[i].size();
            let full = current.indices.len() >= policy.max_entries.clamp(1, 10)
                || current.bytes + size > policy.max_request_bytes;
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

/// Delivery failed; `acknowledged` says which entries did get through (their marks may be
/// confirmed, the rest must not be).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DeliveryError {
    #[error("{failed} entries still failing after {attempts} attempts (last error code {code})")]
    Exhausted {
        failed: usize,
        attempts: u32,
        code: String,
        acknowledged: Vec<usize>,
    },
    #[error("{failed} entries rejected by the bus with {code}: {message}")]
    Rejected {
        failed: usize,
        code: String,
        message: String,
        acknowledged: Vec<usize>,
    },
    #[error("{source}")]
    Sink {
        source: SinkError,
        acknowledged: Vec<usize>,
    },
}

impl DeliveryError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            DeliveryError::Exhausted { .. } => ErrorKind::Transient,
            DeliveryError::Rejected { code, .. }
                if code.contains("AccessDenied") || code.contains("NotAuthorized") =>
            {
                ErrorKind::Configuration
            }
            DeliveryError::Rejected { .. } => ErrorKind::Permanent,
            DeliveryError::Sink { source, .. } => source.kind(),
        }
    }

    /// Indices of the entries the sink acknowledged before delivery failed.
    pub fn acknowledged(&self) -> &[usize] {
        match self {
            DeliveryError::Exhausted { acknowledged, .. }
            | DeliveryError::Rejected { acknowledged, .. }
            | DeliveryError::Sink { acknowledged, .. } => acknowledged,
        }
    }
}

/// Sends entries through an [`EventSink`] under a [`DeliveryPolicy`].
pub struct Delivery<'a> {
    sink: &'a dyn EventSink,
    policy: &'a DeliveryPolicy,
}

impl<'a> Delivery<'a> {
    pub fn new(sink: &'a dyn EventSink, policy: &'a DeliveryPolicy) -> Self {
        Self { sink, policy }
    }

    /// Delivers every entry or says which were acknowledged before it gave up. On success, the
    /// number of entry failures PutEvents reported along the way (each retried and then
    /// accepted): the `PutEventsFailedEntries` metric.
    pub async fn deliver(&self, entries: &[SinkEntry]) -> Result<usize, DeliveryError> {
        let mut failed_entries = 0;
        let mut pending: Vec<usize> = (0..entries.len()).collect();
        let mut acknowledged = Vec::with_capacity(entries.len());
        let mut backoff = self.policy.base_backoff;
        let mut last_code = String::new();
        for attempt in 1..=self.policy.max_attempts.max(1) {
            let mut retry = Vec::new();
            for batch in DeliveryBatch::plan(entries, &pending, self.policy) {
                let calls: Vec<&SinkEntry> = batch.indices.iter().map(|&i| &entries[i]).collect();
                let outcomes = match self.sink.put(&calls).await {
                    Ok(outcomes) => outcomes,
                    Err(e) if e.kind() == ErrorKind::Transient => {
                        last_code = "transient call failure".into();
                        tracing::warn!(attempt, error = %e, entries = batch.indices.len(), "PutEvents call failed; will retry");
                        retry.extend(&batch.indices);
                        continue;
                    }
                    Err(source) => {
                        return Err(DeliveryError::Sink {
                            source,
                            acknowledged,
                        });
                    }
                };
                for (&i, outcome) in batch.indices.iter().zip(outcomes) {
                    match outcome {
                        EntryOutcome::Accepted { .. } => acknowledged.push(i),
                        ref failed @ EntryOutcome::Failed {
                            ref code,
                            ref message,
                        } => {
                            failed_entries += 1;
                            if failed.is_retryable() {
                                last_code = code.clone();
                                retry.push(i);
                            } else {
                                return Err(DeliveryError::Rejected {
                                    failed: 1,
                                    code: code.clone(),
                                    message: message.chars().take(200).collect(),
                                    acknowledged,
                                });
                            }
                        }
                    }
                }
            }
            if retry.is_empty() {
                return Ok(failed_entries);
            }
            if attempt == self.policy.max_attempts.max(1) {
                return Err(DeliveryError::Exhausted {
                    failed: retry.len(),
                    attempts: attempt,
                    code: last_code,
                    acknowledged,
                });
            }
            tracing::warn!(attempt, failed = retry.len(), code = %last_code, backoff_ms = backoff.as_millis() as u64,
                "PutEvents entries failed retryably; resending only those");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.policy.max_backoff);
            pending = retry;
        }
        Ok(failed_entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use std::collections::VecDeque;
    use std::sync::Mutex;

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
                None => Ok(entries
                    .iter()
                    .map(|_| EntryOutcome::Accepted {
                        event_id: "id".into(),
                    })
                    .collect()),
                Some(Err(e)) => Err(e),
                Some(Ok(codes)) => Ok(codes
                    .into_iter()
                    .map(|c| match c {
                        None => EntryOutcome::Accepted {
                            event_id: "id".into(),
                        },
                        Some(code) => EntryOutcome::Failed {
                            code: code.into(),
                            message: "m".into(),
                        },
                    })
                    .collect()),
            }
        }
    }

    #[test]
    fn batches_respect_count_and_size() {
        let p = DeliveryPolicy {
            max_request_bytes: 1000,
            ..policy()
        };
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
        let entries: Vec<_> = (0..4)
            .map(|i| SinkEntry {
                detail: format!("e{i}"),
                ..entry(0)
            })
            .collect();
        let failed_entries = Delivery::new(&sink, &policy())
            .deliver(&entries)
            .await
            .unwrap();
        let calls = sink.calls.lock().unwrap().clone();
        assert_eq!(calls, vec![vec!["e0", "e1", "e2", "e3"], vec!["e1", "e3"]]);
        assert_eq!(
            failed_entries, 2,
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
        let entries: Vec<_> = (0..2)
            .map(|i| SinkEntry {
                detail: format!("e{i}"),
                ..entry(0)
            })
            .collect();
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
    async fn non_retryable_entry_failures_stop_delivery() {
        let sink = ScriptedSink::default();
        sink.script
            .lock()
            .unwrap()
            .push_back(Ok(vec![None, Some("MalformedDetail")]));
        let entries: Vec<_> = (0..2).map(|_| entry(1)).collect();
        let err = Delivery::new(&sink, &policy())
            .deliver(&entries)
            .await
            .unwrap_err();
        assert!(
            matches!(err, DeliveryError::Rejected { ref code, .. } if code == "MalformedDetail")
        );
        assert_eq!(err.acknowledged(), &[0]);
        assert_eq!(
            sink.calls.lock().unwrap().len(),
            1,
            "no retry of a permanent failure"
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
}
