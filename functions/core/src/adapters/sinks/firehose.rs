//! [`EventSink`] on Amazon Data Firehose `PutRecordBatch`: batched delivery to HTTP SIEMs
//! (Splunk, Datadog, Elastic, any HTTP endpoint) and to an S3 archive, with Firehose's own
//! buffering, retries and backup of what its destination refused.
//!
//! A record is one JSON object and a newline, so an S3 destination holds NDJSON and an HTTP
//! destination gets one event per record: the fields the delivery bus's API destination posts
//! (`source`, `detail-type`, `time`, `detail`), so one SIEM parser reads both, and `org`, the
//! org's name in this deployment, which the S3 archive partitions by (OCSF records carry no
//! `relay` block). One call takes at most 500 records and 4 MiB, one record at most 1,000 KiB
//! ([`FIREHOSE_LIMITS`]); a record is measured as the entry's PutEvents size plus
//! [`FIREHOSE_RECORD_OVERHEAD`], which bounds what the envelope adds.
//!
//! Like PutEvents, PutRecordBatch answers 200 when records failed: each record's outcome is
//! read by position, and an answer without one per record fails the whole call. Firehose
//! documents two record codes, `ServiceUnavailableException` and `InternalFailure`, both
//! retryable; any code is sent again, and then fails the delivery, never quarantines a record.

use crate::adapters::AwsFailure;
use crate::limits::{
    FIREHOSE_MAX_RECORD_BYTES, FIREHOSE_MAX_RECORDS_PER_CALL, FIREHOSE_MAX_REQUEST_BYTES,
    FIREHOSE_RECORD_OVERHEAD,
};
use crate::ports::{EntryFault, EntryOutcome, EventSink, SinkEntry, SinkError, SinkLimits};
use async_trait::async_trait;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;

/// What one PutRecordBatch call takes.
pub const FIREHOSE_LIMITS: SinkLimits = SinkLimits::Fixed {
    max_entries: FIREHOSE_MAX_RECORDS_PER_CALL,
    max_request_bytes: FIREHOSE_MAX_REQUEST_BYTES,
    max_entry_bytes: FIREHOSE_MAX_RECORD_BYTES,
    entry_overhead: FIREHOSE_RECORD_OVERHEAD,
};

/// The record Firehose gets for `org`'s `entry`: `{"source", "detail-type", "time", "org",
/// "detail"}` and a newline. `Detail` is JSON text already and goes in as it is.
pub fn record_data(org: &str, entry: &SinkEntry) -> Vec<u8> {
    let string = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let mut data = Vec::with_capacity(entry.detail.len() + FIREHOSE_RECORD_OVERHEAD);
    data.extend_from_slice(b"{\"source\":");
    data.extend_from_slice(string(&entry.source).as_bytes());
    data.extend_from_slice(b",\"detail-type\":");
    data.extend_from_slice(string(&entry.detail_type).as_bytes());
    if let Some(time) = entry.time {
        data.extend_from_slice(b",\"time\":\"");
        let time = time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        data.extend_from_slice(time.as_bytes());
        data.push(b'"');
    }
    data.extend_from_slice(b",\"org\":");
    data.extend_from_slice(string(org).as_bytes());
    data.extend_from_slice(b",\"detail\":");
    data.extend_from_slice(entry.detail.as_bytes());
    data.extend_from_slice(b"}\n");
    data
}

/// A missing stream, a denied call, a key Firehose cannot use or a stream fed by Kinesis are
/// the deployment's; a refused request is invalid; the rest (`ServiceUnavailableException`,
/// which is also how Firehose throttles, 5xx, the network) can be retried.
fn sink_error(failure: AwsFailure) -> SinkError {
    const DEPLOYMENT: [&str; 3] = [
        "ResourceNotFoundException",
        "InvalidKMSResourceException",
        "InvalidSourceException",
    ];
    if DEPLOYMENT.iter().any(|c| failure.code_is(c)) || failure.is_access_denied() {
        SinkError::Configuration(failure.detail)
    } else if failure.code_is("InvalidArgumentException") {
        SinkError::Invalid(failure.detail)
    } else {
        SinkError::Transient(failure.detail)
    }
}

/// Puts one org's records on one Firehose delivery stream.
#[derive(Debug, Clone)]
pub struct FirehoseSink {
    client: aws_sdk_firehose::Client,
    stream: String,
    org: String,
}

impl FirehoseSink {
    pub fn new(
        client: aws_sdk_firehose::Client,
        stream: impl Into<String>,
        org: impl Into<String>,
    ) -> Self {
        Self {
            client,
            stream: stream.into(),
            org: org.into(),
        }
    }

    /// The stream's status (`ACTIVE` when it takes records), if it exists and may be described
    /// (`validate-config`).
    pub async fn describe(&self) -> Result<String, SinkError> {
        let out = self
            .client
            .describe_delivery_stream()
            .delivery_stream_name(&self.stream)
            .send()
            .await
            .map_err(|e| sink_error(AwsFailure::from_sdk(&e)))?;
        Ok(out
            .delivery_stream_description()
            .map(|d| d.delivery_stream_status().as_str().to_string())
            .unwrap_or_default())
    }
}

#[async_trait]
impl EventSink for FirehoseSink {
    async fn put(&self, entries: &[&SinkEntry]) -> Result<Vec<EntryOutcome>, SinkError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        if entries.len() > FIREHOSE_MAX_RECORDS_PER_CALL {
            return Err(SinkError::Invalid(format!(
                "{} records in one PutRecordBatch call; the limit is {FIREHOSE_MAX_RECORDS_PER_CALL}",
                entries.len()
            )));
        }
        let records = entries
            .iter()
            .map(|e| {
                Record::builder()
                    .data(Blob::new(record_data(&self.org, e)))
                    .build()
                    .map_err(|e| SinkError::Invalid(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = self
            .client
            .put_record_batch()
            .delivery_stream_name(&self.stream)
            .set_records(Some(records))
            .send()
            .await
            .map_err(|e| sink_error(AwsFailure::from_sdk(&e)))?;
        let results = output.request_responses();
        if results.len() != entries.len() {
            return Err(SinkError::Transient(format!(
                "PutRecordBatch answered {} results for {} records",
                results.len(),
                entries.len()
            )));
        }
        Ok(results
            .iter()
            .map(|r| match (r.record_id(), r.error_code()) {
                (Some(_), None) => EntryOutcome::Accepted,
                (_, code) => EntryOutcome::failed(
                    code.unwrap_or("NoErrorCode"),
                    r.error_message().unwrap_or_default(),
                    EntryFault::Transient,
                ),
            })
            .collect())
    }

    fn limits(&self) -> SinkLimits {
        FIREHOSE_LIMITS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_the_bus_event_with_the_org_and_a_newline() {
        let mut entry = SinkEntry {
            source: "okta-relay".into(),
            detail_type: "Okta User".into(),
            detail: r#"{"okta":{"id":"00u1"}}"#.into(),
            time: None,
            resources: vec![],
        };
        let data = record_data("acme", &entry);
        assert_eq!(
            String::from_utf8(data).unwrap(),
            "{\"source\":\"okta-relay\",\"detail-type\":\"Okta User\",\"org\":\"acme\",\"detail\":{\"okta\":{\"id\":\"00u1\"}}}\n"
        );
        entry.time = Some(chrono::Utc::now());
        let longest_org = "o".repeat(64);
        let data = record_data(&longest_org, &entry);
        let v: serde_json::Value = serde_json::from_slice(&data).unwrap();
        assert_eq!(v["detail"]["okta"]["id"], "00u1");
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
        assert!(
            data.len() <= entry.size() + FIREHOSE_RECORD_OVERHEAD,
            "{} bytes, planned as {}",
            data.len(),
            entry.size() + FIREHOSE_RECORD_OVERHEAD
        );
    }

    #[test]
    fn deployment_codes_are_configuration() {
        let failure = |code: &str| AwsFailure {
            code: Some(code.into()),
            detail: code.into(),
        };
        for code in ["ResourceNotFoundException", "InvalidKMSResourceException"] {
            assert!(matches!(
                sink_error(failure(code)),
                SinkError::Configuration(_)
            ));
        }
        assert!(matches!(
            sink_error(failure("ServiceUnavailableException")),
            SinkError::Transient(_)
        ));
        assert!(matches!(
            sink_error(failure("InvalidArgumentException")),
            SinkError::Invalid(_)
        ));
    }
}
