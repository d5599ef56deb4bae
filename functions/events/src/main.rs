//! The events function: Okta Log Streaming events from the partner event bus to the delivery
//! bus. Wiring only; the handler is `okta_relay::handlers::events`.

use lambda_runtime::Error;
use okta_relay::push::PushService;
use std::sync::Arc;

/// mimalloc, not glibc's allocator: the SDK allocates per request, and glibc spent ~15 % of
/// the poller's CPU in malloc and free (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    okta_relay::telemetry::init();
    let live = okta_relay::adapters::function_from_env(|config, ports| {
        Ok(PushService::from_ports(config, &ports))
    })
    .await;
    match live {
        Ok(live) => okta_relay::handlers::serve_events(Arc::new(live)).await,
        // Display, not Debug: start-up errors name the field in plain words.
        Err(e) => okta_relay::handlers::unconfigured(e.to_string()).await,
    }
}
