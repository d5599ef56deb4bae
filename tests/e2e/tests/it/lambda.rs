//! The real Lambda binaries under `cargo lambda watch`, driven with `cargo lambda invoke`.

use crate::support::{LocalStack, partner_envelope, repo_root};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One function running under `cargo lambda watch`; killed (by PID) on drop. Its logs go to a
/// file so tests can scan them.
pub struct LambdaWatch {
    child: Child,
    port: u16,
    function: String,
    pub log: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn cargo_lambda() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg("lambda").current_dir(repo_root());
    let venv_bin = repo_root().join(".local/venv/bin");
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{path}", venv_bin.display()));
    cmd
}

impl LambdaWatch {
    pub fn start(package: &str, env: &[(&str, String)]) -> Self {
        Self::start_with(package, env, &[])
    }

    /// As [`start`](Self::start), with extra `cargo lambda watch` options (`--concurrency 4`).
    pub fn start_with(package: &str, env: &[(&str, String)], options: &[&str]) -> Self {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("okta-relay-watch-{package}-{port}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = cargo_lambda();
        cmd.args([
            "watch",
            "--ignore-changes",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
            "-p",
            package,
        ])
        .args(options)
        .stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .expect("cargo lambda watch (installed by `make venv`)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "cargo lambda watch did not start"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Self {
            child,
            port,
            function: package.to_string(),
            log,
        }
    }

    /// Invokes the function with `payload`; `Ok(response)` or `Err(error text)`.
    pub fn invoke(&self, payload: &Value) -> Result<Value, String> {
        let out = cargo_lambda()
            .args([
                "invoke",
                &self.function,
                "-A",
                "127.0.0.1",
                "-P",
                &self.port.to_string(),
                "--output-format",
                "json",
                "--data-ascii",
                &payload.to_string(),
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() {
            serde_json::from_str(&stdout).map_err(|e| format!("{e}: {stdout}"))
        } else {
            Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
        }
    }

    /// Invokes the function over the Lambda Invoke API that `cargo lambda watch` serves (what
    /// `cargo lambda invoke` does, without a process per call): `Ok(response)` or `Err(error)`.
    pub async fn invoke_http(
        &self,
        http: &reqwest::Client,
        payload: &Value,
    ) -> Result<Value, String> {
        let url = format!(
            "http://127.0.0.1:{}/2015-03-31/functions/{}/invocations",
            self.port, self.function
        );
        let response = http
            .post(url)
            .json(payload)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let failed = !response.status().is_success()
            || response.headers().contains_key("x-amz-function-error");
        let body = response.text().await.map_err(|e| e.to_string())?;
        if failed {
            return Err(body);
        }
        serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The CloudWatch EMF objects a function printed.
pub fn emf_lines(logs: &str) -> Vec<Value> {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .filter(|v| v["_aws"]["CloudWatchMetrics"].is_array())
        .collect()
}

/// PIDs of a function binary's processes (not `cargo lambda watch`'s), found by the state table
/// in their environment so parallel tests' functions are not counted.
pub fn pids_of(binary: &str, state_table: &str) -> Vec<u32> {
    let marker = format!("OKTA_RELAY_STATE_TABLE={state_table}");
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            exe.file_name().is_some_and(|n| n == binary)
                && environ.split(|b| *b == 0).any(|kv| kv == marker.as_bytes())
        })
        .collect()
}

impl Drop for LambdaWatch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// PutEvents requests in flight for a function under test, unless its configuration says
/// otherwise. moto's SQS calls cost time in proportion to the queue's length: a relay that
/// delivers faster than the tests drain the capture queue makes every later call slower
/// (AWS has no such effect). Two in flight still exercises answers arriving out of order.
pub const MOTO_PUT_EVENTS_IN_FLIGHT: u64 = 2;

/// The function environment for a stack and a configuration.
pub fn function_env(stack: &LocalStack, config: &Value) -> Vec<(&'static str, String)> {
    let mut config = config.clone();
    if let Some(c) = config.as_object_mut() {
        c.entry("put_events_in_flight")
            .or_insert(MOTO_PUT_EVENTS_IN_FLIGHT.into());
    }
    let mut env = vec![
        ("OKTA_RELAY_CONFIG", config.to_string()),
        ("OKTA_RELAY_STATE_TABLE", stack.state_table.clone()),
        ("OKTA_RELAY_DELIVERY_BUS", stack.delivery_bus.clone()),
        ("AWS_LAMBDA_LOG_LEVEL", "info".to_string()),
    ];
    for k in [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        if let Ok(v) = std::env::var(k) {
            env.push((k, v));
        }
    }
    env
}

/// Asserts `secret` appears in `text` in no common encoding.
pub fn assert_not_leaked(text: &str, secret: &str) {
    use base64::Engine;
    let encodings = [
        secret.to_string(),
        base64::engine::general_purpose::STANDARD.encode(secret),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>(),
    ];
    for e in encodings {
        assert!(
            !text.contains(&e),
            "a secret leaked (as {} characters of some encoding)",
            e.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_binary_collects_a_backlog_and_live_late_events_exactly_once() {
    // 25 000 backlog events by default (`OKTA_RELAY_E2E_BACKLOG` changes it), in Okta's
    // default pages of 1000.
    let backlog: usize = std::env::var("OKTA_RELAY_E2E_BACKLOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25_000);
    const TOKEN: &str = "00lambdaWatchTokenNeverLogged";
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
        "deadline_margin_seconds": 5,
        "max_run_seconds": 60,
        "orgs": [{"name": "acme", "secret_arn": arn, "logs": {"initial_lookback_hours": 12}}],
    });
    let watch = LambdaWatch::start("okta-relay-poller", &function_env(&stack, &config));
    let drainer = stack.drain_in_background();
    let http = reqwest::Client::new();
    http.post(format!("{}/__sim/live", sim.url))
        .json(&json!({"events_per_second": 5, "late_share": 0.3, "max_late_seconds": 120}))
        .send()
        .await
        .unwrap();

    let schedule = json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    let mut invocations = Vec::new();
    let mut caught_up = false;
    let mut live = true;
    for _ in 0..200 {
        let outcome = tokio::task::block_in_place(|| watch.invoke(&schedule)).expect("invocation");
        let org = outcome[0].clone();
        assert!(org["error"].is_null(), "{org}");
        invocations.push(org.clone());
        let done = org["stopped_for_deadline"] == false
            && org["stopped_for_rate_limit"] == false
            && org["lease_busy"] == false;
        if done && !live {
            caught_up = true;
            break;
        }
        if done && live {
            // Caught up with the backlog: stop live traffic, then one more run picks up the rest.
            http.post(format!("{}/__sim/live", sim.url))
                .json(&json!({"events_per_second": 0}))
                .send()
                .await
                .unwrap();
            live = false;
        }
    }
    assert!(
        caught_up,
        "caught up within 200 invocations: {invocations:?}"
    );
    // Nothing new since: the next invocation forwards nothing.
    let idle = tokio::task::block_in_place(|| watch.invoke(&schedule)).unwrap();
    assert_eq!(idle[0]["forwarded"], 0, "{idle}");
    let logs = watch.logs();
    let metrics = emf_lines(&logs);
    assert_eq!(
        metrics.len(),
        invocations.len() + 1,
        "one EMF line per stream and run"
    );
    // One JSON line per page and per invocation, with org, stream and the Lambda request id.
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .collect();
    let page = lines
        .iter()
        .find(|l| l["message"] == "page done")
        .expect("a page line");
    assert_eq!(
        (&page["org"], &page["stream"]),
        (&json!("acme"), &json!("logs"))
    );
    assert!(page["span"]["requestId"].is_string(), "{page}");
    let finished = lines
        .iter()
        .filter(|l| l["message"] == "poller invocation finished")
        .count();
    assert_eq!(
        finished,
        invocations.len() + 1,
        "one summary per invocation"
    );
    assert!(
        metrics
            .iter()
            .all(|m| m["Stream"] == "logs" && m["Healthy"] == 1.0)
    );
    assert!(
        metrics
            .iter()
            .any(|m| m["RateLimitRemaining"].as_f64().is_some()),
        "the System Log bucket's headroom is a metric"
    );

    let all: BTreeSet<String> = {
        let v: Value = http
            .get(format!("{}/__sim/events", sim.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        serde_json::from_value::<Vec<String>>(v["uuids"].clone())
            .unwrap()
            .into_iter()
            .collect()
    };
    assert!(all.len() > backlog, "live events were added");
    let forwarded: u64 = invocations
        .iter()
        .map(|o| o["forwarded"].as_u64().unwrap())
        .sum();
    assert_eq!(
        forwarded as usize,
        all.len(),
        "forwarded exactly the org's events"
    );
    let captured = drainer.finish().await;
    let got: Vec<String> = captured
        .iter()
        .map(|e| e["detail"]["okta"]["uuid"].as_str().unwrap().to_string())
        .collect();
    let mut seen = BTreeSet::new();
    let twice: Vec<&Value> = captured
        .iter()
        .filter(|e| !seen.insert(e["detail"]["okta"]["uuid"].as_str().unwrap()))
        .collect();
    // The EventBridge event ids say whether the relay sent a record twice (two ids) or one
    // PutEvents entry arrived twice (one id).
    assert!(
        twice.is_empty(),
        "duplicates in the capture queue: {:?}",
        twice
            .iter()
            .map(|e| (
                &e["id"],
                &e["detail"]["okta"]["uuid"],
                &e["detail"]["relay"]
            ))
            .collect::<Vec<_>>()
    );
    assert_eq!(got.len(), all.len(), "no duplicates in the capture queue");
    assert!(
        got.into_iter().collect::<BTreeSet<_>>() == all,
        "every event reached the SIEM queue"
    );

    // The token is revoked: the stream reports a configuration error.
    http.post(format!("{}/__sim/tokens", sim.url))
        .json(&json!({"revoke": [TOKEN]}))
        .send()
        .await
        .unwrap();
    http.post(format!("{}/__sim/events", sim.url))
        .json(&json!({"count": 1}))
        .send()
        .await
        .unwrap();
    let revoked = tokio::task::block_in_place(|| watch.invoke(&schedule)).unwrap();
    assert_eq!(revoked[0]["error_kind"], "configuration", "{revoked}");
    assert!(revoked[0]["error"].as_str().unwrap().contains("E0000011"));

    // Neither the successful runs nor the failing one put the token in the function's logs.
    let logs = watch.logs();
    assert!(
        logs.contains("poller invocation started") && logs.contains("E0000011"),
        "logs were captured"
    );
    assert_not_leaked(&logs, TOKEN);
    assert_not_leaked(&revoked.to_string(), TOKEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_binary_forwards_partner_events_once_and_the_poller_adds_none() {
    const SOURCE: &str = "aws.partner/okta.com/acme/okta-relay";
    let sim = crate::pull::okta(100).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack
        .put_org_secret("acme", &sim.url, crate::pull::TOKEN)
        .await;
    let events = crate::pull::sim_log_events(&sim).await;
    assert_eq!(events.len(), 100);
    let config = json!({
        "allow_loopback_http": true,
        "orgs": [{"name": "acme", "secret_arn": arn, "partner_event_source": SOURCE}],
    });
    let watch = LambdaWatch::start("okta-relay-events", &function_env(&stack, &config));
    let drainer = stack.drain_in_background();
    let invoke = |payload: &Value| tokio::task::block_in_place(|| watch.invoke(payload));

    // Over the Invoke API that `cargo lambda invoke` uses (one process per call is slow), then
    // through `cargo lambda invoke` itself.
    let http = reqwest::Client::new();
    for event in &events {
        let summary = watch
            .invoke_http(&http, &partner_envelope(SOURCE, event))
            .await
            .expect("handled");
        assert_eq!(
            (summary["forwarded"].as_u64(), summary["org"].as_str()),
            (Some(1), Some("acme"))
        );
    }
    // Okta delivers at least once: redeliveries are dropped.
    for event in &events[..10] {
        let summary = invoke(&partner_envelope(SOURCE, event)).expect("handled");
        assert_eq!(summary["duplicates"], 1, "{summary}");
    }
    // Bad input fails the invocation (so Lambda retries, then the DLQ) with a reason.
    let mut no_uuid = events[0].clone();
    no_uuid.as_object_mut().unwrap().remove("uuid");
    let bad = [
        (
            partner_envelope("aws.partner/okta.com/other/stream", &events[0]),
            "no configured org",
        ),
        (partner_envelope(SOURCE, &no_uuid), "uuid"),
        (
            json!({"source": SOURCE}),
            "not an EventBridge event envelope",
        ),
        (
            partner_envelope("com.example.app", &events[0]),
            "not an Okta partner event source",
        ),
    ];
    for (payload, reason) in bad {
        let err = invoke(&payload).expect_err("must fail");
        assert!(err.contains(reason), "{reason}: {err}");
    }
    // On the wire of the Runtime API, each refusal carries its documented error type: what the
    // invocation's response carries (never a Rust type name).
    let coded = [
        (partner_envelope(SOURCE, &no_uuid), "OktaRelay.InvalidEvent"),
        (json!({"source": SOURCE}), "OktaRelay.InvalidEvent"),
        (
            partner_envelope("aws.partner/okta.com/other/stream", &events[0]),
            "OktaRelay.UnknownSource",
        ),
    ];
    for (payload, code) in coded {
        let body = watch
            .invoke_http(&http, &payload)
            .await
            .expect_err("refused");
        let error: Value = serde_json::from_str(&body).expect(&body);
        assert_eq!(error["errorType"], code, "{body}");
        assert!(
            !body.contains("alloc::") && !body.contains("core::"),
            "{body}"
        );
    }
    // Events whose `published` is missing, redacted or malformed are forwarded, not refused.
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(
            crate::support::repo_root().join("tests/fixtures/published-anomalies.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let anomalies = fixture["events"].as_array().unwrap().clone();
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    for event in &anomalies {
        let summary = watch
            .invoke_http(&http, &partner_envelope(SOURCE, event))
            .await
            .expect("forwarded, whatever its published");
        assert_eq!(summary["forwarded"], 1, "{summary}");
    }
    let after = chrono::Utc::now() + chrono::Duration::seconds(1);
    // Through the push queue: an SQS batch, answered with SQS's partial batch response (the
    // events are duplicates now: nothing more reaches the SIEM).
    let mut through_queue: Vec<Value> = events[..5].to_vec();
    through_queue.push(no_uuid.clone());
    stack.put_partner_events(SOURCE, &through_queue).await;
    let (batch, receipts) = stack.push_batch(6).await;
    let answer = watch
        .invoke_http(&http, &batch)
        .await
        .expect("a batch is answered, not failed");
    assert_eq!(
        answer["batchItemFailures"].as_array().map(Vec::len),
        Some(1),
        "only the event without a uuid fails: {answer}"
    );
    stack.finish_push_batch(&receipts, &answer).await;

    // One summary line per invocation, with org, stream and request id.
    let logs = watch.logs();
    let handled: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .filter(|l| l["message"] == "partner event handled")
        .collect();
    assert!(!handled.is_empty());
    assert!(
        handled
            .iter()
            .all(|l| l["org"] == "acme" && l["stream"] == "push" && l["request_id"].is_string())
    );
    // One EMF line per invocation: the org's counts, and the failures under their org or
    // `unmatched` (a source no org claims).
    let metrics = emf_lines(&logs);
    let acme: Vec<&Value> = metrics
        .iter()
        .filter(|m| m["Org"] == "acme" && m["Stream"] == "push")
        .collect();
    let forwarded: f64 = acme.iter().map(|m| m["Forwarded"].as_f64().unwrap()).sum();
    assert_eq!(
        forwarded,
        (events.len() + anomalies.len()) as f64,
        "{acme:?}"
    );
    assert!(acme.iter().any(|m| m["Duplicates"] == 1.0));
    // A lag only where there is a `published` to measure it from.
    for m in &acme {
        let malformed = m["MalformedPublished"].as_f64() == Some(1.0);
        assert_eq!(m.get("LagSeconds").is_none(), malformed, "{m}");
    }
    let malformed: f64 = acme
        .iter()
        .map(|m| m["MalformedPublished"].as_f64().unwrap())
        .sum();
    assert_eq!(malformed, anomalies.len() as f64);
    assert!(
        metrics
            .iter()
            .any(|m| m["Org"] == "unmatched" && m["StreamErrors"] == 1.0 && m["Healthy"] == 0.0),
        "{metrics:?}"
    );

    let captured = drainer.finish().await;
    assert_eq!(
        captured.len(),
        events.len() + anomalies.len(),
        "each event reached the queue once"
    );
    let by_uuid: std::collections::HashMap<&str, &Value> = captured
        .iter()
        .map(|r| (r["detail"]["okta"]["uuid"].as_str().unwrap(), r))
        .collect();
    for event in &events {
        let record = by_uuid[event["uuid"].as_str().unwrap()];
        assert_eq!(&record["detail"]["okta"], event, "detail is the Okta event");
        assert_eq!(record["detail"]["relay"]["path"], "push");
        assert!(
            record["detail"]["relay"]
                .get("malformedPublished")
                .is_none()
        );
    }
    for event in &anomalies {
        let record = by_uuid[event["uuid"].as_str().unwrap()];
        assert_eq!(&record["detail"]["okta"], event, "unchanged");
        assert_eq!(record["detail"]["relay"]["malformedPublished"], true);
        let time = chrono::DateTime::parse_from_rfc3339(record["time"].as_str().unwrap()).unwrap();
        assert!(
            before <= time && time <= after,
            "the entry's Time is the receipt time: {record}"
        );
    }

    // The same events through the poller: all already forwarded.
    let (poller, _) = crate::pull::poller(&stack, &arn, 200).await;
    let outcome = poller
        .run(
            "reconcile",
            chrono::Utc::now() + chrono::Duration::minutes(2),
        )
        .await;
    assert!(outcome[0].error.is_none(), "{:?}", outcome[0].error);
    assert_eq!(
        (outcome[0].summary.forwarded, outcome[0].summary.duplicates),
        (0, 100)
    );
    assert!(stack.capture(1, Duration::from_secs(3)).await.is_empty());
}

/// A function that cannot start (here: a configuration that is not valid) answers every
/// invocation with `OktaRelay.Configuration` and the field at fault, on the wire of the Runtime
/// API, instead of exiting with a runtime error that names nothing.
#[tokio::test]
async fn a_function_that_cannot_start_answers_with_its_configuration_error_code() {
    let stack = LocalStack::provision(&[]).await;
    let config = json!({"orgs": [{"name": "Not A Valid Name", "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"}]});
    let http = reqwest::Client::new();
    for package in ["okta-relay-events", "okta-relay-poller"] {
        let watch = LambdaWatch::start(package, &function_env(&stack, &config));
        for _ in 0..2 {
            let body = watch
                .invoke_http(&http, &json!({"source": "aws.events"}))
                .await
                .expect_err("cannot start");
            let error: Value = serde_json::from_str(&body).expect(&body);
            assert_eq!(
                error["errorType"], "OktaRelay.Configuration",
                "{package}: {body}"
            );
            assert!(
                error["errorMessage"].as_str().unwrap().contains("name"),
                "{package}: the message names the field: {body}"
            );
        }
    }
}

/// The poller binary reads its configuration from an SSM parameter (no `OKTA_RELAY_CONFIG`)
/// and takes an operator's edit without a redeploy: an invocation naming an org the
/// configuration lacks reads the parameter again at once (at most every 10 s), so a new org's
/// schedule works before the 15-minute reload. An edit that breaks the document keeps the last
/// good configuration running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_binary_reads_its_configuration_from_ssm_and_reloads_an_edit() {
    const TOKEN: &str = "00storedConfigTokenNeverLogged";
    let sim = okta_sim::start(okta_sim::SimConfig {
        tokens: vec![TOKEN.into()],
        seed: okta_sim::SeedConfig {
            backlog_events: 20,
            backlog_hours: 1,
            late_share: 0.0,
            ..okta_sim::SeedConfig::default()
        },
        ..okta_sim::SimConfig::default()
    })
    .await
    .unwrap();
    let stack = LocalStack::provision(&[]).await;
    // Each org its own secret (one secret for two orgs is refused).
    let first_arn = stack.put_org_secret("first", &sim.url, TOKEN).await;
    let second_arn = stack.put_org_secret("second", &sim.url, TOKEN).await;
    let org = |name: &str| {
        let arn = if name == "first" {
            &first_arn
        } else {
            &second_arn
        };
        json!({"name": name, "secret_arn": arn, "logs": {"initial_lookback_hours": 2}})
    };
    let config = |orgs: Vec<Value>| {
        json!({"allow_loopback_http": true, "deadline_margin_seconds": 5, "max_run_seconds": 30,
               "config_reload_seconds": 900, "put_events_in_flight": MOTO_PUT_EVENTS_IN_FLIGHT,
               "orgs": orgs})
        .to_string()
    };
    let parameter = format!("/{}/config", stack.state_table);
    stack
        .put_config_parameter(&parameter, &config(vec![org("first")]))
        .await;
    let mut env = function_env(&stack, &json!({}));
    env.retain(|(k, _)| *k != "OKTA_RELAY_CONFIG");
    env.push(("OKTA_RELAY_CONFIG_PARAMETER", parameter.clone()));
    let watch = LambdaWatch::start("okta-relay-poller", &env);
    let http = reqwest::Client::new();

    let first = watch
        .invoke_http(&http, &json!({"org": "first"}))
        .await
        .expect("first");
    assert_eq!(first[0]["forwarded"], 20, "{first}");
    let refused = watch
        .invoke_http(&http, &json!({"org": "second"}))
        .await
        .expect_err("not configured yet");
    assert!(refused.contains("OktaRelay.Configuration"), "{refused}");

    stack
        .put_config_parameter(&parameter, &config(vec![org("first"), org("second")]))
        .await;
    tokio::time::sleep(Duration::from_secs(11)).await;
    let second = watch
        .invoke_http(&http, &json!({"org": "second"}))
        .await
        .expect("the edit is live long before the 900 s reload");
    assert_eq!(second[0]["org"], "second", "{second}");
    assert!(second[0]["error"].is_null(), "{second}");

    stack.put_config_parameter(&parameter, "{\"orgs\": [").await;
    tokio::time::sleep(Duration::from_secs(11)).await;
    let third = watch
        .invoke_http(&http, &json!({"org": "third"}))
        .await
        .expect_err("not in the last good configuration either");
    assert!(third.contains("OktaRelay.Configuration"), "{third}");
    let kept = watch
        .invoke_http(&http, &json!({"org": "second"}))
        .await
        .expect("the last good configuration keeps running");
    assert!(kept[0]["error"].is_null(), "{kept}");
    let logs = watch.logs();
    assert!(
        logs.contains("could not be reloaded; running on the last good one"),
        "the broken edit is logged"
    );
    assert_not_leaked(&logs, TOKEN);
}
