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
    let level = log_level(
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
        default_level,
    );
    let filter = EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new(default_level));
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

/// The filter directive: Lambda's log level (`TRACE`…`FATAL`, set by the function's logging
/// configuration) first, then `RUST_LOG`, then `default_level`. Lambda's `FATAL` is `error`
/// (tracing has no fatal level).
pub fn log_level(lambda: Option<&str>, rust_log: Option<&str>, default_level: &str) -> String {
    let chosen = lambda
        .or(rust_log)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .unwrap_or(default_level)
        .to_ascii_lowercase();
    if chosen == "fatal" {
        "error".to_string()
    } else {
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambdas_log_level_wins_then_rust_log_then_the_default() {
        assert_eq!(log_level(Some("DEBUG"), Some("warn"), "info"), "debug");
        assert_eq!(
            log_level(None, Some("okta_relay=trace"), "info"),
            "okta_relay=trace"
        );
        assert_eq!(log_level(None, None, "warn"), "warn");
        assert_eq!(log_level(Some(" "), None, "info"), "info");
        assert_eq!(log_level(Some("FATAL"), None, "info"), "error");
        for level in ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"] {
            let directive = log_level(Some(level), None, "info");
            assert!(EnvFilter::try_new(&directive).is_ok(), "{level}");
        }
    }
}
