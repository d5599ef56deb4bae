//! The two Lambda handlers as plain functions: each `main.rs` wires one to the runtime, and
//! tests call them with a real `LambdaEvent` (`Context::default()` and a payload).
//!
//! Every log line of an invocation is inside its span: `request_id` here, then `org` and
//! `stream` in the stream's own span (see the README's logging section).

use crate::metrics;
use crate::poller::{OrgOutcome, PollerService, effective_deadline};
use crate::push::PushService;
use crate::summary::PushSummary;
use chrono::Utc;
use lambda_runtime::{Error, LambdaEvent};
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

/// The events function: one partner event per invocation. An error fails the invocation, so
/// Lambda (or the partner rule) retries it and then sends it to the dead-letter queue.
pub async fn events(
    service: &PushService,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<PushSummary, Error> {
    let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
    async {
        let result = service.handle(&event.payload).await;
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
    .instrument(span)
    .await
}
