//! Twenty orgs on one deployment, each polled in invocations of its own (as its EventBridge
//! Scheduler schedule sends them, `{"org": <name>}`, all at once), against twenty simulator
//! processes. One org is slow (every System Log request takes longer than a run), one has a
//! revoked token, one is mid-backlog (a rate limit it cannot finish under). The other
//! seventeen are collected in full, every record carrying its own org's Okta id; the slow one
//! becomes `overdue` with its lag; the revoked one is a configuration error.

use crate::support::{LocalStack, workspace_binary};
use lambda_runtime::{Context, LambdaEvent};
use okta_relay::Fault;
use okta_relay::adapters::{AwsWiring, Resources};
use okta_relay::clock::SystemClock;
use okta_relay::config::RelayConfig;
use okta_relay::operator::{StreamState, gather};
use okta_relay::poller::{PollerService, RunSettings};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ORGS: usize = 20;
const SLOW: &str = "org-00";
const REVOKED: &str = "org-01";
const BACKLOGGED: &str = "org-02";
/// Events each org holds at the start.
const BACKLOG: usize = 25;
/// The backlogged org's events: 30 pages of 100 under a limit of 6 log requests a minute.
const BIG_BACKLOG: usize = 3000;
/// How long one invocation may run (`max_run_seconds`): the slow org's requests take longer.
const RUN_SECONDS: u64 = 12;
/// `overdue_slack_seconds`'s least value: with `logs.interval_seconds` 0 a stream is overdue
/// a minute after its last success.
const SLACK_SECONDS: u64 = 60;

/// One `okta-sim` process serving one org.
struct SimProcess {
    child: Child,
    url: String,
    token: String,
}

impl SimProcess {
    fn start(name: &str, backlog: usize, extra: &[&str]) -> Self {
        let token = format!("00manyOrgs{}{}", name.replace('-', ""), std::process::id());
        let token_file =
            std::env::temp_dir().join(format!("okta-relay-many-{name}-{}", std::process::id()));
        std::fs::write(&token_file, &token).unwrap();
        let mut child = Command::new(workspace_binary("okta-sim"))
            .args(["--listen", "127.0.0.1:0", "--token-file"])
            .arg(&token_file)
            .args([
                "--backlog-events",
                &backlog.to_string(),
                "--backlog-hours",
                "1",
            ])
            .args(["--late-share", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("okta-sim");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let _ = std::fs::remove_file(&token_file);
        let url = line
            .trim()
            .rsplit(' ')
            .next()
            .filter(|u| u.starts_with("http://"))
            .unwrap_or_else(|| panic!("okta-sim said {line:?}"))
            .to_string();
        Self { child, url, token }
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Value) {
        let response = reqwest::Client::new()
            .request(method, format!("{}/__sim{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }

    async fn org_id(&self) -> String {
        let doc: Value = reqwest::get(format!("{}/.well-known/okta-organization", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        doc["id"].as_str().unwrap().to_string()
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One invocation as the org's schedule sends it.
async fn invoke(service: &PollerService, org: &str) -> Value {
    let event = LambdaEvent::new(json!({ "org": org }), Context::default());
    let outcomes = okta_relay::handlers::poller(service, event)
        .await
        .unwrap_or_else(|e| panic!("{org}: {e}"));
    assert_eq!(outcomes.len(), 1, "{org}: only its own stream");
    serde_json::to_value(&outcomes[0]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_orgs_are_isolated_a_slow_one_is_overdue_and_a_revoked_one_an_error() {
    let names: Vec<String> = (0..ORGS).map(|i| format!("org-{i:02}")).collect();
    let sims: HashMap<&str, SimProcess> = names
        .iter()
        .map(|name| {
            let sim = match name.as_str() {
                BACKLOGGED => SimProcess::start(name, BIG_BACKLOG, &["--limit", "/api/v1/logs=6"]),
                _ => SimProcess::start(name, BACKLOG, &[]),
            };
            (name.as_str(), sim)
        })
        .collect();
    let stack = LocalStack::provision(&[]).await;
    let mut orgs = Vec::new();
    for name in &names {
        let sim = &sims[name.as_str()];
        let arn = stack.put_org_secret(name, &sim.url, &sim.token).await;
        orgs.push(json!({"name": name, "secret_arn": arn,
            "logs": {"interval_seconds": 0, "page_size": 100, "initial_lookback_hours": 2}}));
    }
    let config = Arc::new(
        RelayConfig::from_json(
            &json!({"allow_loopback_http": true, "max_run_seconds": RUN_SECONDS,
                "deadline_margin_seconds": 3, "overdue_slack_seconds": SLACK_SECONDS,
                "put_events_in_flight": crate::lambda::MOTO_PUT_EVENTS_IN_FLIGHT, "orgs": orgs})
            .to_string(),
        )
        .unwrap(),
    );
    let resources = Resources {
        table: stack.state_table.clone(),
        bus: stack.delivery_bus.clone(),
    };
    let ports = AwsWiring::new(
        &resources,
        okta_relay::adapters::AwsTimeouts::of(&config),
        Arc::new(SystemClock),
    )
    .await
    .ports();
    let service = Arc::new(
        PollerService::new(
            config.clone(),
            ports.clone(),
            RunSettings::from_config(&config),
        )
        .unwrap(),
    );
    let drainer = stack.drain_in_background();
    sims[REVOKED]
        .control(
            reqwest::Method::POST,
            "/tokens",
            json!({"revoke": [sims[REVOKED].token]}),
        )
        .await;

    // Round one: every org's schedule fires at once.
    let first: Vec<Value> =
        futures::future::join_all(names.iter().map(|n| invoke(&service, n))).await;
    let by_org = |outcomes: &[Value], name: &str| {
        outcomes.iter().find(|o| o["org"] == name).cloned().unwrap()
    };
    for name in &names {
        let outcome = by_org(&first, name);
        match name.as_str() {
            REVOKED => assert_eq!(outcome["error_kind"], "configuration", "{outcome}"),
            BACKLOGGED => assert_eq!(outcome["stopped_for_rate_limit"], true, "{outcome}"),
            _ => {
                assert!(outcome["error"].is_null(), "{outcome}");
                assert_eq!(outcome["forwarded"], BACKLOG, "{outcome}");
            }
        }
    }

    // Then the slow org's System Log takes longer than a run, and every org's schedule keeps
    // firing on its own (every 5 s here) until the slow org is past its interval and slack.
    sims[SLOW]
        .control(
            reqwest::Method::PUT,
            "/faults",
            json!({"path_prefix": "/api/v1/logs", "latency_ms": (RUN_SECONDS + 10) * 1000}),
        )
        .await;
    let until = Instant::now() + Duration::from_secs(SLACK_SECONDS + 5);
    let rounds = names.iter().map(|name| {
        let service = service.clone();
        async move {
            let mut outcomes = Vec::new();
            while Instant::now() < until {
                outcomes.push(invoke(&service, name).await);
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            outcomes
        }
    });
    let later: Vec<Vec<Value>> = futures::future::join_all(rounds).await;
    for (name, outcomes) in names.iter().zip(&later) {
        if ![SLOW, REVOKED, BACKLOGGED].contains(&name.as_str()) {
            assert!(
                outcomes.len() >= 10,
                "{name} ran on its own schedule: {outcomes:?}"
            );
            assert!(
                outcomes.iter().all(|o| o["error"].is_null()),
                "{name}: {outcomes:?}"
            );
        }
    }
    let slow_runs = &later[0];
    assert!(
        slow_runs.iter().all(|o| o["forwarded"] == 0),
        "the slow org read nothing: {slow_runs:?}"
    );
    assert!(
        slow_runs.iter().any(|o| o["error_kind"] == "transient"),
        "its runs timed out: {slow_runs:?}"
    );

    // What an operator sees.
    let statuses = gather(
        &config,
        None,
        ports.streams.as_ref(),
        ports.health.as_ref(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    for status in &statuses {
        let want = match status.org.as_str() {
            SLOW => StreamState::Overdue,
            REVOKED => StreamState::Error,
            BACKLOGGED => StreamState::Collecting,
            _ => StreamState::CaughtUp,
        };
        assert_eq!(status.state, want, "{status:?}");
    }
    let slow = statuses.iter().find(|s| s.org == SLOW).unwrap();
    assert_eq!(slow.fault, Some(Fault::OktaTransient));
    assert!(
        slow.lag_seconds.unwrap() >= SLACK_SECONDS as i64,
        "{slow:?}"
    );
    let revoked = statuses.iter().find(|s| s.org == REVOKED).unwrap();
    assert_eq!(revoked.fault, Some(Fault::OktaConfiguration));
    let backlogged = statuses.iter().find(|s| s.org == BACKLOGGED).unwrap();
    assert!(backlogged.forwarded_total > 0 && backlogged.forwarded_total < BIG_BACKLOG as u64);

    // Every record of the seventeen, once, with its own org's Okta id.
    let records = drainer.finish().await;
    let mut per_org: HashMap<String, Vec<&Value>> = HashMap::new();
    for envelope in &records {
        let relay = &envelope["detail"]["relay"];
        per_org
            .entry(relay["org"].as_str().unwrap().to_string())
            .or_default()
            .push(relay);
    }
    for name in &names {
        if [SLOW, REVOKED, BACKLOGGED].contains(&name.as_str()) {
            continue;
        }
        let relays = &per_org[name.as_str()];
        assert_eq!(relays.len(), BACKLOG, "{name}");
        let id = sims[name.as_str()].org_id().await;
        assert!(
            relays.iter().all(|r| r["oktaOrgId"] == id.as_str()),
            "{name}"
        );
    }
    assert_eq!(per_org[SLOW].len(), BACKLOG, "the slow org's first run");
    assert!(!per_org.contains_key(REVOKED));
}
