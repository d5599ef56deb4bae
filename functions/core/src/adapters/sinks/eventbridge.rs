//! [`EventSink`] on EventBridge `PutEvents`.
//!
//! PutEvents answers HTTP 200 even when entries failed: the per-entry results are mapped back
//! by position, and a response that does not have one result per entry is treated as a failure
//! of the whole call. Each entry error code is read as AWS documents it ([`entry_fault`]): only
//! `InvalidArgument` and `MalformedDetail` refuse the record itself; a code not on AWS's list
//! (or none at all) is transient, so it is sent again and then fails the delivery, never
//! quarantines a record. The request's body is written by [`put_events_body`].

use crate::adapters::AwsFailure;
use crate::adapters::sinks::put_events_body::{self, WrittenBody};
use crate::limits::PUT_EVENTS_MAX_ENTRIES;
use crate::ports::{EntryFault, EntryOutcome, EventSink, SinkEntry, SinkError};
use async_trait::async_trait;

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
        if entries.len() > PUT_EVENTS_MAX_ENTRIES {
            return Err(SinkError::Invalid(format!(
                "{} entries in one PutEvents call; the limit is {PUT_EVENTS_MAX_ENTRIES}",
                entries.len()
            )));
        }
        // The SDK sends and signs the body written here, not one of its own (`put_events_body`).
        let body = put_events_body::write(&self.bus, entries);
        let output = self
            .client
            .put_events()
            .customize()
            .interceptor(WrittenBody(body))
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
    use aws_sdk_eventbridge::config::retry::RetryConfig;
    use aws_sdk_eventbridge::config::{BehaviorVersion, Credentials, Region};
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn entry(detail: &str) -> SinkEntry {
        SinkEntry {
            source: "okta-relay.okta.example".into(),
            detail_type: "Okta System Log".into(),
            detail: detail.into(),
            time: None,
            resources: vec![],
        }
    }

    /// Every request on the wire, the SDK's retry of a 500 too, carries the body
    /// `put_events_body` wrote, and its SigV4 signature, recomputed here by AWS's signer from
    /// what arrived, is of that body: what EventBridge checks before it reads an entry.
    #[tokio::test]
    async fn put_sends_the_written_body_signed_on_every_attempt() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500).set_body_raw(
                r#"{"__type":"InternalFailure","message":"try again"}"#,
                "application/x-amz-json-1.1",
            ))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                r#"{"FailedEntryCount":1,"Entries":[{"EventId":"a"},{"ErrorCode":"MalformedDetail","ErrorMessage":"no"}]}"#,
                "application/x-amz-json-1.1",
            ))
            .mount(&server)
            .await;
        let credentials = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI", None, None, "test");
        let config = aws_sdk_eventbridge::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(credentials.clone())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(2)
                    .with_initial_backoff(std::time::Duration::from_millis(1)),
            )
            .endpoint_url(server.uri())
            .build();
        let sink = EventBridgeSink::new(aws_sdk_eventbridge::Client::from_conf(config), "bus");
        let (first, second) = (entry(r#"{"a":"\"q\""}"#), entry("{}"));

        let outcomes = sink.put(&[&first, &second]).await.expect("put");
        assert_eq!(outcomes[0], EntryOutcome::Accepted);
        assert!(matches!(outcomes[1], EntryOutcome::Failed { .. }));

        let received = server.received_requests().await.expect("recorded");
        assert_eq!(received.len(), 2, "the 500, then its retry");
        let written = put_events_body::write("bus", &[&first, &second]);
        for request in &received {
            assert_signed_body(request, &written, &credentials);
        }
    }

    /// `request` carries `written` with its length, signed by `credentials` over that body.
    fn assert_signed_body(request: &wiremock::Request, written: &[u8], credentials: &Credentials) {
        assert_eq!(request.body, written);
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(header("content-length"), written.len().to_string());

        let authorization = header("authorization");
        let part = |name: &str| {
            authorization
                .split([' ', ','])
                .find_map(|p| p.strip_prefix(name))
                .expect("part of the authorization header")
                .to_string()
        };
        let signed_names = part("SignedHeaders=");
        let signed: Vec<(String, String)> = signed_names
            .split(';')
            .map(|name| (name.to_string(), header(name)))
            .collect();
        let at = chrono::NaiveDateTime::parse_from_str(&header("x-amz-date"), "%Y%m%dT%H%M%SZ")
            .expect("x-amz-date");
        let time = std::time::UNIX_EPOCH
            + std::time::Duration::from_secs(at.and_utc().timestamp().try_into().unwrap());
        let identity = credentials.clone().into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("eu-west-1")
            .name("events")
            .time(time)
            .settings(aws_sigv4::http_request::SigningSettings::default())
            .build()
            .expect("params")
            .into();
        let signable = aws_sigv4::http_request::SignableRequest::new(
            "POST",
            request.url.as_str(),
            signed.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            aws_sigv4::http_request::SignableBody::Bytes(&request.body),
        )
        .expect("signable");
        let (_, signature) = aws_sigv4::http_request::sign(signable, &params)
            .expect("sign")
            .into_parts();
        assert_eq!(part("Signature="), signature);
    }

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
