//! The Firehose sink end to end: an org whose `sink` is a Firehose stream, the real poller
//! (`okta-relay-ctl run`) against moto's Firehose writing to S3, with Firehose's partial
//! failures (records answered `ServiceUnavailableException` in a 200) and a failing call on the
//! way. Every event arrives in the archive once, as `{source, detail-type, time, org, detail}`
//! NDJSON, and `validate-config` checks the stream.

use crate::aws_faults::{Fault, FaultProxy, Rule, put_record_batch};
use crate::crash::run_once_as;
use crate::crash_suite::log_records;
use crate::lambda::function_env;
use crate::pull::{TOKEN, all_events, distinct, okta};
use crate::support::LocalStack;
use serde_json::{Value, json};

const PAGE: usize = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_on_firehose_gets_every_event_once_through_partial_failures() {
    let sim = okta(3 * PAGE).await;
    let stack = LocalStack::provision(&[]).await;
    stack.create_firehose().await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let config = json!({
        "allow_loopback_http": true,
        "deadline_margin_seconds": 2,
        "orgs": [{"name": "acme", "secret_arn": arn,
                  "logs": {"page_size": PAGE, "initial_lookback_hours": 12},
                  "inventory": {"users": {}},
                  "sink": {"type": "firehose", "stream": stack.firehose_stream}}],
    });
    let env = function_env(&stack, &config);
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    // The first three calls deliver half their records and fail the rest; the fourth fails
    // whole (503, Firehose's throttling).
    let rules = vec![
        Rule::range(put_record_batch(), 1, 3, Fault::Unprocessed),
        Rule::nth(put_record_batch(), 4, Fault::Throttle),
    ];
    let (status, stdout) = run_once_as(&env, &proxy, rules, None).await;
    assert!(status.success(), "{status:?}");
    let outcome: Value = serde_json::from_str(&stdout).unwrap();
    let streams = outcome.as_array().unwrap();
    assert!(
        streams.iter().all(|o| o["error"].is_null()),
        "partial failures are retried, not failures: {outcome}"
    );
    assert_eq!(streams[0]["caught_up"], true, "{outcome}");
    assert!(proxy.counts().unprocessed >= 3, "the faults were injected");

    let archived = stack.archived().await;
    let events = log_records(archived.clone());
    let got = distinct(&events);
    assert_eq!(
        got,
        all_events(&sim).await,
        "every event reached the archive"
    );
    assert_eq!(
        events.len(),
        got.len(),
        "each once: only failed records are sent again"
    );
    assert!(
        archived
            .iter()
            .all(|r| r["org"] == "acme" && r["source"] == "okta-relay")
    );
    assert!(
        archived
            .iter()
            .any(|r| r["detail-type"] == "Okta User" && r["detail"]["okta"]["id"].is_string()),
        "directory records go the same way"
    );
    // Nothing went to the delivery bus.
    assert!(
        stack
            .capture(0, std::time::Duration::from_secs(2))
            .await
            .is_empty()
    );

    let checked = crate::ctl::ctl(&env, &["validate-config", "--json"]).await;
    let checks: Value = serde_json::from_str(&checked.stdout).unwrap();
    let firehose = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"].as_str().unwrap().contains("Firehose stream"))
        .unwrap_or_else(|| panic!("no Firehose check: {checks}"));
    assert_eq!(firehose["ok"], true, "{firehose}");
}

/// A stream that does not exist is a configuration error of the run, named, and nothing is
/// committed: the next run, once the stream is right, delivers everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_stream_fails_the_run_and_loses_nothing() {
    let sim = okta(PAGE).await;
    let stack = LocalStack::provision(&[]).await;
    stack.create_firehose().await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let config = |stream: &str| {
        json!({
            "allow_loopback_http": true,
            "deadline_margin_seconds": 2,
            "orgs": [{"name": "acme", "secret_arn": arn,
                      "logs": {"page_size": PAGE, "initial_lookback_hours": 12},
                      "sink": {"type": "firehose", "stream": stream}}],
        })
    };
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    let wrong = function_env(&stack, &config("no-such-stream"));
    let (status, stdout) = run_once_as(&wrong, &proxy, Vec::new(), None).await;
    assert!(status.success(), "{status:?}");
    let outcome: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(outcome[0]["error_kind"], "configuration", "{outcome}");
    assert!(
        outcome[0]["error"].as_str().unwrap().contains("sink"),
        "{outcome}"
    );
    let checked = crate::ctl::ctl(&wrong, &["validate-config"]).await;
    assert_ne!(checked.code, 0);
    assert!(
        checked
            .stdout
            .contains("FAIL  orgs[acme] Firehose stream no-such-stream"),
        "{}",
        checked.stdout
    );

    // Nothing was committed. The operator fixes the stream name; the failure's backoff is
    // forgotten, as an operator clearing it would (the suites' `table_reset_health`).
    aws_sdk_dynamodb::Client::new(stack.sdk())
        .delete_item()
        .table_name(&stack.state_table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("health#acme#logs".into()),
        )
        .send()
        .await
        .unwrap();
    let right = function_env(&stack, &config(&stack.firehose_stream));
    let (status, stdout) = run_once_as(&right, &proxy, Vec::new(), None).await;
    assert!(status.success());
    let events = log_records(stack.archived().await);
    let got = distinct(&events);
    assert!(
        got == all_events(&sim).await,
        "{} events arrived: {stdout}",
        got.len()
    );
    assert_eq!(events.len(), PAGE);
}
