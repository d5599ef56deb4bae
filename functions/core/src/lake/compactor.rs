//! Writing the lake at Security Lake's cadence (`security_lake.staging`): the poller takes the
//! functions' staged objects of one lake directory (one class, one event day) once the oldest
//! has waited `write_interval_seconds`, or at once when they fill an object, and writes them
//! as one Parquet object: every org and every invocation together, rows in `time` order, an
//! event staged twice written once. Security Lake's guidance for custom sources is an object
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

    /// Finishes any compaction cut short, then writes every lake directory that is due.
    pub async fn run(&self, now: DateTime<Utc>) -> Result<Compacted, CompactError> {
        let mut report = LakeReport::default();
        let mut oldest_waiting: Option<DateTime<Utc>> = None;
        let records_prefix = format!("{}{COMPACTING}", self.staging.prefix);
        for record in self
            .store
            .list(self.staging_bucket(), &records_prefix)
            .await?
        {
            let Some(body) = self.store.get(self.staging_bucket(), &record.key).await? else {
                continue;
            };
            let plan: Plan = serde_json::from_slice(&body).map_err(|e| LakeError::Encode {
                class_uid: 0,
                detail: format!("compaction record {} does not read: {e}", record.key),
            })?;
            tracing::info!(target = %plan.target, staged = plan.staged.len(),
                "finishing a Security Lake compaction cut short");
            report += self.finish(&record.key, &plan).await?;
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
            if now - oldest < wait && bytes < LAKE_OBJECT_MAX_STAGED_BYTES as u64 {
                oldest_waiting = Some(oldest_waiting.map_or(oldest, |o| o.min(oldest)));
                continue;
            }
            for chunk in chunks(objects) {
                if std::time::Instant::now() >= self.stop_at {
                    oldest_waiting = Some(oldest_waiting.map_or(oldest, |o| o.min(oldest)));
                    return Ok(Compacted {
                        report,
                        oldest_waiting,
                    });
                }
                let plan = Plan {
                    target: target_key(&dir, &chunk),
                    staged: chunk,
                };
                let record = format!(
                    "{records_prefix}{}.json",
                    plan.target.replace('/', "_").trim_end_matches(".parquet")
                );
                let body = serde_json::to_vec(&plan).map_err(|e| LakeError::Encode {
                    class_uid: 0,
                    detail: e.to_string(),
                })?;
                self.store
                    .put_new(self.staging_bucket(), &record, body)
                    .await?;
                report += self.finish(&record, &plan).await?;
            }
        }
        Ok(Compacted {
            report,
            oldest_waiting,
        })
    }

    /// Writes `plan`'s lake object unless a cut-short run already did, then deletes its
    /// staged objects and its record.
    async fn finish(&self, record: &str, plan: &Plan) -> Result<LakeReport, CompactError> {
        let mut report = LakeReport::default();
        let mut events: Vec<LakeEvent> = Vec::new();
        let mut missing = 0;
        for key in &plan.staged {
            match self.store.get(self.staging_bucket(), key).await? {
                Some(body) => events.extend(staging::decode(key, &body)?),
                None => missing += 1,
            }
        }
        // Staged objects are deleted only after their lake object is stored: one missing means
        // an earlier run stored it and was cut short while deleting.
        if missing == 0 && !events.is_empty() {
            let mut seen = HashSet::with_capacity(events.len());
            events.retain(|e| seen.insert(e.key.clone()));
            events.sort_by(|a, b| (a.time_ms, &a.key.id).cmp(&(b.time_ms, &b.key.id)));
            let refs: Vec<&LakeEvent> = events.iter().collect();
            let (body, degraded) = encode_object(&refs)?;
            report.degraded += degraded;
            self.fence.confirm().await.map_err(CompactError::Fenced)?;
            let lake = self.lake_bucket(refs[0].class_name);
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
