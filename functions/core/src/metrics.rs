//! CloudWatch metrics as Embedded Metric Format (EMF) lines: one JSON object per stream outcome,
//! printed to stdout, which Lambda ships to CloudWatch Logs and CloudWatch turns into metrics
//! without an API call (no `cloudwatch:PutMetricData` permission, no extra latency).
//!
//! Namespace `OktaRelay`. Every metric is published per `Org` + `Stream` and per `Org`, so an
//! alarm can watch one stream's lag (`LagSeconds`) or any failing stream of an org
//! (`StreamErrors`). The infra alarms (infra/cdk, infra/terraform) use these names.

use crate::poller::OrgOutcome;
use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "OktaRelay";

/// The EMF object for one stream's outcome at `timestamp_ms`.
pub fn emf(outcome: &OrgOutcome, timestamp_ms: i64) -> Value {
    let s = &outcome.summary;
    let mut values: Vec<(&str, f64, &str)> = vec![
        ("Pages", s.pages as f64, "Count"),
        ("Forwarded", s.forwarded as f64, "Count"),
        ("Duplicates", s.duplicates as f64, "Count"),
        ("Filtered", s.filtered as f64, "Count"),
        ("Oversize", s.oversize as f64, "Count"),
        (
            "StreamErrors",
            f64::from(u8::from(outcome.error.is_some())),
            "Count",
        ),
    ];
    if let Some(lag) = s.lag_seconds {
        values.push(("LagSeconds", lag.max(0) as f64, "Seconds"));
    }
    let mut object = Map::new();
    object.insert("Org".into(), json!(outcome.org));
    object.insert("Stream".into(), json!(outcome.stream));
    let definitions: Vec<Value> = values
        .iter()
        .map(|(name, _, unit)| json!({"Name": name, "Unit": unit}))
        .collect();
    for (name, value, _) in &values {
        object.insert((*name).into(), json!(value));
    }
    object.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Org", "Stream"], ["Org"]],
                "Metrics": definitions,
            }],
        }),
    );
    Value::Object(object)
}

/// Prints one EMF line per outcome to stdout (where Lambda's log capture reads it).
pub fn publish(outcomes: &[OrgOutcome], timestamp_ms: i64) {
    for outcome in outcomes {
        println!("{}", emf(outcome, timestamp_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poller::StreamSummary;

    fn outcome(error: Option<&str>, lag: Option<i64>) -> OrgOutcome {
        let summary = StreamSummary {
            pages: 3,
            forwarded: 2500,
            duplicates: 4,
            lag_seconds: lag,
            ..StreamSummary::default()
        };
        OrgOutcome {
            org: "acme".into(),
            stream: "logs".into(),
            summary,
            error: error.map(str::to_string),
            error_kind: None,
            backoff_until: None,
            due_reason: None,
            next_poll_at: None,
            push: None,
        }
    }

    #[test]
    fn an_outcome_becomes_one_emf_object_with_the_alarm_dimensions() {
        let v = emf(&outcome(None, Some(42)), 1_700_000_000_000);
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "OktaRelay");
        assert_eq!(cw["Dimensions"], json!([["Org", "Stream"], ["Org"]]));
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000i64);
        // Every declared metric has its value at the top level (EMF's rule).
        for m in cw["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            assert!(v[name].is_number(), "{name} has a value");
        }
        assert_eq!(v["Org"], "acme");
        assert_eq!(v["Stream"], "logs");
        assert_eq!(v["Forwarded"], 2500.0);
        assert_eq!(v["LagSeconds"], 42.0);
        assert_eq!(v["StreamErrors"], 0.0);
    }

    #[test]
    fn a_failed_stream_counts_one_error_and_no_lag_when_nothing_was_seen() {
        let v = emf(&outcome(Some("okta said 401"), None), 0);
        assert_eq!(v["StreamErrors"], 1.0);
        assert!(v.get("LagSeconds").is_none());
        let names: Vec<&str> = v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert!(!names.contains(&"LagSeconds"));
        // The error text is not a metric or dimension (it is logged, not published).
        assert!(!v.to_string().contains("401"));
    }
}
