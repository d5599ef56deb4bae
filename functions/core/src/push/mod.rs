//! The push path: Okta Log Streaming events arriving from the partner event bus.
//!
//! Each invocation carries one EventBridge event whose `source` is
//! `aws.partner/okta.com/<org>/<name>` and whose `detail` is a System Log event. The envelope is
//! validated, the source mapped to a configured org (`detail-type` is advisory: Okta sends
//! `SystemLog`, but the source decides), and the event forwarded through the same dedupe marks
//! and sink as the pull path. Anything malformed or unknown is an error: the invocation fails, so
//! Lambda retries it and then hands it to the function's on-failure destination. Nothing is
//! dropped silently.
//!
//! Every handled event also feeds the stream watch ([`crate::stream_watch`]): the org's push
//! health records it (so the poller can tell silence from flow), a log-stream lifecycle event is
//! noted there, and one that stops the stream asks the org's System Log stream to catch up.
//! Events older than the org's `push.max_event_age_seconds` are forwarded and counted as old,
//! or, with `old_events: drop`, dropped with their `uuid` logged and counted.

mod partner_event;

pub use crate::summary::PushSummary;
pub use partner_event::{PartnerEvent, PushError};

use crate::clock::Clock;
use crate::config::{OldEventPolicy, OrgConfig, RelayConfig};
use crate::pipeline::log_event;
use crate::pipeline::log_header::LogEventHeader;
use crate::pipeline::{DeliveryPolicy, Forwarder, MarkPolicy};
use crate::ports::{DedupeStore, EventSink, HealthNote, HealthStore, Ports};
use crate::record::CollectionPath;
use crate::stream::StreamId;
use crate::stream_watch;
use serde_json::value::RawValue;
use std::sync::Arc;
use tracing::Instrument;

/// The events function's logic.
pub struct PushService {
    pub config: Arc<RelayConfig>,
    pub dedupe: Arc<dyn DedupeStore>,
    pub health: Arc<dyn HealthStore>,
    pub sink: Arc<dyn EventSink>,
    pub clock: Arc<dyn Clock>,
    pub delivery: DeliveryPolicy,
}

impl PushService {
    /// The service on every port it uses.
    pub fn from_ports(config: Arc<RelayConfig>, ports: &Ports) -> Self {
        Self::new(
            config,
            ports.dedupe.clone(),
            ports.health.clone(),
            ports.sink.clone(),
            ports.clock.clone(),
        )
    }

    pub fn new(
        config: Arc<RelayConfig>,
        dedupe: Arc<dyn DedupeStore>,
        health: Arc<dyn HealthStore>,
        sink: Arc<dyn EventSink>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let delivery = DeliveryPolicy {
            max_request_bytes: config.max_request_bytes,
            ..DeliveryPolicy::default()
        };
        Self {
            config,
            dedupe,
            health,
            sink,
            clock,
            delivery,
        }
    }

    /// Handles one invocation payload (the EventBridge event as JSON).
    pub async fn handle(&self, payload: &RawValue) -> Result<PushSummary, PushError> {
        let event = PartnerEvent::parse(payload, &self.config)?;
        let span = tracing::info_span!("stream", org = %event.org.name, stream = %StreamId::Push);
        async {
            let summary = self
                .forward(event.org, &event.detail, &event.header)
                .await?;
            self.watch(event.org, &event.header, &summary).await;
            Ok(summary)
        }
        .instrument(span)
        .await
    }

    /// The event through the per-event path both paths share, with the push path's old-event
    /// policy, then forwarded.
    async fn forward(
        &self,
        org: &OrgConfig,
        detail: &RawValue,
        header: &LogEventHeader,
    ) -> Result<PushSummary, PushError> {
        let now = self.clock.now();
        let mut summary = PushSummary::new(
            &org.name,
            &header.uuid,
            &header.event_type,
            header.published,
        );
        let age = now - header.published;
        let allowed = org.event_types.allows(&header.event_type);
        if allowed && age > chrono::Duration::seconds(org.push.max_event_age_seconds as i64) {
            summary.old = 1;
            summary.dropped_old = u8::from(org.push.old_events == OldEventPolicy::Drop).into();
        }
        let event = log_event::records_for(
            detail,
            header,
            org,
            CollectionPath::Push,
            now,
            summary.dropped_old == 0,
        );
        summary.filtered = event.filtered.into();
        summary.inventory_changes = event.inventory_change.into();
        self.explain(&summary, age);
        if event.records.is_empty() {
            return Ok(summary);
        }
        let forwarder = Forwarder {
            dedupe: self.dedupe.as_ref(),
            sink: self.sink.as_ref(),
            policy: &self.delivery,
            mark_ttl: self.config.dedupe_ttl(),
            marks: MarkPolicy::Check,
            heartbeat: None,
        };
        let report =
            forwarder
                .forward(event.records)
                .await
                .map_err(|source| PushError::Forward {
                    org: org.name.clone(),
                    source,
                })?;
        summary.add(&report);
        Ok(summary)
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

    /// Feeds the stream watch. Best effort: the event is already handled, and a health write
    /// that fails must not make Lambda deliver it again.
    async fn watch(&self, org: &OrgConfig, header: &LogEventHeader, summary: &PushSummary) {
        let now = self.clock.now();
        let push = StreamId::Push.key(&org.name);
        if let Err(e) = self
            .health
            .record_success(&push, now, &summary.run_record())
            .await
        {
            tracing::warn!(error = %e, "could not record push health");
        }
        if !stream_watch::is_lifecycle_event(&header.event_type) {
            return;
        }
        tracing::warn!(uuid = %header.uuid, event_type = %header.event_type, "Okta log stream lifecycle event");
        let lifecycle = HealthNote::Lifecycle {
            event_type: &header.event_type,
        };
        if let Err(e) = self.health.note(&push, header.published, lifecycle).await {
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
