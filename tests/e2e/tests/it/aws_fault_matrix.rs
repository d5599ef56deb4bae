//! AWS faults at the dangerous points of a run, injected on the wire by the fault proxy in front
//! of moto ([`crate::aws_faults`]): DynamoDB and EventBridge answering 500s, throttling, or
//! stalling. Each test asserts its outcome and then that nothing was lost: every event the
//! simulator holds reaches the capture queue once the faults stop.

use crate::aws_faults::{
    Fault, FaultProxy, Rule, dedupe_check, dedupe_mark_write, dedupe_marks, dynamodb, put_events,
    sdk_through,
};
use crate::crash::run_once;
use crate::lambda::function_env;
use crate::pull::{TOKEN, all_events, distinct, okta};
use crate::support::LocalStack;
use chrono::Utc;
use okta_relay::ErrorKind;
use okta_relay::adapters::{DynamoStateTable, EventBridgeSink, SecretsManagerSource};
use okta_relay::clock::SystemClock;
use okta_relay::config::RelayConfig;
use okta_relay::poller::{BackfillJob, BackfillWindow, PollerPorts, PollerService, RunSettings};
use okta_relay::ports::OneSink;
use okta_relay::push::PushService;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Short AWS timeouts for the in-process tests: a stall longer than an attempt is abandoned.
const ATTEMPT: Duration = Duration::from_secs(1);
const CALL: Duration = Duration::from_secs(4);

/// A stack, a simulator with `backlog` events, the poller's environment and the proxy.
struct Scene {
    sim: okta_sim::RunningSim,
    stack: LocalStack,
    env: Vec<(&'static str, String)>,
    proxy: FaultProxy,
}

impl Scene {
    async fn new(backlog: usize, config: impl Fn(&str) -> Value) -> Self {
        let sim = okta(backlog).await;
        let stack = LocalStack::provision(&[]).await;
        let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
        let env = function_env(&stack, &config(&arn));
        let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
        Self {
            sim,
            stack,
            env,
            proxy,
        }
    }

    /// One `okta-relay-ctl run` (the poller's code path) with `rules` armed; its outcome for the org's logs.
    async fn run(&self, rules: Vec<Rule>) -> Value {
        let (status, stdout) = run_once(&self.env, &self.proxy, rules).await;
        assert!(status.success(), "{status:?}");
        let outcome: Value = serde_json::from_str(&stdout).unwrap();
        outcome[0].clone()
    }

    /// Runs without faults until a run ends caught up; then every event must have arrived.
    /// Returns (captured records, outcomes of the healthy runs).
    async fn settle(&self) -> (Vec<Value>, Vec<Value>) {
        let mut outcomes = Vec::new();
        loop {
            assert!(outcomes.len() < 20, "did not catch up: {outcomes:?}");
            let outcome = self.run(Vec::new()).await;
            assert!(outcome["error"].is_null(), "{outcome}");
            let done = outcome["caught_up"] == true;
            outcomes.push(outcome);
            if done {
                break;
            }
        }
        let all = all_events(&self.sim).await;
        let captured = self.stack.capture(all.len(), Duration::from_secs(10)).await;
        let got = distinct(&captured);
        let lost: Vec<_> = all.difference(&got).collect();
        assert!(
            lost.is_empty(),
            "{} of {} events never reached the SIEM",
            lost.len(),
            all.len()
        );
        (captured, outcomes)
    }
}

/// The outside review's scenario: a run of DynamoDB 500s on the dedupe marks in the middle of a
/// page fails the run, which gives its lease back; the next run starts at once. Under the old
/// claim protocol it found the failed run's pending claims, counted those events as duplicates
/// and moved the cursor past them: about a fifth of the backlog never reached the SIEM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_of_dedupe_500s_mid_page_loses_nothing_and_counts_no_false_duplicates() {
    let scene = Scene::new(1_500, |arn| {
        json!({
            "allow_loopback_http": true,
            "deadline_margin_seconds": 2,
            "orgs": [{"name": "acme", "secret_arn": arn, "logs": {"page_size": 500}}],
        })
    })
    .await;
    let failed = scene
        .run(vec![Rule::range(
            dedupe_marks(),
            30,
            60,
            Fault::ServerError,
        )])
        .await;
    assert_eq!(failed["error_kind"], "transient", "{failed}");
    assert!(
        scene.proxy.counts().server_errors > 0,
        "the fault was injected"
    );
    let (captured, healthy) = scene.settle().await;
    let duplicates: u64 = healthy
        .iter()
        .map(|o| o["duplicates"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        duplicates, 0,
        "nothing the failed run left undelivered counts as a duplicate: {healthy:?}"
    );
    assert!(captured.len() >= 1_500);
}

/// A lease far longer than the schedule: a run that fails mid-page gives its lease back, the
/// next starts at once, and nothing the failed run left behind makes it skip a record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_under_a_long_lease_loses_nothing() {
    let scene = Scene::new(600, |arn| {
        json!({
            "allow_loopback_http": true,
            "deadline_margin_seconds": 2,
            "lease_seconds": 900,
            "orgs": [{"name": "acme", "secret_arn": arn, "logs": {"page_size": 200}}],
        })
    })
    .await;
    // A run of 500s on the dedupe marks mid-page: the run fails.
    let failed = scene
        .run(vec![Rule::range(
            dedupe_marks(),
            10,
            40,
            Fault::ServerError,
        )])
        .await;
    assert_eq!(failed["error_kind"], "transient", "{failed}");
    let (_, healthy) = scene.settle().await;
    assert!(
        healthy[0]["error"].is_null(),
        "the next run started at once: {healthy:?}"
    );
}

/// Throttling and 500s from DynamoDB and EventBridge, and a stall longer than an attempt, in the
/// middle of pages: each run either rides them out (the SDK retries) or fails cleanly; nothing
/// is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_errors_and_stalls_on_both_services_lose_nothing() {
    let scene = Scene::new(1_000, |arn| {
        json!({
            "allow_loopback_http": true,
            "deadline_margin_seconds": 2,
            "aws_attempt_timeout_seconds": 1,
            "aws_call_timeout_seconds": 4,
            "orgs": [{"name": "acme", "secret_arn": arn, "logs": {"page_size": 250}}],
        })
    })
    .await;
    let outcome = scene
        .run(vec![
            Rule::range(dedupe_check(), 4, 5, Fault::Throttle),
            Rule::nth(dedupe_check(), 8, Fault::Stall(Duration::from_secs(2))),
            Rule::range(put_events(), 30, 33, Fault::Throttle),
            Rule::range(put_events(), 60, 62, Fault::ServerError),
            Rule::range(dedupe_mark_write(), 15, 17, Fault::ServerError),
            Rule::nth(dynamodb(), 40, Fault::Stall(Duration::from_secs(2))),
        ])
        .await;
    let counts = scene.proxy.counts();
    assert!(
        counts.throttles >= 4 && counts.server_errors >= 4 && counts.stalls >= 1,
        "{counts:?}"
    );
    assert!(
        outcome["error"].is_null() || outcome["error_kind"] == "transient",
        "{outcome}"
    );
    scene.settle().await;
}

/// With a 10 s lease, a page whose delivery takes longer than the lease (every PutEvents call
/// slowed to 1.5 s) still commits: the lease is renewed before every PutEvents request. Without
/// that, every run lost its lease mid-page, sent the same page again, and the stream never
/// moved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_slower_than_the_lease_keeps_the_lease_and_moves_the_cursor() {
    let scene = Scene::new(100, |arn| {
        json!({
            "allow_loopback_http": true,
            "deadline_margin_seconds": 2,
            "lease_seconds": 10,
            "orgs": [{"name": "acme", "secret_arn": arn, "logs": {"page_size": 100}}],
        })
    })
    .await;
    let outcome = scene
        .run(vec![Rule::range(
            put_events(),
            1,
            usize::MAX,
            Fault::Stall(Duration::from_millis(1500)),
        )])
        .await;
    assert!(outcome["error"].is_null(), "{outcome}");
    assert!(outcome["forwarded"].as_u64().unwrap() >= 100, "{outcome}");
    let (captured, _) = scene.settle().await;
    assert_eq!(captured.len(), distinct(&captured).len(), "sent once");
}

/// The bus refuses one record for good (a non-retryable entry error): it goes out as a
/// quarantine marker with its id, is counted, and the stream moves on. Before, the stream
/// failed on that page at every schedule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_the_bus_refuses_is_quarantined_and_the_stream_goes_on() {
    let scene = Scene::new(120, |arn| {
        json!({
            "allow_loopback_http": true,
            "deadline_margin_seconds": 2,
            "orgs": [{"name": "acme", "secret_arn": arn, "logs": {"page_size": 50}}],
        })
    })
    .await;
    let all: Vec<String> = all_events(&scene.sim).await.into_iter().collect();
    let poison = all[7].clone();
    let poison_marker: &'static str = Box::leak(poison.clone().into_boxed_str());
    let outcome = scene
        .run(vec![Rule::nth(
            crate::aws_faults::Calls {
                target: "AWSEvents.PutEvents",
                body_contains: poison_marker,
            },
            1,
            Fault::RejectEntry {
                containing: poison_marker,
                code: "MalformedDetail",
            },
        )])
        .await;
    assert!(outcome["error"].is_null(), "{outcome}");
    assert_eq!(outcome["quarantined"], 1, "{outcome}");
    let (captured, _) = scene.settle().await;
    let markers: Vec<&Value> = captured
        .iter()
        .filter(|e| e["detail-type"] == okta_relay::record::QUARANTINE_DETAIL_TYPE)
        .collect();
    assert_eq!(markers.len(), 1);
    assert_eq!(markers[0]["detail"]["relay"]["recordId"], poison.as_str());
    assert_eq!(
        markers[0]["detail"]["quarantine"]["code"],
        "MalformedDetail"
    );
    assert!(
        !captured
            .iter()
            .any(|e| e["detail-type"] == "Okta System Log Event"
                && e["detail"]["okta"]["uuid"] == poison.as_str()),
        "the refused record itself never arrived"
    );
}

/// The events function's clients through the proxy.
async fn push_service(stack: &LocalStack, proxy: &FaultProxy) -> PushService {
    let sdk = sdk_through(proxy, ATTEMPT, CALL).await;
    let table = Arc::new(DynamoStateTable::new(
        sdk.dynamodb.clone(),
        &stack.state_table,
        Arc::new(SystemClock),
    ));
    let config = RelayConfig::from_json(
        r#"{"orgs":[{"name":"demo","secret_arn":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf","partner_event_source":"aws.partner/okta.com/demo-org/okta-relay"}]}"#,
    )
    .unwrap();
    PushService::new(
        Arc::new(config),
        table.clone(),
        table,
        Arc::new(OneSink(Arc::new(EventBridgeSink::new(
            sdk.eventbridge.clone(),
            &stack.delivery_bus,
        )))),
        Arc::new(SystemClock),
    )
}

/// A push invocation whose calls stall ends with a transient error within its call timeouts
/// (it no longer holds a 15-minute claim), and the retry delivers the event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_push_invocation_fails_cleanly_and_its_retry_delivers() {
    let stack = LocalStack::provision(&[]).await;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    let service = push_service(&stack, &proxy).await;
    let mut detail: Value = serde_json::from_str(
        &std::fs::read_to_string(
            crate::support::repo_root().join("tests/fixtures/partner-event.json"),
        )
        .unwrap(),
    )
    .unwrap();
    detail["detail"]["published"] = json!(Utc::now().to_rfc3339());
    let payload = RawValue::from_string(detail.to_string()).unwrap();
    // Every PutEvents attempt stalls longer than the attempt timeout.
    proxy.arm(
        0,
        vec![Rule::range(
            put_events(),
            1,
            100,
            Fault::Stall(Duration::from_secs(3)),
        )],
    );
    let err = service.handle(&payload).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    // The dedupe check stalls too, once: the SDK's retry rides it out.
    proxy.arm(
        0,
        vec![Rule::nth(
            dedupe_check(),
            1,
            Fault::Stall(Duration::from_secs(2)),
        )],
    );
    let retried = service.handle(&payload).await.unwrap();
    assert_eq!(retried.forwarded + retried.duplicates, 1, "{retried:?}");
    let captured = stack.capture(1, Duration::from_secs(8)).await;
    let uuid = detail["detail"]["uuid"].as_str().unwrap();
    assert!(
        captured.iter().any(|e| e["detail"]["okta"]["uuid"] == uuid),
        "the event reached the SIEM"
    );
}

/// An operator's backfill that fails while the dedupe marks fail leaves nothing that makes the
/// resumed backfill skip an event of its window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_backfill_resumes_without_loss() {
    let sim = okta(400).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    let sdk = sdk_through(&proxy, ATTEMPT, CALL).await;
    let table = Arc::new(DynamoStateTable::new(
        sdk.dynamodb.clone(),
        &stack.state_table,
        Arc::new(SystemClock),
    ));
    let config = RelayConfig::from_json(&format!(
        r#"{{"allow_loopback_http":true,"deadline_margin_seconds":2,
            "orgs":[{{"name":"acme","secret_arn":"{arn}","logs":{{"enabled":false,"page_size":100}}}}]}}"#
    ))
    .unwrap();
    let ports = PollerPorts {
        secrets: Arc::new(SecretsManagerSource::new(sdk.secrets.clone())),
        streams: table.clone(),
        dedupe: table.clone(),
        health: table.clone(),
        identities: table,
        sinks: Arc::new(OneSink(Arc::new(EventBridgeSink::new(
            sdk.eventbridge.clone(),
            &stack.delivery_bus,
        )))),
        lake: Arc::new(okta_relay::adapters::S3LakeStore::new(stack.s3())),
        clock: Arc::new(SystemClock),
    };
    let poller = PollerService::new(
        Arc::new(config),
        ports,
        RunSettings {
            deadline_margin: Duration::from_secs(2),
            ..RunSettings::default()
        },
    )
    .unwrap();
    let job = BackfillJob {
        window: BackfillWindow {
            since: Utc::now() - chrono::Duration::days(1),
            until: Utc::now(),
        },
        max_pages: None,
        on_page: &|_| {},
    };
    let deadline = || Utc::now() + chrono::Duration::minutes(2);
    // Page 3's marks cannot be checked: every attempt fails.
    proxy.arm(
        0,
        vec![Rule::range(dedupe_check(), 3, 100, Fault::ServerError)],
    );
    let failed = poller
        .backfill("acme", &job, "op", deadline())
        .await
        .unwrap();
    assert_eq!(failed.error_kind, Some(ErrorKind::Transient), "{failed:?}");
    proxy.arm(0, Vec::new());
    let resumed = poller
        .backfill("acme", &job, "op", deadline())
        .await
        .unwrap();
    assert!(
        resumed.error.is_none() && resumed.summary.caught_up,
        "{resumed:?}"
    );
    assert_eq!(resumed.summary.duplicates, 0, "{resumed:?}");
    let captured = stack.capture(400, Duration::from_secs(8)).await;
    let all = all_events(&sim).await;
    assert_eq!(
        distinct(&captured),
        all,
        "every event of the window arrived"
    );
}

/// DynamoDB hands half of each batch back as unprocessed: the dedupe adapter sends it again
/// until all is done, answers right, and fails (never guesses) when it stays unprocessed. A
/// last retry that does everything is a success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprocessed_keys_and_items_are_sent_again_and_never_guessed() {
    use okta_relay::limits::UNPROCESSED_RETRIES;
    use okta_relay::ports::{DedupeKey, DedupeStore};
    let stack = LocalStack::provision(&[]).await;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    let sdk = sdk_through(&proxy, ATTEMPT, CALL).await;
    let table = DynamoStateTable::new(
        sdk.dynamodb.clone(),
        &stack.state_table,
        Arc::new(SystemClock),
    );
    let keys: Vec<DedupeKey> = (0..40)
        .map(|i| DedupeKey::new("acme", format!("u-{i}")))
        .collect();
    let ttl = Duration::from_secs(3600);
    let retries = UNPROCESSED_RETRIES as usize;
    // 20 keys in one BatchWriteItem call (25 a call): halved on every try but the last, which
    // does what is left. The old loop reported that success as a failure.
    let marked: Vec<DedupeKey> = keys[..20].to_vec();
    proxy.arm(
        0,
        vec![Rule::range(
            dedupe_mark_write(),
            1,
            retries,
            Fault::Unprocessed,
        )],
    );
    table.mark_delivered(&marked, ttl).await.unwrap();
    // 40 keys in one BatchGetItem: halved on every try but the last.
    proxy.arm(
        0,
        vec![Rule::range(dedupe_check(), 1, retries, Fault::Unprocessed)],
    );
    let answers = table.delivered(&keys).await.unwrap();
    assert_eq!(
        answers,
        (0..40).map(|i| i < 20).collect::<Vec<_>>(),
        "each key answered by its own mark"
    );
    assert!(proxy.counts().unprocessed >= 2 * retries);
    // Unprocessed on every try: an error, neither "delivered" nor "not delivered".
    proxy.arm(
        0,
        vec![Rule::range(dedupe_check(), 1, 100, Fault::Unprocessed)],
    );
    let err = table.delivered(&keys).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    proxy.arm(
        0,
        vec![Rule::range(dedupe_mark_write(), 1, 100, Fault::Unprocessed)],
    );
    let err = table.mark_delivered(&keys[20..], ttl).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
}
