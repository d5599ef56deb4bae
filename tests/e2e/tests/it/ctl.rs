//! The operator CLI (`okta-relay-ctl`) as an operator runs it: the real binary against moto and
//! the Okta simulator, with the functions' environment.

use crate::lambda::{assert_not_leaked, function_env};
use crate::pull::{TOKEN, distinct, poller, sim_log_events, table};
use crate::support::{LocalStack, workspace_binary};
use chrono::{DateTime, SecondsFormat, Utc};
use okta_relay::ports::{StreamKey, StreamStateStore};
use okta_sim::{RunningSim, SeedConfig, SimConfig};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

/// What one `okta-relay-ctl` run printed, and its exit code.
pub(crate) struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub(crate) async fn ctl(env: &[(&'static str, String)], args: &[&str]) -> Ran {
    let mut cmd = Command::new(workspace_binary("okta-relay-ctl"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("OKTA_RELAY_CONFIG_FILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}

/// A simulator org with `backlog` events over the last two hours, none persisted late (a
/// bounded window's contents are then exactly the events published in it).
async fn org(backlog: usize) -> RunningSim {
    okta_sim::start(SimConfig {
        tokens: vec![TOKEN.into()],
        seed: SeedConfig {
            backlog_events: backlog,
            backlog_hours: 2,
            late_share: 0.0,
            ..SeedConfig::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn published(event: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(event["published"].as_str().unwrap())
        .unwrap()
        .to_utc()
}

/// Every health state an operator reads, each reached the way it happens in a deployment:
/// `pending` (configured, never run), `authenticated` (validate-config proved the
/// credentials), `caught_up`, `overdue` (a push path that went silent), and `error` with whose
/// fault it is: Okta configuration (a revoked token), Okta transient (an org answering 5xx),
/// AWS (a secret that does not exist).
#[tokio::test]
async fn status_shows_each_streams_state_since_when_whose_fault_lag_and_headroom() {
    let sim = org(40).await;
    let failing = org(0).await;
    let http = reqwest::Client::new();
    http.put(format!("{}/__sim/faults", failing.url))
        .json(&json!({"server_errors": 10_000}))
        .send()
        .await
        .unwrap();
    let stack = LocalStack::provision(&[]).await;
    let good = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let wrong = "00statusWrongTokenMustNotLeak";
    let bad = stack.put_org_secret("globex", &sim.url, wrong).await;
    let busy = stack.put_org_secret("initech", &failing.url, TOKEN).await;
    let config = json!({
        "allow_loopback_http": true,
        "deadline_margin_seconds": 2,
        "orgs": [
            {"name": "acme", "secret_arn": good, "logs": {"page_size": 100},
             "partner_event_source": "aws.partner/okta.com/acme/relay"},
            {"name": "globex", "secret_arn": bad},
            {"name": "initech", "secret_arn": busy},
            {"name": "umbrella",
             "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf"},
        ],
    });
    let env = function_env(&stack, &config);
    let before = ctl(&env, &["status", "--json"]).await;
    assert_eq!(before.code, 0, "{}", before.stderr);
    let rows: Vec<Value> = serde_json::from_str(&before.stdout).unwrap();
    assert!(
        rows.iter()
            .filter(|r| r["stream"] == "logs")
            .all(|r| r["state"] == "pending" && r["since"].is_null()),
        "{rows:?}"
    );
    // validate-config proves acme's credentials (the others fail their checks).
    let validated = ctl(&env, &["validate-config", "--json"]).await;
    assert_eq!(validated.code, 1, "globex, initech and umbrella fail");
    let checked = ctl(&env, &["status", "--json"]).await;
    let rows: Vec<Value> = serde_json::from_str(&checked.stdout).unwrap();
    let state = |rows: &[Value], org: &str| {
        rows.iter()
            .find(|r| r["org"] == org && r["stream"] == "logs")
            .map(|r| r["state"].as_str().unwrap().to_string())
    };
    assert_eq!(state(&rows, "acme").as_deref(), Some("authenticated"));
    assert_eq!(state(&rows, "globex").as_deref(), Some("pending"));

    // The simulator runs on this test's runtime: wait for the poller off it.
    let mut poller = Command::new(workspace_binary("okta-relay-ctl"));
    poller
        .args(["run", "--seconds", "60"])
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let status = tokio::task::spawn_blocking(move || poller.status())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());

    let after = ctl(&env, &["status", "--json"]).await;
    assert_eq!(after.code, 0, "{}", after.stderr);
    let rows: Vec<Value> = serde_json::from_str(&after.stdout).unwrap();
    let row = |org: &str, stream: &str| {
        rows.iter()
            .find(|r| r["org"] == org && r["stream"] == stream)
            .unwrap_or_else(|| panic!("no row {org}/{stream} in {rows:?}"))
            .clone()
    };
    let logs = row("acme", "logs");
    assert_eq!(logs["state"], "caught_up", "{logs}");
    assert!(
        logs["since"].is_string() && logs["fault"].is_null(),
        "{logs}"
    );
    assert!(logs["last_success_at"].is_string());
    assert!(logs["lag_seconds"].as_i64().unwrap() >= 0);
    let headroom = &logs["rate_limit"];
    assert!(
        headroom["limit"].as_u64().unwrap() > 0
            && headroom["remaining"].as_u64().unwrap() < headroom["limit"].as_u64().unwrap(),
        "the simulator's X-Rate-Limit headers: {headroom}"
    );
    assert_eq!(logs["forwarded_total"], 40);
    // The push path never delivered: the stream watch calls it overdue.
    assert_eq!(row("acme", "push")["state"], "overdue");
    let globex = row("globex", "logs");
    assert_eq!(
        (&globex["state"], &globex["fault"]),
        (&json!("error"), &json!("okta_configuration")),
        "{globex}"
    );
    assert_eq!(globex["last_error_kind"], "configuration");
    assert!(globex["backoff_until"].is_string(), "retried with backoff");
    assert!(globex["last_error"].as_str().unwrap().contains("E0000011"));
    let initech = row("initech", "logs");
    assert_eq!(
        (
            &initech["state"],
            &initech["fault"],
            &initech["last_error_kind"]
        ),
        (
            &json!("error"),
            &json!("okta_transient"),
            &json!("transient")
        ),
        "{initech}"
    );
    let umbrella = row("umbrella", "logs");
    assert_eq!(
        (&umbrella["state"], &umbrella["fault"]),
        (&json!("error"), &json!("aws")),
        "{umbrella}"
    );
    assert!(umbrella["since"].is_string());

    let human = ctl(&env, &["status"]).await;
    assert_eq!(human.code, 0);
    let lines: Vec<&str> = human.stdout.lines().collect();
    assert!(lines[0].starts_with("ORG") && lines[0].contains("RATE LIMIT LEFT"));
    assert!(lines[0].contains("FAULT") && lines[0].contains("SINCE"));
    assert!(
        lines.iter().any(|l| l.starts_with("globex")
            && l.contains("error")
            && l.contains("okta_configuration")
            && l.contains("E0000011")),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("need attention"));

    // --watch draws the table again until interrupted.
    let mut watching = Command::new(workspace_binary("okta-relay-ctl"))
        .args(["status", "--watch", "1"])
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .env_remove("OKTA_RELAY_CONFIG_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    watching.kill().unwrap();
    let watched = tokio::task::spawn_blocking(move || watching.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let watched = String::from_utf8_lossy(&watched.stdout).to_string();
    assert!(watched.matches("ORG ").count() >= 2, "redrawn: {watched}");
    for text in [
        &before.stdout,
        &after.stdout,
        &human.stdout,
        &human.stderr,
        &watched,
        &validated.stdout,
    ] {
        assert_not_leaked(text, wrong);
        assert_not_leaked(text, TOKEN);
    }

    let one = ctl(&env, &["status", "--json", "--org", "globex"]).await;
    let rows: Vec<Value> = serde_json::from_str(&one.stdout).unwrap();
    assert!(rows.iter().all(|r| r["org"] == "globex") && !rows.is_empty());
    let unknown = ctl(&env, &["status", "--org", "wayne"]).await;
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("no org named \"wayne\""));
}

#[tokio::test]
async fn backfill_forwards_a_window_once_resumes_and_shares_the_dedupe_marks() {
    let sim = org(300).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let config = json!({
        "allow_loopback_http": true,
        "deadline_margin_seconds": 2,
        // The scheduled stream is off (a push-only org): the backfill reads anyway.
        "orgs": [{"name": "acme", "secret_arn": arn,
                  "logs": {"enabled": false, "page_size": 20}}],
    });
    let env = function_env(&stack, &config);
    let events = sim_log_events(&sim).await;
    let now = Utc::now();
    let since = DateTime::from_timestamp(now.timestamp() - 100 * 60, 0).unwrap();
    let until = DateTime::from_timestamp(now.timestamp() - 40 * 60, 0).unwrap();
    let in_window = |from: DateTime<Utc>, to: DateTime<Utc>| -> BTreeSet<String> {
        events
            .iter()
            .filter(|e| published(e) >= from && published(e) < to)
            .map(|e| e["uuid"].as_str().unwrap().to_string())
            .collect()
    };
    let expected = in_window(since, until);
    assert!(expected.len() > 60, "the window spans several pages");
    let window = [
        "--org",
        "acme",
        "--since",
        &rfc3339(since),
        "--until",
        &rfc3339(until),
    ];

    // Two pages, then stop: the command says how to go on.
    let args: Vec<&str> = [&["backfill"][..], &window, &["--max-pages", "2"]].concat();
    let first = ctl(&env, &args).await;
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert!(first.stdout.contains("40 forwarded"), "{}", first.stdout);
    assert!(
        first.stdout.contains(&format!(
            "resume with: okta-relay-ctl backfill --org acme --since {} --until {}",
            rfc3339(since),
            rfc3339(until)
        )),
        "{}",
        first.stdout
    );
    // Without a terminal, progress comes as lines with the share done and an ETA.
    assert!(
        first
            .stderr
            .lines()
            .any(|l| l.starts_with("progress ") && l.contains("ETA")),
        "{}",
        first.stderr
    );

    let args: Vec<&str> = [&["backfill"][..], &window].concat();
    let second = ctl(&env, &args).await;
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert!(second.stdout.contains("complete in"), "{}", second.stdout);
    let captured = stack.capture(expected.len(), Duration::from_secs(5)).await;
    assert_eq!(captured.len(), expected.len(), "each event once");
    assert_eq!(distinct(&captured), expected);
    assert!(
        captured
            .iter()
            .all(|e| e["detail"]["relay"]["path"] == "pull"),
        "forwarded as pulled records"
    );

    let again = ctl(&env, &args).await;
    assert_eq!(again.code, 0);
    assert!(
        again.stdout.contains("already complete"),
        "{}",
        again.stdout
    );

    // A wider window: what the first one forwarded is a duplicate now.
    let wider_since = since - chrono::Duration::minutes(10);
    let wider = [
        "backfill",
        "--org",
        "acme",
        "--since",
        &rfc3339(wider_since),
        "--until",
        &rfc3339(until),
    ];
    let third = ctl(&env, &wider).await;
    assert_eq!(third.code, 0, "{}", third.stderr);
    let new = in_window(wider_since, since);
    assert!(
        third.stdout.contains(&format!(
            "{} forwarded, {} duplicates dropped",
            new.len(),
            expected.len()
        )),
        "{}",
        third.stdout
    );
    let captured = stack.capture(new.len(), Duration::from_secs(5)).await;
    assert_eq!(distinct(&captured), new);

    let backwards = ctl(
        &env,
        &[
            "backfill",
            "--org",
            "acme",
            "--since",
            &rfc3339(until),
            "--until",
            &rfc3339(since),
        ],
    )
    .await;
    assert_eq!(backwards.code, 1);
    assert!(backwards.stderr.contains("--since must be before --until"));
}

#[tokio::test]
async fn reset_cursor_asks_first_and_never_races_a_run() {
    let sim = org(30).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let (service, _) = poller(&stack, &arn, 10).await;
    service
        .run("run-1", Utc::now() + chrono::Duration::minutes(2))
        .await;
    let state = table(&stack);
    let key = StreamKey::new("acme", "logs");
    let cursor = || async { state.snapshot(&key).await.unwrap().unwrap().cursor };
    assert!(cursor().await.is_some());
    let config = json!({
        "allow_loopback_http": true,
        "orgs": [{"name": "acme", "secret_arn": arn, "inventory": {"users": {}}}],
    });
    let env = function_env(&stack, &config);

    let unconfirmed = ctl(&env, &["reset-cursor", "--org", "acme", "--stream", "logs"]).await;
    assert_eq!(unconfirmed.code, 2);
    assert!(unconfirmed.stderr.contains("pass --yes"));
    assert!(cursor().await.is_some(), "nothing changed");

    let typo = ctl(
        &env,
        &["reset-cursor", "--org", "acme", "--stream", "log", "--yes"],
    )
    .await;
    assert_eq!(typo.code, 2);
    assert!(
        typo.stderr.contains("configured: logs, users"),
        "{}",
        typo.stderr
    );

    let running = state
        .acquire(&key, "lambda-request-7", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let busy = ctl(
        &env,
        &["reset-cursor", "--org", "acme", "--stream", "logs", "--yes"],
    )
    .await;
    assert_eq!(busy.code, 2);
    assert!(busy.stderr.contains("lambda-request-7"), "{}", busy.stderr);
    assert!(cursor().await.is_some());
    state.release_lease(&running).await.unwrap();

    let done = ctl(
        &env,
        &["reset-cursor", "--org", "acme", "--stream", "logs", "--yes"],
    )
    .await;
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(done.stdout.contains("cursor removed"));
    // It said what it skips before it acted: the 30 events of the last two hours are inside
    // the 24-hour lookback.
    assert!(
        done.stderr.contains("nothing is skipped"),
        "{}",
        done.stderr
    );
    assert_eq!(cursor().await, None);
    // The poller that held the lease before the reset cannot commit over it.
    assert!(state.commit_cursor(&running, "stale").await.is_err());
}

#[tokio::test]
async fn validate_config_names_each_failure_and_prints_no_secret() {
    let sim = org(5).await;
    let stack = LocalStack::provision(&[]).await;
    let good = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let wrong = "00validateWrongTokenMustNotLeak";
    let bad = stack.put_org_secret("globex", &sim.url, wrong).await;
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf";
    let config = json!({
        "allow_loopback_http": true,
        "orgs": [
            {"name": "acme", "secret_arn": good, "inventory": {"users": {}}},
            {"name": "globex", "secret_arn": bad},
            {"name": "initech", "secret_arn": missing},
        ],
    });
    let env = function_env(&stack, &config);
    let ran = ctl(&env, &["validate-config"]).await;
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    let line = |needle: &str| {
        ran.stdout
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in\n{}", ran.stdout))
            .to_string()
    };
    assert!(line("orgs[acme] secret").starts_with("ok"));
    assert!(line("orgs[acme] GET /api/v1/logs").starts_with("ok"));
    assert!(line("orgs[acme] GET /api/v1/users").starts_with("ok"));
    let globex = line("orgs[globex] GET /api/v1/logs");
    assert!(
        globex.starts_with("FAIL")
            && globex.contains("E0000011")
            && globex.contains("configuration")
    );
    let initech = line("orgs[initech] secret");
    assert!(
        initech.starts_with("FAIL") && initech.contains("does not exist"),
        "{initech}"
    );
    assert!(line(&format!("state table {}", stack.state_table)).starts_with("ok"));
    assert!(line("delivery bus").starts_with("ok"));
    assert_not_leaked(&ran.stdout, wrong);
    assert_not_leaked(&ran.stdout, TOKEN);
    assert_not_leaked(&ran.stderr, wrong);

    let mut no_bus = env.clone();
    no_bus.retain(|(k, _)| *k != "OKTA_RELAY_DELIVERY_BUS");
    no_bus.push(("OKTA_RELAY_DELIVERY_BUS", "no-such-bus".into()));
    let ran = ctl(&no_bus, &["validate-config", "--json"]).await;
    let checks: Vec<Value> = serde_json::from_str(&ran.stdout).unwrap();
    let bus = checks
        .iter()
        .find(|c| c["subject"] == "delivery bus no-such-bus")
        .unwrap();
    assert_eq!(bus["ok"], false);

    let mut broken = env.clone();
    broken.retain(|(k, _)| *k != "OKTA_RELAY_CONFIG");
    broken.push((
        "OKTA_RELAY_CONFIG",
        json!({"orgs": [{"name": "acme", "secret_arn": good, "logs": {"page_size": 5000}}]})
            .to_string(),
    ));
    let ran = ctl(&broken, &["validate-config", "--offline"]).await;
    assert_eq!(ran.code, 1);
    assert!(
        ran.stdout.contains("orgs[0].logs.page_size"),
        "{}",
        ran.stdout
    );
    // A value of the wrong type is named by its path too, not by a line and column.
    let mut mistyped = env.clone();
    mistyped.retain(|(k, _)| *k != "OKTA_RELAY_CONFIG");
    mistyped.push((
        "OKTA_RELAY_CONFIG",
        json!({"orgs": [{"name": "acme", "secret_arn": good},
                        {"name": "beta", "secret_arn": bad, "logs": {"page_size": "1000"}}]})
        .to_string(),
    ));
    let ran = ctl(&mistyped, &["validate-config", "--offline"]).await;
    assert_eq!(ran.code, 1);
    assert!(
        ran.stdout.contains("orgs[1].logs.page_size") && ran.stdout.contains("invalid type"),
        "{}",
        ran.stdout
    );
    let ran = ctl(&env, &["validate-config", "--offline"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stdout);
}

/// A 50-org configuration as the IaC writes it: each org with its secret, its partner event
/// source and its inventory. Too big for Lambda's 4 KB environment and for an advanced SSM
/// parameter's 8 KB.
pub fn fifty_org_configuration() -> Value {
    let orgs: Vec<Value> = (0..50)
        .map(|i| {
            json!({
                "name": format!("subsidiary-{i:02}"),
                "secret_arn": format!("arn:aws:secretsmanager:eu-west-1:123456789012:secret:okta-relay/subsidiary-{i:02}-AbCdEf"),
                "partner_event_source": format!("aws.partner/okta.com/subsidiary-{i:02}/okta-log-stream"),
                "inventory": {"users": {}, "groups": {}, "group_members": {}, "apps": {}}
            })
        })
        .collect();
    json!({ "orgs": orgs })
}

/// The 50-org configuration read from an S3 object in moto validates; one bad org in it is
/// named by its index.
#[tokio::test]
async fn a_fifty_org_configuration_in_s3_validates() {
    let stack = LocalStack::provision(&[]).await;
    let mut config = fifty_org_configuration();
    let text = config.to_string();
    assert!(text.len() > 8192, "{} bytes", text.len());
    let bucket = format!("{}-config", stack.state_table.to_lowercase());
    let uri = stack
        .put_config_object(&bucket, "okta-relay/config.json", &text)
        .await;
    let mut env = function_env(&stack, &json!({}));
    env.retain(|(k, _)| *k != "OKTA_RELAY_CONFIG");
    env.push(("OKTA_RELAY_CONFIG_OBJECT", uri.clone()));
    let ran = ctl(&env, &["validate-config", "--offline", "--json"]).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let checks: Vec<Value> = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(checks[0]["detail"], "50 org(s)");
    assert_eq!(checks.len(), 51, "one line per org");

    config["orgs"][37]["partner_event_source"] = json!("aws.partner/not-okta/x");
    stack
        .put_config_object(&bucket, "okta-relay/config.json", &config.to_string())
        .await;
    let ran = ctl(&env, &["validate-config", "--offline"]).await;
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    assert!(
        ran.stdout.contains("orgs[37].partner_event_source"),
        "{}",
        ran.stdout
    );

    // Two sources at once is refused, not resolved by precedence.
    env.push(("OKTA_RELAY_CONFIG", text));
    let ran = ctl(&env, &["validate-config", "--offline"]).await;
    assert_eq!(ran.code, 1);
    assert!(ran.stdout.contains("set exactly one"), "{}", ran.stdout);
}

/// A streaming org's partner event bus that was never associated with the Log Streaming source
/// is named, with the step that fixes it. (moto cannot describe or put a rule on a bus whose name
/// has a `/`, as AWS can, so the bus-without-rule and passing cases are not played here.)
#[tokio::test]
async fn validate_config_checks_each_partner_event_bus_and_its_rule() {
    let sim = org(5).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let unassociated = format!(
        "aws.partner/okta.com/acme-{}/never-associated",
        stack.state_table.to_lowercase()
    );
    let config = json!({"allow_loopback_http": true,
        "orgs": [{"name": "acme", "secret_arn": arn, "partner_event_source": unassociated}]});
    let env = function_env(&stack, &config);
    let ran = ctl(&env, &["validate-config"]).await;
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    let line = ran
        .stdout
        .lines()
        .find(|l| l.contains("partner event bus"))
        .unwrap_or_else(|| panic!("no partner bus check in\n{}", ran.stdout));
    assert!(
        line.starts_with("FAIL") && line.contains("docs/deploy.md, step 2"),
        "{line}"
    );
    let offline = ctl(&env, &["validate-config", "--offline"]).await;
    assert!(
        !offline.stdout.contains("partner event bus"),
        "offline calls no AWS"
    );
}

/// `validate-config` with the lake on: each custom source location of the lake's bucket is
/// probed with the bucket's expected owner and nothing is written; a wrong owner (S3's 403,
/// which the proxy gives as S3 does and moto does not) and a missing bucket each fail, named.
#[tokio::test]
async fn validate_config_probes_the_lake_bucket_its_owner_and_write_access_without_writing() {
    use crate::aws_faults::FaultProxy;
    const OWNER: &str = "123456789012";
    let sim = org(5).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let bucket = crate::lake::lake_bucket(&stack).await;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    proxy.buckets_owned_by(OWNER);
    let lake = |bucket: &str, owner: &str| {
        let config = json!({"allow_loopback_http": true,
            "security_lake": {"bucket": bucket, "region": "us-east-1", "account_id": OWNER, "bucket_owner": owner},
            "orgs": [{"name": "acme", "secret_arn": arn}]});
        let mut env = function_env(&stack, &config);
        env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
        env.push(("AWS_ENDPOINT_URL", proxy.url.clone()));
        env
    };
    let lines = |ran: &Ran| -> Vec<String> {
        ran.stdout
            .lines()
            .filter(|l| l.contains("security_lake"))
            .map(str::to_string)
            .collect()
    };

    let ran = ctl(&lake(&bucket, OWNER), &["validate-config"]).await;
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    let good = lines(&ran);
    assert!(
        good.len() >= 8,
        "one check per custom source location:\n{}",
        ran.stdout
    );
    assert!(
        good.iter().all(|l| l.starts_with("ok")
            && l.contains(&format!("s3://{bucket}/ext/okta-"))
            && l.contains(&format!("owned by {OWNER}"))),
        "{good:?}"
    );
    let listed = stack
        .s3()
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(0), "the probe wrote nothing");

    let ran = ctl(&lake(&bucket, "444455556666"), &["validate-config"]).await;
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    let wrong = lines(&ran);
    assert!(
        !wrong.is_empty()
            && wrong.iter().all(|l| l.starts_with("FAIL")
                && l.contains("not owned by account 444455556666")
                && l.contains("configuration")),
        "{wrong:?}"
    );

    let ran = ctl(
        &lake("okta-relay-no-such-lake", OWNER),
        &["validate-config"],
    )
    .await;
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    let missing = lines(&ran);
    assert!(
        missing.len() == 1
            && missing[0].starts_with("FAIL")
            && missing[0].contains("does not exist"),
        "{missing:?}"
    );

    // A pushed org with the lake and no staging: the events function only stages.
    let mut pushed = lake(&bucket, OWNER);
    for (k, v) in pushed.iter_mut() {
        if *k == "OKTA_RELAY_CONFIG" {
            let mut config: Value = serde_json::from_str(v).unwrap();
            config["orgs"][0]["partner_event_source"] =
                json!("aws.partner/okta.com/acme-org/okta-relay");
            *v = config.to_string();
        }
    }
    let ran = ctl(&pushed, &["validate-config", "--offline"]).await;
    let staging = ran
        .stdout
        .lines()
        .find(|l| l.contains("security_lake.staging"))
        .unwrap_or_else(|| panic!("no staging check in\n{}", ran.stdout));
    assert!(
        staging.starts_with("FAIL") && staging.contains("events function only stages"),
        "{staging}"
    );
}
