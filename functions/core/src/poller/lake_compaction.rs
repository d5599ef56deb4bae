//! The poller writes the Security Lake from the staging bucket after its streams in each
//! invocation (with `security_lake.staging`; `lake::compactor`), under a lease of its own so one
//! poller at a time does it. A failure is logged, counted (`LakeWriteErrors`) and left: the next
//! invocation finishes it, and the staged events wait, marked, in the relay's bucket.

use super::PollerService;
use crate::clock::until;
use crate::lake::Compactor;
use crate::limits::LAKE_COMPACTION_STREAM;
use crate::ports::StreamKey;
use crate::run::LeaseKeeper;
use chrono::{DateTime, Utc};

/// What a write from staging to the lake did, for its metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LakeWrite {
    /// How long the oldest staged object left waiting has waited (0: none), when the write
    /// succeeded.
    pub staged_age_seconds: Option<i64>,
    pub failed: bool,
}

impl PollerService {
    /// Writes what is due from the staging bucket to the lake, if there is time left; `None`
    /// when there is nothing to do here (no staging, no time, another poller at it).
    pub async fn write_lake(&self, owner: &str, deadline: DateTime<Utc>) -> Option<LakeWrite> {
        let lake = self.config.lake()?;
        let staging = lake.staging.as_ref()?;
        let left = until(self.ports.clock.now(), deadline);
        if left < self.settings.deadline_margin {
            tracing::info!(
                "no time left to write the Security Lake from staging; the next run does"
            );
            return None;
        }
        let (org, stream) = LAKE_COMPACTION_STREAM;
        let key = StreamKey::new(org, stream);
        let ttl = self.settings.lease_ttl;
        let lease = match self.ports.streams.acquire(&key, owner, ttl).await {
            Ok(Some(lease)) => lease,
            Ok(None) => {
                tracing::info!("another poller is writing the Security Lake from staging");
                return None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not take the Security Lake compaction's lease");
                return Some(LakeWrite {
                    staged_age_seconds: None,
                    failed: true,
                });
            }
        };
        let keeper = LeaseKeeper::new(
            self.ports.streams.as_ref(),
            self.ports.clock.as_ref(),
            ttl,
            lease,
        );
        let compactor = Compactor {
            config: lake,
            staging,
            store: self.ports.lake.as_ref(),
            fence: &keeper,
            stop_at: std::time::Instant::now() + left.saturating_sub(self.settings.deadline_margin),
        };
        let now = self.ports.clock.now();
        let written = match compactor.run(now).await {
            Ok(done) => {
                let report = &done.report;
                let age = done.oldest_waiting.map_or(0, |t| (now - t).num_seconds());
                tracing::info!(
                    objects = report.objects,
                    events = report.written,
                    already_there = report.already_there,
                    degraded = report.degraded,
                    oldest_waiting_seconds = age,
                    "Security Lake written from staging"
                );
                LakeWrite {
                    staged_age_seconds: Some(age),
                    failed: done.failures > 0,
                }
            }
            Err(e) => {
                tracing::error!(
                    error = %e,
                    kind = ?e.kind(),
                    fault = %e.fault(),
                    "could not write the Security Lake from staging; the next run finishes it"
                );
                LakeWrite {
                    staged_age_seconds: None,
                    failed: true,
                }
            }
        };
        keeper.release().await;
        Some(written)
    }
}
