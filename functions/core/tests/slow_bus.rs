//! A delivery bus that answers slowly: the run stops starting requests before its deadline and
//! ends within one answer of it, the page whose delivery the deadline cut stays uncommitted
//! (what the bus acknowledged of it marked), and the next run delivers the rest. (How many duplicates a
//! bus answering in 5 s makes with the PutEvents attempt timeout is a benchmark, against the
//! latency stub: BENCHMARKS.md, `make bench-slow-bus`.)

#![allow(clippy::unwrap_used)]

use async_trait::async_trait;
use chrono::Utc;
use okta_relay::clock::SystemClock;
use okta_relay::config::RelayConfig;
use okta_relay::okta::{ClientSettings, RetryPolicy};
use okta_relay::poller::{PollerService, RunSettings};
use okta_relay::ports::{EntryOutcome, EventSink, OneSink, SinkEntry, SinkError};
use okta_relay::testing::{MemoryPorts, MemorySink};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "00SlowBusToken";
const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:okta/acme-AbCdEf";
/// How long the bus takes to answer each PutEvents request.
const LATENCY: Duration = Duration::from_secs(2);

struct SlowBus(MemorySink);

#[async_trait]
impl EventSink for SlowBus {
    async fn put(&self, entries: &[&SinkEntry]) -> Result<Vec<EntryOutcome>, SinkError> {
        tokio::time::sleep(LATENCY).await;
        self.0.put(entries).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_bus_stops_the_run_by_its_deadline_and_the_next_run_delivers_the_rest() {
    let sim = okta_sim::start(okta_sim::SimConfig {
        tokens: vec![TOKEN.into()],
        seed: okta_sim::SeedConfig {
            backlog_events: 600,
            backlog_hours: 2,
            late_share: 0.0,
            ..okta_sim::SeedConfig::default()
        },
        ..okta_sim::SimConfig::default()
    })
    .await
    .unwrap();
    let mut fakes = MemoryPorts::new(Arc::new(SystemClock));
    fakes.secrets.put(
        ARN,
        &json!({"org_url": sim.url, "api_token": TOKEN}).to_string(),
    );
    let bus = Arc::new(SlowBus(MemorySink::default()));
    fakes.sink = Arc::new(MemorySink::default());
    let mut ports = fakes.ports();
    ports.sinks = Arc::new(OneSink(bus.clone()));
    let config = RelayConfig::from_json(&format!(
        r#"{{"allow_loopback_http":true,"deadline_margin_seconds":2,
            "orgs":[{{"name":"acme","secret_arn":"{ARN}","logs":{{"page_size":100}}}}]}}"#
    ))
    .unwrap();
    let settings = RunSettings {
        client: ClientSettings {
            retry: RetryPolicy {
                base_backoff: Duration::from_millis(5),
                ..RetryPolicy::default()
            },
            ..ClientSettings::default()
        },
        deadline_margin: Duration::from_secs(2),
        lease_ttl: Duration::from_secs(60),
    };
    let poller = PollerService::new(Arc::new(config), ports, settings).unwrap();

    // Room for a few pages of six (each at least one answer of the bus), not for all.
    let budget = 5 * LATENCY;
    let started = Instant::now();
    let deadline = Utc::now() + chrono::Duration::from_std(budget).unwrap();
    let first = poller.run("slow-1", deadline).await.remove(0);
    // The requests in flight when the delivery stops are answered (at most one bus answer).
    assert!(
        started.elapsed() <= budget + LATENCY,
        "ended by its deadline: {:?}",
        started.elapsed()
    );
    assert!(
        first.error.is_none(),
        "a stop, not a failure: {:?}",
        first.error
    );
    assert!(first.summary.stopped_for_deadline, "{first:?}");
    assert!(
        first.summary.forwarded >= 100 && first.summary.forwarded < 600,
        "{first:?}"
    );

    // The next run, with time enough, delivers the rest from the committed cursor.
    let second = poller
        .run("slow-2", Utc::now() + chrono::Duration::minutes(2))
        .await
        .remove(0);
    assert!(
        second.error.is_none() && second.summary.caught_up,
        "{second:?}"
    );
    let delivered = bus.0.accepted_uuids();
    let distinct: BTreeSet<&String> = delivered.iter().collect();
    assert_eq!(distinct.len(), 600, "every event delivered");
    // What the bus acknowledged of the cut page is marked: nothing comes twice.
    assert!(
        delivered.len() == distinct.len(),
        "{} duplicates",
        delivered.len() - distinct.len()
    );
}
