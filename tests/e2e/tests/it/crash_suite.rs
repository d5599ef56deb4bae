//! The crash suite: the real poller killed with `SIGKILL` at random points (Okta-facing and
//! AWS calls, lake objects and their marks) while new events arrive, restarted each time by
//! the same "supervisor" (a stable lease owner, so it takes its lease and claims back at once),
//! with `okta-relay-ctl reset-cursor` of the System Log and of directory streams (full syncs)
//! between runs, then run to the end. Afterwards every event the simulator holds is in the
//! capture queue and in the Security Lake bucket (its Parquet read back), the duplicates are
//! within their bounds, and the state table has no held lease and no mark but delivered ones.
//!
//! It runs twice: with the org on the delivery bus (read from the capture queue) and on a
//! Firehose stream (read from its S3 archive), each kill point then on PutEvents or
//! PutRecordBatch.
//!
//! Sizes come from the environment: `OKTA_RELAY_CRASH_BACKLOG` (default 5 000 in `make test`,
//! 2 000 on Firehose), `OKTA_RELAY_CRASHES` (default 20, 10 on Firehose),
//! `OKTA_RELAY_CRASH_SEED` (default 7), page size 500. `make crash-suite` runs the full
//! 50 000 events / 100 kills on both; RELIABILITY.md has its figures.

use crate::aws_faults::{
    Calls, Fault, FaultProxy, Rule, cursor_commit, dedupe_check, dedupe_mark_write,
    lake_mark_write, lake_put, put_events, put_record_batch,
};
use crate::crash::run_once_as;
use crate::lambda::function_env;
use crate::pull::{TOKEN, all_events, distinct};
use crate::support::{Drainer, LocalStack};
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

/// Where the suites' org delivers: the sink in its configuration, the call that delivers,
/// and where the suite reads what arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// The delivery bus; records arrive in the capture queue.
    Bus,
    /// A Firehose stream; records arrive in its S3 archive.
    Firehose,
}

impl Via {
    /// The org's `sink` setting.
    pub(crate) fn sink(self, stack: &LocalStack) -> Value {
        match self {
            Via::Bus => json!({"type": "event_bus"}),
            Via::Firehose => json!({"type": "firehose", "stream": stack.firehose_stream}),
        }
    }

    /// The delivering call, and how many records one call takes.
    fn delivery(self) -> (Calls, usize) {
        match self {
            Via::Bus => (put_events(), 10),
            Via::Firehose => (put_record_batch(), 500),
        }
    }

    /// Records one delivering call takes at most (what a stalled call may send twice).
    pub(crate) fn per_call(self) -> usize {
        self.delivery().1
    }

    /// Starts collecting what arrives (the capture queue is drained as it fills).
    pub(crate) fn collect(self, stack: &LocalStack) -> Arrivals {
        match self {
            Via::Bus => Arrivals::Bus(stack.drain_in_background()),
            Via::Firehose => Arrivals::Archive,
        }
    }
}

/// What arrived where the org delivers.
pub(crate) enum Arrivals {
    Bus(Drainer),
    Archive,
}

impl Arrivals {
    /// Every record that arrived, as `{detail-type, detail, …}`.
    pub(crate) async fn finish(self, stack: &LocalStack) -> Vec<Value> {
        match self {
            Arrivals::Bus(drainer) => drainer.finish().await,
            Arrivals::Archive => stack.archived().await,
        }
    }
}

/// A kill point somewhere in the first pages of a run (a lake object or its marks, when the
/// lake is on).
pub(crate) fn random_point(rng: &mut rand_chacha::ChaCha8Rng, via: Via) -> Rule {
    let pages = 3;
    let (delivery, per_call) = via.delivery();
    let (calls, nth) = match rng.random_range(0..6) {
        0 => (dedupe_check(), rng.random_range(1..=pages * PAGE / 100)),
        1 => (delivery, rng.random_range(1..=pages * PAGE / per_call)),
        2 => (dedupe_mark_write(), rng.random_range(1..=pages * PAGE / 25)),
        3 => (lake_put(), rng.random_range(1..=4)),
        4 => (lake_mark_write(), rng.random_range(1..=pages * PAGE / 25)),
        _ => (cursor_commit(), rng.random_range(1..=pages)),
    };
    Rule::nth(calls, nth, Fault::Kill)
}

/// The streams the suites reset between runs: the System Log and two directory streams.
pub(crate) const RESETTABLE: [&str; 3] = ["logs", "users", "groups"];

/// `okta-relay-ctl reset-cursor --yes` of one of acme's streams: whether it happened. A stream
/// whose lease a killed run still holds is refused, as it must be.
pub(crate) async fn reset(env: &[(&'static str, String)], stream: &str) -> bool {
    let ran = crate::ctl::ctl(
        env,
        &["reset-cursor", "--org", "acme", "--stream", stream, "--yes"],
    )
    .await;
    match ran.code {
        0 => true,
        2 if ran.stderr.contains("running right now") => false,
        _ => panic!("reset-cursor {stream}: {} {}", ran.stdout, ran.stderr),
    }
}

/// Runs until the System Log is caught up with nothing new and no directory stream is due,
/// with no error anywhere; how many runs that took.
pub(crate) async fn finish(env: &[(&'static str, String)], proxy: &FaultProxy) -> usize {
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(runs < 100, "did not catch up");
        let (status, stdout) = run_once_as(env, proxy, Vec::new(), Some("supervised")).await;
        assert!(status.success(), "{status:?}");
        let outcome: Value = serde_json::from_str(&stdout).unwrap();
        let streams = outcome.as_array().unwrap();
        assert!(streams.iter().all(|o| o["error"].is_null()), "{outcome}");
        let logs = &streams[0];
        if logs["caught_up"] == true
            && logs["forwarded"] == 0
            && streams[1..].iter().all(|o| o["due_reason"].is_null())
        {
            return runs;
        }
    }
}

/// The System Log records among what the capture queue got (directory records are synced
/// again on purpose by full syncs).
pub(crate) fn log_records(captured: Vec<Value>) -> Vec<Value> {
    captured
        .into_iter()
        .filter(|e| e["detail-type"] == okta_relay::record::SYSTEM_LOG_DETAIL_TYPE)
        .collect()
}

/// Checks the lake holds every System Log event of `all` and every directory user, nothing
/// foreign, and returns (events, second copies).
pub(crate) async fn check_lake(
    stack: &LocalStack,
    bucket: &str,
    sim: &okta_sim::RunningSim,
    all: &std::collections::BTreeSet<String>,
) -> (usize, usize) {
    assert_eq!(
        crate::lake::staged_left(stack, bucket).await,
        0,
        "the last run wrote everything staged to the lake"
    );
    let read = crate::lake::read_back(stack, bucket).await;
    let seen = crate::lake::check_objects(&read, "*");
    let users: Vec<String> = serde_json::from_value(
        crate::pull::sim_call(sim, "/directory", None).await["users"].clone(),
    )
    .unwrap();
    let missing_users: Vec<&String> = users
        .iter()
        .filter(|u| !seen.keys().any(|k| k.contains(u.as_str())))
        .collect();
    assert!(
        missing_users.is_empty(),
        "users not in the lake: {missing_users:?}"
    );
    let events = crate::lake::log_events(seen);
    let lost = all.iter().filter(|u| !events.contains_key(*u)).count();
    assert_eq!(lost, 0, "every event reached the lake");
    assert!(
        events.keys().all(|u| all.contains(u)),
        "nothing in the lake that is not an Okta event"
    );
    (events.len(), events.values().map(|n| n - 1).sum())
}

/// Resets each resettable stream the random resets missed (a killed run's lease refused them
/// all), asking again until its lease lapses, so every suite run resets the System Log and a
/// directory stream while events still flow.
pub(crate) async fn reset_the_rest(
    env: &[(&'static str, String)],
    resets: &mut Vec<&'static str>,
    lease: std::time::Duration,
) {
    for stream in RESETTABLE {
        if resets.contains(&stream) {
            continue;
        }
        let give_up = Instant::now() + lease * 2;
        while !reset(env, stream).await {
            assert!(Instant::now() < give_up, "{stream}: its lease never lapsed");
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
        resets.push(stream);
    }
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
    sigkills(Via::Bus, 5_000, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_sigkills_lose_nothing_on_firehose() {
    sigkills(Via::Firehose, 2_000, 10).await;
}

async fn sigkills(via: Via, backlog: u64, crashes: u64) {
    let backlog = env_or("OKTA_RELAY_CRASH_BACKLOG", backlog) as usize;
    let crashes = env_or("OKTA_RELAY_CRASHES", crashes);
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
    if via == Via::Firehose {
        stack.create_firehose().await;
    }
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let bucket = crate::lake::lake_bucket(&stack).await;
    let staging = crate::lake::staging(&stack, &bucket).await;
    let config = json!({
        "allow_loopback_http": true,
        "deadline_margin_seconds": 2,
        "lease_seconds": 30,
        "orgs": [{"name": "acme", "secret_arn": arn,
                  "logs": {"page_size": PAGE, "initial_lookback_hours": 12},
                  "inventory": {"users": {}, "groups": {}}, "sink": via.sink(&stack)}],
        "security_lake": {"bucket": bucket, "region": "us-east-1", "account_id": "123456789012",
                          "max_buffer_events": 2 * PAGE, "staging": staging},
    });
    let env = function_env(&stack, &config);
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    let arrivals = via.collect(&stack);
    let http = reqwest::Client::new();
    let live = |rate: u32| {
        http.post(format!("{}/__sim/live", sim.url))
            .json(&json!({"events_per_second": rate, "late_share": 0.2, "max_late_seconds": 30}))
            .send()
    };
    live(5).await.unwrap();

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut kills, mut completed, mut resets) = (0u64, 0u64, Vec::new());
    for _ in 0..crashes {
        let point = random_point(&mut rng, via);
        let (status, _) = run_once_as(&env, &proxy, vec![point], Some("supervised")).await;
        match status.signal() {
            Some(9) => kills += 1,
            _ => {
                assert!(status.success(), "{status:?}");
                completed += 1;
            }
        }
        // Now and then an operator resets a stream (refused while a killed run's lease holds).
        if rng.random_bool(0.4) {
            let stream = RESETTABLE[rng.random_range(0..RESETTABLE.len())];
            if reset(&env, stream).await {
                resets.push(stream);
            }
        }
    }
    reset_the_rest(&env, &mut resets, std::time::Duration::from_secs(30)).await;
    // New events stop; runs go on until one ends caught up with nothing new.
    live(0).await.unwrap();
    let finishing_runs = finish(&env, &proxy).await;

    let captured = log_records(arrivals.finish(&stack).await);
    let all = all_events(&sim).await;
    let got = distinct(&captured);
    let lost = all.difference(&got).count();
    let duplicates = captured.len() - got.len();
    let (pending, held) = odd_marks_and_held_leases(&stack).await;
    let (in_lake, lake_copies) = check_lake(&stack, &bucket, &sim, &all).await;
    // A kill between a lake object and its marks leaves at most that object's events (a
    // buffer) to be written again under another name.
    let lake_bound = kills as usize * 2 * PAGE;
    println!(
        "crash suite ({via:?}): seed {seed}, backlog {backlog}, events {}, kill points {crashes}, kills landed {kills}, \
         runs that finished first {completed}, resets {resets:?}, finishing runs {finishing_runs}, captured {}, lost {lost}, \
         duplicates {duplicates} (at most {} allowed), marks not saying delivered {pending}, held leases {held}; \
         Security Lake: {in_lake} events, lost 0, second copies {lake_copies} (bound {lake_bound}), {:.0?}",
        all.len(),
        captured.len(),
        kills as usize * PAGE,
        started.elapsed()
    );
    assert_eq!(lost, 0, "every event reached the capture queue");
    assert!(got.is_subset(&all), "nothing that is not an Okta event");
    assert!(duplicates <= kills as usize * PAGE);
    assert!(
        lake_copies <= lake_bound,
        "{lake_copies} second copies in the lake"
    );
    assert_eq!((pending, held), (0, 0), "the state table is consistent");
    assert!(kills > 0, "the suite killed something");
    assert!(
        resets.contains(&"logs") && resets.iter().any(|s| *s != "logs"),
        "the System Log and a directory stream were reset: {resets:?}"
    );
}
