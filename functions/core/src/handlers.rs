//! The two Lambda handlers as plain functions: each `main.rs` wires one to the runtime, and
//! tests call them with a real `LambdaEvent` (`Context::default()` and a payload).
//!
//! Every log line of an invocation is inside its span: `request_id` here, then `org` and
//! `stream` in the stream's own span (see the README's logging section).

use crate::metrics;
use crate::poller::{OrgOutcome, PollerService, effective_deadline};
use crate::push::{Message, PushService};
use crate::summary::PushSummary;
use chrono::Utc;
use lambda_runtime::{Error, LambdaEvent};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::time::Duration;
use tracing::Instrument;

/// The poller: the scheduled event's content is not used, the configuration says what to poll.
pub async fn poller(
    service: &PollerService,
    event: LambdaEvent<Value>,
) -> Result<Vec<OrgOutcome>, Error> {
    let request_id = event.context.request_id.clone();
    let span = tracing::info_span!("invocation", request_id = %request_id);
    async {
        let fallback = Duration::from_secs(service.config().max_run_seconds);
        let (deadline, fell_back) =
            effective_deadline(event.context.deadline, Utc::now(), fallback);
        if fell_back {
            tracing::warn!(
                max_run_seconds = fallback.as_secs(),
                "the runtime gave no usable deadline; using max_run_seconds"
            );
        }
        let outcomes = service.run(&request_id, deadline).await;
        metrics::publish(&outcomes, Utc::now().timestamp_millis());
        Ok(outcomes)
    }
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
) -> Result<Value, Error> {
    let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
    async {
        match serde_json::from_str::<SqsEvent>(event.payload.get()) {
            Ok(batch) if !batch.records.is_empty() => Ok(events_batch(service, &batch).await),
            _ => Ok(serde_json::to_value(
                one_event(service, &event.payload).await?,
            )?),
        }
    }
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

async fn events_batch(service: &PushService, batch: &SqsEvent) -> Value {
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
    let outcome = service.handle_batch(&batch).await;
    let now = Utc::now().timestamp_millis();
    for summary in &outcome.summaries {
        metrics::publish_push(Ok(summary), now);
        tracing::info!(org = %summary.org, stream = crate::stream::PUSH, events = summary.events,
            forwarded = summary.forwarded, duplicates = summary.duplicates,
            filtered = summary.filtered, "partner events handled");
    }
    for failure in outcome.failures {
        for _ in &failure.ids {
            metrics::publish_push(Err(failure.error.org()), now);
        }
        tracing::error!(org = failure.error.org().unwrap_or(metrics::UNMATCHED_ORG),
            stream = crate::stream::PUSH, kind = %failure.error.kind(), error = %failure.error,
            messages = failure.ids.len(), "partner events not forwarded; the queue delivers them again");
        failed.extend(failure.ids);
    }
    let failures: Vec<Value> = failed
        .into_iter()
        .map(|id| serde_json::json!({ "itemIdentifier": id }))
        .collect();
    serde_json::json!({ "batchItemFailures": failures })
}

async fn one_event(service: &PushService, payload: &RawValue) -> Result<PushSummary, Error> {
    let result = service.handle(payload).await;
    let now = Utc::now().timestamp_millis();
    metrics::publish_push(result.as_ref().map_err(|e| e.org()), now);
    match result {
        Ok(summary) => {
            tracing::info!(org = %summary.org, stream = crate::stream::PUSH,
                uuid = %summary.uuid, event_type = %summary.event_type,
                forwarded = summary.forwarded, duplicates = summary.duplicates,
                filtered = summary.filtered, "partner event handled");
            Ok(summary)
        }
        Err(e) => {
            tracing::error!(org = e.org().unwrap_or(metrics::UNMATCHED_ORG),
                stream = crate::stream::PUSH, kind = %e.kind(), error = %e,
                "partner event not forwarded");
            Err(e.into())
        }
    }
}
