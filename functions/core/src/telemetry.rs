//! Structured JSON logs for both functions and the CLI.
//!
//! One JSON object per line (CloudWatch Logs indexes the fields): `timestamp`, `level`,
//! `target`, `message`, the event's fields, and the fields of every span it is in, at the top
//! level: `request_id` (the invocation's span), `org` and `stream` (the stream run's span;
//! `stream` is the stream's name only). `span` holds the span fields as well, the Lambda
//! runtime's `requestId` among them. The level follows Lambda's `AWS_LAMBDA_LOG_LEVEL`, then
//! `RUST_LOG`, then `INFO`. Nothing secret is ever a log field: secrets are `SecretString`s and
//! header values are marked sensitive.

use serde_json::{Map, Value};
use std::fmt;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

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
        .fmt_fields(JsonFields::new())
        .event_format(JsonLines)
        .with_env_filter(filter)
        .with_writer(writer)
        .try_init();
}

/// One JSON object per event, span fields lifted to the top level (see the module doc).
struct JsonLines;

impl<S> FormatEvent<S, JsonFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Value::String(chrono::Utc::now().to_rfc3339()),
        );
        line.insert("level".into(), Value::String(meta.level().as_str().into()));
        line.insert("target".into(), Value::String(meta.target().into()));
        let mut spans = Map::new();
        for span in ctx.event_scope().into_iter().flat_map(|s| s.from_root()) {
            let extensions = span.extensions();
            let Some(fields) = extensions.get::<FormattedFields<JsonFields>>() else {
                continue;
            };
            if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(fields) {
                spans.extend(fields);
            }
        }
        line.extend(spans.clone());
        event.record(&mut FieldsVisitor(&mut line));
        if !spans.is_empty() {
            line.insert("span".into(), Value::Object(spans));
        }
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// An event's fields into a JSON object.
struct FieldsVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for FieldsVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().into(), Value::String(value.into()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::String(format!("{value:?}")));
    }
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

    #[derive(Clone, Default)]
    struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_carries_the_fields_of_its_spans() {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let invocation = tracing::info_span!("invocation", request_id = "r-1");
            let _i = invocation.enter();
            let stream = tracing::info_span!("stream", org = "acme", stream = "logs");
            let _s = stream.enter();
            tracing::info!(events = 3, "page done");
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["message"], "page done");
        assert_eq!(line["events"], 3);
        assert_eq!(line["level"], "INFO");
        assert_eq!(
            (&line["request_id"], &line["org"], &line["stream"]),
            (
                &Value::from("r-1"),
                &Value::from("acme"),
                &Value::from("logs")
            )
        );
        assert_eq!(line["span"]["request_id"], "r-1");
    }

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
