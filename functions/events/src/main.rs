//! The events function: Okta Log Streaming events from the partner event bus to the delivery
//! bus. Wiring only; the logic is `okta_relay::push`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use okta_relay::adapters::AwsWiring;
use okta_relay::clock::SystemClock;
use okta_relay::config::RelayConfig;
use okta_relay::push::{PushService, PushSummary};
use serde_json::value::RawValue;
use std::sync::Arc;

/// One partner event per invocation. An error fails the invocation so Lambda retries it and
/// then sends it to the on-failure destination.
async fn handler(
    service: &PushService,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<PushSummary, Error> {
    let result = service.handle(&event.payload).await;
    okta_relay::metrics::publish_push(result.as_ref(), chrono::Utc::now().timestamp_millis());
    match result {
        Ok(summary) => {
            tracing::info!(org = %summary.org, stream = "push", uuid = %summary.uuid, event_type = %summary.event_type,
                forwarded = summary.forwarded, duplicates = summary.duplicates, filtered = summary.filtered,
                request_id = %event.context.request_id, "partner event handled");
            Ok(summary)
        }
        Err(e) => {
            tracing::error!(org = e.org().unwrap_or(okta_relay::metrics::UNMATCHED_ORG), stream = "push",
                kind = %e.kind(), error = %e, request_id = %event.context.request_id, "partner event not forwarded");
            Err(e.into())
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    okta_relay::telemetry::init();
    let clock = Arc::new(SystemClock);
    // Display, not Debug: start-up errors name the field in plain words.
    let config = Arc::new(RelayConfig::from_env().map_err(|e| e.to_string())?);
    let aws = AwsWiring::from_env(clock.clone(), config.aws_timeouts())
        .await
        .map_err(|e| e.to_string())?;
    let service = Arc::new(PushService::new(
        config,
        aws.state.clone(),
        aws.state,
        aws.sink,
        clock,
    ));
    lambda_runtime::run(service_fn(move |event| {
        let service = service.clone();
        async move { handler(&service, event).await }
    }))
    .await
}
