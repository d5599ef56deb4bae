//! The poller function: on each schedule, pull every org's System Log from Okta to the delivery
//! bus. Wiring only; the logic is `okta_relay::poller`.
//!
//! `okta-relay-poller run-once [SECONDS [OWNER]]` runs the same code path once outside Lambda (against
//! any `AWS_ENDPOINT_URL`) and prints the outcome as JSON on stdout (logs go to stderr): for
//! operators and tests.

use chrono::Utc;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use okta_relay::adapters::AwsWiring;
use okta_relay::clock::SystemClock;
use okta_relay::config::RelayConfig;
use okta_relay::poller::{OrgOutcome, PollerPorts, PollerService, RunSettings, effective_deadline};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// The scheduled event's content is not used: the configuration says what to poll.
async fn handler(
    service: &PollerService,
    event: LambdaEvent<Value>,
) -> Result<Vec<OrgOutcome>, Error> {
    let fallback = Duration::from_secs(service.config().max_run_seconds);
    let (deadline, fell_back) = effective_deadline(event.context.deadline, Utc::now(), fallback);
    if fell_back {
        tracing::warn!(
            max_run_seconds = fallback.as_secs(),
            "the runtime gave no usable deadline; using max_run_seconds"
        );
    }
    let outcomes = service.run(&event.context.request_id, deadline).await;
    okta_relay::metrics::publish(&outcomes, Utc::now().timestamp_millis());
    Ok(outcomes)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let run_once = args.next().as_deref() == Some("run-once");
    if run_once {
        okta_relay::telemetry::init_with_writer(std::io::stderr);
    } else {
        okta_relay::telemetry::init();
    }
    let clock = Arc::new(SystemClock);
    // Display, not Debug: start-up errors name the field in plain words.
    let config = Arc::new(RelayConfig::from_env().map_err(|e| e.to_string())?);
    let aws = AwsWiring::from_env(clock.clone(), config.aws_timeouts())
        .await
        .map_err(|e| e.to_string())?;
    let ports = PollerPorts {
        secrets: aws.secrets,
        streams: aws.state.clone(),
        dedupe: aws.state.clone(),
        health: aws.state,
        sink: aws.sink,
        clock,
    };
    let settings = RunSettings::from_config(&config);
    let service = Arc::new(PollerService::new(config, ports, settings)?);
    if run_once {
        let seconds: i64 = args
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(service.config().max_run_seconds as i64);
        // A stable owner (a supervisor restarting the same worker) takes its own lease and
        // claims back at once instead of waiting for them to expire.
        let owner = args
            .next()
            .unwrap_or_else(|| format!("local-{}", std::process::id()));
        let outcomes = service
            .run(&owner, Utc::now() + chrono::Duration::seconds(seconds))
            .await;
        println!("{}", serde_json::to_string_pretty(&outcomes)?);
        return Ok(());
    }
    lambda_runtime::run(service_fn(move |event| {
        let service = service.clone();
        async move { handler(&service, event).await }
    }))
    .await
}
