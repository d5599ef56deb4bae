//! The push path: Okta Log Streaming events arriving from the partner event bus.
//!
//! Each invocation carries one EventBridge event whose `source` is
//! `aws.partner/okta.com/<org>/<name>` and whose `detail` is a System Log event. The envelope is
//! validated, the source mapped to a configured org (`detail-type` is advisory: Okta sends
//! `SystemLog`, but the source decides), and the event forwarded through the same dedupe marks
//! and sink as the pull path. Anything malformed or unknown is an error: the invocation fails, so
//! Lambda retries it and then hands it to the function's on-failure destination. Nothing is
//! dropped silently.

use crate::ErrorKind;
use crate::clock::Clock;
use crate::config::{OKTA_PARTNER_PREFIX, RelayConfig};
use crate::pipeline::log_event::{self, InvalidLogEvent, LogEventHeader};
use crate::pipeline::{DeliveryPolicy, ForwardError, ForwardReport, Forwarder};
use crate::ports::{DedupeStore, EventSink};
use crate::record::CollectionPath;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Serialize;
use serde_json::value::RawValue;
use std::sync::Arc;
use std::time::Duration;
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
    #[error("{0}")]
    Forward(#[from] ForwardError),
}

impl PushError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            PushError::Envelope(_) | PushError::NotOkta(_) | PushError::Event(_) => {
                ErrorKind::Permanent
            }
            PushError::UnknownSource(_) => ErrorKind::Configuration,
            PushError::Forward(e) => e.kind(),
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
}

/// The events function's logic.
pub struct PushService {
    pub config: Arc<RelayConfig>,
    pub dedupe: Arc<dyn DedupeStore>,
    pub sink: Arc<dyn EventSink>,
    pub clock: Arc<dyn Clock>,
    pub delivery: DeliveryPolicy,
}

impl PushService {
    pub fn new(
        config: Arc<RelayConfig>,
        dedupe: Arc<dyn DedupeStore>,
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
            sink,
            clock,
            delivery,
        }
    }

    /// Handles one invocation payload (the EventBridge event as JSON).
    pub async fn handle(&self, payload: &RawValue) -> Result<PushSummary, PushError> {
        let envelope: EventBridgeEvent<Box<RawValue>> = serde_json::from_str(payload.get())
            .map_err(|e| {
                PushError::Envelope(format!("{:?} error at column {}", e.classify(), e.column()))
            })?;
        if !envelope.source.starts_with(OKTA_PARTNER_PREFIX) {
            return Err(PushError::NotOkta(truncated(&envelope.source)));
        }
        let org = self
            .config
            .org_for_partner_source(&envelope.source)
            .ok_or_else(|| PushError::UnknownSource(truncated(&envelope.source)))?;
        if envelope.detail_type != "SystemLog" {
            tracing::info!(detail_type = %truncated(&envelope.detail_type), "unexpected detail-type from Okta; forwarding by source");
        }
        let header = LogEventHeader::parse(&envelope.detail)?;
        if !org.event_types.allows(&header.event_type) {
            tracing::info!(org = %org.name, uuid = %header.uuid, event_type = %header.event_type, "event type filtered out by configuration");
            return Ok(PushSummary {
                org: org.name.clone(),
                uuid: header.uuid,
                event_type: header.event_type,
                forwarded: 0,
                duplicates: 0,
                oversize: 0,
                filtered: 1,
            });
        }
        let record = log_event::to_record(
            &envelope.detail,
            &header,
            &org.name,
            CollectionPath::Push,
            self.clock.now(),
        );
        let forwarder = Forwarder {
            dedupe: self.dedupe.as_ref(),
            sink: self.sink.as_ref(),
            policy: &self.delivery,
            claim_hold: Duration::from_secs(15 * 60),
            mark_ttl: self.config.dedupe_ttl(),
        };
        let ForwardReport {
            forwarded,
            duplicates,
            oversize,
        } = forwarder.forward(vec![record]).await?;
        Ok(PushSummary {
            org: org.name.clone(),
            uuid: header.uuid,
            event_type: header.event_type,
            forwarded,
            duplicates,
            oversize,
            filtered: 0,
        })
    }
}

fn truncated(s: &str) -> String {
    s.chars().take(200).collect()
}
