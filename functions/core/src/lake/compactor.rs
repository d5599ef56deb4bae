//! Writing the lake at Security Lake's cadence (`security_lake.staging`): the poller takes the
//! functions' staged objects of one lake directory (one class, one event day) once the oldest
//! has waited `write_interval_seconds`, or at once when they fill an object, and writes them
//! as one Parquet object: every org and every invocation together, rows in `time` order, an
//! event staged twice in one object's staged objects written once. Security Lake's guidance for custom sources is an object
//! every 5 minutes to a day, well under 256 MB; the functions alone write one per org, class
//! and day at every flush.
//!
//! **Never lost, never replaced.** A compaction first writes down what it takes (a record
//! under `<staging prefix>_compacting/`, listing the staged keys and the lake key), then writes
//! the lake object (`If-None-Match: *`: a name taken holds the same events, since it hashes the
//! staged keys, themselves content addressed), then deletes the staged objects, then its
//! record. Staged objects are deleted only after their lake object is stored; a compaction cut
//! anywhere (a crash, a lost lease, a failed call) is finished by the next one from its
//! record, before anything new is taken, so a staged object goes to exactly one lake object.
//! One compaction runs at a time (the poller holds a lease for it).

use super::staging::{self, COMPACTING};
use super::writer::encode_object;
use super::{LakeEvent, LakeReport};
use crate::config::SecurityLakeConfig;
use crate::config::security_lake::LakeStaging;
use crate::limits::{LAKE_NAME_HASH_BYTES, LAKE_OBJECT_MAX_STAGED_BYTES};
use crate::pipeline::Heartbeat;
use crate::ports::{LakeBucket, LakeError, LakeStore, Listed, Stored};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};

/// What a compaction takes: written down before the lake object.
#[derive(Debug, Serialize, Deserialize)]
struct Plan {
    /// The lake object's key.
    target: String,
    /// The staged objects it is made of.
    staged: Vec<String>,
}

/// Why a compaction stopped early. Nothing is lost either way: the next one finishes it.
#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    /// The poller's lease for the compaction is gone: another poller finishes it.
    #[error("the lake compaction's lease is gone: {0}")]
    Fenced(crate::ports::StateError),
}

impl CompactError {
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            CompactError::Lake(e) => e.kind(),
            CompactError::Fenced(e) => e.kind(),
        }
    }

    pub fn fault(&self) -> crate::Fault {
        match self {
            CompactError::Lake(e) => e.fault(),
            CompactError::Fenced(e) => e.fault(),
        }
    }
}

/// What a pass did, and the oldest staged object it left waiting (not due yet, or cut by the
/// deadline): how far behind the lake is.
#[derive(Debug, Default)]
pub struct Compacted {
    pub report: LakeReport,
    pub oldest_waiting: Option<DateTime<Utc>>,
    /// Directories or records that failed this pass (counted in `LakeWriteErrors`).
    pub failures: usize,
}

/// One pass over the staging bucket.
pub struct Compactor<'a> {
    pub config: &'a SecurityLakeConfig,
    pub staging: &'a LakeStaging,
    pub store: &'a dyn LakeStore,
    /// Confirmed before every lake put: a poller that lost the lease writes nothing.
    pub fence: &'a dyn Heartbeat,
    /// No new object is started after this.
    pub stop_at: std::time::Instant,
}

impl Compactor<'_> {
    fn staging_bucket(&self) -> LakeBucket<'_> {
        LakeBucket {
            name: &self.staging.bucket,
            owner: &self.config.account_id,
            role: None,
        }
    }

    /// The lake, written as `class_name`'s provider role when there are provider roles.
    fn lake_bucket(&self, class_name: &str) -> LakeBucket<'_> {
        LakeBucket {
            name: &self.config.bucket,
            owner: self.config.bucket_owner(),
            role: self.config.provider_role(class_name),
        }
    }

    /// Finishes any compaction cut short, then writes every lake directory that is due. A
    /// directory or record that fails is counted and left for the next pass (the others go
    /// on); a lost lease stops the pass.
    pub async fn run(&self, now: DateTime<Utc>) -> Result<Compacted, CompactError> {
        let mut done = Compacted::default();
        let records_prefix = format!("{}{COMPACTING}", self.staging.prefix);
        for record in self
            .store
            .list(self.staging_bucket(), &records_prefix)
            .await?
        {
            if std::time::Instant::now() >= self.stop_at {
                return Ok(done);
            }
            let finished = self.finish_record(&record.key).await;
            self.tally(&mut done, finished)?;
        }
        let listed = self
            .store
            .list(self.staging_bucket(), &self.staging.prefix)
            .await?;
        let mut directories: BTreeMap<String, Vec<Listed>> = BTreeMap::new();
        for object in listed {
            if let Some(dir) = staging::lake_dir(self.staging, &object.key) {
                directories.entry(dir.to_string()).or_default().push(object);
            }
        }
        let wait = chrono::Duration::seconds(
            i64::try_from(self.staging.write_interval_seconds).unwrap_or(i64::MAX),
        );
        for (dir, mut objects) in directories {
            objects.sort_by(|a, b| (a.modified, &a.key).cmp(&(b.modified, &b.key)));
            let oldest = objects.first().map_or(now, |o| o.modified);
            let bytes: u64 = objects.iter().map(|o| o.bytes).sum();
            let waiting = |done: &mut Compacted| {
                done.oldest_waiting = Some(done.oldest_waiting.map_or(oldest, |o| o.min(oldest)));
            };
            if now - oldest < wait && bytes < LAKE_OBJECT_MAX_STAGED_BYTES as u64 {
                waiting(&mut done);
                continue;
            }
            for chunk in chunks(objects) {
                if std::time::Instant::now() >= self.stop_at {
                    waiting(&mut done);
                    return Ok(done);
                }
                let plan = Plan {
                    target: target_key(&dir, &chunk),
                    staged: chunk,
                };
                let written = self.compact(&records_prefix, &plan).await;
                if written.is_err() {
                    // The directory's other chunks wait for the next pass, oldest first.
                    waiting(&mut done);
                    self.tally(&mut done, written)?;
                    break;
                }
                self.tally(&mut done, written)?;
            }
        }
        Ok(done)
    }

    /// Adds one compaction's outcome to the pass: a report, or a failure counted and logged;
    /// a lost lease ends the pass.
    fn tally(
        &self,
        done: &mut Compacted,
        outcome: Result<LakeReport, CompactError>,
    ) -> Result<(), CompactError> {
        match outcome {
            Ok(report) => done.report += report,
            Err(e @ CompactError::Fenced(_)) => return Err(e),
            Err(e) => {
                done.failures += 1;
                tracing::error!(error = %e, kind = ?e.kind(), fault = %e.fault(),
                    "a Security Lake write from staging failed; the next run tries it again");
            }
        }
        Ok(())
    }

    /// Writes `plan` down under the lease, then carries it out.
    async fn compact(&self, records_prefix: &str, plan: &Plan) -> Result<LakeReport, CompactError> {
        let record = format!(
            "{records_prefix}{}.json",
            plan.target.replace('/', "_").trim_end_matches(".parquet")
        );
        let body = serde_json::to_vec(plan).map_err(|e| LakeError::Encode {
            class_uid: 0,
            detail: e.to_string(),
        })?;
        // A poller that lost the lease writes down nothing: only the holder's plans are
        // finished by later passes.
        self.fence.confirm().await.map_err(CompactError::Fenced)?;
        self.store
            .put_new(self.staging_bucket(), &record, body)
            .await?;
        self.finish(&record, plan).await
    }

    /// Finishes the compaction a record under `_compacting/` writes down.
    async fn finish_record(&self, record: &str) -> Result<LakeReport, CompactError> {
        let Some(body) = self.store.get(self.staging_bucket(), record).await? else {
            return Ok(LakeReport::default());
        };
        let plan: Plan = serde_json::from_slice(&body).map_err(|e| LakeError::Encode {
            class_uid: 0,
            detail: format!("compaction record {record} does not read: {e}"),
        })?;
        tracing::info!(target = %plan.target, staged = plan.staged.len(),
            "finishing a Security Lake compaction cut short");
        self.finish(record, &plan).await
    }

    /// Puts the events of `plan`'s staged objects that are still there under the plan's name,
    /// then deletes those staged objects and the record. A staged object is deleted only after
    /// a lake object of that name holds it: when an earlier pass stored the name already, the
    /// put finds it taken (the same events); when another plan took some of the staged objects
    /// (a stale poller's), what is left is written under this name. Nothing is skipped on the
    /// strength of a missing staged object.
    async fn finish(&self, record: &str, plan: &Plan) -> Result<LakeReport, CompactError> {
        let mut report = LakeReport::default();
        let mut events: Vec<LakeEvent> = Vec::new();
        for key in &plan.staged {
            if let Some(body) = self.store.get(self.staging_bucket(), key).await? {
                events.extend(staging::decode(key, &body)?);
            }
        }
        if let Some(first) = events.first() {
            let lake = self.lake_bucket(first.class_name);
            let mut seen = HashSet::with_capacity(events.len());
            events.retain(|e| seen.insert(e.key.clone()));
            events.sort_by(|a, b| (a.time_ms, &a.key.id).cmp(&(b.time_ms, &b.key.id)));
            let refs: Vec<&LakeEvent> = events.iter().collect();
            let (body, degraded) = encode_object(&refs)?;
            report.degraded += degraded;
            self.fence.confirm().await.map_err(CompactError::Fenced)?;
            match self.store.put_new(lake, &plan.target, body).await? {
                Stored::Created => {
                    tracing::info!(key = %plan.target, events = events.len(),
                        staged = plan.staged.len(), "Security Lake object written");
                    report.objects += 1;
                    report.written += events.len();
                }
                Stored::AlreadyThere => report.already_there += 1,
            }
        }
        self.store
            .delete(self.staging_bucket(), &plan.staged)
            .await?;
        self.store
            .delete(self.staging_bucket(), &[record.to_string()])
            .await?;
        Ok(report)
    }
}

/// A directory's staged objects, oldest first, in runs of at most
/// [`LAKE_OBJECT_MAX_STAGED_BYTES`] (one object each; an object larger alone goes alone).
fn chunks(objects: Vec<Listed>) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut bytes = 0u64;
    for object in objects {
        let full = bytes + object.bytes > LAKE_OBJECT_MAX_STAGED_BYTES as u64;
        match out.last_mut() {
            Some(current) if !full => current.push(object.key),
            _ => {
                out.push(vec![object.key]);
                bytes = 0;
            }
        }
        bytes += object.bytes;
    }
    out
}

/// `<dir>/<hash>.parquet`, the hash over the staged keys in order: the same staged objects
/// always make the same name.
fn target_key(dir: &str, staged: &[String]) -> String {
    let mut sorted: Vec<&String> = staged.iter().collect();
    sorted.sort();
    let mut hash = Sha256::new();
    for key in sorted {
        hash.update(key.as_bytes());
        hash.update(b"\n");
    }
    let digest: String = hash.finalize()[..LAKE_NAME_HASH_BYTES]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{dir}/{digest}.parquet")
}
