//! In-memory fakes of the ports, for unit and service tests that need no AWS (built with the
//! `testing` feature, and in the crate's own tests).
//!
//! They keep the ports' contracts (expired marks count as absent, one outcome per entry) and can
//! be told to fail, so a test drives a service through an AWS fault in milliseconds. moto stays
//! for the adapters and the end-to-end suites.

use crate::clock::{Clock, SystemClock};
use crate::ports::{
    DedupeKey, DedupeStore, EntryOutcome, EventSink, SinkEntry, SinkError, StateError,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Dedupe marks in memory: key → expiry.
#[derive(Debug)]
pub struct MemoryDedupe {
    marks: Mutex<HashMap<DedupeKey, DateTime<Utc>>>,
    clock: Arc<dyn Clock>,
    failing_checks: AtomicUsize,
    failing_marks: AtomicUsize,
}

impl Default for MemoryDedupe {
    fn default() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }
}

impl MemoryDedupe {
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            marks: Mutex::new(HashMap::new()),
            clock,
            failing_checks: AtomicUsize::new(0),
            failing_marks: AtomicUsize::new(0),
        }
    }

    /// The next `n` checks fail as [`StateError::Unavailable`].
    pub fn fail_checks(&self, n: usize) {
        self.failing_checks.store(n, Ordering::SeqCst);
    }

    /// The next `n` mark writes fail as [`StateError::Unavailable`].
    pub fn fail_marks(&self, n: usize) {
        self.failing_marks.store(n, Ordering::SeqCst);
    }

    /// Whether `key` holds an unexpired mark now.
    pub fn is_marked(&self, key: &DedupeKey) -> bool {
        let now = self.clock.now();
        lock(&self.marks).get(key).is_some_and(|exp| *exp > now)
    }

    pub fn len(&self) -> usize {
        lock(&self.marks).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Takes one from `counter` if it is positive: whether this call fails.
fn take_failure(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

#[async_trait]
impl DedupeStore for MemoryDedupe {
    async fn delivered(&self, keys: &[DedupeKey]) -> Result<Vec<bool>, StateError> {
        if take_failure(&self.failing_checks) {
            return Err(StateError::Unavailable("injected: checks fail".into()));
        }
        Ok(keys.iter().map(|k| self.is_marked(k)).collect())
    }

    async fn mark_delivered(&self, keys: &[DedupeKey], ttl: Duration) -> Result<(), StateError> {
        if take_failure(&self.failing_marks) {
            return Err(StateError::Unavailable("injected: marks fail".into()));
        }
        let expires = self.clock.now() + chrono::Duration::from_std(ttl).unwrap_or_default();
        let mut marks = lock(&self.marks);
        for key in keys {
            marks.insert(key.clone(), expires);
        }
        Ok(())
    }
}

/// What [`MemorySink`] answers for one entry.
pub type EntryRule = dyn Fn(&SinkEntry) -> Option<EntryOutcome> + Send + Sync;

/// A delivery bus in memory: keeps every accepted entry, in order. A rule may answer some
/// entries with a failure instead; calls can be made to fail whole.
#[derive(Default)]
pub struct MemorySink {
    accepted: Mutex<Vec<SinkEntry>>,
    calls: AtomicUsize,
    failing_calls: AtomicUsize,
    rule: Option<Box<EntryRule>>,
}

impl MemorySink {
    /// A sink that answers an entry with `rule`'s outcome when it gives one, else accepts it.
    pub fn with_rule(
        rule: impl Fn(&SinkEntry) -> Option<EntryOutcome> + Send + Sync + 'static,
    ) -> Self {
        Self {
            rule: Some(Box::new(rule)),
            ..Self::default()
        }
    }

    /// The next `n` calls fail whole, as a transient error (a 500 or a timeout).
    pub fn fail_calls(&self, n: usize) {
        self.failing_calls.store(n, Ordering::SeqCst);
    }

    /// Every entry accepted so far.
    pub fn accepted(&self) -> Vec<SinkEntry> {
        lock(&self.accepted).clone()
    }

    /// PutEvents calls made so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for MemorySink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MemorySink({} accepted)", lock(&self.accepted).len())
    }
}

#[async_trait]
impl EventSink for MemorySink {
    async fn put(&self, entries: &[&SinkEntry]) -> Result<Vec<EntryOutcome>, SinkError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if take_failure(&self.failing_calls) {
            return Err(SinkError::Transient("injected: the call failed".into()));
        }
        let mut accepted = lock(&self.accepted);
        Ok(entries
            .iter()
            .map(|e| match self.rule.as_ref().and_then(|rule| rule(e)) {
                Some(outcome) => outcome,
                None => {
                    accepted.push((*e).clone());
                    EntryOutcome::Accepted {
                        event_id: format!("memory-{}", accepted.len()),
                    }
                }
            })
            .collect())
    }
}
