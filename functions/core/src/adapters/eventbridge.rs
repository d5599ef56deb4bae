//! [`EventSink`] on EventBridge `PutEvents`.
//!
//! PutEvents answers HTTP 200 even when entries failed: the per-entry results are mapped back
//! by position, and a response that does not have one result per entry is treated as a failure
//! of the whole call.

use super::AwsFailure;
use crate::ports::{EntryOutcome, EventSink, SinkEntry, SinkError};
use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

/// The SDK's entries for one PutEvents call on `bus` (the `Detail` text is copied once, into
/// the request).
pub fn request_entries(bus: &str, entries: &[&SinkEntry]) -> Vec<PutEventsRequestEntry> {
    entries
        .iter()
        .map(|e| {
            PutEventsRequestEntry::builder()
                .event_bus_name(bus)
                .source(&e.source)
                .detail_type(&e.detail_type)
                .detail(&e.detail)
                .set_time(e.time.map(|t| {
                    aws_sdk_eventbridge::primitives::DateTime::from_millis(t.timestamp_millis())
                }))
                .set_resources((!e.resources.is_empty()).then(|| e.resources.clone()))
                .build()
        })
        .collect()
}

/// A missing bus or a denied call is configuration; a refused request is invalid; the rest
/// (throttling, 5xx, the network) can be retried.
fn sink_error(failure: AwsFailure) -> SinkError {
    if failure.code_is("ResourceNotFoundException") || failure.is_access_denied() {
        SinkError::Configuration(failure.detail)
    } else if failure.code_is("ValidationException") {
        SinkError::Invalid(failure.detail)
    } else {
        SinkError::Transient(failure.detail)
    }
}

/// Puts entries on one event bus.
#[derive(Debug, Clone)]
pub struct EventBridgeSink {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBridgeSink {
    pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }

    /// The bus's ARN, if it exists and may be described (`validate-config`).
    pub async fn describe(&self) -> Result<String, SinkError> {
        let out = self
            .client
            .describe_event_bus()
            .name(&self.bus)
            .send()
            .await
            .map_err(|e| sink_error(AwsFailure::from_sdk(&e)))?;
        Ok(out.arn().unwrap_or(&self.bus).to_string())
    }
}

#[async_trait]
impl EventSink for EventBridgeSink {
    async fn put(&self, entries: &[&SinkEntry]) -> Result<Vec<EntryOutcome>, SinkError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        if entries.len() > 10 {
            return Err(SinkError::Invalid(format!(
                "{} entries in one PutEvents call; the limit is 10",
                entries.len()
            )));
        }
        let request = request_entries(&self.bus, entries);
        let output = self
            .client
            .put_events()
            .set_entries(Some(request))
            .send()
            .await
            .map_err(|e| sink_error(AwsFailure::from_sdk(&e)))?;
        let results = output.entries();
        if results.len() != entries.len() {
            return Err(SinkError::Transient(format!(
                "PutEvents answered {} results for {} entries",
                results.len(),
                entries.len()
            )));
        }
        Ok(results
            .iter()
            .map(|r| match (r.event_id(), r.error_code()) {
                (Some(id), None) => EntryOutcome::Accepted {
                    event_id: id.to_string(),
                },
                (_, code) => EntryOutcome::Failed {
                    code: code.unwrap_or("Unknown").to_string(),
                    message: r.error_message().unwrap_or_default().to_string(),
                },
            })
            .collect())
    }
}
