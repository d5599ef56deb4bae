//! Structured JSON logs for both functions.
//!
//! One JSON object per line on stdout (CloudWatch Logs indexes the fields). The level follows
//! Lambda's `AWS_LAMBDA_LOG_LEVEL`, then `RUST_LOG`, then `INFO`. Nothing secret is ever a log
//! field: secrets are `SecretString`s and header values are marked sensitive.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the JSON subscriber writing to stdout. Safe to call twice (the second is a no-op).
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// Installs the JSON subscriber writing to `writer` (tests capture logs this way).
pub fn init_with_writer<W>(writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    init_with(writer, "info");
}

/// Installs the JSON subscriber writing to `writer`, at `default_level` unless the environment
/// sets one (the operator CLI logs warnings only by default: its output is the report).
pub fn init_with<W>(writer: W, default_level: &str)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| default_level.to_string())
        .to_ascii_lowercase();
    let filter = EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_env_filter(filter)
        .with_writer(writer)
        .try_init();
}
