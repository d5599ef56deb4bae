//! One stream run: the loop every pull stream shares (`ARCHITECTURE.md`). It owns the lease
//! (acquire, renew, release), the deadline and rate-limit stops, forwarding with its
//! acknowledgment, the commit, caught-up and the summary. A [`Source`] only fetches and parses
//! pages, so every stream (the System Log, a backfill window, each directory stream) gets the
//! same guarantees: nothing is committed before the sink acknowledged it.

mod error;
mod fetch;
mod lease;
mod settings;
mod source;

pub use error::{CursorError, PollError};
pub use fetch::Okta;
pub use lease::LeaseKeeper;
pub use settings::{RunSettings, effective_deadline};
pub use source::{LifecycleSeen, Next, Opened, Source, SourcePage};

use crate::clock::until;
use crate::config::SecurityLakeConfig;
use crate::lake::{LakeBuffer, LakeWriter};
use crate::limits::DELIVERY_COMMIT_RESERVE;
use crate::okta::{OktaClient, OktaError};
use crate::pipeline::{DeliveryError, DeliveryPolicy, ForwardError, ForwardReport, Forwarder};
use crate::ports::{EventSink, HealthNote, Ports, StreamKey};
use crate::stream::StreamId;
use crate::summary::StreamSummary;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Everything a run needs besides its source.
pub struct StreamRun<'a> {
    pub ports: &'a Ports,
    /// Where the org's records go (its [`crate::ports::SinkChoice`]).
    pub sink: &'a dyn EventSink,
    pub settings: &'a RunSettings,
    pub delivery: &'a DeliveryPolicy,
    /// How long a delivered mark suppresses the same id.
    pub mark_ttl: Duration,
    pub client: &'a OktaClient,
    pub key: &'a StreamKey,
    /// This invocation, in the lease.
    pub owner: &'a str,
    pub deadline: DateTime<Utc>,
    /// The Security Lake delivery, when on: pages' cursors then commit after the flush that
    /// wrote their events.
    pub lake: Option<&'a SecurityLakeConfig>,
}

/// The lake's side of a run: events buffered across pages, and the newest cursor whose
/// page is acknowledged by the bus but whose lake events wait in the buffer.
#[derive(Default)]
struct Held {
    buffer: LakeBuffer,
    cursor: Option<String>,
}

/// Why the page loop ended early.
enum Stop {
    Deadline,
    RateLimit(Duration),
}

/// What asking the source for its next page gave.
enum Fetched {
    Page(SourcePage),
    Stopped(Stop),
}

impl StreamRun<'_> {
    /// Runs `source` under the stream's lease; another holder means nothing to do here.
    pub async fn run(
        &self,
        source: &mut dyn Source,
        summary: &mut StreamSummary,
    ) -> Result<(), PollError> {
        let ttl = self.settings.lease_ttl;
        let Some(lease) = self
            .ports
            .streams
            .acquire(self.key, self.owner, ttl)
            .await?
        else {
            tracing::info!("another invocation holds the lease; skipping");
            summary.lease_busy = true;
            return Ok(());
        };
        let ports = self.ports;
        let keeper = LeaseKeeper::new(ports.streams.as_ref(), ports.clock.as_ref(), ttl, lease);
        let result = self.pages(source, &keeper, summary).await;
        keeper.release().await;
        result
    }

    async fn pages(
        &self,
        source: &mut dyn Source,
        lease: &LeaseKeeper<'_>,
        summary: &mut StreamSummary,
    ) -> Result<(), PollError> {
        let okta = Okta {
            client: self.client,
            lease,
            settings: self.settings,
            clock: self.ports.clock.as_ref(),
            deadline: self.deadline,
        };
        let cursor = lease.cursor().await;
        if source.open(cursor.as_deref(), &okta)? == Opened::NothingToDo {
            summary.caught_up = true;
            return Ok(());
        }
        summary.sync = source.sync();
        let mut held = Held::default();
        let looped = self
            .page_loop(source, &okta, lease, summary, &mut held)
            .await;
        // However the loop ended, what the lake holds belongs to pages the bus acknowledged:
        // write it and commit their cursor, so a failure late in a long run keeps the progress
        // made. A flush that failed dropped the held cursor: nothing is committed past events
        // the lake did not take.
        let settled = self.settle(&mut held, lease, summary, true).await;
        summary.refused_children = source.refused_children();
        summary.listed_children = source.listed_children();
        looped?;
        settled?;
        summary.lag_seconds = summary
            .newest_event_at
            .map(|p| (self.ports.clock.now() - p).num_seconds());
        Ok(())
    }

    /// Takes pages until the source is done, the deadline or the rate limit stops the run, or
    /// something fails.
    async fn page_loop(
        &self,
        source: &mut dyn Source,
        okta: &Okta<'_>,
        lease: &LeaseKeeper<'_>,
        summary: &mut StreamSummary,
        held: &mut Held,
    ) -> Result<(), PollError> {
        // Page N+1 is fetched while page N is forwarded; cursors still commit in order, each
        // only after its own page was acknowledged (and its lake events written).
        let mut fetched = self.fetch(source, okta).await?;
        loop {
            let page = match fetched {
                Fetched::Page(page) => page,
                Fetched::Stopped(why) => {
                    self.stopped(why, summary);
                    break;
                }
            };
            let next = page.next;
            if next == Next::More {
                let (taken, prefetched) = tokio::join!(
                    self.take(page, lease, summary, held),
                    self.fetch(source, okta)
                );
                if let Err(PollError::OutOfTime) = taken {
                    self.stopped(Stop::Deadline, summary);
                    break;
                }
                taken?;
                source.after_page(summary, okta);
                // The page fetched meanwhile is dropped uncommitted when the deadline came
                // during the take: the next run fetches it again from the cursor. A failed or
                // stopped fetch is reported as it is.
                fetched = match prefetched? {
                    Fetched::Page(_) if self.near_deadline() => Fetched::Stopped(Stop::Deadline),
                    other => other,
                };
                continue;
            }
            match self.take(page, lease, summary, held).await {
                Err(PollError::OutOfTime) => self.stopped(Stop::Deadline, summary),
                taken => {
                    taken?;
                    source.after_page(summary, okta);
                    summary.caught_up = next == Next::CaughtUp;
                }
            }
            break;
        }
        Ok(())
    }

    /// The source's next page, unless the deadline is near or Okta's rate limit would make the
    /// run wait past it.
    async fn fetch(&self, source: &mut dyn Source, okta: &Okta<'_>) -> Result<Fetched, PollError> {
        if self.near_deadline() {
            return Ok(Fetched::Stopped(Stop::Deadline));
        }
        okta.lease.keep().await?;
        match source.next_page(okta).await {
            Err(PollError::Okta(OktaError::RateLimited { retry_after, .. })) => {
                Ok(Fetched::Stopped(Stop::RateLimit(retry_after)))
            }
            page => Ok(Fetched::Page(page?)),
        }
    }

    /// When a delivery starts its last request: the deadline less the reserve for the
    /// requests in flight and the commit ([`DELIVERY_COMMIT_RESERVE`], at most two thirds of
    /// the deadline margin, for runs whose margin is short).
    fn delivery_stop(&self) -> std::time::Instant {
        let reserve = DELIVERY_COMMIT_RESERVE.min(self.settings.deadline_margin * 2 / 3);
        std::time::Instant::now()
            + until(self.ports.clock.now(), self.deadline).saturating_sub(reserve)
    }

    /// Whether less than the margin is left before the deadline.
    fn near_deadline(&self) -> bool {
        until(self.ports.clock.now(), self.deadline) < self.settings.deadline_margin
    }

    /// Forwards one page's records and, once the sink acknowledged them (and the lake wrote
    /// its events), commits its cursor.
    async fn take(
        &self,
        page: SourcePage,
        lease: &LeaseKeeper<'_>,
        summary: &mut StreamSummary,
        held: &mut Held,
    ) -> Result<(), PollError> {
        summary.pages += page.fetched;
        summary.events += page.items as u64;
        summary.filtered += page.filtered;
        summary.inventory_changes += page.inventory_changes;
        summary.malformed_published += page.malformed_published;
        summary.newest_event_at = summary.newest_event_at.max(page.newest);
        self.note_lifecycle(&page.lifecycle, summary).await;
        lease.keep().await?;
        // The delivery starts no request after the deadline less the reserve for the requests
        // in flight and the commit: a bus answering slowly stops the run there, what it
        // acknowledged marked and counted, the page uncommitted (the next run sends the rest).
        let report = match self.forward(page.records, page.marks, lease).await {
            Err(PollError::Forward(ForwardError::Delivery(DeliveryError::OutOfTime {
                acknowledged,
                ..
            }))) => {
                summary.forwarded += acknowledged.len() as u64;
                return Err(PollError::OutOfTime);
            }
            report => report?,
        };
        summary.add(&report);
        if let Some(lake) = self.lake_writer() {
            let admitted = lake
                .admit(
                    page.lake,
                    page.marks,
                    &mut held.buffer,
                    self.ports.clock.now(),
                )
                .await
                .map_err(PollError::Forward)?;
            summary.add_lake(&admitted);
        }
        if page.cursor.is_some() {
            held.cursor = page.cursor;
        }
        self.settle(held, lease, summary, false).await?;
        tracing::info!(
            events = page.items,
            forwarded = report.forwarded,
            duplicates = report.duplicates,
            failed_entries = report.failed_entries,
            quarantined = report.quarantined,
            okta_request_id = page.request_id.as_deref().unwrap_or(""),
            "page done"
        );
        Ok(())
    }

    /// Writes the lake's buffer when it is due (or `force`), then commits the held cursor.
    /// Without the lake the cursor commits at once.
    async fn settle(
        &self,
        held: &mut Held,
        lease: &LeaseKeeper<'_>,
        summary: &mut StreamSummary,
        force: bool,
    ) -> Result<(), PollError> {
        if let (Some(lake), Some(config)) = (self.lake_writer(), self.lake) {
            let due = held.buffer.is_due(config, self.ports.clock.now());
            if !(held.buffer.is_empty() || force || due) {
                return Ok(());
            }
            if !held.buffer.is_empty() {
                lease.keep().await?;
                // Each object is put only after the lease is confirmed, and marked once stored
                // (`lake::writer`): a stale run stops before it writes, and no object is ever
                // replaced, so the marks need no commit to be true.
                let written = match lake.flush(&mut held.buffer, Some(lease)).await {
                    Ok(written) => written,
                    Err(e) => {
                        // Its events are gone from the buffer: the pages are read again.
                        held.cursor = None;
                        return Err(PollError::Forward(e));
                    }
                };
                summary.add_lake(&written);
            }
        }
        if let Some(cursor) = held.cursor.take() {
            lease.commit(&cursor).await?;
        }
        Ok(())
    }

    fn lake_writer(&self) -> Option<LakeWriter<'_>> {
        self.lake.map(|config| LakeWriter {
            config,
            store: self.ports.lake.as_ref(),
            dedupe: self.ports.dedupe.as_ref(),
            mark_ttl: self.mark_ttl,
            parquet: Some(crate::lake::encode_object),
        })
    }

    async fn forward(
        &self,
        records: Vec<crate::pipeline::PendingRecord>,
        marks: crate::pipeline::MarkPolicy,
        lease: &LeaseKeeper<'_>,
    ) -> Result<ForwardReport, PollError> {
        let forwarder = Forwarder {
            dedupe: self.ports.dedupe.as_ref(),
            sink: self.sink,
            policy: self.delivery,
            mark_ttl: self.mark_ttl,
            marks,
            heartbeat: Some(lease),
            stop_at: Some(self.delivery_stop()),
        };
        Ok(forwarder.forward(records).await?)
    }

    /// Records Okta log-stream lifecycle events in the org's push health, so the stream watch
    /// knows about a deactivation even when the push path could not deliver it. Best effort:
    /// the events are forwarded either way.
    async fn note_lifecycle(&self, seen: &[LifecycleSeen], summary: &mut StreamSummary) {
        let push = StreamId::Push.key(&self.key.org);
        for event in seen {
            summary.lifecycle_events += 1;
            tracing::warn!(event_type = %event.event_type, "Okta log stream lifecycle event");
            let note = HealthNote::Lifecycle {
                event_type: &event.event_type,
            };
            if let Err(e) = self.ports.health.note(&push, event.at, note).await {
                tracing::warn!(error = %e, "could not record the lifecycle event in health");
            }
        }
    }

    fn stopped(&self, why: Stop, summary: &mut StreamSummary) {
        match why {
            Stop::Deadline => {
                summary.stopped_for_deadline = true;
                tracing::info!(
                    "stopping before the deadline; the next run resumes from the cursor"
                );
            }
            Stop::RateLimit(retry_after) => {
                summary.stopped_for_rate_limit = true;
                tracing::info!(
                    retry_after_ms = retry_after.as_millis() as u64,
                    "rate-limit wait does not fit in this run; the next run resumes from the cursor"
                );
            }
        }
    }
}
