//! Events waiting for their objects, within one invocation: written when the buffer holds
//! `max_buffer_events` events or `max_buffer_bytes` of JSON, when its oldest event has waited
//! `max_buffer_seconds`, and always before the invocation ends.

use super::LakeEvent;
use crate::config::SecurityLakeConfig;
use crate::ports::DedupeKey;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

#[derive(Debug, Default)]
pub struct LakeBuffer {
    events: Vec<LakeEvent>,
    /// Events offered and their JSON bytes, buffered or not (a lake mark may have dropped
    /// some): when the buffer is due depends only on what was read, so a retry from the same
    /// cursor flushes at the same pages whatever marks appeared meanwhile.
    offered: usize,
    offered_bytes: usize,
    /// The marks of the buffered events: an id met again before the flush (a listing that
    /// shifted while it was paged) is buffered once.
    keys: HashSet<DedupeKey>,
    bytes: usize,
    since: Option<DateTime<Utc>>,
}

impl LakeBuffer {
    /// Counts events read toward the limits, whether or not they are buffered.
    pub fn offer(&mut self, events: &[LakeEvent], now: DateTime<Utc>) {
        if events.is_empty() {
            return;
        }
        self.since.get_or_insert(now);
        self.offered += events.len();
        self.offered_bytes += events.iter().map(|e| e.line.len()).sum::<usize>();
    }

    /// Buffers `events`; returns how many were buffered already.
    pub fn push(&mut self, events: Vec<LakeEvent>, now: DateTime<Utc>) -> usize {
        let mut repeated = 0;
        for event in events {
            if !self.keys.insert(event.key.clone()) {
                repeated += 1;
                continue;
            }
            self.since.get_or_insert(now);
            self.bytes += event.line.len();
            self.events.push(event);
        }
        repeated
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether the buffer should be written now: by what was read (count or bytes), or by age.
    pub fn is_due(&self, config: &SecurityLakeConfig, now: DateTime<Utc>) -> bool {
        let waited = self
            .since
            .is_some_and(|since| (now - since).num_seconds() >= config.max_buffer_seconds as i64);
        self.offered.max(self.events.len()) >= config.max_buffer_events
            || self.offered_bytes.max(self.bytes) >= config.max_buffer_bytes
            || waited
    }

    /// Empties the buffer.
    pub fn take(&mut self) -> Vec<LakeEvent> {
        self.offered = 0;
        self.offered_bytes = 0;
        self.bytes = 0;
        self.since = None;
        self.keys.clear();
        std::mem::take(&mut self.events)
    }
}
