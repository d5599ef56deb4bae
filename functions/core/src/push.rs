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

use crate::ErrorKind;
use crate::clock::Clock;
use crate::config::{OKTA_PARTNER_PREFIX, OldEventPolicy, OrgConfig, RelayConfig};
use crate::inventory;
use crate::pipeline::log_event::{self, InvalidLogEvent, LogEventHeader};
use crate::pipeline::{DeliveryPolicy, ForwardError, ForwardReport, Forwarder, MarkPolicy};
use crate::ports::{DedupeStore, EventSink, HealthNote, HealthStore, RunRecord, StreamKey};
use crate::record::CollectionPath;
use crate::stream_watch;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::sync::Arc;
use thiserror::Error;

/// Why a partner event was not forwarded.
#[derive(Debug, Error)]
pub enum PushError {
    #[error("not an EventBridge event envelope: {0}")]
    Envelope(String),
    #[error("event source {0:?} is not an Okta partner event source (aws.partner/okta.com/…)")]
    NotOkta(String),
    #[error("no configured org has partner_event_source {0:?}")]
    UnknownSource(String),
    #[error("{0}")]
    Event(#[from] InvalidLogEvent),
    #[error("{source}")]
    Forward {
        /// The org whose event it was (for its metrics).
        org: String,
        source: ForwardError,
    },
}

impl PushError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            PushError::Envelope(_) | PushError::NotOkta(_) | PushError::Event(_) => {
                ErrorKind::Permanent
            }
            PushError::UnknownSource(_) => ErrorKind::Configuration,
            PushError::Forward { source, .. } => source.kind(),
        }
    }

    /// The org the event belonged to, once the source was matched to one.
    pub fn org(&self) -> Option<&str> {
        match self {
            PushError::Forward { org, .. } => Some(org),
            _ => None,
        }
    }
}

/// What one invocation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushSummary {
    pub org: String,
    pub uuid: String,
    pub event_type: String,
    pub forwarded: usize,
    pub duplicates: usize,
    pub oversize: usize,
    /// 1 when the org's event-type list excludes this event.
    pub filtered: usize,
    /// 1 when the event is older than the org's `push.max_event_age_seconds`.
    pub old: usize,
    /// 1 when it was old and the org's policy drops old events.
    pub dropped_old: usize,
    /// 1 when the event also produced an inventory change record (a deletion or removal).
    pub inventory_changes: usize,
    /// Entries PutEvents reported failed and that a retry then delivered.
    pub failed_entries: usize,
    /// 1 when the bus refused the event for good and it went out as a quarantine marker.
    pub quarantined: usize,
    /// The event's `published`.
    pub published: chrono::DateTime<chrono::Utc>,
}

impl PushSummary {
    fn run_record(&self) -> RunRecord {
        RunRecord {
            counters: self.counters(),
            newest_event_at: Some(self.published),
            rate_limit: None,
        }
    }

    fn counters(&self) -> BTreeMap<String, u64> {
        BTreeMap::from([
            ("events".to_string(), 1),
            ("forwarded".to_string(), self.forwarded as u64),
            ("duplicates".to_string(), self.duplicates as u64),
            ("oversize".to_string(), self.oversize as u64),
            ("filtered".to_string(), self.filtered as u64),
            ("old".to_string(), self.old as u64),
            ("dropped_old".to_string(), self.dropped_old as u64),
            (
                "inventory_changes".to_string(),
                self.inventory_changes as u64,
            ),
            ("failed_entries".to_string(), self.failed_entries as u64),
            ("quarantined".to_string(), self.quarantined as u64),
        ])
    }
}

/// A validated partner event: its org, the LogEvent's header and the LogEvent itself.
pub struct PartnerEvent<'c> {
    pub org: &'c OrgConfig,
    pub header: LogEventHeader,
    pub detail: Box<RawValue>,
}

impl<'c> PartnerEvent<'c> {
    /// Validates an invocation payload: an EventBridge envelope from a configured Okta partner
    /// source whose `detail` is a System Log event. Pure: no I/O, no panics on any input.
    pub fn parse(payload: &RawValue, config: &'c RelayConfig) -> Result<Self, PushError> {
        let envelope: EventBridgeEvent<Box<RawValue>> = serde_json::from_str(payload.get())
            .map_err(|e| {
                PushError::Envelope(format!("{:?} error at column {}", e.classify(), e.column()))
            })?;
        if !envelope.source.starts_with(OKTA_PARTNER_PREFIX) {
            return Err(PushError::NotOkta(truncated(&envelope.source)));
        }
        let org = config
            .org_for_partner_source(&envelope.source)
            .ok_or_else(|| PushError::UnknownSource(truncated(&envelope.source)))?;
        if envelope.detail_type != "SystemLog" {
            tracing::info!(detail_type = %truncated(&envelope.detail_type), "unexpected detail-type from Okta; forwarding by source");
        }
        let header = LogEventHeader::parse(&envelope.detail)?;
        Ok(Self {
            org,
            header,
            detail: envelope.detail,
        })
    }
}

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
        let summary = self
            .forward(event.org, &event.detail, &event.header)
            .await?;
        self.watch(event.org, &event.header, &summary).await;
        Ok(summary)
    }

    async fn forward(
        &self,
        org: &OrgConfig,
        detail: &RawValue,
        header: &LogEventHeader,
    ) -> Result<PushSummary, PushError> {
        let now = self.clock.now();
        let mut summary = PushSummary {
            org: org.name.clone(),
            uuid: header.uuid.clone(),
            event_type: header.event_type.clone(),
            forwarded: 0,
            duplicates: 0,
            oversize: 0,
            filtered: 0,
            old: 0,
            dropped_old: 0,
            inventory_changes: 0,
            failed_entries: 0,
            quarantined: 0,
            published: header.published,
        };
        let mut records = Vec::with_capacity(2);
        // A deletion or removal also updates the SIEM's inventory (`inventory::changes`),
        // whatever the filters below decide about the event itself.
        if let Some(change) =
            inventory::change_record(detail, header, org, CollectionPath::Push, now)
        {
            summary.inventory_changes = 1;
            records.push(change);
        }
        let age = now - header.published;
        if !org.event_types.allows(&header.event_type) {
            tracing::info!(org = %org.name, uuid = %header.uuid, event_type = %header.event_type, "event type filtered out by configuration");
            summary.filtered = 1;
        } else if age > chrono::Duration::seconds(org.push.max_event_age_seconds as i64) {
            summary.old = 1;
            if org.push.old_events == OldEventPolicy::Drop {
                tracing::warn!(org = %org.name, uuid = %header.uuid, age_seconds = age.num_seconds(),
                    "old partner event dropped by the org's old_events policy");
                summary.dropped_old = 1;
            } else {
                tracing::info!(org = %org.name, uuid = %header.uuid, age_seconds = age.num_seconds(), "old partner event forwarded");
                records.push(log_event::to_record(
                    detail,
                    header,
                    &org.name,
                    CollectionPath::Push,
                    now,
                ));
            }
        } else {
            records.push(log_event::to_record(
                detail,
                header,
                &org.name,
                CollectionPath::Push,
                now,
            ));
        }
        if records.is_empty() {
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
        let ForwardReport {
            forwarded,
            duplicates,
            oversize,
            failed_entries,
            quarantined,
            unmarked: _,
        } = forwarder
            .forward(records)
            .await
            .map_err(|source| PushError::Forward {
                org: org.name.clone(),
                source,
            })?;
        summary.forwarded = forwarded;
        summary.duplicates = duplicates;
        summary.oversize = oversize;
        summary.failed_entries = failed_entries;
        summary.quarantined = quarantined;
        Ok(summary)
    }

    /// Feeds the stream watch. Best effort: the event is already handled, and a health write
    /// that fails must not make Lambda deliver it again.
    async fn watch(&self, org: &OrgConfig, header: &LogEventHeader, summary: &PushSummary) {
        let now = self.clock.now();
        let push = StreamKey::new(&org.name, stream_watch::PUSH_STREAM);
        if let Err(e) = self
            .health
            .record_success(&push, now, &summary.run_record())
            .await
        {
            tracing::warn!(org = %org.name, error = %e, "could not record push health");
        }
        if !stream_watch::is_lifecycle_event(&header.event_type) {
            return;
        }
        tracing::warn!(org = %org.name, uuid = %header.uuid, event_type = %header.event_type, "Okta log stream lifecycle event");
        let lifecycle = HealthNote::Lifecycle {
            event_type: &header.event_type,
        };
        if let Err(e) = self.health.note(&push, header.published, lifecycle).await {
            tracing::warn!(org = %org.name, error = %e, "could not record the lifecycle event");
        }
        if stream_watch::stops_delivery(&header.event_type) {
            let logs = StreamKey::new(&org.name, log_event::LOGS_STREAM);
            let request = HealthNote::CatchUpRequested {
                reason: &header.event_type,
            };
            if let Err(e) = self.health.note(&logs, now, request).await {
                tracing::warn!(org = %org.name, error = %e, "could not request a System Log catch-up");
            }
        }
    }
}

fn truncated(s: &str) -> String {
    s.chars().take(200).collect()
}
