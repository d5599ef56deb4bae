//! The System Log pull loop with the real adapters against moto and the Okta simulator.

use crate::support::LocalStack;
use chrono::Utc;
use okta_relay::ErrorKind;
use okta_relay::adapters::{DynamoStateTable, EventBridgeSink, SecretsManagerSource};
use okta_relay::clock::SystemClock;
use okta_relay::config::RelayConfig;
use okta_relay::okta::{ClientSettings, RetryPolicy};
use okta_relay::poller::{PollerPorts, PollerService, RunSettings};
use okta_relay::ports::{HealthStore, StreamKey, StreamStateStore};
use okta_sim::{RunningSim, SeedConfig, SimConfig};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "00e2eSimulatorToken";

async fn okta(backlog: usize) -> RunningSim {
    okta_sim::start(SimConfig {
        tokens: vec![TOKEN.into()],
        seed: SeedConfig {
            backlog_events: backlog,
            backlog_hours: 2,
            late_share: 0.1,
            ..SeedConfig::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

async fn sim_call(sim: &RunningSim, path: &str, body: Option<Value>) -> Value {
    let http = reqwest::Client::new();
    let req = match body {
        Some(b) => http.post(format!("{}/__sim{path}", sim.url)).json(&b),
        None => http.get(format!("{}/__sim{path}", sim.url)),
    };
    req.send().await.unwrap().json().await.unwrap()
}

async fn poller(
    stack: &LocalStack,
    secret_arn: &str,
    page_size: u32,
) -> (PollerService, Arc<DynamoStateTable>) {
    let config = RelayConfig::from_json(&format!(
        r#"{{"allow_loopback_http":true,"orgs":[{{"name":"acme","secret_arn":"{secret_arn}","logs":{{"page_size":{page_size}}}}}]}}"#
    ))
    .unwrap();
    let clock = Arc::new(SystemClock);
    let table = Arc::new(DynamoStateTable::new(
        aws_sdk_dynamodb::Client::new(stack.sdk()),
        &stack.state_table,
        clock.clone(),
    ));
    let ports = PollerPorts {
        secrets: Arc::new(SecretsManagerSource::new(
            aws_sdk_secretsmanager::Client::new(stack.sdk()),
        )),
        streams: table.clone(),
        dedupe: table.clone(),
        health: table.clone(),
        sink: Arc::new(EventBridgeSink::new(
            aws_sdk_eventbridge::Client::new(stack.sdk()),
            &stack.delivery_bus,
        )),
        clock,
    };
    let settings = RunSettings {
        client: ClientSettings {
            retry: RetryPolicy {
                base_backoff: Duration::from_millis(10),
                ..RetryPolicy::default()
            },
            ..ClientSettings::default()
        },
        deadline_margin: Duration::from_secs(5),
        lease_ttl: Duration::from_secs(60),
    };
    (
        PollerService::new(Arc::new(config), ports, settings).unwrap(),
        table,
    )
}

fn uuids(captured: &[Value]) -> Vec<String> {
    captured
        .iter()
        .map(|e| e["detail"]["okta"]["uuid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn polls_the_backlog_then_only_new_and_late_events() {
    let sim = okta(60).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let (poller, table) = poller(&stack, &arn, 25).await;
    let deadline = Utc::now() + chrono::Duration::minutes(2);

    let first = poller.run("run-1", deadline).await;
    assert!(first[0].error.is_none(), "{:?}", first[0].error);
    // 60 events in pages of 25, then the empty page that still has a next link.
    assert_eq!(
        (first[0].summary.pages, first[0].summary.forwarded),
        (4, 60)
    );
    let key = StreamKey::new("acme", "logs");
    let cursor = table.snapshot(&key).await.unwrap().unwrap().cursor.unwrap();
    assert!(
        cursor.starts_with(&sim.url) && cursor.contains("after="),
        "the cursor is Okta's next link"
    );

    // New events arrive, one of them published ten minutes ago (persisted late).
    let late = (Utc::now() - chrono::Duration::minutes(10)).to_rfc3339();
    sim_call(
        &sim,
        "/events",
        Some(
            json!({"count": 4, "events": [{"eventType": "user.session.start", "published": late}]}),
        ),
    )
    .await;
    let second = poller.run("run-2", deadline).await;
    assert_eq!(
        second[0].summary.forwarded, 5,
        "only the new events, the late one included"
    );

    let captured = stack.capture(70, Duration::from_secs(10)).await;
    let got: Vec<String> = uuids(&captured);
    let all: BTreeSet<String> = serde_json::from_value::<Vec<String>>(
        sim_call(&sim, "/events", None).await["uuids"].clone(),
    )
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(got.len(), 65, "each event forwarded once");
    assert_eq!(
        got.into_iter().collect::<BTreeSet<_>>(),
        all,
        "every event the org has"
    );
    assert!(
        captured
            .iter()
            .all(|e| e["detail"]["relay"]["path"] == "pull")
    );

    let health = table.read(&key).await.unwrap().unwrap();
    assert_eq!(health.counters["forwarded"], 65);
    assert_eq!(health.consecutive_failures, 0);
}

#[tokio::test]
async fn a_wrong_token_is_a_configuration_error_in_health_without_the_token() {
    let sim = okta(5).await;
    let stack = LocalStack::provision(&[]).await;
    let wrong = "00wrongTokenThatMustNotLeak";
    let arn = stack.put_org_secret("acme", &sim.url, wrong).await;
    let (poller, table) = poller(&stack, &arn, 10).await;
    let outcome = poller
        .run("run-1", Utc::now() + chrono::Duration::minutes(2))
        .await;
    assert_eq!(outcome[0].error_kind, Some(ErrorKind::Configuration));
    let key = StreamKey::new("acme", "logs");
    let health = table.read(&key).await.unwrap().unwrap();
    assert_eq!(health.last_error_kind, Some(ErrorKind::Configuration));
    assert!(health.last_error.as_deref().unwrap().contains("E0000011"));
    let visible = format!(
        "{outcome:?} {health:?} {}",
        serde_json::to_string(&outcome).unwrap()
    );
    assert!(!visible.contains(wrong));
    assert_eq!(
        table.snapshot(&key).await.unwrap().unwrap().cursor,
        None,
        "the cursor did not move"
    );
    assert!(stack.capture(1, Duration::from_secs(1)).await.is_empty());
}

#[tokio::test]
async fn a_missing_secret_is_a_configuration_error() {
    let stack = LocalStack::provision(&[]).await;
    let (poller, _) = poller(
        &stack,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf",
        10,
    )
    .await;
    let outcome = poller
        .run("run-1", Utc::now() + chrono::Duration::minutes(2))
        .await;
    assert_eq!(outcome[0].error_kind, Some(ErrorKind::Configuration));
    assert!(
        outcome[0]
            .error
            .as_deref()
            .unwrap()
            .contains("does not exist")
    );
}
