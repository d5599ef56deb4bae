//! The System Log pull loop with the real adapters against moto and the Okta simulator.

use crate::support::LocalStack;
use chrono::Utc;
use okta_relay::ErrorKind;
use okta_relay::adapters::{DynamoStateTable, EventBridgeSink, SecretsManagerSource};
use okta_relay::clock::SystemClock;
use okta_relay::config::RelayConfig;
use okta_relay::okta::{ClientSettings, RetryPolicy};
use okta_relay::poller::{PollerPorts, PollerService, RunSettings};
use okta_relay::ports::{HealthStore, OneSink, StreamKey, StreamStateStore};
use okta_sim::{RunningSim, SeedConfig, SimConfig};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

pub(crate) const TOKEN: &str = "00e2eSimulatorToken";

pub(crate) async fn okta(backlog: usize) -> RunningSim {
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

pub(crate) async fn sim_call(sim: &RunningSim, path: &str, body: Option<Value>) -> Value {
    let http = reqwest::Client::new();
    let req = match body {
        Some(b) => http.post(format!("{}/__sim{path}", sim.url)).json(&b),
        None => http.get(format!("{}/__sim{path}", sim.url)),
    };
    req.send().await.unwrap().json().await.unwrap()
}

pub(crate) async fn poller(
    stack: &LocalStack,
    secret_arn: &str,
    page_size: u32,
) -> (PollerService, Arc<DynamoStateTable>) {
    let table = table(stack);
    let poller = poller_with(
        stack,
        secret_arn,
        page_size,
        "",
        table.clone(),
        Duration::from_secs(60),
    );
    (poller, table)
}

pub(crate) fn table(stack: &LocalStack) -> Arc<DynamoStateTable> {
    Arc::new(DynamoStateTable::new(
        aws_sdk_dynamodb::Client::new(stack.sdk()),
        &stack.state_table,
        Arc::new(SystemClock),
    ))
}

/// A poller whose stream store is `streams` (the table, or a fault-injecting wrapper) and whose
/// org configuration gets `extra` (e.g. `,"event_types":{...}`).
pub(crate) fn poller_with(
    stack: &LocalStack,
    secret_arn: &str,
    page_size: u32,
    extra: &str,
    streams: Arc<dyn StreamStateStore>,
    lease: Duration,
) -> PollerService {
    poller_on(
        stack,
        secret_arn,
        page_size,
        extra,
        streams,
        lease,
        Arc::new(SystemClock),
    )
}

/// [`poller_with`] on a given clock.
fn poller_on(
    stack: &LocalStack,
    secret_arn: &str,
    page_size: u32,
    extra: &str,
    streams: Arc<dyn StreamStateStore>,
    lease: Duration,
    clock: Arc<dyn okta_relay::clock::Clock>,
) -> PollerService {
    // `extra` may bring its own `logs` settings.
    let logs = if extra.contains(r#""logs""#) {
        String::new()
    } else {
        format!(r#","logs":{{"page_size":{page_size}}}"#)
    };
    let config = RelayConfig::from_json(&format!(
        r#"{{"allow_loopback_http":true,"deadline_margin_seconds":2,"orgs":[{{"name":"acme","secret_arn":"{secret_arn}"{logs}{extra}}}]}}"#
    ))
    .unwrap();
    let table = table(stack);
    let ports = PollerPorts {
        secrets: Arc::new(SecretsManagerSource::new(
            aws_sdk_secretsmanager::Client::new(stack.sdk()),
        )),
        streams,
        dedupe: table.clone(),
        health: table.clone(),
        identities: table,
        sinks: Arc::new(OneSink(Arc::new(EventBridgeSink::new(
            aws_sdk_eventbridge::Client::new(stack.sdk()),
            &stack.delivery_bus,
        )))),
        lake: Arc::new(okta_relay::adapters::S3LakeStore::new(stack.s3())),
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
        deadline_margin: Duration::from_secs(2),
        lease_ttl: lease,
    };
    PollerService::new(Arc::new(config), ports, settings).unwrap()
}

/// Every event the simulator holds, as Okta would return it (one bounded request, ≤ 1000).
pub(crate) async fn sim_log_events(sim: &RunningSim) -> Vec<Value> {
    let since = (Utc::now() - chrono::Duration::days(2)).to_rfc3339();
    let until = (Utc::now() + chrono::Duration::minutes(5)).to_rfc3339();
    let mut url = url::Url::parse(&format!("{}/api/v1/logs", sim.url)).unwrap();
    url.query_pairs_mut()
        .append_pair("since", &since)
        .append_pair("until", &until)
        .append_pair("limit", "1000");
    let response = reqwest::Client::new()
        .get(url)
        .header("Authorization", format!("SSWS {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let events: Vec<Value> = response.json().await.unwrap();
    assert!(events.len() < 1000, "sim_log_events reads one page only");
    events
}

/// The System Log `uuid` of each captured record; an oversize or quarantine marker stands for
/// its record by `relay.recordId`.
fn uuids(captured: &[Value]) -> Vec<String> {
    captured
        .iter()
        .map(|e| {
            e["detail"]["okta"]["uuid"]
                .as_str()
                .or_else(|| e["detail"]["relay"]["recordId"].as_str())
                .unwrap()
                .to_string()
        })
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
    // 60 events in pages of 25: the short third page is the head of the log; its next link
    // is the cursor.
    assert_eq!(
        (first[0].summary.pages, first[0].summary.forwarded),
        (3, 60)
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

async fn sim_with(backlog: usize, limits: okta_sim::LimitConfig) -> RunningSim {
    okta_sim::start(SimConfig {
        tokens: vec![TOKEN.into()],
        seed: SeedConfig {
            backlog_events: backlog,
            backlog_hours: 2,
            late_share: 0.1,
            ..SeedConfig::default()
        },
        limits,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

pub(crate) fn distinct(captured: &[Value]) -> BTreeSet<String> {
    uuids(captured).into_iter().collect()
}

pub(crate) async fn all_events(sim: &RunningSim) -> BTreeSet<String> {
    serde_json::from_value::<Vec<String>>(sim_call(sim, "/events", None).await["uuids"].clone())
        .unwrap()
        .into_iter()
        .collect()
}

#[tokio::test]
async fn overlapping_invocations_forward_each_event_once() {
    let sim = okta(300).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let table = table(&stack);
    // Run A stops at its first cursor commit, holding the lease, until run B has finished:
    // the overlap is certain rather than left to the scheduler.
    let gate = Arc::new(Gate::default());
    let held = Arc::new(CommitHook {
        inner: table.clone(),
        at_commit: AtCommit::WaitAtFirst(gate.clone()),
    });
    let a = poller_with(&stack, &arn, 50, "", held, Duration::from_secs(60));
    let (b, _) = poller(&stack, &arn, 50).await;
    let deadline = Utc::now() + chrono::Duration::minutes(2);
    let run_a = tokio::spawn(async move { a.run("run-a", deadline).await });
    gate.reached.notified().await;
    let rb = b.run("run-b", deadline).await;
    gate.open.notify_one();
    let ra = run_a.await.unwrap();
    assert!(rb[0].summary.lease_busy, "run B found the lease held");
    assert_eq!(rb[0].summary.forwarded, 0);
    assert!(!ra[0].summary.lease_busy);
    assert!(ra[0].error.is_none(), "{:?}", ra[0].error);
    assert_eq!(ra[0].summary.forwarded, 300);
    let captured = stack.capture(400, Duration::from_secs(10)).await;
    assert_eq!(captured.len(), 300, "nothing forwarded twice");
    assert_eq!(distinct(&captured), all_events(&sim).await);
}

/// Two signals around a commit: the run `reached` it, and the test lets it `open`.
#[derive(Default)]
struct Gate {
    reached: tokio::sync::Notify,
    open: tokio::sync::Notify,
    passed: std::sync::atomic::AtomicBool,
}

/// What a [`CommitHook`] does at a cursor commit.
enum AtCommit {
    /// Let `n` commits through, then never return: the run is cut off between delivery and
    /// commit, as a crash there would.
    HangAfter(std::sync::atomic::AtomicUsize),
    /// Commit, then move a manual clock forward: time runs out at exactly that point.
    Advance(okta_relay::clock::ManualClock, Duration),
    /// Stop before the first commit until the gate opens; later commits pass.
    WaitAtFirst(Arc<Gate>),
}

/// The real state table with a fault at the cursor commit.
struct CommitHook {
    inner: Arc<DynamoStateTable>,
    at_commit: AtCommit,
}

#[async_trait::async_trait]
impl StreamStateStore for CommitHook {
    async fn acquire(
        &self,
        key: &StreamKey,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<okta_relay::ports::Lease>, okta_relay::ports::StateError> {
        self.inner.acquire(key, owner, ttl).await
    }
    async fn renew(
        &self,
        lease: &okta_relay::ports::Lease,
        ttl: Duration,
    ) -> Result<okta_relay::ports::Lease, okta_relay::ports::StateError> {
        self.inner.renew(lease, ttl).await
    }
    async fn commit_cursor(
        &self,
        lease: &okta_relay::ports::Lease,
        cursor: &str,
    ) -> Result<okta_relay::ports::Lease, okta_relay::ports::StateError> {
        match &self.at_commit {
            AtCommit::HangAfter(n) => {
                if n.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    std::future::pending::<()>().await;
                }
                self.inner.commit_cursor(lease, cursor).await
            }
            AtCommit::WaitAtFirst(gate) => {
                if !gate.passed.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    gate.reached.notify_one();
                    gate.open.notified().await;
                }
                self.inner.commit_cursor(lease, cursor).await
            }
            AtCommit::Advance(clock, by) => {
                let committed = self.inner.commit_cursor(lease, cursor).await;
                clock.advance(*by);
                committed
            }
        }
    }
    async fn release_lease(
        &self,
        lease: &okta_relay::ports::Lease,
    ) -> Result<(), okta_relay::ports::StateError> {
        self.inner.release_lease(lease).await
    }
    async fn snapshot(
        &self,
        key: &StreamKey,
    ) -> Result<Option<okta_relay::ports::StreamSnapshot>, okta_relay::ports::StateError> {
        self.inner.snapshot(key).await
    }
    async fn clear_cursor(
        &self,
        lease: &okta_relay::ports::Lease,
    ) -> Result<okta_relay::ports::Lease, okta_relay::ports::StateError> {
        self.inner.clear_cursor(lease).await
    }
}

#[tokio::test]
async fn a_crash_between_delivery_and_commit_loses_nothing_and_duplicates_at_most_a_page() {
    let sim = okta(100).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let table = table(&stack);
    let lease = Duration::from_secs(2);
    let crashing = Arc::new(CommitHook {
        inner: table.clone(),
        at_commit: AtCommit::HangAfter(1.into()),
    });
    let poller = poller_with(&stack, &arn, 20, "", crashing, lease);
    let deadline = Utc::now() + chrono::Duration::minutes(2);
    // Page 1 is delivered and committed; page 2 is delivered, then the process "dies".
    let crashed =
        tokio::time::timeout(Duration::from_secs(8), poller.run("crashing", deadline)).await;
    assert!(crashed.is_err(), "the run was cut off at the second commit");
    let cursor_after_crash = table
        .snapshot(&StreamKey::new("acme", "logs"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        cursor_after_crash.version, 1,
        "only the first page's cursor was committed"
    );

    // The crashed run's lease expires; a new run resumes from the committed cursor.
    tokio::time::sleep(lease + Duration::from_millis(200)).await;
    let restarted = poller_with(&stack, &arn, 20, "", table.clone(), Duration::from_secs(60));
    let outcome = restarted.run("restarted", deadline).await;
    assert!(outcome[0].error.is_none(), "{:?}", outcome[0].error);
    let captured = stack.capture(200, Duration::from_secs(10)).await;
    assert_eq!(distinct(&captured), all_events(&sim).await, "nothing lost");
    let duplicates = captured.len() - distinct(&captured).len();
    assert!(
        duplicates <= 20,
        "{duplicates} duplicates, at most one page"
    );
}

#[tokio::test]
async fn the_deadline_stops_between_pages_and_the_next_run_resumes() {
    let sim = okta(120).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let clock = okta_relay::clock::ManualClock::new(Utc::now());
    let table = Arc::new(DynamoStateTable::new(
        aws_sdk_dynamodb::Client::new(stack.sdk()),
        &stack.state_table,
        Arc::new(clock.clone()),
    ));
    let streams = Arc::new(CommitHook {
        inner: table.clone(),
        at_commit: AtCommit::Advance(clock.clone(), Duration::from_secs(60)),
    });
    let short_poller = poller_on(
        &stack,
        &arn,
        10,
        "",
        streams,
        Duration::from_secs(300),
        Arc::new(clock.clone()),
    );
    // 30 s to go, a 2 s margin: after the first page's commit the clock jumps a minute.
    let first = short_poller
        .run("short", Utc::now() + chrono::Duration::seconds(30))
        .await;
    assert!(first[0].error.is_none(), "{:?}", first[0].error);
    assert!(first[0].summary.stopped_for_deadline);
    assert_eq!(
        (first[0].summary.pages, first[0].summary.forwarded),
        (1, 10),
        "one page, then stop"
    );
    let committed = table
        .snapshot(&StreamKey::new("acme", "logs"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        committed.version, 1,
        "the page was committed before stopping"
    );
    let (second_poller, _) = poller(&stack, &arn, 10).await;
    let second = second_poller
        .run("long", Utc::now() + chrono::Duration::minutes(2))
        .await;
    assert!(!second[0].summary.stopped_for_deadline);
    assert_eq!(
        second[0].summary.forwarded, 110,
        "the next run resumed from the cursor"
    );
    let captured = stack.capture(120, Duration::from_secs(10)).await;
    assert_eq!(captured.len(), 120);
    assert_eq!(distinct(&captured), all_events(&sim).await);
}

#[tokio::test]
async fn rate_limits_server_errors_and_broken_bodies_are_ridden_out_without_429s_of_our_own() {
    // 3 requests per 2-second window: the 10 % reserve (rounded up: 1) leaves 2 per window.
    let limits = okta_sim::LimitConfig {
        per_minute: [("/api/v1/logs".to_string(), 3)].into_iter().collect(),
        time_scale: 30.0,
        concurrency: None,
    };
    let sim = sim_with(90, limits).await;
    sim_call(&sim, "/faults", None).await;
    reqwest::Client::new()
        .put(format!("{}/__sim/faults", sim.url))
        .json(&json!({"server_errors": 2, "truncated_bodies": 1, "connection_resets": 1}))
        .send()
        .await
        .unwrap();
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let (poller, _) = poller(&stack, &arn, 15).await;
    let outcome = poller
        .run("run", Utc::now() + chrono::Duration::minutes(3))
        .await;
    assert!(outcome[0].error.is_none(), "{:?}", outcome[0].error);
    assert_eq!(outcome[0].summary.forwarded, 90);
    let counters = sim_call(&sim, "/counters", None).await;
    assert_eq!(
        counters["buckets"]["/api/v1/logs"]["throttled"], 0,
        "the reserve kept us from 429s"
    );
    assert_eq!(
        distinct(&stack.capture(100, Duration::from_secs(10)).await),
        all_events(&sim).await
    );
}

#[tokio::test]
async fn a_429_storm_from_other_integrations_costs_at_most_one_429_per_window() {
    let limits = okta_sim::LimitConfig {
        per_minute: [("/api/v1/logs".to_string(), 4)].into_iter().collect(),
        time_scale: 30.0,
        concurrency: None,
    };
    let sim = sim_with(60, limits).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let (poller, _) = poller(&stack, &arn, 10).await;
    // Another integration exhausts the bucket every 500 ms for 4 s.
    let storm_url = format!("{}/__sim/limits/spend", sim.url);
    let storm = tokio::spawn(async move {
        let http = reqwest::Client::new();
        for _ in 0..8 {
            let _ = http
                .post(&storm_url)
                .json(&json!({"bucket": "/api/v1/logs", "requests": 4}))
                .send()
                .await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let started = std::time::Instant::now();
    let outcome = poller
        .run("run", Utc::now() + chrono::Duration::minutes(3))
        .await;
    storm.await.unwrap();
    assert!(outcome[0].error.is_none(), "{:?}", outcome[0].error);
    assert_eq!(outcome[0].summary.forwarded, 60);
    let windows = started.elapsed().as_secs() / 2 + 1;
    let throttled = sim_call(&sim, "/counters", None).await["buckets"]["/api/v1/logs"]["throttled"]
        .as_u64()
        .unwrap();
    assert!(throttled >= 1, "the storm did hit us");
    assert!(
        throttled <= windows,
        "{throttled} 429s in {windows} windows: never more than one per window"
    );
}

#[tokio::test]
async fn event_type_filters_drop_and_count_without_stopping_the_cursor() {
    let sim = okta(80).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let poller = poller_with(
        &stack,
        &arn,
        40,
        r#","event_types":{"deny":["user.session.*"]}"#,
        table(&stack),
        Duration::from_secs(60),
    );
    let outcome = poller
        .run("run", Utc::now() + chrono::Duration::minutes(2))
        .await;
    let s = &outcome[0].summary;
    assert_eq!(s.forwarded + s.filtered, 80);
    assert!(s.filtered > 0 && s.forwarded > 0, "{s:?}");
    let captured = stack.capture(100, Duration::from_secs(10)).await;
    assert_eq!(captured.len() as u64, s.forwarded);
    assert!(captured.iter().all(|e| {
        !e["detail"]["okta"]["eventType"]
            .as_str()
            .unwrap()
            .starts_with("user.session.")
    }));
}

#[tokio::test]
async fn configuration_errors_back_off_instead_of_retrying_every_run() {
    let sim = okta(5).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, "00wrongToken").await;
    let (poller, _) = poller(&stack, &arn, 10).await;
    let deadline = Utc::now() + chrono::Duration::minutes(2);
    let first = poller.run("run-1", deadline).await;
    assert_eq!(first[0].error_kind, Some(ErrorKind::Configuration));
    let requests = sim_call(&sim, "/counters", None).await["buckets"]["/api/v1/logs"]["requests"]
        .as_u64()
        .unwrap();
    let second = poller.run("run-2", deadline).await;
    let until = second[0].backoff_until.expect("the stream is backing off");
    assert!(until > Utc::now() + chrono::Duration::minutes(4));
    let after = sim_call(&sim, "/counters", None).await["buckets"]["/api/v1/logs"]["requests"]
        .as_u64()
        .unwrap();
    assert_eq!(after, requests, "no request to Okta while backing off");
}

/// Stores `cursor` as the stream's cursor, as an earlier run (or another program) left it.
async fn store_cursor(table: &DynamoStateTable, key: &StreamKey, cursor: &str) {
    let lease = table
        .acquire(key, "earlier", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let lease = table.commit_cursor(&lease, cursor).await.unwrap();
    table.release_lease(&lease).await.unwrap();
}

#[tokio::test]
async fn a_first_run_at_oktas_180_day_edge_polls_without_e0000053() {
    let sim = okta(20).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let poller = poller_with(
        &stack,
        &arn,
        100,
        r#","logs":{"page_size":100,"initial_lookback_hours":4320}"#,
        table(&stack),
        Duration::from_secs(60),
    );
    let outcome = poller
        .run("run-1", Utc::now() + chrono::Duration::minutes(2))
        .await;
    assert!(outcome[0].error.is_none(), "{:?}", outcome[0].error);
    assert_eq!(outcome[0].summary.forwarded, 20);
}

#[tokio::test]
async fn a_stored_cursor_that_no_longer_fits_stops_the_stream_and_names_the_fix() {
    let sim = okta(10).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let (poller, table) = poller(&stack, &arn, 10).await;
    let key = StreamKey::new("acme", "logs");
    // The org moved to a custom domain: the stored link points at the old one.
    let old = "https://acme.okta.com/api/v1/logs?after=p5&limit=10";
    for (stored, says) in [(old, "https://acme.okta.com"), ("not a url", "not a URL")] {
        store_cursor(&table, &key, stored).await;
        let outcome = poller
            .run("run-1", Utc::now() + chrono::Duration::minutes(2))
            .await;
        assert_eq!(
            outcome[0].error_kind,
            Some(ErrorKind::Configuration),
            "{stored}"
        );
        let error = outcome[0].error.as_deref().unwrap();
        assert!(error.contains("okta-relay-ctl reset-cursor"), "{error}");
        assert!(error.contains(says), "{error}");
        assert_eq!(
            table
                .snapshot(&key)
                .await
                .unwrap()
                .unwrap()
                .cursor
                .as_deref(),
            Some(stored),
            "the cursor is left for the operator"
        );
        // Not silently restarted at now − lookback: nothing was read.
        assert_eq!(outcome[0].summary.pages, 0);
        // Clear the backoff the configuration error started, for the next case.
        table
            .record_success(&key, Utc::now(), &okta_relay::ports::RunRecord::default())
            .await
            .unwrap();
    }
    assert!(stack.capture(1, Duration::from_secs(1)).await.is_empty());
}

#[tokio::test]
async fn an_okta_400_is_permanent_and_backs_off_instead_of_rereading_the_page() {
    let sim = okta(10).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let (poller, table) = poller(&stack, &arn, 10).await;
    let key = StreamKey::new("acme", "logs");
    // A stored link Okta refuses with 400 E0000031 (another program wrote the table).
    let refused = format!(
        "{}/api/v1/logs?after=p0&limit=10&sortOrder=SIDEWAYS",
        sim.url
    );
    store_cursor(&table, &key, &refused).await;
    let first = poller
        .run("run-1", Utc::now() + chrono::Duration::minutes(2))
        .await;
    assert_eq!(
        first[0].error_kind,
        Some(ErrorKind::Permanent),
        "{:?}",
        first[0]
    );
    let second = poller
        .run("run-2", Utc::now() + chrono::Duration::minutes(2))
        .await;
    assert!(second[0].backoff_until.is_some(), "{:?}", second[0]);
    let counters = sim_call(&sim, "/counters", None).await;
    let requests = counters["buckets"]["/api/v1/logs"]["requests"].as_u64();
    assert_eq!(
        requests,
        Some(1),
        "the page was asked for once, not at every schedule: {counters}"
    );
}
