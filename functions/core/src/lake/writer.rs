//! Getting events into the lake: drop those whose lake mark says they are there, buffer the
//! rest, write the buffer as objects, and mark each object's events once it is stored.
//!
//! A mark is written right after its object, before any cursor commit, and needs no fencing:
//! objects are never overwritten (`lake::object`), so a mark states a fact that stays true
//! whoever wrote it and whatever happens to the run afterwards. A run that dies after its
//! objects and before its commit leaves marks that make the next run skip exactly what is in
//! the lake; a run that dies between an object and its mark costs at most that object's
//! events a second copy.

use super::{LakeBuffer, LakeEvent, object, parquet, staging};
use crate::config::SecurityLakeConfig;
use crate::pipeline::{ForwardError, Heartbeat, MarkPolicy};
use crate::ports::{DedupeKey, DedupeStore, LakeBucket, LakeError, LakeStore, Stored};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::time::Duration;

/// What the lake took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LakeReport {
    /// Events buffered (not marked in the lake yet).
    pub buffered: usize,
    /// Events a lake mark showed written already.
    pub duplicates: usize,
    /// Objects and events written.
    pub objects: usize,
    pub written: usize,
    /// Objects whose name was taken: the same events, stored by an earlier run.
    pub already_there: usize,
    /// Written events whose mark could not be written (each may be written again later).
    pub unmarked: usize,
    /// Events written in their degraded form (`encode_degraded`).
    pub degraded: usize,
}

impl std::ops::AddAssign for LakeReport {
    fn add_assign(&mut self, o: Self) {
        self.buffered += o.buffered;
        self.duplicates += o.duplicates;
        self.objects += o.objects;
        self.written += o.written;
        self.already_there += o.already_there;
        self.unmarked += o.unmarked;
        self.degraded += o.degraded;
    }
}

/// Encodes one object's events as Parquet, and says how many went in degraded.
pub type ParquetEncoder = fn(&[&LakeEvent]) -> Result<(Vec<u8>, usize), LakeError>;

/// The lake delivery of one invocation.
pub struct LakeWriter<'a> {
    pub config: &'a SecurityLakeConfig,
    pub store: &'a dyn LakeStore,
    pub dedupe: &'a dyn DedupeStore,
    pub mark_ttl: Duration,
    /// How objects written straight to the lake (no `staging`) are encoded: the poller's
    /// [`encode_object`]. The events function has none, so it never links the Parquet encoder
    /// (arrow and parquet): it only stages, and without `staging` its flush is a
    /// configuration error ([`LakeError::StagingRequired`]) that acknowledges nothing.
    pub parquet: Option<ParquetEncoder>,
}

impl LakeWriter<'_> {
    /// Buffers the events not yet in the lake (all of them for a snapshot).
    pub async fn admit(
        &self,
        events: Vec<LakeEvent>,
        marks: MarkPolicy,
        buffer: &mut LakeBuffer,
        now: DateTime<Utc>,
    ) -> Result<LakeReport, ForwardError> {
        let mut report = LakeReport::default();
        buffer.offer(&events, now);
        let received = events.len();
        let mut seen = HashSet::with_capacity(received);
        let unique: Vec<LakeEvent> = events
            .into_iter()
            .filter(|e| seen.insert(e.key.clone()))
            .collect();
        report.duplicates = received - unique.len();
        let todo = if marks == MarkPolicy::Refresh || unique.is_empty() {
            unique
        } else {
            let keys: Vec<DedupeKey> = unique.iter().map(|e| e.key.clone()).collect();
            let written = self.dedupe.delivered(&keys).await?;
            let before = unique.len();
            let todo: Vec<LakeEvent> = unique
                .into_iter()
                .zip(written)
                .filter_map(|(e, done)| (!done).then_some(e))
                .collect();
            report.duplicates += before - todo.len();
            todo
        };
        let offered = todo.len();
        let repeated = buffer.push(todo, now);
        report.buffered = offered - repeated;
        report.duplicates += repeated;
        Ok(report)
    }

    /// Writes everything buffered, each object only where its name is free, and marks each
    /// object's events as soon as the object is stored (new or already there). `fence`, when
    /// given, is confirmed before every put: a run that lost its lease stops before it writes.
    /// On error the buffer is empty; what was stored is marked, and the caller must not commit
    /// what the flush covered.
    pub async fn flush(
        &self,
        buffer: &mut LakeBuffer,
        fence: Option<&dyn Heartbeat>,
    ) -> Result<LakeReport, ForwardError> {
        let events = buffer.take();
        let mut report = LakeReport::default();
        // With staging, each object goes to the relay's staging bucket (as NDJSON) and the
        // poller writes the lake at its cadence; without, straight to the lake.
        for object in object::objects(self.config, &events) {
            let class_name = object.events.first().map_or("", |e| e.class_name);
            let bucket = match &self.config.staging {
                Some(staging) => LakeBucket {
                    name: &staging.bucket,
                    owner: &self.config.account_id,
                    role: None,
                },
                None => LakeBucket {
                    name: &self.config.bucket,
                    owner: self.config.bucket_owner(),
                    role: self.config.provider_role(class_name),
                },
            };
            let lines: Vec<&str> = object.events.iter().map(|e| e.line.as_str()).collect();
            let (key, body) = match &self.config.staging {
                Some(staging) => (
                    staging::staged_key(staging, &object.key),
                    staging::encode(&object.events),
                ),
                None => {
                    let encode = self.parquet.ok_or(LakeError::StagingRequired)?;
                    let (body, degraded) = encode(&object.events)?;
                    report.degraded += degraded;
                    (object.key.clone(), body)
                }
            };
            if let Some(fence) = fence {
                fence.confirm().await.map_err(ForwardError::Fenced)?;
            }
            match self.store.put_new(bucket, &key, body).await? {
                Stored::Created => {
                    tracing::info!(key = %key, events = lines.len(), "Security Lake object written");
                    report.objects += 1;
                    report.written += lines.len();
                }
                Stored::AlreadyThere => {
                    tracing::info!(key = %key, events = lines.len(),
                        "Security Lake object already there (written by an earlier run)");
                    report.already_there += 1;
                    report.duplicates += lines.len();
                }
            }
            let keys: Vec<DedupeKey> = object.events.iter().map(|e| e.key.clone()).collect();
            report.unmarked += self.mark(&keys).await;
        }
        Ok(report)
    }

    /// Marks written events. A failure costs a possible second copy later, never a loss: it
    /// is logged and returned as the number of unmarked events.
    async fn mark(&self, keys: &[DedupeKey]) -> usize {
        if keys.is_empty() {
            return 0;
        }
        match self.dedupe.mark_delivered(keys, self.mark_ttl).await {
            Ok(()) => 0,
            Err(e) => {
                tracing::warn!(events = keys.len(), error = %e,
                    "could not mark events written to Security Lake; they may be written again later");
                keys.len()
            }
        }
    }
}

/// One Parquet object of `events` (one class, in `time` order), and how many went in degraded.
pub fn encode_object(events: &[&LakeEvent]) -> Result<(Vec<u8>, usize), LakeError> {
    let class_uid = events.first().map_or(0, |e| e.class_uid);
    let lines: Vec<&str> = events.iter().map(|e| e.line.as_str()).collect();
    match parquet::encode(class_uid, &lines) {
        Ok(body) => Ok((body, 0)),
        Err(e) => encode_degraded(events, &e),
    }
}

/// The object when some event does not fit its class's schema (the mapping table let a
/// value through that the Parquet column cannot hold): each such event is written as its
/// class header with the whole OCSF event as `unmapped` text, logged by id, so it is kept
/// and the stream is not stuck on it.
fn encode_degraded(
    events: &[&LakeEvent],
    cause: &parquet::EncodeError,
) -> Result<(Vec<u8>, usize), LakeError> {
    let class_uid = events.first().map_or(0, |e| e.class_uid);
    let mut lines = Vec::with_capacity(events.len());
    let mut degraded = 0;
    for event in events {
        if parquet::encode(class_uid, &[event.line.as_str()]).is_ok() {
            lines.push(event.line.clone());
        } else {
            degraded += 1;
            tracing::error!(id = %event.key.id, class_uid, error = %cause,
                    "an OCSF event does not fit its class's Parquet schema; written with the event as unmapped text");
            lines.push(super::degraded_line(event));
        }
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let body = parquet::encode(class_uid, &lines).map_err(|e| LakeError::Encode {
        class_uid,
        detail: e.to_string(),
    })?;
    Ok((body, degraded))
}
