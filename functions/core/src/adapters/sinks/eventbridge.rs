//! [`EventSink`] on EventBridge `PutEvents`.
//!
//! PutEvents answers HTTP 200 even when entries failed: the per-entry results are mapped back
//! by position, and a response that does not have one result per entry is treated as a failure
//! of the whole call. Each entry error code is read as AWS documents it ([`entry_fault`]): only
//! `InvalidArgument` and `MalformedDetail` refuse the record itself; a code not on AWS's list
//! (or none at all) is transient, so it is sent again and then fails the delivery, never
//! quarantines a record.

use crate::adapters::AwsFailure;
use crate::ports::{EntryFault, EntryOutcome, EventSink, SinkEntry, SinkError};
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

/// What a PutEvents entry error code means (`PutEventsResultEntry`, AWS's API reference):
/// retryable are `InternalFailure` and `ThrottlingException`; the record's own fault are
/// `InvalidArgument` (a missing or invalid field) and `MalformedDetail` (a `Detail` that is not
/// JSON); the deployment's are the permission and account codes. `RedactionFailure`, a code
/// added later, or none at all is treated as transient.
pub fn entry_fault(code: &str) -> EntryFault {
    match code {
        "InvalidArgument" | "MalformedDetail" => EntryFault::Record,
        "AccessDeniedException"
        | "NotAuthorizedForSourceException"
        | "NotAuthorizedForDetailTypeException"
        | "InvalidAccountIdException" => EntryFault::Deployment,
        code if code.starts_with("KMS") => EntryFault::Deployment,
        _ => EntryFault::Transient,
    }
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

    /// The enabled rules on the bus (`validate-config` on an org's partner event bus: the Log
    /// Streaming source must be associated with a bus of its name, and the stacks put the org's
    /// rule on it). An error if the bus does not exist or may not be read.
    pub async fn enabled_rules(&self) -> Result<Vec<String>, SinkError> {
        self.describe().await?;
        let out = self
            .client
            .list_rules()
            .event_bus_name(&self.bus)
            .send()
            .await
            .map_err(|e| sink_error(AwsFailure::from_sdk(&e)))?;
        Ok(out
            .rules()
            .iter()
            .filter(|r| r.state() == Some(&aws_sdk_eventbridge::types::RuleState::Enabled))
            .filter_map(|r| r.name().map(str::to_string))
            .collect())
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
                (Some(_), None) => EntryOutcome::Accepted,
                (_, code) => {
                    let code = code.unwrap_or("NoErrorCode");
                    EntryOutcome::failed(
                        code,
                        r.error_message().unwrap_or_default(),
                        entry_fault(code),
                    )
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_documented_record_codes_are_the_records_fault() {
        for code in ["InvalidArgument", "MalformedDetail"] {
            assert_eq!(entry_fault(code), EntryFault::Record, "{code}");
        }
        for code in [
            "AccessDeniedException",
            "NotAuthorizedForSourceException",
            "NotAuthorizedForDetailTypeException",
            "InvalidAccountIdException",
            "KMSAccessDeniedException",
        ] {
            assert_eq!(entry_fault(code), EntryFault::Deployment, "{code}");
        }
        for code in [
            "InternalFailure",
            "ThrottlingException",
            "RedactionFailure",
            "SomethingAwsAddsTomorrow",
            "NoErrorCode",
            "",
        ] {
            assert_eq!(entry_fault(code), EntryFault::Transient, "{code}");
        }
    }
}
