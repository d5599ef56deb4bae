//! The events function under a burst of partner events: the real binary under
//! `cargo lambda watch` (several instances), invoked concurrently over the Lambda Invoke API.
//! Every event must reach the capture queue exactly once, and the functions' resident memory
//! must stay flat (no per-event growth) across the burst.
//!
//! `make test` sends 500 events; `make load` sends the 10 000 of RELIABILITY.md
//! (`OKTA_RELAY_LOAD_EVENTS`, `OKTA_RELAY_LOAD_CONCURRENCY` change them). The figures are printed.

use crate::lambda::{LambdaWatch, function_env, pids_of};
use crate::support::{LocalStack, partner_envelope};
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SOURCE: &str = "aws.partner/okta.com/acme/okta-relay";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Realistic LogEvents from the simulator's seeded org (its shapes, its sizes).
fn partner_events(count: usize) -> Vec<Value> {
    let seed = okta_sim::SeedConfig {
        backlog_events: count,
        backlog_hours: 2,
        ..okta_sim::SeedConfig::default()
    };
    let store = okta_sim::store::Store::seeded("https://acme.okta.com", &seed, chrono::Utc::now());
    store
        .log
        .iter()
        .map(|r| serde_json::from_str(&r.json).unwrap())
        .collect()
}

/// Invocations done so far, and each function instance's resident memory (pid → KiB) then.
type RssSample = (usize, BTreeMap<u32, u64>);

/// Resident set size of a process, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_partner_events_is_forwarded_once_with_flat_memory() {
    let count = env_or("OKTA_RELAY_LOAD_EVENTS", 500);
    let concurrency = env_or("OKTA_RELAY_LOAD_CONCURRENCY", 16);
    let events = partner_events(count);
    assert_eq!(events.len(), count);
    let stack = LocalStack::provision(&[]).await;
    let arn = stack
        .put_org_secret("acme", "https://acme.okta.com", "00loadTestTokenNeverUsed")
        .await;
    let config = json!({
        "orgs": [{"name": "acme", "secret_arn": arn, "partner_event_source": SOURCE}],
    });
    let watch = LambdaWatch::start_with(
        "okta-relay-events",
        &function_env(&stack, &config),
        &["--concurrency", "4"],
    );
    let http = reqwest::Client::new();
    // The first invocation starts an instance; memory is measured from the warm process on.
    watch
        .invoke_http(&http, &partner_envelope(SOURCE, &events[0]))
        .await
        .expect("warm-up invocation");
    let drainer = stack.drain_in_background();

    let done = Arc::new(AtomicUsize::new(0));
    let samples: Arc<Mutex<Vec<RssSample>>> = Arc::default();
    let sampler = {
        let (done, samples) = (done.clone(), samples.clone());
        let table = stack.state_table.clone();
        tokio::spawn(async move {
            loop {
                let now: BTreeMap<u32, u64> = pids_of("okta-relay-events", &table)
                    .into_iter()
                    .filter_map(|pid| Some((pid, rss_kib(pid)?)))
                    .collect();
                let n = done.load(Ordering::SeqCst);
                samples.lock().unwrap().push((n, now));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let failures: Vec<String> = futures::stream::iter(&events[1..])
        .map(|event| {
            let (http, watch, done) = (&http, &watch, &done);
            async move {
                let result = watch
                    .invoke_http(http, &partner_envelope(SOURCE, event))
                    .await;
                done.fetch_add(1, Ordering::SeqCst);
                match result {
                    Ok(summary) if summary["forwarded"] == 1 => None,
                    Ok(summary) => Some(format!("{}: {summary}", event["uuid"])),
                    Err(e) => Some(format!("{}: {e}", event["uuid"])),
                }
            }
        })
        .buffer_unordered(concurrency)
        .filter_map(|r| async move { r })
        .collect()
        .await;
    sampler.abort();
    assert!(
        failures.is_empty(),
        "{} invocations failed, first: {:?}",
        failures.len(),
        failures.first()
    );

    let captured = drainer.finish().await;
    let uuids: Vec<&str> = captured
        .iter()
        .map(|r| r["detail"]["okta"]["uuid"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = uuids.iter().copied().collect();
    let sent: BTreeSet<&str> = events.iter().map(|e| e["uuid"].as_str().unwrap()).collect();
    assert_eq!(unique, sent, "every event reached the SIEM's bus");
    assert_eq!(uuids.len(), count, "each exactly once");

    // Memory: per instance, RSS over the last half of the burst against the first tenth.
    let samples = samples.lock().unwrap().clone();
    let mut report = Vec::new();
    let pids: BTreeSet<u32> = samples
        .iter()
        .flat_map(|(_, m)| m.keys().copied())
        .collect();
    assert!(!pids.is_empty(), "the function instances were found");
    for pid in pids {
        let series: Vec<(usize, u64)> = samples
            .iter()
            .filter_map(|(n, m)| Some((*n, *m.get(&pid)?)))
            .collect();
        let early = series
            .iter()
            .filter(|(n, _)| *n <= count / 10)
            .map(|(_, r)| *r)
            .max();
        let late = series
            .iter()
            .filter(|(n, _)| *n >= count / 2)
            .map(|(_, r)| *r)
            .max();
        if let (Some(early), Some(late)) = (early, late) {
            // Flat: no growth with the number of events. A leak of even 1 KiB per event would
            // add ~5 MiB over the second half of 10 000; allow 8 MiB for allocator noise.
            assert!(
                late <= early + 8 * 1024,
                "instance {pid}: RSS grew from {early} KiB to {late} KiB"
            );
            report.push(format!("pid {pid}: {early} KiB → {late} KiB"));
        }
    }
    println!(
        "load: {count} partner events, {concurrency} in flight, 4 instances: all forwarded once; peak RSS early → late: {}",
        report.join(", ")
    );
}
