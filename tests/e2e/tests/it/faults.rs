//! The fault matrix: one named test per fault, each against the Okta simulator and moto with
//! the real adapters. Every test ends the same way ([`Bench::settle`]): the fault is cleared,
//! the poller runs until it is caught up, and then every event the simulator holds must be in
//! the capture queue (nothing lost), and the token must appear nowhere: not in the captured
//! records, not in the state table, not in the outcomes, not in the logs (raw, base64 or
//! URL-encoded).
//!
//! Faults covered elsewhere are listed in RELIABILITY.md with their tests (429 storms, revoked
//! token, missing secret, secret rotated mid-run, deadline mid-page, crashes).

use crate::lambda::assert_not_leaked;
use crate::pull::{TOKEN, all_events, sim_call};
use crate::support::LocalStack;
use async_trait::async_trait;
use chrono::Utc;
use okta_relay::ErrorKind;
use okta_relay::adapters::{DynamoStateTable, EventBridgeSink, SecretsManagerSource};
use okta_relay::clock::SystemClock;
use okta_relay::config::RelayConfig;
use okta_relay::okta::{ClientSettings, RetryPolicy};
use okta_relay::poller::{OrgOutcome, PollerPorts, PollerService, RunSettings};
use okta_relay::ports::{
    EntryOutcome, EventSink, Lease, OneSink, SinkEntry, SinkError, StateError, StreamKey,
    StreamSnapshot, StreamStateStore,
};
use okta_sim::{LimitConfig, RunningSim, SeedConfig, SimConfig};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

/// Every log line the in-process poller writes in this test binary.
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogBuffer;

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| okta_relay::telemetry::init_with_writer(|| LogBuffer));
}

fn logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

/// What a test changes about the poller.
#[derive(Default)]
struct Setup {
    page: Option<u32>,
    request_timeout: Option<Duration>,
    max_attempts: Option<u32>,
    sink: Option<Arc<dyn EventSink>>,
    streams: Option<Arc<dyn StreamStateStore>>,
    table: Option<String>,
}

struct Bench {
    sim: RunningSim,
    stack: LocalStack,
    arn: String,
    table: Arc<DynamoStateTable>,
}

impl Bench {
    async fn new(backlog: usize, limits: LimitConfig) -> Self {
        capture_logs();
        let sim = okta_sim::start(SimConfig {
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
        .unwrap();
        let stack = LocalStack::provision(&[]).await;
        let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
        let table = crate::pull::table(&stack);
        Self {
            sim,
            stack,
            arn,
            table,
        }
    }

    fn poller(&self, setup: Setup) -> PollerService {
        self.poller_for(&self.arn, setup)
    }

    fn poller_for(&self, secret_arn: &str, setup: Setup) -> PollerService {
        let page = setup.page.unwrap_or(20);
        let config = RelayConfig::from_json(&format!(
            r#"{{"allow_loopback_http":true,"deadline_margin_seconds":2,"lease_seconds":10,
                "orgs":[{{"name":"acme","secret_arn":"{secret_arn}","logs":{{"page_size":{page}}}}}]}}"#
        ))
        .unwrap();
        let table: Arc<DynamoStateTable> = match &setup.table {
            Some(name) => Arc::new(DynamoStateTable::new(
                aws_sdk_dynamodb::Client::new(self.stack.sdk()),
                name,
                Arc::new(SystemClock),
            )),
            None => self.table.clone(),
        };
        let sink: Arc<dyn EventSink> = setup.sink.unwrap_or_else(|| self.sink());
        let ports = PollerPorts {
            secrets: Arc::new(SecretsManagerSource::new(
                aws_sdk_secretsmanager::Client::new(self.stack.sdk()),
            )),
            streams: setup.streams.unwrap_or_else(|| table.clone()),
            dedupe: table.clone(),
            health: table.clone(),
            identities: table,
            sinks: Arc::new(OneSink(sink)),
            lake: Arc::new(okta_relay::adapters::S3LakeStore::new(self.stack.s3())),
            clock: Arc::new(SystemClock),
        };
        let defaults = ClientSettings::default();
        let settings = RunSettings {
            client: ClientSettings {
                request_timeout: setup.request_timeout.unwrap_or(defaults.request_timeout),
                retry: RetryPolicy {
                    base_backoff: Duration::from_millis(10),
                    max_attempts: setup.max_attempts.unwrap_or(5),
                    ..RetryPolicy::default()
                },
                ..defaults
            },
            deadline_margin: Duration::from_secs(2),
            lease_ttl: Duration::from_secs(10),
        };
        PollerService::new(Arc::new(config), ports, settings).unwrap()
    }

    fn sink(&self) -> Arc<dyn EventSink> {
        Arc::new(EventBridgeSink::new(
            aws_sdk_eventbridge::Client::new(self.stack.sdk()),
            &self.stack.delivery_bus,
        ))
    }

    async fn faults(&self, body: Value) {
        let r = reqwest::Client::new()
            .put(format!("{}/__sim/faults", self.sim.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }

    async fn clear_faults(&self) {
        reqwest::Client::new()
            .delete(format!("{}/__sim/faults", self.sim.url))
            .send()
            .await
            .unwrap();
    }

    async fn run(&self, poller: &PollerService) -> OrgOutcome {
        let out = poller
            .run("fault", Utc::now() + chrono::Duration::minutes(2))
            .await;
        out.into_iter().next().unwrap()
    }

    async fn health(&self) -> okta_relay::ports::HealthReport {
        use okta_relay::ports::HealthStore;
        self.table
            .read(&StreamKey::new("acme", "logs"))
            .await
            .unwrap()
            .unwrap_or_default()
    }

    async fn cursor(&self) -> Option<String> {
        self.table
            .snapshot(&StreamKey::new("acme", "logs"))
            .await
            .unwrap()
            .and_then(|s| s.cursor)
    }

    /// Clears the faults, runs a healthy poller until it is caught up, and checks the promises:
    /// every event delivered, duplicates at most `max_duplicates`, and no secret anywhere.
    async fn settle(&self, earlier: &[OrgOutcome], max_duplicates: usize) -> Vec<Value> {
        self.clear_faults().await;
        let poller = self.poller(Setup::default());
        let mut outcomes: Vec<OrgOutcome> = earlier.to_vec();
        for _ in 0..20 {
            let o = self.run(&poller).await;
            outcomes.push(o.clone());
            if o.error.is_none() && o.summary.caught_up {
                break;
            }
            // A stolen or crashed lease expires first.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let last = outcomes.last().unwrap();
        assert!(
            last.error.is_none() && last.summary.caught_up,
            "did not recover: {last:?}"
        );
        let captured = self
            .stack
            .capture(all_events(&self.sim).await.len(), Duration::from_secs(5))
            .await;
        // An oversize record arrives as a marker carrying its id.
        let ids: Vec<String> = captured
            .iter()
            .map(|e| {
                e["detail"]["okta"]["uuid"]
                    .as_str()
                    .or(e["detail"]["relay"]["recordId"].as_str())
                    .unwrap()
                    .to_string()
            })
            .collect();
        let got: std::collections::BTreeSet<String> = ids.iter().cloned().collect();
        assert_eq!(got, all_events(&self.sim).await, "nothing lost");
        assert!(
            captured.len() - got.len() <= max_duplicates,
            "{} duplicates",
            captured.len() - got.len()
        );
        let mut everything = serde_json::to_string(&captured).unwrap();
        everything.push_str(&serde_json::to_string(&outcomes).unwrap());
        everything.push_str(&self.scan_table().await);
        everything.push_str(&logs());
        assert_not_leaked(&everything, TOKEN);
        captured
    }

    /// The state table as text.
    async fn scan_table(&self) -> String {
        let ddb = aws_sdk_dynamodb::Client::new(self.stack.sdk());
        let mut out = String::new();
        let mut start = None;
        loop {
            let page = ddb
                .scan()
                .table_name(&self.stack.state_table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            out.push_str(&format!("{:?}", page.items()));
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return out;
            }
        }
    }
}

fn limits(per_minute: &[(&str, u32)], time_scale: f64, concurrency: Option<u32>) -> LimitConfig {
    LimitConfig {
        per_minute: per_minute
            .iter()
            .map(|(b, n)| (b.to_string(), *n))
            .collect(),
        time_scale,
        concurrency,
    }
}

/// A fault the client rides out within one run.
async fn ridden_out(fault: Value) {
    let bench = Bench::new(60, LimitConfig::default()).await;
    bench.faults(fault).await;
    let outcome = bench.run(&bench.poller(Setup::default())).await;
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert!(outcome.summary.caught_up);
    bench.settle(&[outcome], 0).await;
}

#[tokio::test]
async fn fault_5xx_bursts_are_retried() {
    ridden_out(json!({"server_errors": 3})).await;
}

#[tokio::test]
async fn fault_connection_resets_are_retried() {
    ridden_out(json!({"connection_resets": 2})).await;
}

#[tokio::test]
async fn fault_truncated_json_is_retried() {
    ridden_out(json!({"truncated_bodies": 2})).await;
}

#[tokio::test]
async fn fault_skewed_date_waits_on_oktas_clock() {
    // Okta's clock an hour ahead, and a bucket that runs dry: the reset wait is computed as
    // Reset − Date (both Okta's), not Reset − our clock (which would be an hour).
    let bench = Bench::new(60, limits(&[("/api/v1/logs", 3)], 30.0, None)).await;
    bench.faults(json!({"date_skew_seconds": 3600})).await;
    let outcome = bench.run(&bench.poller(Setup::default())).await;
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    // An hour's wait would not fit in the run's two minutes and would stop it for the rate
    // limit; waiting on Okta's clock fits.
    assert!(
        outcome.summary.caught_up && !outcome.summary.stopped_for_rate_limit,
        "waited through the resets: {outcome:?}"
    );
    bench.settle(&[outcome], 0).await;
}

#[tokio::test]
async fn fault_a_rate_limit_wait_longer_than_the_lease_keeps_the_lease() {
    // 15 s windows of 3 requests (one kept in reserve) against a 10 s lease: the third page
    // waits longer than the lease lasts. The wait renews the lease, and the run commits.
    let bench = Bench::new(50, limits(&[("/api/v1/logs", 3)], 4.0, None)).await;
    let outcome = bench.run(&bench.poller(Setup::default())).await;
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert!(
        outcome.summary.caught_up && !outcome.summary.stopped_for_rate_limit,
        "{outcome:?}"
    );
    assert_eq!(outcome.summary.forwarded, 50, "{outcome:?}");
    assert!(logs().contains("the lease is kept meanwhile"));
    bench.settle(&[outcome], 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_concurrency_429s_back_off_and_the_run_finishes() {
    // One request at a time org-wide, and another integration keeps a slow request open.
    let bench = Bench::new(60, limits(&[], 30.0, Some(1))).await;
    bench
        .faults(json!({"path_prefix": "/api/v1/users", "latency_ms": 150}))
        .await;
    let other = {
        let url = format!("{}/api/v1/users?limit=1", bench.sim.url);
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            for _ in 0..12 {
                let _ = http
                    .get(&url)
                    .header("Authorization", format!("SSWS {TOKEN}"))
                    .send()
                    .await;
            }
        })
    };
    let poller = bench.poller(Setup {
        page: Some(5),
        max_attempts: Some(10),
        ..Setup::default()
    });
    let outcome = bench.run(&poller).await;
    other.abort();
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    // A concurrency 429 says nothing about the bucket's budget: the run backs off and goes on,
    // it does not wait for a window as if the bucket were spent.
    assert!(
        outcome.summary.caught_up && !outcome.summary.stopped_for_rate_limit,
        "{outcome:?}"
    );
    let counters = sim_call(&bench.sim, "/counters", None).await;
    assert!(
        counters["buckets"]["/api/v1/logs"]["concurrency_throttled"]
            .as_u64()
            .unwrap()
            > 0,
        "the concurrency limit hit us: {counters}"
    );
    bench.settle(&[outcome], 0).await;
}

#[tokio::test]
async fn fault_read_timeouts_are_transient_and_the_next_run_resumes() {
    let bench = Bench::new(60, LimitConfig::default()).await;
    bench.faults(json!({"latency_ms": 1500})).await;
    let poller = bench.poller(Setup {
        request_timeout: Some(Duration::from_millis(300)),
        max_attempts: Some(2),
        ..Setup::default()
    });
    let outcome = bench.run(&poller).await;
    assert_eq!(
        outcome.error_kind,
        Some(ErrorKind::Transient),
        "{outcome:?}"
    );
    assert!(outcome.error.as_deref().unwrap().contains("timed out"));
    let health = bench.health().await;
    assert_eq!(health.last_error_kind, Some(ErrorKind::Transient));
    assert_eq!(bench.cursor().await, None, "nothing committed");
    bench.settle(&[outcome], 0).await;
}

#[tokio::test]
async fn fault_a_malformed_link_stops_the_stream_without_moving_the_cursor() {
    let bench = Bench::new(60, LimitConfig::default()).await;
    let poller = bench.poller(Setup::default());
    // A good run, then new events whose page carries a broken Link header.
    let first = bench.run(&poller).await;
    let cursor = bench.cursor().await;
    sim_call(&bench.sim, "/events", Some(json!({"count": 30}))).await;
    bench.faults(json!({"malformed_links": 5})).await;
    let broken = bench.run(&poller).await;
    assert!(broken.error.is_some(), "{broken:?}");
    assert_ne!(broken.error_kind, Some(ErrorKind::Configuration));
    assert_eq!(bench.cursor().await, cursor, "the cursor stayed");
    bench.settle(&[first, broken], 20).await;
}

#[tokio::test]
async fn fault_a_foreign_next_link_is_refused_and_the_foreign_host_sees_nothing() {
    // The "foreign" host is a second simulator that counts what it receives.
    let foreign = okta_sim::start(SimConfig::default()).await.unwrap();
    let bench = Bench::new(60, LimitConfig::default()).await;
    bench
        .faults(json!({"foreign_next": 3, "foreign_origin": foreign.url}))
        .await;
    let outcome = bench.run(&bench.poller(Setup::default())).await;
    assert_eq!(
        outcome.error_kind,
        Some(ErrorKind::Permanent),
        "{outcome:?}"
    );
    let seen = sim_call(&foreign, "/counters", None).await["buckets"].clone();
    assert_eq!(
        seen,
        json!({}),
        "no request reached the foreign host: {seen}"
    );
    // A permanent error backs off like a configuration error: the next schedule does not read
    // the same page again.
    let again = bench.run(&bench.poller(Setup::default())).await;
    assert!(again.backoff_until.is_some(), "{again:?}");
    assert_eq!(again.summary.pages, 0);
    // The operator's fix (here: the fault cleared) takes effect at the end of the backoff;
    // the test ends it now, as a successful run would.
    use okta_relay::ports::HealthStore;
    bench
        .table
        .record_success(
            &StreamKey::new("acme", "logs"),
            Utc::now(),
            &okta_relay::ports::RunRecord::default(),
        )
        .await
        .unwrap();
    bench.settle(&[outcome], 20).await;
}

#[tokio::test]
async fn fault_an_invalid_secret_is_a_configuration_error_that_does_not_echo_it() {
    let bench = Bench::new(20, LimitConfig::default()).await;
    let garbage = format!(
        r#"{{"org_url": "{}", "api_tokn": "{TOKEN}"}}"#,
        bench.sim.url
    );
    let arn = bench.stack.put_secret("acme-bad", &garbage).await;
    let outcome = bench.run(&bench.poller_for(&arn, Setup::default())).await;
    assert_eq!(
        outcome.error_kind,
        Some(ErrorKind::Configuration),
        "{outcome:?}"
    );
    bench.table_reset_health().await;
    let not_json = bench.stack.put_secret("acme-text", TOKEN).await;
    let outcome2 = bench
        .run(&bench.poller_for(&not_json, Setup::default()))
        .await;
    assert_eq!(outcome2.error_kind, Some(ErrorKind::Configuration));
    // The operator fixes the secret and clears the backoff: everything is then delivered.
    bench.table_reset_health().await;
    bench.settle(&[outcome, outcome2], 0).await;
}

#[tokio::test]
async fn fault_a_missing_state_table_is_a_configuration_error() {
    let bench = Bench::new(20, LimitConfig::default()).await;
    let outcome = bench
        .run(&bench.poller(Setup {
            table: Some(format!("{}-missing", bench.stack.state_table)),
            ..Setup::default()
        }))
        .await;
    assert_eq!(
        outcome.error_kind,
        Some(ErrorKind::Configuration),
        "{outcome:?}"
    );
    assert!(outcome.error.as_deref().unwrap().contains("does not exist"));
    bench.settle(&[outcome], 0).await;
}

/// A stream store whose lease is stolen by another owner just before the `nth` cursor commit.
struct Thief {
    inner: Arc<DynamoStateTable>,
    ddb: aws_sdk_dynamodb::Client,
    table: String,
    commits: AtomicUsize,
    nth: usize,
}

#[async_trait]
impl StreamStateStore for Thief {
    async fn acquire(
        &self,
        key: &StreamKey,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StateError> {
        self.inner.acquire(key, owner, ttl).await
    }
    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<Lease, StateError> {
        self.inner.renew(lease, ttl).await
    }
    async fn commit_cursor(&self, lease: &Lease, cursor: &str) -> Result<Lease, StateError> {
        if self.commits.fetch_add(1, Ordering::SeqCst) + 1 == self.nth {
            // Another invocation takes the lease (for two seconds) and bumps the fence.
            let until = Utc::now().timestamp_millis() + 2000;
            self.ddb
                .update_item()
                .table_name(&self.table)
                .key(
                    "pk",
                    aws_sdk_dynamodb::types::AttributeValue::S(format!(
                        "stream#{}#{}",
                        lease.key.org, lease.key.stream
                    )),
                )
                .update_expression("SET lease_owner = :o, lease_expires = :e ADD fence :one")
                .expression_attribute_values(
                    ":o",
                    aws_sdk_dynamodb::types::AttributeValue::S("thief".into()),
                )
                .expression_attribute_values(
                    ":e",
                    aws_sdk_dynamodb::types::AttributeValue::N(until.to_string()),
                )
                .expression_attribute_values(
                    ":one",
                    aws_sdk_dynamodb::types::AttributeValue::N("1".into()),
                )
                .send()
                .await
                .unwrap();
        }
        self.inner.commit_cursor(lease, cursor).await
    }
    async fn release_lease(&self, lease: &Lease) -> Result<(), StateError> {
        self.inner.release_lease(lease).await
    }
    async fn snapshot(&self, key: &StreamKey) -> Result<Option<StreamSnapshot>, StateError> {
        self.inner.snapshot(key).await
    }
    async fn clear_cursor(&self, lease: &Lease) -> Result<Lease, StateError> {
        self.inner.clear_cursor(lease).await
    }
}

#[tokio::test]
async fn fault_a_stolen_lease_cannot_move_the_cursor() {
    let bench = Bench::new(60, LimitConfig::default()).await;
    let thief = Arc::new(Thief {
        inner: bench.table.clone(),
        ddb: aws_sdk_dynamodb::Client::new(bench.stack.sdk()),
        table: bench.stack.state_table.clone(),
        commits: AtomicUsize::new(0),
        nth: 2,
    });
    let outcome = bench
        .run(&bench.poller(Setup {
            streams: Some(thief),
            ..Setup::default()
        }))
        .await;
    assert_eq!(
        outcome.error_kind,
        Some(ErrorKind::Transient),
        "{outcome:?}"
    );
    assert!(outcome.error.as_deref().unwrap().contains("no longer ours"));
    assert_eq!(outcome.summary.pages, 2, "stopped at the second commit");
    let snapshot = bench
        .table
        .snapshot(&StreamKey::new("acme", "logs"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        snapshot.version, 1,
        "only the first commit moved the cursor"
    );
    assert_eq!(snapshot.lease_owner.as_deref(), Some("thief"));
    // The second page was delivered but not committed: resent once at most.
    bench.settle(&[outcome], 20).await;
}

/// A sink in front of the real one that fails entries: `fail(call, index)` says which.
struct FlakySink {
    inner: Arc<dyn EventSink>,
    calls: AtomicUsize,
    code: &'static str,
    fail: fn(usize, usize) -> bool,
}

#[async_trait]
impl EventSink for FlakySink {
    async fn put(&self, entries: &[&SinkEntry]) -> Result<Vec<EntryOutcome>, SinkError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let keep: Vec<&SinkEntry> = entries
            .iter()
            .enumerate()
            .filter(|(i, _)| !(self.fail)(call, *i))
            .map(|(_, e)| *e)
            .collect();
        let mut sent = if keep.is_empty() {
            Vec::new()
        } else {
            self.inner.put(&keep).await?
        }
        .into_iter();
        Ok((0..entries.len())
            .map(|i| {
                if (self.fail)(call, i) {
                    EntryOutcome::failed(
                        self.code,
                        "injected",
                        okta_relay::adapters::eventbridge::entry_fault(self.code),
                    )
                } else {
                    sent.next().unwrap()
                }
            })
            .collect())
    }
}

#[tokio::test]
async fn fault_put_events_partial_failure_resends_only_the_failed_entries() {
    let bench = Bench::new(60, LimitConfig::default()).await;
    // The first five calls fail every other entry with throttling.
    let sink = Arc::new(FlakySink {
        inner: bench.sink(),
        calls: AtomicUsize::new(0),
        code: "ThrottlingException",
        fail: |call, i| call < 5 && i % 2 == 1,
    });
    let outcome = bench
        .run(&bench.poller(Setup {
            sink: Some(sink.clone()),
            ..Setup::default()
        }))
        .await;
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(outcome.summary.forwarded, 60);
    let captured = bench.settle(&[outcome], 0).await;
    assert_eq!(captured.len(), 60, "resent entries arrived once");
}

#[tokio::test]
async fn fault_put_events_total_failure_fails_the_run_and_keeps_the_cursor() {
    let bench = Bench::new(60, LimitConfig::default()).await;
    let sink = Arc::new(FlakySink {
        inner: bench.sink(),
        calls: AtomicUsize::new(0),
        code: "InternalFailure",
        fail: |_, _| true,
    });
    let outcome = bench
        .run(&bench.poller(Setup {
            sink: Some(sink),
            ..Setup::default()
        }))
        .await;
    assert_eq!(
        outcome.error_kind,
        Some(ErrorKind::Transient),
        "{outcome:?}"
    );
    assert_eq!(bench.cursor().await, None, "no cursor moved");
    assert_eq!(
        bench.health().await.last_error_kind,
        Some(ErrorKind::Transient)
    );
    bench.settle(&[outcome], 0).await;
}

#[tokio::test]
async fn fault_an_oversize_event_becomes_a_marker_with_its_uuid() {
    let bench = Bench::new(10, LimitConfig::default()).await;
    let huge = "x".repeat(300 * 1024);
    let added = sim_call(
        &bench.sim,
        "/events",
        Some(json!({"events": [{"eventType": "user.session.start", "displayMessage": huge}]})),
    )
    .await;
    let uuid = added["uuids"][0].as_str().unwrap().to_string();
    let outcome = bench.run(&bench.poller(Setup::default())).await;
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(outcome.summary.oversize, 1);
    let captured = bench.settle(&[outcome], 0).await;
    let marker = captured
        .iter()
        .find(|e| e["detail-type"] == "Okta Relay Oversize Record")
        .expect("a marker");
    assert_eq!(marker["detail"]["relay"]["recordId"], uuid.as_str());
    assert!(logs().contains(&uuid), "the oversize record's id is logged");
}

impl Bench {
    /// Forgets the stream's health (an operator fixed the configuration), so no backoff holds
    /// the next run.
    async fn table_reset_health(&self) {
        aws_sdk_dynamodb::Client::new(self.stack.sdk())
            .delete_item()
            .table_name(&self.stack.state_table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S("health#acme#logs".into()),
            )
            .send()
            .await
            .unwrap();
    }
}
