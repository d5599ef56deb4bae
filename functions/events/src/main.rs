//! The events function: Okta Log Streaming events from the partner event bus to the delivery
//! bus. Wiring only; the handler is `okta_relay::handlers::events`.

use lambda_runtime::{Error, service_fn};
use okta_relay::push::PushService;
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
    let service = Arc::new(PushService::from_ports(config, &ports));
    lambda_runtime::run(service_fn(move |event| {
        let service = service.clone();
        async move { okta_relay::handlers::events(&service, event).await }
    }))
    .await
}
