//! Events waiting for their objects, within one invocation: written when the buffer holds
//! `max_buffer_events` events or `max_buffer_bytes` of JSON, when its oldest event has waited
//! `max_buffer_seconds`, and always before the invocation ends.

use super::LakeEvent;
use crate::config::SecurityLakeConfig;
use chrono::{DateTime, Utc};

#[derive(Debug, Default)]
pub struct LakeBuffer {
    events: Vec<LakeEvent>,
    bytes: usize,
    since: Option<DateTime<Utc>>,
}

impl LakeBuffer {
    pub fn push(&mut self, events: Vec<LakeEvent>, now: DateTime<Utc>) {
        if events.is_empty() {
            return;
        }
        self.since.get_or_insert(now);
        self.bytes += events.iter().map(|e| e.line.len()).sum::<usize>();
        self.events.extend(events);
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether the buffer should be written now.
    pub fn is_due(&self, config: &SecurityLakeConfig, now: DateTime<Utc>) -> bool {
        let waited = self
            .since
            .is_some_and(|since| (now - since).num_seconds() >= config.max_buffer_seconds as i64);
        self.events.len() >= config.max_buffer_events
            || self.bytes >= config.max_buffer_bytes
            || waited
    }

    /// Empties the buffer.
    pub fn take(&mut self) -> Vec<LakeEvent> {
        self.bytes = 0;
        self.since = None;
        std::mem::take(&mut self.events)
    }
}
