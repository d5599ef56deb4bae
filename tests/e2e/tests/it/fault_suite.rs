//! The random AWS-fault suite, the crash suite's twin: the real poller runs over a backlog with
//! live and late events while part of the events is pushed through the events function at the
//! same time, and every AWS call either side makes fails (500), is throttled, or stalls past
//! its attempt timeout with some probability; random SIGKILLs of the poller and
//! `okta-relay-ctl reset-cursor` of the System Log and of directory streams (full syncs) are
//! interleaved. Afterwards every event the simulator holds is in the capture queue (nothing
//! lost), and the duplicates are counted and stay within their bound. Both functions also write
//! to a Security Lake bucket (its S3 calls under the same faults): every event and every
//! directory user is in its Parquet objects too, every row valid OCSF, the copies within their
//! bound.
//!
//! It runs twice: with the org on the delivery bus and on a Firehose stream (its S3 archive
//! read back), both functions delivering there.
//!
//! Sizes come from the environment: `OKTA_RELAY_FAULT_BACKLOG` (default 2 000 in `make test`,
//! 1 000 on Firehose), `OKTA_RELAY_FAULT_RUNS` (default 12, 8 on Firehose),
//! `OKTA_RELAY_FAULT_PUSHED` (default 200, 100 on Firehose),
//! `OKTA_RELAY_FAULT_PROBABILITY` (per mille, default 60), `OKTA_RELAY_FAULT_SEED` (default 11).
//! `make fault-suite` runs 20 000 events and 100 runs; RELIABILITY.md has its figures.

use crate::aws_faults::{Chaos, FaultProxy, sdk_through};
use crate::crash::run_once_as;
use crate::crash_suite::{
    RESETTABLE, Via, check_lake, env_or, finish, log_records, odd_marks_and_held_leases,
    random_point, reset, reset_the_rest,
};
use crate::lambda::function_env;
use crate::pull::{TOKEN, all_events, distinct};
use crate::support::{LocalStack, partner_envelope};
use chrono::Utc;
use okta_relay::adapters::{AwsSinks, DynamoStateTable, EventBridgeSink, S3LakeStore};
use okta_relay::clock::SystemClock;
use okta_relay::config::RelayConfig;
use okta_relay::push::PushService;
use rand::{RngExt, SeedableRng};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PAGE: usize = 500;
const SOURCE: &str = "aws.partner/okta.com/acme-org/okta-relay";

/// The first `n` events of the simulator's log, as Okta returns them (one bounded request).
async fn first_events(sim: &okta_sim::RunningSim, n: usize) -> Vec<Value> {
    let mut url = url::Url::parse(&format!("{}/api/v1/logs", sim.url)).unwrap();
    url.query_pairs_mut()
        .append_pair(
            "since",
            &(Utc::now() - chrono::Duration::days(2)).to_rfc3339(),
        )
        .append_pair(
            "until",
            &(Utc::now() + chrono::Duration::minutes(5)).to_rfc3339(),
        )
        .append_pair("limit", &n.min(1000).to_string());
    reqwest::Client::new()
        .get(url)
        .header("Authorization", format!("SSWS {TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The events function's service, its AWS calls through `proxy`.
async fn push_service(
    stack: &LocalStack,
    proxy: &FaultProxy,
    arn: &str,
    bucket: &str,
    via: Via,
) -> PushService {
    let sdk = sdk_through(proxy, Duration::from_secs(1), Duration::from_secs(4)).await;
    let table = Arc::new(DynamoStateTable::new(
        sdk.dynamodb.clone(),
        &stack.state_table,
        Arc::new(SystemClock),
    ));
    let config = RelayConfig::from_json(&format!(
        r#"{{"orgs":[{{"name":"acme","secret_arn":"{arn}","partner_event_source":"{SOURCE}",
                      "sink":{}}}],
            "security_lake":{{"bucket":"{bucket}","region":"us-east-1","account_id":"123456789012",
                             "staging":{{"bucket":"{bucket}-staging","write_interval_seconds":0}}}}}}"#,
        via.sink(stack)
    ))
    .unwrap();
    let mut service = PushService::new(
        Arc::new(config),
        table.clone(),
        table,
        Arc::new(AwsSinks {
            bus: Arc::new(EventBridgeSink::new(
                sdk.eventbridge.clone(),
                &stack.delivery_bus,
            )),
            firehose: sdk.firehose.clone(),
        }),
        Arc::new(SystemClock),
    );
    service.lake = Some(Arc::new(S3LakeStore::new(sdk.s3.clone())));
    service
}

/// Pushes each event until the events function takes it, as Lambda and the partner rule retry
/// a failed invocation. Returns (invocations, failed invocations).
async fn push_all(service: PushService, events: Vec<Value>) -> (usize, usize) {
    let (mut invocations, mut failed) = (0, 0);
    for event in events {
        let payload = RawValue::from_string(partner_envelope(SOURCE, &event).to_string()).unwrap();
        loop {
            invocations += 1;
            match service.handle(&payload).await {
                Ok(_) => break,
                Err(e) => {
                    assert!(e.kind().is_retryable(), "only AWS faults fail a push: {e}");
                    failed += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    (invocations, failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_aws_faults_and_sigkills_lose_nothing() {
    faults(Via::Bus, 2_000, 12, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_aws_faults_and_sigkills_lose_nothing_on_firehose() {
    faults(Via::Firehose, 1_000, 8, 100).await;
}

async fn faults(via: Via, backlog: u64, runs: u64, pushed: u64) {
    let backlog = env_or("OKTA_RELAY_FAULT_BACKLOG", backlog) as usize;
    let runs = env_or("OKTA_RELAY_FAULT_RUNS", runs);
    let pushed = env_or("OKTA_RELAY_FAULT_PUSHED", pushed) as usize;
    let probability = env_or("OKTA_RELAY_FAULT_PROBABILITY", 60) as f64 / 1000.0;
    let seed = env_or("OKTA_RELAY_FAULT_SEED", 11);
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
        "aws_attempt_timeout_seconds": 1,
        "aws_call_timeout_seconds": 4,
        "orgs": [{"name": "acme", "secret_arn": arn, "partner_event_source": SOURCE,
                  "logs": {"page_size": PAGE, "initial_lookback_hours": 12},
                  "inventory": {"users": {}, "groups": {}}, "sink": via.sink(&stack)}],
        "security_lake": {"bucket": bucket, "region": "us-east-1", "account_id": "123456789012",
                          "max_buffer_events": 2 * PAGE, "staging": staging},
    });
    let env = function_env(&stack, &config);
    let upstream = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let stall = Duration::from_millis(1500);
    let poller_proxy = FaultProxy::start(&upstream).await;
    poller_proxy.chaos(Some(Chaos {
        seed,
        probability,
        stall,
    }));
    let push_proxy = FaultProxy::start(&upstream).await;
    push_proxy.chaos(Some(Chaos {
        seed: seed + 1,
        probability,
        stall,
    }));
    let arrivals = via.collect(&stack);
    let http = reqwest::Client::new();
    let live = |rate: u32| {
        http.post(format!("{}/__sim/live", sim.url))
            .json(&json!({"events_per_second": rate, "late_share": 0.2, "max_late_seconds": 30}))
            .send()
    };
    live(5).await.unwrap();

    // Part of the backlog arrives through the events function while the poller runs.
    let to_push = first_events(&sim, pushed).await;
    let pusher = tokio::spawn(push_all(
        push_service(&stack, &push_proxy, &arn, &bucket, via).await,
        to_push,
    ));

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut kills, mut failed_runs, mut resets) = (0u64, 0u64, Vec::new());
    for _ in 0..runs {
        // Now and then an operator resets a stream (refused while a killed run's lease holds).
        if rng.random_bool(0.3) {
            let stream = RESETTABLE[rng.random_range(0..RESETTABLE.len())];
            if reset(&env, stream).await {
                resets.push(stream);
            }
        }
        // Half the runs also get a SIGKILL at a random AWS call.
        let rules = if rng.random_bool(0.5) {
            vec![random_point(&mut rng, via)]
        } else {
            Vec::new()
        };
        let (status, stdout) = run_once_as(&env, &poller_proxy, rules, Some("supervised")).await;
        if status.signal() == Some(9) {
            kills += 1;
            continue;
        }
        assert!(status.success(), "{status:?}");
        let outcome: Value = serde_json::from_str(&stdout).unwrap();
        let streams = outcome.as_array().unwrap();
        for failed in streams.iter().filter(|o| !o["error"].is_null()) {
            assert_eq!(failed["error_kind"], "transient", "{outcome}");
        }
        if !outcome[0]["error"].is_null() {
            failed_runs += 1;
        }
    }
    reset_the_rest(&env, &mut resets, std::time::Duration::from_secs(30)).await;
    let (invocations, failed_pushes) = pusher.await.unwrap();
    let faults = poller_proxy.counts();
    let push_faults = push_proxy.counts();
    // Faults stop, new events stop; runs go on until one ends caught up with nothing new.
    poller_proxy.chaos(None);
    live(0).await.unwrap();
    let finishing_runs = finish(&env, &poller_proxy).await;

    let captured = log_records(arrivals.finish(&stack).await);
    let all = all_events(&sim).await;
    let got = distinct(&captured);
    let lost = all.difference(&got).count();
    let duplicates = captured.len() - got.len();
    // A killed or failed run sends at most its page again; a stalled call that took effect
    // after its client gave up sends its entries again (a call's worth: 10 on the bus, a
    // page on Firehose); a pushed event may also come by pull
    // (both paths at the same moment) and again for each failed push.
    let stalls = faults.stalls + push_faults.stalls;
    let bound = (kills + failed_runs) as usize * PAGE
        + stalls * via.per_call().min(PAGE)
        + pushed
        + failed_pushes;
    let (odd_marks, held) = odd_marks_and_held_leases(&stack).await;
    println!(
        "fault suite ({via:?}): seed {seed}, backlog {backlog}, events {}, runs {runs}, fault probability {probability}, \
         poller faults: {} server errors, {} throttles, {} stalls, {kills} kills; \
         push: {pushed} events, {invocations} invocations, {failed_pushes} failed, faults {} server errors, {} throttles, {} stalls; \
         failed runs {failed_runs}, resets {resets:?}, finishing runs {finishing_runs}, captured {}, lost {lost}, duplicates {duplicates} \
         (bound {bound}), marks not saying delivered {odd_marks}, held leases {held}, {:.0?}",
        all.len(),
        faults.server_errors,
        faults.throttles,
        faults.stalls,
        push_faults.server_errors,
        push_faults.throttles,
        push_faults.stalls,
        captured.len(),
        started.elapsed()
    );
    assert_eq!(lost, 0, "every event reached the capture queue");
    assert!(got.is_subset(&all), "nothing that is not an Okta event");
    assert!(
        duplicates <= bound,
        "{duplicates} duplicates, bound {bound}"
    );
    assert_eq!(
        (odd_marks, held),
        (0, 0),
        "every mark says delivered, no lease is held"
    );

    // The lake: every event and every directory user once or more, every row valid, copies
    // within their bound. Objects are never replaced, and marks follow each object: a kill or
    // failure between an object and its marks leaves at most that object's events (a buffer)
    // to be written again under another name. A pushed event may also come by pull at the
    // same moment.
    let (in_lake, lake_copies) = check_lake(&stack, &bucket, &sim, &all).await;
    let lake_bound = (kills + failed_runs) as usize * 2 * PAGE + pushed + failed_pushes;
    println!(
        "fault suite, Security Lake: {in_lake} events in the lake, lost 0, second copies {lake_copies} (bound {lake_bound})"
    );
    assert!(
        lake_copies <= lake_bound,
        "{lake_copies} second copies in the lake, bound {lake_bound}"
    );
    assert!(
        resets.contains(&"logs") && resets.iter().any(|s| *s != "logs"),
        "the System Log and a directory stream were reset: {resets:?}"
    );
    assert!(
        faults.server_errors + faults.throttles + faults.stalls > 0,
        "the suite injected faults"
    );
}
