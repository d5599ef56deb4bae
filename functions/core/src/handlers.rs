//! The two Lambda handlers as plain functions: each `main.rs` wires one to the runtime, and
//! tests call them with a real `LambdaEvent` (`Context::default()` and a payload).
//!
//! Every log line of an invocation is inside its span: `request_id` here, then `org` and
//! `stream` in the stream's own span (docs/operate.md, Logs).
//!
//! A failed invocation returns a [`FunctionError`]: its stable code is the Lambda error type
//! operators see in the DLQ and CloudWatch. A function that cannot start answers every
//! invocation with `OktaRelay.Configuration` ([`unconfigured`]) instead of exiting, so the
//! reason reaches the same places under the same code.

use crate::config::{LiveConfig, RelayConfig};
use crate::function_error::{ErrorCode, FunctionError, catching_panics};
use crate::metrics;
use crate::poller::{OrgOutcome, PollerService, effective_deadline};
use crate::push::{Message, PushService};
use crate::summary::PushSummary;
use chrono::Utc;
use lambda_runtime::{LambdaEvent, service_fn};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// The org a poller invocation names: `{"org": "<name>"}` polls only that org (each org's own
/// schedule sends this, so one slow org never holds up another); an event without an `org`
/// key (a plain scheduled event) polls every org. An `org` that is not the name of a configured
/// org is refused: polling every org instead would hide the mistake.
fn named_org<'a>(
    payload: &'a Value,
    config: &RelayConfig,
) -> Result<Option<&'a str>, FunctionError> {
    let Some(named) = payload.as_object().and_then(|o| o.get("org")) else {
        return Ok(None);
    };
    match named.as_str() {
        Some(org) if config.orgs.iter().any(|o| o.name == org) => Ok(Some(org)),
        _ => {
            let shown: String = named.to_string().chars().take(80).collect();
            let message =
                format!("the invocation names org {shown}, which is not a configured org");
            tracing::error!(code = %ErrorCode::Configuration, error = %message, "poller invocation refused");
            Err(FunctionError::configuration(message))
        }
    }
}

fn names_an_unconfigured_org(payload: &Value, config: &RelayConfig) -> bool {
    payload
        .as_object()
        .and_then(|o| o.get("org"))
        .and_then(Value::as_str)
        .is_some_and(|org| !config.orgs.iter().any(|o| o.name == org))
}

/// The poller: polls the org the invocation names, or every configured org.
pub async fn poller(
    service: &PollerService,
    event: LambdaEvent<Value>,
) -> Result<Vec<OrgOutcome>, FunctionError> {
    let request_id = event.context.request_id.clone();
    let span = tracing::info_span!("invocation", request_id = %request_id);
    catching_panics(async {
        let fallback = Duration::from_secs(service.config().max_run_seconds);
        let (deadline, fell_back) =
            effective_deadline(event.context.deadline, Utc::now(), fallback);
        if fell_back {
            tracing::warn!(
                max_run_seconds = fallback.as_secs(),
                "the runtime gave no usable deadline; using max_run_seconds"
            );
        }
        let org = named_org(&event.payload, service.config())?;
        let outcomes = service.run_orgs(&request_id, deadline, org).await;
        metrics::publish(&outcomes, Utc::now().timestamp_millis());
        if let Some(lake) = service.write_lake(&request_id, deadline).await {
            metrics::publish_lake(
                lake.staged_age_seconds,
                lake.failed,
                Utc::now().timestamp_millis(),
            );
        }
        Ok(outcomes)
    })
    .instrument(span)
    .await
}

/// The events function: an SQS batch of partner events (the queue's event source mapping),
/// answered with the messages to deliver again (`batchItemFailures`, SQS's partial batch
/// response), or one partner event (a direct rule), answered with its summary or an error that
/// fails the invocation.
pub async fn events(
    service: &PushService,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Value, FunctionError> {
    let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
    // The runtime's deadline bounds each org's forwarding (a runtime that gives none, as
    // in tests and local emulators, leaves it unbounded).
    let (deadline, fell_back) =
        effective_deadline(event.context.deadline, Utc::now(), Duration::ZERO);
    let deadline = (!fell_back).then_some(deadline);
    catching_panics(async {
        match serde_json::from_str::<SqsEvent>(event.payload.get()) {
            Ok(batch) if !batch.records.is_empty() => {
                Ok(events_batch(service, &batch, deadline).await)
            }
            _ => serde_json::to_value(one_event(service, &event.payload).await?)
                .map_err(|e| FunctionError::new(ErrorCode::Internal, e.to_string())),
        }
    })
    .instrument(span)
    .await
}

/// The SQS event's messages (the fields the handler reads).
#[derive(Deserialize)]
struct SqsEvent {
    #[serde(rename = "Records", default)]
    records: Vec<SqsMessage>,
}

#[derive(Deserialize)]
struct SqsMessage {
    #[serde(rename = "messageId")]
    message_id: String,
    /// The EventBridge event, as JSON text.
    #[serde(default)]
    body: String,
}

async fn events_batch(
    service: &PushService,
    batch: &SqsEvent,
    deadline: Option<chrono::DateTime<Utc>>,
) -> Value {
    let mut failed = Vec::new();
    let mut bodies = Vec::with_capacity(batch.records.len());
    for record in &batch.records {
        match RawValue::from_string(record.body.clone()) {
            Ok(body) => bodies.push((record.message_id.as_str(), body)),
            Err(_) => {
                tracing::error!(message_id = %record.message_id, "an SQS message whose body is not JSON");
                failed.push(record.message_id.clone());
            }
        }
    }
    let batch: Vec<Message<'_>> = bodies
        .iter()
        .map(|(id, body)| Message { id, body })
        .collect();
    let outcome = service.handle_batch_until(&batch, deadline).await;
    let now = Utc::now().timestamp_millis();
    for summary in &outcome.summaries {
        metrics::publish_push(Ok(summary), now);
        tracing::info!(org = %summary.org, stream = crate::stream::PUSH, events = summary.events,
            forwarded = summary.forwarded, duplicates = summary.duplicates,
            filtered = summary.filtered, "partner events handled");
    }
    for failure in outcome.failures {
        let counted = metrics::PushFailure {
            org: failure.error.org(),
            fault: failure.error.fault(),
        };
        for _ in &failure.ids {
            metrics::publish_push(Err(counted), now);
        }
        tracing::error!(org = failure.error.org().unwrap_or(metrics::UNMATCHED_ORG),
            stream = crate::stream::PUSH, code = %FunctionError::from(&failure.error).code,
            kind = %failure.error.kind(), fault = %failure.error.fault(), error = %failure.error,
            messages = failure.ids.len(), "partner events not forwarded; the queue delivers them again");
        failed.extend(failure.ids);
    }
    let failures: Vec<Value> = failed
        .into_iter()
        .map(|id| serde_json::json!({ "itemIdentifier": id }))
        .collect();
    serde_json::json!({ "batchItemFailures": failures })
}

async fn one_event(
    service: &PushService,
    payload: &RawValue,
) -> Result<PushSummary, FunctionError> {
    let result = service.handle(payload).await;
    let now = Utc::now().timestamp_millis();
    let counted = result.as_ref().map_err(|e| metrics::PushFailure {
        org: e.org(),
        fault: e.fault(),
    });
    metrics::publish_push(counted, now);
    match result {
        Ok(summary) => {
            tracing::info!(org = %summary.org, stream = crate::stream::PUSH,
                uuid = %summary.uuid, event_type = %summary.event_type,
                forwarded = summary.forwarded, duplicates = summary.duplicates,
                filtered = summary.filtered, "partner event handled");
            Ok(summary)
        }
        Err(e) => {
            let error = FunctionError::from(&e);
            tracing::error!(org = e.org().unwrap_or(metrics::UNMATCHED_ORG),
                stream = crate::stream::PUSH, code = %error.code, kind = %e.kind(),
                fault = %e.fault(), error = %e, "partner event not forwarded");
            Err(error)
        }
    }
}

/// The poller's runtime loop, each invocation on the current configuration ([`LiveConfig`]).
pub async fn serve_poller(
    live: Arc<LiveConfig<PollerService>>,
) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let live = live.clone();
        async move {
            let mut service = live.current().await?;
            // A new org's schedule may fire before the reload: read the store now.
            if names_an_unconfigured_org(&event.payload, service.config()) {
                service = live.refresh().await?;
            }
            poller(&service, event).await
        }
    }))
    .await
}

/// The events function's runtime loop, each invocation on the current configuration.
pub async fn serve_events(live: Arc<LiveConfig<PushService>>) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let live = live.clone();
        async move { events_live(&live, event).await }
    }))
    .await
}

/// One events invocation on the live configuration: the current one, or, when the invocation
/// carries an event from a partner source no org has, the stored one read again (a new org's
/// Log Streaming may start before the reload), as the poller does for an unknown org.
pub async fn events_live(
    live: &LiveConfig<PushService>,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Value, FunctionError> {
    let mut service = live.current().await?;
    if names_an_unknown_partner_source(&event.payload, &service.config) {
        service = live.refresh().await?;
    }
    events(&service, event).await
}

/// Whether an events invocation (an SQS batch, or one EventBridge event) carries an event from
/// an Okta partner event source no configured org has. Reads only each event's `source`.
fn names_an_unknown_partner_source(payload: &RawValue, config: &RelayConfig) -> bool {
    #[derive(Deserialize)]
    struct Source {
        #[serde(default)]
        source: String,
    }
    let unknown = |text: &str| {
        serde_json::from_str::<Source>(text).is_ok_and(|e| {
            e.source.starts_with(crate::config::OKTA_PARTNER_PREFIX)
                && config.org_for_partner_source(&e.source).is_none()
        })
    };
    match serde_json::from_str::<SqsEvent>(payload.get()) {
        Ok(batch) if !batch.records.is_empty() => batch.records.iter().any(|r| unknown(&r.body)),
        _ => unknown(payload.get()),
    }
}

/// The runtime loop of a function that could not start: every invocation fails with
/// `OktaRelay.Configuration` and `message` (which names the field, never a secret value).
pub async fn unconfigured(message: String) -> Result<(), lambda_runtime::Error> {
    tracing::error!(code = %ErrorCode::Configuration, error = %message, "the function cannot start");
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| {
        let error = FunctionError::configuration(message.clone());
        async move { Err::<Value, _>(error) }
    }))
    .await
}
