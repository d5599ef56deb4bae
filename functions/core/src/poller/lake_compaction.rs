//! The poller writes the Security Lake from the staging bucket at the end of each invocation
//! (with `security_lake.staging`; `lake::compactor`), under a lease of its own so one poller
//! at a time does it. A failure is logged and left: the next invocation finishes it, and the
//! staged events wait, marked, in the relay's bucket.

use super::PollerService;
use crate::clock::until;
use crate::lake::Compactor;
use crate::limits::LAKE_COMPACTION_STREAM;
use crate::ports::StreamKey;
use crate::run::LeaseKeeper;
use chrono::{DateTime, Utc};

impl PollerService {
    /// Writes what is due from the staging bucket to the lake, if there is time left.
    pub(super) async fn compact_lake(&self, owner: &str, deadline: DateTime<Utc>) {
        let Some(lake) = self.config.lake() else {
            return;
        };
        let Some(staging) = &lake.staging else {
            return;
        };
        let left = until(self.ports.clock.now(), deadline);
        if left < self.settings.deadline_margin {
            tracing::info!(
                "no time left to write the Security Lake from staging; the next run does"
            );
            return;
        }
        let (org, stream) = LAKE_COMPACTION_STREAM;
        let key = StreamKey::new(org, stream);
        let ttl = self.settings.lease_ttl;
        let lease = match self.ports.streams.acquire(&key, owner, ttl).await {
            Ok(Some(lease)) => lease,
            Ok(None) => {
                tracing::info!("another poller is writing the Security Lake from staging");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not take the Security Lake compaction's lease");
                return;
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
        match compactor.run(self.ports.clock.now()).await {
            Ok(report) => tracing::info!(
                objects = report.objects,
                events = report.written,
                already_there = report.already_there,
                degraded = report.degraded,
                "Security Lake written from staging"
            ),
            Err(e) => tracing::error!(
                error = %e,
                kind = ?e.kind(),
                fault = %e.fault(),
                "could not write the Security Lake from staging; the next run finishes it"
            ),
        }
        keeper.release().await;
    }
}
