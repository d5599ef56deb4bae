//! The push path: Okta Log Streaming events arriving from the partner event bus.
//!
//! The partner rule puts each event on an SQS queue, and the queue invokes the events function
//! with batches ([`PushService::handle_batch`]); a direct rule's single event works too
//! ([`PushService::handle`]). Each event is an EventBridge envelope whose `source` is
//! `aws.partner/okta.com/<org>/<name>` and whose `detail` is a System Log event. The envelope is
//! validated, the source mapped to a configured org (`detail-type` is advisory: Okta sends
//! `SystemLog`, but the source decides), and the events forwarded through the same dedupe marks
//! and sink as the pull path, each org's events of a batch together. Anything malformed or
//! unknown fails its own message (the queue delivers it again, then moves it to its
//! dead-letter queue); nothing is dropped silently.
//!
//! Every handled event also feeds the stream watch ([`crate::stream_watch`]): the org's push
//! health records it (so the poller can tell silence from flow), a log-stream lifecycle event is
//! noted there, and one that stops the stream asks the org's System Log stream to catch up.
//! Events older than the org's `push.max_event_age_seconds` are forwarded and counted as old,
//! or, with `old_events: drop`, dropped with their `uuid` logged and counted.

mod function_error;
mod partner_event;

pub use crate::summary::PushSummary;
pub use partner_event::{PartnerEvent, PushError};

use crate::clock::Clock;
use crate::config::{OldEventPolicy, OrgConfig, RelayConfig};
use crate::lake::{LakeBuffer, LakeEvent, LakeWriter};
use crate::limits::PUSH_DEADLINE_MARGIN;
use crate::pipeline::{DeliveryPolicy, Forwarder, MarkPolicy, PendingRecord};
use crate::ports::{
    DedupeStore, Failure, HealthNote, HealthStore, LakeStore, OrgIdentityStore, Ports, Sinks,
};
use crate::record::CollectionPath;
use crate::shape::log_event;
use crate::shape::log_header::LogEventHeader;
use crate::stream::StreamId;
use crate::stream_watch;
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::Arc;
use tracing::Instrument;

/// One message of a batch: its id (SQS `messageId`) and body (the EventBridge event).
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub id: &'a str,
    pub body: &'a RawValue,
}

/// Messages that failed together, and why.
#[derive(Debug)]
pub struct BatchFailure {
    pub ids: Vec<String>,
    pub error: PushError,
}

/// What a batch did: per org, and the messages to deliver again.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub summaries: Vec<PushSummary>,
    pub failures: Vec<BatchFailure>,
}

/// The events function's logic.
pub struct PushService {
    pub config: Arc<RelayConfig>,
    pub dedupe: Arc<dyn DedupeStore>,
    pub health: Arc<dyn HealthStore>,
    /// Where each org's records go.
    pub sinks: Arc<dyn Sinks>,
    pub clock: Arc<dyn Clock>,
    pub delivery: DeliveryPolicy,
    /// Where the poller keeps each org's Okta id (the events function cannot ask Okta: it holds
    /// no credentials). Without it records carry only the org's name.
    pub identities: Option<Arc<dyn OrgIdentityStore>>,
    /// Each org's Okta id as last read, and when: read again after [`OKTA_ORG_ID_RECHECK`]
    /// (the poller may have found it, or read it again for a repointed secret).
    /// Where Security Lake objects go (with `security_lake` on).
    pub lake: Option<Arc<dyn LakeStore>>,
    okta_org_ids: std::sync::Mutex<HashMap<String, LookedUp>>,
}

/// An org's Okta id as last looked up (`None`: not found), and when.
type LookedUp = (Option<String>, DateTime<Utc>);

pub use crate::poller::OKTA_ORG_ID_RECHECK;

impl PushService {
    /// The service on every port it uses.
    pub fn from_ports(config: Arc<RelayConfig>, ports: &Ports) -> Self {
        let mut service = Self::new(
            config,
            ports.dedupe.clone(),
            ports.health.clone(),
            ports.sinks.clone(),
            ports.clock.clone(),
        );
        service.identities = Some(ports.identities.clone());
        service.lake = Some(ports.lake.clone());
        service
    }

    pub fn new(
        config: Arc<RelayConfig>,
        dedupe: Arc<dyn DedupeStore>,
        health: Arc<dyn HealthStore>,
        sinks: Arc<dyn Sinks>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let delivery = config.delivery_policy();
        Self {
            config,
            dedupe,
            health,
            sinks,
            clock,
            delivery,
            identities: None,
            lake: None,
            okta_org_ids: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// `org` with its Okta id, when the state table has it. Never fails: a record without the
    /// id is better than no record.
    async fn identified(&self, org: &OrgConfig) -> OrgConfig {
        let mut org = org.clone();
        let Some(store) = &self.identities else {
            return org;
        };
        let now = self.clock.now();
        let cached = {
            let ids = self.okta_org_ids.lock().unwrap_or_else(|p| p.into_inner());
            ids.get(&org.name).cloned()
        };
        let fresh = cached
            .as_ref()
            .is_some_and(|(_, at)| crate::clock::until(*at, now) < OKTA_ORG_ID_RECHECK);
        org.okta_org_id = match (fresh, cached) {
            (true, Some((id, _))) => id,
            _ => {
                let id = match store.identity(&org.name).await {
                    Ok(identity) => identity.map(|i| i.okta_org_id),
                    Err(e) => {
                        tracing::warn!(org = %org.name, error = %e,
                            "could not read the org's Okta id; its records go without it");
                        None
                    }
                };
                let mut ids = self.okta_org_ids.lock().unwrap_or_else(|p| p.into_inner());
                ids.insert(org.name.clone(), (id.clone(), now));
                id
            }
        };
        org
    }

    /// Handles one partner event (a direct rule's invocation: the EventBridge event as JSON).
    pub async fn handle(&self, payload: &RawValue) -> Result<PushSummary, PushError> {
        let outcome = self
            .handle_batch(&[Message {
                id: "",
                body: payload,
            }])
            .await;
        if let Some(failure) = outcome.failures.into_iter().next() {
            return Err(failure.error);
        }
        outcome
            .summaries
            .into_iter()
            .next()
            .ok_or_else(|| PushError::Envelope("no event".into()))
    }

    /// Handles a batch of partner events (an SQS batch) with no deadline of its own: see
    /// [`Self::handle_batch_until`].
    pub async fn handle_batch(&self, messages: &[Message<'_>]) -> BatchOutcome {
        self.handle_batch_until(messages, None).await
    }

    /// Handles a batch of partner events (an SQS batch): each org's events are forwarded
    /// together, so the batch costs one dedupe check, packed PutEvents requests, one mark write
    /// and one health write per org. A bad event fails only itself; a failed delivery fails the
    /// messages of its org (their acknowledged records are marked, so the retry does not send
    /// them again). So does an org whose forwarding does not finish before `deadline` less
    /// [`PUSH_DEADLINE_MARGIN`] (a slow bus or lake write), or panics: the other orgs'
    /// answers stand instead of the whole batch failing with the invocation.
    pub async fn handle_batch_until(
        &self,
        messages: &[Message<'_>],
        deadline: Option<DateTime<Utc>>,
    ) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        let mut groups: Vec<(&OrgConfig, Vec<(&str, PartnerEvent<'_>)>)> = Vec::new();
        for message in messages {
            match PartnerEvent::parse(message.body, &self.config) {
                Ok(event) => match groups
                    .iter_mut()
                    .find(|(org, _)| org.name == event.org.name)
                {
                    Some((_, events)) => events.push((message.id, event)),
                    None => groups.push((event.org, vec![(message.id, event)])),
                },
                Err(error) => outcome.failures.push(BatchFailure {
                    ids: vec![message.id.to_string()],
                    error,
                }),
            }
        }
        // The orgs side by side, each to the same deadline: a slow org uses no other's time.
        let orgs = groups.iter().map(|(org, events)| async move {
            let org = &self.identified(org).await;
            let span = tracing::info_span!("stream", org = %org.name, stream = %StreamId::Push);
            let result = self
                .forward_until(org, events, deadline)
                .instrument(span.clone())
                .await;
            match &result {
                Ok(summary) => self.watch(org, events, summary).instrument(span).await,
                Err(error) => self.record_failure(org, error).instrument(span).await,
            }
            (events, result)
        });
        for (events, result) in futures::future::join_all(orgs).await {
            match result {
                Ok(summary) => outcome.summaries.push(summary),
                Err(error) => outcome.failures.push(BatchFailure {
                    ids: events.iter().map(|(id, _)| id.to_string()).collect(),
                    error,
                }),
            }
        }
        outcome
    }

    /// [`Self::forward`] within `deadline` (less its margin), a panic confined to the org.
    async fn forward_until(
        &self,
        org: &OrgConfig,
        events: &[(&str, PartnerEvent<'_>)],
        deadline: Option<DateTime<Utc>>,
    ) -> Result<PushSummary, PushError> {
        use futures::FutureExt;
        let out_of_time = || PushError::Deadline {
            org: org.name.clone(),
        };
        let forward = std::panic::AssertUnwindSafe(self.forward(org, events)).catch_unwind();
        let finished = match deadline {
            None => forward.await,
            Some(deadline) => {
                let left = crate::clock::until(self.clock.now(), deadline)
                    .saturating_sub(PUSH_DEADLINE_MARGIN);
                if left.is_zero() {
                    return Err(out_of_time());
                }
                tokio::time::timeout(left, forward)
                    .await
                    .map_err(|_| out_of_time())?
            }
        };
        finished.unwrap_or_else(|_| {
            tracing::error!(code = %crate::function_error::ErrorCode::Internal, "handling the org's events panicked");
            Err(PushError::Panicked {
                org: org.name.clone(),
            })
        })
    }

    /// A failed forward in the org's push health, so `status` shows the push path's error and
    /// whose fault it is. Best effort: the queue delivers the events again either way.
    async fn record_failure(&self, org: &OrgConfig, error: &PushError) {
        let message = error.to_string();
        let failure = Failure {
            kind: error.kind(),
            fault: error.fault(),
            message: &message,
        };
        let push = StreamId::Push.key(&org.name);
        if let Err(e) = self
            .health
            .record_failure(&push, self.clock.now(), &failure)
            .await
        {
            tracing::warn!(error = %e, "could not record push health");
        }
    }

    /// One org's events through the per-event path both paths share (with the push path's
    /// old-event policy), then forwarded together.
    async fn forward(
        &self,
        org: &OrgConfig,
        events: &[(&str, PartnerEvent<'_>)],
    ) -> Result<PushSummary, PushError> {
        let now = self.clock.now();
        let mut summary: Option<PushSummary> = None;
        let mut records = Vec::new();
        let mut lake_events = Vec::new();
        for (_, event) in events {
            let (one, event_records, lake_event) = self.prepare(org, event, now);
            records.extend(event_records);
            lake_events.extend(lake_event);
            match summary.as_mut() {
                Some(all) => all.absorb(one),
                None => summary = Some(one),
            }
        }
        let mut summary = summary.ok_or_else(|| PushError::Envelope("no event".into()))?;
        let failed = |source| PushError::Forward {
            org: org.name.clone(),
            source,
        };
        if records.is_empty() {
            return Ok(summary);
        }
        // Before anything is delivered: this function only stages the lake.
        if self
            .config
            .lake()
            .is_some_and(|lake| lake.staging.is_none())
        {
            return Err(failed(crate::ports::LakeError::StagingRequired.into()));
        }
        let sink = self.sinks.sink(&org.name, &org.sink);
        let forwarder = Forwarder {
            dedupe: self.dedupe.as_ref(),
            sink: sink.as_ref(),
            policy: &self.delivery,
            mark_ttl: self.config.dedupe_ttl(),
            marks: MarkPolicy::Check,
            heartbeat: None,
            // The invocation's deadline bounds the whole org (`forward_until`).
            stop_at: None,
        };
        let report = forwarder.forward(records).await.map_err(failed)?;
        summary.add(&report);
        // The lake is written before the batch is answered: a failed write fails the
        // messages, the queue redelivers them, the bus's marks drop their bus records and the
        // lake's marks (none were written) let their lake events through again.
        if let Some(config) = self.config.lake() {
            let store = self
                .lake
                .as_ref()
                .ok_or_else(|| failed(crate::ports::LakeError::NoStore.into()))?;
            // The events function only stages (`security_lake.staging`); the poller writes
            // the Parquet objects. Without an encoder here, the function does not link one.
            let writer = LakeWriter {
                config,
                store: store.as_ref(),
                dedupe: self.dedupe.as_ref(),
                mark_ttl: self.config.dedupe_ttl(),
                parquet: None,
            };
            let mut buffer = LakeBuffer::default();
            writer
                .admit(lake_events, MarkPolicy::Check, &mut buffer, now)
                .await
                .map_err(failed)?;
            let written = writer.flush(&mut buffer, None).await.map_err(failed)?;
            summary.add_lake(&written);
        }
        Ok(summary)
    }

    /// One event's records and counts (old, dropped, filtered, inventory change).
    fn prepare(
        &self,
        org: &OrgConfig,
        event: &PartnerEvent<'_>,
        now: DateTime<Utc>,
    ) -> (PushSummary, Vec<PendingRecord>, Option<LakeEvent>) {
        let header = &event.header;
        let mut summary = PushSummary::new(
            &org.name,
            &header.uuid,
            &header.event_type,
            header.published,
        );
        // An event without a readable `published` has no age: it is never "old".
        let age = header
            .published
            .map_or(chrono::Duration::zero(), |t| now - t);
        let allowed = org.event_types.allows(&header.event_type);
        if allowed && age > chrono::Duration::seconds(org.push.max_event_age_seconds as i64) {
            summary.old = 1;
            summary.dropped_old = u8::from(org.push.old_events == OldEventPolicy::Drop).into();
        }
        let keep = summary.dropped_old == 0;
        let event =
            log_event::records_for(&event.detail, header, org, CollectionPath::Push, now, keep);
        summary.filtered = event.filtered.into();
        summary.inventory_changes = event.inventory_change.into();
        summary.malformed_published = event.malformed_published.into();
        self.explain(&summary, age);
        (summary, event.records, event.lake)
    }

    /// Logs why an event was not forwarded as it came (filtered, old, dropped).
    fn explain(&self, s: &PushSummary, age: chrono::Duration) {
        if s.filtered == 1 {
            tracing::info!(uuid = %s.uuid, event_type = %s.event_type, "event type filtered out by configuration");
        } else if s.dropped_old == 1 {
            tracing::warn!(uuid = %s.uuid, age_seconds = age.num_seconds(),
                "old partner event dropped by the org's old_events policy");
        } else if s.old == 1 {
            tracing::info!(uuid = %s.uuid, age_seconds = age.num_seconds(), "old partner event forwarded");
        }
    }

    /// Feeds the stream watch: one health write for the org's events, and each log-stream
    /// lifecycle event among them. Best effort: the events are already handled, and a health
    /// write that fails must not make them be delivered again.
    async fn watch(
        &self,
        org: &OrgConfig,
        events: &[(&str, PartnerEvent<'_>)],
        summary: &PushSummary,
    ) {
        let push = StreamId::Push.key(&org.name);
        if let Err(e) = self
            .health
            .record_success(&push, self.clock.now(), &summary.run_record())
            .await
        {
            tracing::warn!(error = %e, "could not record push health");
        }
        for (_, event) in events {
            self.note_lifecycle(org, &event.header).await;
        }
    }

    /// A log-stream lifecycle event: noted in the push health; one that stops delivery asks the
    /// org's System Log stream to catch up.
    async fn note_lifecycle(&self, org: &OrgConfig, header: &LogEventHeader) {
        let now = self.clock.now();
        let push = StreamId::Push.key(&org.name);
        if !stream_watch::is_lifecycle_event(&header.event_type) {
            return;
        }
        tracing::warn!(uuid = %header.uuid, event_type = %header.event_type, "Okta log stream lifecycle event");
        let lifecycle = HealthNote::Lifecycle {
            event_type: &header.event_type,
        };
        // Lifecycle events are ordered by `published`: one without cannot be placed (it could
        // hide a later `.activate`), so only its catch-up request stands.
        if let Some(at) = header.published
            && let Err(e) = self.health.note(&push, at, lifecycle).await
        {
            tracing::warn!(error = %e, "could not record the lifecycle event");
        }
        if stream_watch::stops_delivery(&header.event_type) {
            let logs = StreamId::Logs.key(&org.name);
            let request = HealthNote::CatchUpRequested {
                reason: &header.event_type,
            };
            if let Err(e) = self.health.note(&logs, now, request).await {
                tracing::warn!(error = %e, "could not request a System Log catch-up");
            }
        }
    }
}
