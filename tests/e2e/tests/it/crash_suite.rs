//! The crash suite: the real poller killed with `SIGKILL` at random points while new events
//! arrive, restarted each time by the same "supervisor" (a stable lease owner, so it takes its
//! lease and claims back at once), then run to the end. Afterwards every event the simulator
//! holds is in the capture queue, the duplicates are at most one page per kill, and the state
//! table has no held lease and no mark but delivered ones.
//!
//! Sizes come from the environment: `OKTA_RELAY_CRASH_BACKLOG` (default 5 000 in `make test`),
//! `OKTA_RELAY_CRASHES` (default 20), `OKTA_RELAY_CRASH_SEED` (default 7), page size 500.
//! `make crash-suite` runs the full 50 000 events / 100 kills; RELIABILITY.md has its figures.

use crate::aws_faults::{
    Fault, FaultProxy, Rule, cursor_commit, dedupe_check, dedupe_mark_write, put_events,
};
use crate::crash::run_once_as;
use crate::lambda::function_env;
use crate::pull::{TOKEN, all_events, distinct};
use crate::support::LocalStack;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use std::os::unix::process::ExitStatusExt;
use std::time::Instant;

const PAGE: usize = 500;

pub(crate) fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A kill point somewhere in the first pages of a run.
pub(crate) fn random_point(rng: &mut rand_chacha::ChaCha8Rng) -> Rule {
    let pages = 3;
    let (calls, nth) = match rng.random_range(0..4) {
        0 => (dedupe_check(), rng.random_range(1..=pages * PAGE / 100)),
        1 => (put_events(), rng.random_range(1..=pages * PAGE / 10)),
        2 => (dedupe_mark_write(), rng.random_range(1..=pages * PAGE / 25)),
        _ => (cursor_commit(), rng.random_range(1..=pages)),
    };
    Rule::nth(calls, nth, Fault::Kill)
}

/// Marks that do not say "delivered" (there should be none) and leases still held.
pub(crate) async fn odd_marks_and_held_leases(stack: &LocalStack) -> (usize, usize) {
    let ddb = aws_sdk_dynamodb::Client::new(stack.sdk());
    let mut pending = 0;
    let mut held = 0;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut start = None;
    loop {
        let out = ddb
            .scan()
            .table_name(&stack.state_table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in out.items() {
            let get = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
            let num = |k: &str| {
                item.get(k)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok())
            };
            if get("mark").is_some_and(|m| m != "delivered") {
                pending += 1;
            }
            if get("pk").is_some_and(|pk| pk.starts_with("stream#"))
                && num("lease_expires").is_some_and(|t| t > now_ms)
            {
                held += 1;
            }
        }
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            return (pending, held);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_sigkills_lose_nothing_and_duplicate_at_most_a_page_each() {
    let backlog = env_or("OKTA_RELAY_CRASH_BACKLOG", 5_000) as usize;
    let crashes = env_or("OKTA_RELAY_CRASHES", 20);
    let seed = env_or("OKTA_RELAY_CRASH_SEED", 7);
    let started = Instant::now();
    let sim = okta_sim::start(okta_sim::SimConfig {
        tokens: vec![TOKEN.into()],
        seed: okta_sim::SeedConfig {
            backlog_events: backlog,
            backlog_hours: 6,
            late_share: 0.05,
            ..okta_sim::SeedConfig::default()
        },
        ..okta_sim::SimConfig::default()
    })
    .await
    .unwrap();
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let config = json!({
        "allow_loopback_http": true,
        "deadline_margin_seconds": 2,
        "lease_seconds": 30,
        "orgs": [{"name": "acme", "secret_arn": arn, "logs": {"page_size": PAGE, "initial_lookback_hours": 12}}],
    });
    let env = function_env(&stack, &config);
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    let drainer = stack.drain_in_background();
    let http = reqwest::Client::new();
    let live = |rate: u32| {
        http.post(format!("{}/__sim/live", sim.url))
            .json(&json!({"events_per_second": rate, "late_share": 0.2, "max_late_seconds": 30}))
            .send()
    };
    live(5).await.unwrap();

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut kills, mut completed) = (0u64, 0u64);
    for _ in 0..crashes {
        let point = random_point(&mut rng);
        let (status, _) = run_once_as(&env, &proxy, vec![point], Some("supervised")).await;
        match status.signal() {
            Some(9) => kills += 1,
            _ => {
                assert!(status.success(), "{status:?}");
                completed += 1;
            }
        }
    }
    // New events stop; runs go on until one ends caught up with nothing new.
    live(0).await.unwrap();
    let mut finishing_runs = 0;
    loop {
        finishing_runs += 1;
        assert!(finishing_runs < 100, "did not catch up");
        let (status, stdout) = run_once_as(&env, &proxy, Vec::new(), Some("supervised")).await;
        assert!(status.success(), "{status:?}");
        let outcome: Value = serde_json::from_str(&stdout).unwrap();
        assert!(outcome[0]["error"].is_null(), "{outcome}");
        if outcome[0]["caught_up"] == true && outcome[0]["forwarded"] == 0 {
            break;
        }
    }

    let captured = drainer.finish().await;
    let all = all_events(&sim).await;
    let got = distinct(&captured);
    let lost = all.difference(&got).count();
    let duplicates = captured.len() - got.len();
    let (pending, held) = odd_marks_and_held_leases(&stack).await;
    println!(
        "crash suite: seed {seed}, backlog {backlog}, events {}, kill points {crashes}, kills landed {kills}, \
         runs that finished first {completed}, finishing runs {finishing_runs}, captured {}, lost {lost}, \
         duplicates {duplicates} (at most {} allowed), marks not saying delivered {pending}, held leases {held}, {:.0?}",
        all.len(),
        captured.len(),
        kills as usize * PAGE,
        started.elapsed()
    );
    assert_eq!(lost, 0, "every event reached the capture queue");
    assert!(got.is_subset(&all), "nothing that is not an Okta event");
    assert!(duplicates <= kills as usize * PAGE);
    assert_eq!((pending, held), (0, 0), "the state table is consistent");
    assert!(kills > 0, "the suite killed something");
}
