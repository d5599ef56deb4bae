//! CloudWatch metrics as Embedded Metric Format (EMF) lines: one JSON object per stream outcome
//! (poller) or per partner event (events function), printed to stdout, which Lambda ships to
//! CloudWatch Logs and CloudWatch turns into metrics without an API call (no
//! `cloudwatch:PutMetricData` permission, no extra latency).
//!
//! Namespace `OktaRelay`. Every count is a field of the line (Logs Insights can sum any of
//! them), but a CloudWatch metric exists only where something reads it: each metric and
//! dimension set is billed ($0.30 a month), and at two dimension sets for every count the metrics
//! were 72 % of an org's monthly cost (BENCHMARKS.md, "Many orgs"). [`PER_STREAM`] are published
//! per `Org` + `Stream` (a stream's lag, records and Okta headroom) and [`PER_ORG`] per `Org` (the
//! per-org alarms and the dashboard's failure widgets, errors split by whose fault, one per
//! [`Fault`]). infra/tests/parity.py checks that every metric the alarms and the dashboard read
//! is published with their dimensions; docs/operate.md lists them all.

use crate::Fault;
use crate::stream::PUSH as PUSH_STREAM;
use crate::summary::{OrgOutcome, PushSummary};
use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "OktaRelay";

/// The `Org` dimension of a partner event that matched no configured org.
pub const UNMATCHED_ORG: &str = "unmatched";

/// One metric: name, value, CloudWatch unit.
type Metric = (&'static str, f64, &'static str);

/// The metrics published per org and stream (`[Org, Stream]`).
pub const PER_STREAM: [&str; 3] = ["Forwarded", "LagSeconds", "RateLimitRemaining"];

/// The metrics published per org (`[Org]`).
pub const PER_ORG: [&str; 9] = [
    "StreamErrors",
    "Overdue",
    "Quarantined",
    "Duplicates",
    "MalformedPublished",
    "ErrorsOktaConfiguration",
    "ErrorsOktaTransient",
    "ErrorsAws",
    "ErrorsRelay",
];

/// The metrics of the deployment's lake staging (`[Stream]` = `lake`): how long the oldest
/// staged object has waited, and failed writes from staging to the lake.
pub const PER_DEPLOYMENT: [&str; 2] = ["LakeStagedAgeSeconds", "LakeWriteErrors"];

/// The `Stream` dimension of the lake's staging metrics.
pub const LAKE_STREAM: &str = "lake";

fn count(name: &'static str, value: impl Into<f64>) -> Metric {
    (name, value.into(), "Count")
}

/// One count per [`Fault`]: 1 for the failure's, 0 for the others (so each has data), plus
/// `refused` fan-out streams Okta refused (each Okta's configuration error).
fn faults(failed: Option<Fault>, refused: usize) -> impl Iterator<Item = Metric> {
    Fault::ALL.into_iter().map(move |f| {
        let refused = if f == Fault::OktaConfiguration {
            refused
        } else {
            0
        };
        count(
            f.metric(),
            (usize::from(failed == Some(f)) + refused) as f64,
        )
    })
}

/// The EMF object for `values` of one org's stream at `timestamp_ms`.
fn emf_object(org: &str, stream: &str, values: &[Metric], timestamp_ms: i64) -> Value {
    let mut object = Map::new();
    object.insert("Org".into(), json!(org));
    object.insert("Stream".into(), json!(stream));
    for (name, value, _) in values {
        object.insert((*name).into(), json!(value));
    }
    let directive = |dimensions: Value, published: &[&str]| {
        let definitions: Vec<Value> = values
            .iter()
            .filter(|(name, _, _)| published.contains(name))
            .map(|(name, _, unit)| json!({"Name": name, "Unit": unit}))
            .collect();
        (!definitions.is_empty()).then(
            || json!({"Namespace": NAMESPACE, "Dimensions": [dimensions], "Metrics": definitions}),
        )
    };
    let directives: Vec<Value> = [
        directive(json!(["Org", "Stream"]), &PER_STREAM),
        directive(json!(["Org"]), &PER_ORG),
    ]
    .into_iter()
    .flatten()
    .collect();
    object.insert(
        "_aws".into(),
        json!({ "Timestamp": timestamp_ms, "CloudWatchMetrics": directives }),
    );
    Value::Object(object)
}

/// The EMF object for one poller stream outcome at `timestamp_ms`.
pub fn emf(outcome: &OrgOutcome, timestamp_ms: i64) -> Value {
    let s = &outcome.summary;
    let failed = outcome.error.is_some();
    // A fan-out stream Okta refused is a failed stream of its own, though its parent ran.
    let refused = s.refused_children.len();
    let mut values: Vec<Metric> = vec![
        count("Pages", s.pages as f64),
        count("Forwarded", s.forwarded as f64),
        count("Duplicates", s.duplicates as f64),
        count("Filtered", s.filtered as f64),
        count("Oversize", s.oversize as f64),
        count("PutEventsFailedEntries", s.failed_entries as f64),
        count("Quarantined", s.quarantined as f64),
        count("UnmarkedDeliveries", s.unmarked as f64),
        count("MalformedPublished", s.malformed_published as f64),
        count("StreamErrors", (usize::from(failed) + refused) as f64),
        // 1 when the stream had not succeeded within its interval plus the slack.
        count("Overdue", u8::from(outcome.overdue)),
        // 1 when the stream ran or rested as planned; 0 when it failed or is backing off
        // after configuration errors.
        count(
            "Healthy",
            u8::from(!failed && outcome.backoff_until.is_none()),
        ),
    ];
    values.extend(faults(
        outcome.error.as_ref().and(outcome.error_fault),
        refused,
    ));
    if let Some(lag) = s.lag_seconds {
        values.push(("LagSeconds", lag.max(0) as f64, "Seconds"));
    }
    if let Some(headroom) = s.rate_limit {
        values.push(count("RateLimitRemaining", headroom.remaining));
        values.push(count("RateLimitLimit", headroom.limit));
    }
    emf_object(&outcome.org, &outcome.stream, &values, timestamp_ms)
}

/// What a failed partner event is counted under: the org it belonged to (once its source
/// matched one) and whose fault the failure was.
#[derive(Debug, Clone, Copy)]
pub struct PushFailure<'a> {
    pub org: Option<&'a str>,
    pub fault: Fault,
}

/// The EMF object for one partner event the events function handled, or failed to.
pub fn push_emf(result: Result<&PushSummary, PushFailure<'_>>, timestamp_ms: i64) -> Value {
    match result {
        Ok(s) => {
            let mut values = vec![
                count("Events", s.events as f64),
                count("Forwarded", s.forwarded as f64),
                count("Duplicates", s.duplicates as f64),
                count("Filtered", s.filtered as f64),
                count("OldEvents", s.old as f64),
                count("DroppedOld", s.dropped_old as f64),
                count("Oversize", s.oversize as f64),
                count("PutEventsFailedEntries", s.failed_entries as f64),
                count("Quarantined", s.quarantined as f64),
                count("MalformedPublished", s.malformed_published as f64),
                count("StreamErrors", 0),
                count("Healthy", 1),
            ];
            values.extend(faults(None, 0));
            if let Some(published) = s.published {
                let lag = (timestamp_ms - published.timestamp_millis()).max(0) as f64 / 1000.0;
                values.push(("LagSeconds", lag, "Seconds"));
            }
            emf_object(&s.org, PUSH_STREAM, &values, timestamp_ms)
        }
        Err(failure) => {
            let mut values = vec![
                count("Events", 1),
                count("StreamErrors", 1),
                count("Healthy", 0),
            ];
            values.extend(faults(Some(failure.fault), 0));
            let org = failure.org.unwrap_or(UNMATCHED_ORG);
            emf_object(org, PUSH_STREAM, &values, timestamp_ms)
        }
    }
}

/// The EMF object of one write from staging to the lake: the age of the oldest staged object
/// left waiting (known when the write succeeded), and whether it failed.
pub fn lake_emf(staged_age_seconds: Option<i64>, failed: bool, timestamp_ms: i64) -> Value {
    let mut values: Vec<Metric> = vec![count("LakeWriteErrors", u8::from(failed))];
    if let Some(age) = staged_age_seconds {
        values.push(("LakeStagedAgeSeconds", age.max(0) as f64, "Seconds"));
    }
    let mut object = Map::new();
    object.insert("Stream".into(), json!(LAKE_STREAM));
    for (name, value, _) in &values {
        object.insert((*name).into(), json!(value));
    }
    let definitions: Vec<Value> = values
        .iter()
        .map(|(name, _, unit)| json!({"Name": name, "Unit": unit}))
        .collect();
    object.insert(
        "_aws".into(),
        json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": [
            {"Namespace": NAMESPACE, "Dimensions": [["Stream"]], "Metrics": definitions}
        ]}),
    );
    Value::Object(object)
}

/// Prints the EMF line of one write from staging to the lake.
pub fn publish_lake(staged_age_seconds: Option<i64>, failed: bool, timestamp_ms: i64) {
    println!("{}", lake_emf(staged_age_seconds, failed, timestamp_ms));
}

/// Prints one EMF line per outcome to stdout (where Lambda's log capture reads it).
pub fn publish(outcomes: &[OrgOutcome], timestamp_ms: i64) {
    for outcome in outcomes {
        println!("{}", emf(outcome, timestamp_ms));
    }
}

/// Prints the EMF line of one partner event.
pub fn publish_push(result: Result<&PushSummary, PushFailure<'_>>, timestamp_ms: i64) {
    println!("{}", push_emf(result, timestamp_ms));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::StreamSummary;

    fn outcome(error: Option<&str>, lag: Option<i64>) -> OrgOutcome {
        let summary = StreamSummary {
            pages: 3,
            forwarded: 2500,
            duplicates: 4,
            lag_seconds: lag,
            rate_limit: Some(crate::ports::RateLimitHeadroom {
                remaining: 412,
                limit: 600,
            }),
            ..StreamSummary::default()
        };
        OrgOutcome {
            org: "acme".into(),
            stream: "logs".into(),
            summary,
            error: error.map(str::to_string),
            error_kind: None,
            error_fault: error.map(|_| Fault::OktaConfiguration),
            backoff_until: None,
            due_reason: None,
            next_poll_at: None,
            overdue: false,
            push: None,
        }
    }

    #[test]
    fn the_lake_staging_line_publishes_its_two_metrics_by_stream() {
        let v = lake_emf(Some(420), false, 1_700_000_000_000);
        assert_eq!(v["Stream"], "lake");
        assert_eq!(v["LakeStagedAgeSeconds"], 420.0);
        assert_eq!(v["LakeWriteErrors"], 0.0);
        let names: Vec<&str> = v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert!(names.iter().all(|n| PER_DEPLOYMENT.contains(n)));
        let failed = lake_emf(None, true, 0);
        assert_eq!(failed["LakeWriteErrors"], 1.0);
        assert!(
            failed.get("LakeStagedAgeSeconds").is_none(),
            "unknown when the write failed"
        );
    }

    #[test]
    fn an_outcome_becomes_one_emf_object_with_the_alarm_dimensions() {
        let v = emf(&outcome(None, Some(42)), 1_700_000_000_000);
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000i64);
        every_declared_metric_has_a_value(&v);
        assert_eq!(
            published(&v),
            [
                ("Org,Stream", "Forwarded"),
                ("Org,Stream", "LagSeconds"),
                ("Org,Stream", "RateLimitRemaining"),
                ("Org", "Duplicates"),
                ("Org", "Quarantined"),
                ("Org", "MalformedPublished"),
                ("Org", "StreamErrors"),
                ("Org", "Overdue"),
                ("Org", "ErrorsOktaConfiguration"),
                ("Org", "ErrorsOktaTransient"),
                ("Org", "ErrorsAws"),
                ("Org", "ErrorsRelay"),
            ]
            .map(|(d, n)| (d.to_string(), n.to_string()))
        );
        assert_eq!(v["Org"], "acme");
        assert_eq!(v["Stream"], "logs");
        assert_eq!(v["Forwarded"], 2500.0);
        assert_eq!(v["LagSeconds"], 42.0);
        assert_eq!(v["StreamErrors"], 0.0);
        assert_eq!(v["Healthy"], 1.0);
        assert_eq!(v["ErrorsOktaConfiguration"], 0.0);
        assert_eq!(v["RateLimitRemaining"], 412.0);
        assert_eq!(v["RateLimitLimit"], 600.0);
    }

    #[test]
    fn a_failed_stream_counts_one_error_and_no_lag_when_nothing_was_seen() {
        let v = emf(&outcome(Some("okta said 401"), None), 0);
        assert_eq!(v["StreamErrors"], 1.0);
        // Counted under whose fault it is, and under no other.
        assert_eq!(v["ErrorsOktaConfiguration"], 1.0);
        assert_eq!(
            (
                v["ErrorsOktaTransient"].as_f64(),
                v["ErrorsAws"].as_f64(),
                v["ErrorsRelay"].as_f64()
            ),
            (Some(0.0), Some(0.0), Some(0.0))
        );
        assert_eq!(v["Healthy"], 0.0);
        assert!(v.get("LagSeconds").is_none());
        assert!(!published(&v).iter().any(|(_, name)| name == "LagSeconds"));
        // The error text is not a metric or dimension (it is logged, not published).
        assert!(!v.to_string().contains("401"));
    }

    #[test]
    fn a_fan_out_stream_okta_refused_counts_as_an_error_of_okta_configuration() {
        let mut ok = outcome(None, None);
        ok.stream = "groups".into();
        ok.summary.refused_children = vec![("group_roles", "Okta answered 403".into())];
        let v = emf(&ok, 0);
        assert_eq!(v["StreamErrors"], 1.0);
        assert_eq!(v["ErrorsOktaConfiguration"], 1.0);
        assert_eq!(v["ErrorsOktaTransient"], 0.0);
    }

    /// Every declared metric has its value at the top level (EMF's rule), in the namespace.
    fn every_declared_metric_has_a_value(v: &Value) {
        for directive in v["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            assert_eq!(directive["Namespace"], NAMESPACE);
            for m in directive["Metrics"].as_array().unwrap() {
                let name = m["Name"].as_str().unwrap();
                assert!(v[name].is_number(), "{name} has a value");
            }
        }
    }

    /// (dimension set, metric name) of every metric the line publishes, in order.
    fn published(v: &Value) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for directive in v["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            for dims in directive["Dimensions"].as_array().unwrap() {
                let dims: Vec<&str> = dims
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_str().unwrap())
                    .collect();
                for m in directive["Metrics"].as_array().unwrap() {
                    out.push((dims.join(","), m["Name"].as_str().unwrap().to_string()));
                }
            }
        }
        out
    }

    #[test]
    fn a_partner_event_counts_per_org_with_its_lag() {
        let published = chrono::DateTime::from_timestamp_millis(1_700_000_000_000).unwrap();
        let summary = PushSummary {
            events: 1,
            org: "acme".into(),
            uuid: "u".into(),
            event_type: "user.session.start".into(),
            forwarded: 1,
            duplicates: 0,
            oversize: 0,
            filtered: 0,
            old: 0,
            dropped_old: 0,
            inventory_changes: 0,
            failed_entries: 2,
            quarantined: 0,
            malformed_published: 0,
            published: Some(published),
            lake_events: 0,
            lake_objects: 0,
        };
        let v = push_emf(Ok(&summary), 1_700_000_042_500);
        every_declared_metric_has_a_value(&v);
        assert_eq!(v["Org"], "acme");
        assert_eq!(v["Stream"], "push");
        assert_eq!(v["Forwarded"], 1.0);
        assert_eq!(v["PutEventsFailedEntries"], 2.0);
        assert_eq!(v["LagSeconds"], 42.5);
        assert_eq!(v["Healthy"], 1.0);
        assert_eq!(v["MalformedPublished"], 0.0);
        // Without a readable `published`: counted, and no lag rather than a made-up one.
        let unreadable = PushSummary {
            malformed_published: 1,
            published: None,
            ..summary
        };
        let v = push_emf(Ok(&unreadable), 1_700_000_042_500);
        every_declared_metric_has_a_value(&v);
        assert_eq!(v["MalformedPublished"], 1.0);
        assert!(v.get("LagSeconds").is_none());
    }

    #[test]
    fn a_failed_partner_event_is_an_error_of_its_org_or_of_unmatched() {
        // A source no org claims has no org; a failure after the source matched has one.
        let unmatched = PushFailure {
            org: None,
            fault: Fault::Relay,
        };
        let v = push_emf(Err(unmatched), 0);
        every_declared_metric_has_a_value(&v);
        assert_eq!(v["Org"], "unmatched");
        assert_eq!(v["StreamErrors"], 1.0);
        assert_eq!(v["Healthy"], 0.0);
        assert_eq!(
            (v["ErrorsRelay"].as_f64(), v["ErrorsAws"].as_f64()),
            (Some(1.0), Some(0.0))
        );
        let throttled = PushFailure {
            org: Some("acme"),
            fault: Fault::Aws,
        };
        let v = push_emf(Err(throttled), 0);
        assert_eq!(
            (v["Org"].as_str(), v["ErrorsAws"].as_f64()),
            (Some("acme"), Some(1.0))
        );
    }
}
