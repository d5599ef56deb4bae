//! The poller function: on each schedule, pull every org's System Log and directory from Okta
//! to the delivery bus. Wiring only; the handler is `okta_relay::handlers::poller`, and
//! `okta-relay-ctl run` runs the same code path from the command line.

use lambda_runtime::{Error, service_fn};
use okta_relay::poller::{PollerService, RunSettings};
use std::sync::Arc;

/// mimalloc, not glibc's allocator: the SDK allocates per request, and glibc spent ~15 % of
/// the poller's CPU in malloc and free (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    okta_relay::telemetry::init();
    // Display, not Debug: start-up errors name the field in plain words.
    let (config, ports) = match okta_relay::adapters::function_from_env().await {
        Ok(wired) => wired,
        Err(e) => return okta_relay::handlers::unconfigured(e.to_string()).await,
    };
    let settings = RunSettings::from_config(&config);
    let service = match PollerService::new(config, ports, settings) {
        Ok(service) => Arc::new(service),
        Err(e) => return okta_relay::handlers::unconfigured(e.to_string()).await,
    };
    lambda_runtime::run(service_fn(move |event| {
        let service = service.clone();
        async move { okta_relay::handlers::poller(&service, event).await }
    }))
    .await
}
