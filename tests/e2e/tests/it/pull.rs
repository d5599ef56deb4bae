//! The System Log pull loop with the real adapters against moto and a stub Okta that pages like
//! Okta's polling requests. (The Okta simulator suites go further.)

use crate::support::LocalStack;
use chrono::Utc;
use okta_relay::ErrorKind;
use okta_relay::adapters::{DynamoStateTable, EventBridgeSink, SecretsManagerSource};
use okta_relay::clock::SystemClock;
use okta_relay::config::RelayConfig;
use okta_relay::okta::{ClientSettings, RetryPolicy};
use okta_relay::poller::{PollerPorts, PollerService, RunSettings};
use okta_relay::ports::{HealthStore, StreamKey, StreamStateStore};
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn event(uuid: &str) -> serde_json::Value {
    serde_json::json!({
        "uuid": uuid, "published": "2026-11-21T10:00:00.000Z", "eventType": "user.session.start",
        "version": "0", "severity": "INFO", "displayMessage": "User login to Okta",
        "actor": {"id": "00u1", "type": "User"}, "outcome": {"result": "SUCCESS"}
    })
}

fn page(server: &MockServer, items: &[&str], next_after: &str) -> ResponseTemplate {
    let body: Vec<_> = items.iter().map(|u| event(u)).collect();
    ResponseTemplate::new(200)
        .insert_header(
            "link",
            format!(
                "<{}/api/v1/logs?limit=2&after={next_after}>; rel=\"next\"",
                server.uri()
            )
            .as_str(),
        )
        .insert_header("x-rate-limit-limit", "120")
        .insert_header("x-rate-limit-remaining", "100")
        .insert_header(
            "x-rate-limit-reset",
            (Utc::now().timestamp() + 60).to_string().as_str(),
        )
        .set_body_json(body)
}

async fn poller(stack: &LocalStack, secret_arn: &str) -> (PollerService, Arc<DynamoStateTable>) {
    let config = RelayConfig::from_json(&format!(
        r#"{{"allow_loopback_http":true,"orgs":[{{"name":"acme","secret_arn":"{secret_arn}","logs":{{"page_size":2}}}}]}}"#
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

#[tokio::test]
async fn polls_follows_next_links_commits_the_cursor_and_resumes_from_it() {
    let okta = MockServer::start().await;
    // First run: a polling request (since, ASCENDING, no until), then the next links.
    Mock::given(method("GET"))
        .and(path("/api/v1/logs"))
        .and(query_param("sortOrder", "ASCENDING"))
        .and(query_param_is_missing("until"))
        .and(query_param_is_missing("after"))
        .respond_with(page(&okta, &["e1", "e2"], "p2"))
        .expect(1)
        .mount(&okta)
        .await;
    Mock::given(method("GET"))
        .and(query_param("after", "p2"))
        .respond_with(page(&okta, &["e3"], "p3"))
        .expect(1)
        .mount(&okta)
        .await;
    // Caught up: an empty page that still has a next link (polling requests always do).
    Mock::given(method("GET"))
        .and(query_param("after", "p3"))
        .respond_with(page(&okta, &[], "p3"))
        .up_to_n_times(1)
        .mount(&okta)
        .await;
    // Second run: resumes at p3 where a late event has arrived.
    Mock::given(method("GET"))
        .and(query_param("after", "p3"))
        .respond_with(page(&okta, &["e4"], "p4"))
        .up_to_n_times(1)
        .mount(&okta)
        .await;
    Mock::given(method("GET"))
        .and(query_param("after", "p4"))
        .respond_with(page(&okta, &[], "p4"))
        .mount(&okta)
        .await;

    let stack = LocalStack::provision(&[("acme", &okta.uri())]).await;
    let (poller, table) = poller(&stack, &stack.org_secrets["acme"]).await;
    let deadline = Utc::now() + chrono::Duration::minutes(2);

    let first = poller.run("run-1", deadline).await;
    assert_eq!(first.len(), 1);
    assert!(first[0].error.is_none(), "{:?}", first[0].error);
    assert_eq!((first[0].summary.pages, first[0].summary.forwarded), (3, 3));
    let key = StreamKey::new("acme", "logs");
    let cursor = table.snapshot(&key).await.unwrap().unwrap().cursor.unwrap();
    assert!(cursor.ends_with("after=p3"), "{cursor}");

    let second = poller.run("run-2", deadline).await;
    assert_eq!(
        (second[0].summary.pages, second[0].summary.forwarded),
        (2, 1)
    );

    let captured = stack.capture(5, Duration::from_secs(5)).await;
    let mut uuids: Vec<_> = captured
        .iter()
        .map(|e| e["detail"]["okta"]["uuid"].as_str().unwrap().to_string())
        .collect();
    uuids.sort();
    assert_eq!(uuids, ["e1", "e2", "e3", "e4"]);
    assert!(
        captured
            .iter()
            .all(|e| e["detail"]["relay"]["path"] == "pull")
    );

    let health = table.read(&key).await.unwrap().unwrap();
    assert_eq!(health.counters["forwarded"], 4);
    assert_eq!(health.consecutive_failures, 0);
}

#[tokio::test]
async fn a_revoked_token_is_a_configuration_error_in_health_without_the_token() {
    let okta = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string(
            r#"{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorLink":"E0000011","errorId":"oae9","errorCauses":[]}"#,
        ))
        .expect(1)
        .mount(&okta)
        .await;
    let stack = LocalStack::provision(&[("acme", &okta.uri())]).await;
    let (poller, table) = poller(&stack, &stack.org_secrets["acme"]).await;
    let outcome = poller
        .run("run-1", Utc::now() + chrono::Duration::minutes(2))
        .await;
    assert_eq!(outcome[0].error_kind, Some(ErrorKind::Configuration));
    let health = table
        .read(&StreamKey::new("acme", "logs"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(health.last_error_kind, Some(ErrorKind::Configuration));
    assert!(health.last_error.as_deref().unwrap().contains("E0000011"));
    // The token (in the secret) appears in neither the outcome nor the health record.
    let secret = SecretsManagerSource::new(aws_sdk_secretsmanager::Client::new(stack.sdk()));
    let raw = okta_relay::ports::SecretSource::read(&secret, &stack.org_secrets["acme"])
        .await
        .unwrap();
    let token: serde_json::Value =
        serde_json::from_str(secrecy::ExposeSecret::expose_secret(&raw)).unwrap();
    let token = token["api_token"].as_str().unwrap();
    let visible = format!(
        "{outcome:?} {health:?} {}",
        serde_json::to_string(&outcome).unwrap()
    );
    assert!(!visible.contains(token));
    // Nothing was forwarded and the cursor did not move.
    assert_eq!(
        table
            .snapshot(&StreamKey::new("acme", "logs"))
            .await
            .unwrap()
            .unwrap()
            .cursor,
        None
    );
}

#[tokio::test]
async fn a_missing_secret_is_a_configuration_error() {
    let stack = LocalStack::provision(&[]).await;
    let (poller, _) = poller(
        &stack,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf",
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
