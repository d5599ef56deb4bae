//! AWS faults at the dangerous points of a run, injected on the wire by the fault proxy in front
//! of moto ([`crate::aws_faults`]): DynamoDB and EventBridge answering 500s, throttling, or
//! stalling. Each test asserts its outcome and then that nothing was lost: every event the
//! simulator holds reaches the capture queue once the faults stop.

use crate::aws_faults::{Fault, FaultProxy, Rule, dedupe_marks};
use crate::crash::run_once;
use crate::lambda::function_env;
use crate::pull::{TOKEN, all_events, distinct, okta};
use crate::support::LocalStack;
use serde_json::{Value, json};
use std::time::Duration;

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

    /// One `run-once` of the real poller with `rules` armed; its outcome for the org's logs.
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
