//! A partner event as it arrives: an EventBridge envelope from an Okta partner event source
//! whose `detail` is a System Log event. Validated before anything else happens; pure (no I/O)
//! and never panics, whatever the input.

use crate::ErrorKind;
use crate::config::{OKTA_PARTNER_PREFIX, OrgConfig, RelayConfig};
use crate::pipeline::ForwardError;
use crate::shape::log_header::{InvalidLogEvent, LogEventHeader};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::value::RawValue;
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
    /// The org's events were not delivered before the invocation's deadline (less its
    /// margin): the queue delivers them again, and the other orgs' answers stand.
    #[error(
        "the events of org {org} were not forwarded before the invocation's deadline; they are delivered again"
    )]
    Deadline { org: String },
    /// Handling the org's events panicked: a bug, confined to that org's messages.
    #[error("handling the events of org {org} failed unexpectedly; its log has the details")]
    Panicked { org: String },
}

impl PushError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            PushError::Envelope(_) | PushError::NotOkta(_) | PushError::Event(_) => {
                ErrorKind::Permanent
            }
            PushError::UnknownSource(_) => ErrorKind::Configuration,
            PushError::Forward { source, .. } => source.kind(),
            PushError::Deadline { .. } => ErrorKind::Transient,
            PushError::Panicked { .. } => ErrorKind::Permanent,
        }
    }

    /// Whose fault: an input the relay cannot forward is for the relay's operator to look
    /// at; a failed forward is AWS's.
    pub fn fault(&self) -> crate::Fault {
        match self {
            PushError::Forward { source, .. } => source.fault(),
            // Time ran out in AWS calls (the deliveries, the lake's writes).
            PushError::Deadline { .. } => crate::Fault::Aws,
            _ => crate::Fault::Relay,
        }
    }

    /// The org the event belonged to, once the source was matched to one.
    pub fn org(&self) -> Option<&str> {
        match self {
            PushError::Forward { org, .. }
            | PushError::Deadline { org }
            | PushError::Panicked { org } => Some(org),
            _ => None,
        }
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

fn truncated(s: &str) -> String {
    s.chars().take(200).collect()
}
