//! The real poller process killed (`SIGKILL`) between delivering a page and committing its
//! cursor, then restarted: nothing is lost, and the duplicates carry the same `uuid` and number
//! at most one page.

use crate::aws_faults::{Fault, FaultProxy, Rule, cursor_commit, dedupe_mark_write, put_events};
use crate::lambda::function_env;
use crate::pull::{TOKEN, all_events, distinct, okta, table};
use crate::support::{LocalStack, workspace_binary};
use okta_relay::ports::{StreamKey, StreamStateStore};
use serde_json::{Value, json};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

const PAGE: usize = 50;

/// The operator CLI `make test` built (built here if missing): `okta-relay-ctl run` is the
/// poller's code path as a process.
pub(crate) fn ctl_binary() -> PathBuf {
    workspace_binary("okta-relay-ctl")
}

/// Runs `okta-relay-ctl run` (one poller run) with AWS behind the fault proxy, armed with
/// `rules`.
pub(crate) async fn run_once(
    env: &[(&'static str, String)],
    proxy: &FaultProxy,
    rules: Vec<Rule>,
) -> (std::process::ExitStatus, String) {
    run_once_as(env, proxy, rules, None).await
}

/// [`run_once`] with a fixed lease owner (a supervisor restarting the same worker).
pub(crate) async fn run_once_as(
    env: &[(&'static str, String)],
    proxy: &FaultProxy,
    rules: Vec<Rule>,
    owner: Option<&str>,
) -> (std::process::ExitStatus, String) {
    let mut cmd = Command::new(ctl_binary());
    cmd.args(["run", "--seconds", "60"]);
    if let Some(owner) = owner {
        cmd.args(["--owner", owner]);
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.env("AWS_ENDPOINT_URL", &proxy.url);
    let child = cmd.spawn().unwrap();
    proxy.arm(child.id(), rules);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    (out.status, String::from_utf8_lossy(&out.stdout).to_string())
}

async fn killed_then_restarted(kill_at: Rule) -> (Value, Vec<Value>, BTreeSetOf) {
    let sim = okta(6 * PAGE).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let config = json!({
        "allow_loopback_http": true,
        "deadline_margin_seconds": 2,
        "lease_seconds": 10,
        // One PutEvents request at a time: the kill lands at an exact call of an exact page
        // (the crash suite kills at random with requests in flight).
        "put_events_in_flight": 1,
        "orgs": [{"name": "acme", "secret_arn": arn, "logs": {"page_size": PAGE}}],
    });
    let env = function_env(&stack, &config);
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;

    let (status, _) = run_once(&env, &proxy, vec![kill_at]).await;
    assert_eq!(status.signal(), Some(9), "killed by the switch: {status:?}");
    assert_eq!(proxy.kills(), 1);
    let cursor = table(&stack)
        .snapshot(&StreamKey::new("acme", "logs"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cursor.version, 2, "pages 1 and 2 committed, page 3 not");

    // A new run resumes as soon as the dead run's lease expires, not a moment later: nothing
    // the dead run left in the table may make the new run skip a record it never delivered.
    let expires = cursor.lease_expires_at.expect("the dead run's lease");
    let wait = (expires - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(200)).await;
    let (status, stdout) = run_once(&env, &proxy, Vec::new()).await;
    assert!(status.success(), "{status:?}");
    let outcome: Value = serde_json::from_str(&stdout).unwrap();
    assert!(outcome[0]["error"].is_null(), "{outcome}");
    assert_eq!(outcome[0]["caught_up"], true);

    let captured = stack.capture(12 * PAGE, Duration::from_secs(10)).await;
    assert_eq!(distinct(&captured), all_events(&sim).await, "nothing lost");
    let all = all_events(&sim).await;
    (outcome[0].clone(), captured, all)
}

type BTreeSetOf = std::collections::BTreeSet<String>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_put_events_before_the_marks_resends_at_most_a_page() {
    let (outcome, captured, all) =
        killed_then_restarted(Rule::nth(dedupe_mark_write(), 5, Fault::Kill)).await;
    // Two mark batches of 25 per page, written side by side: the 5th is page 3's first. Page 3
    // reached the SIEM and its cursor was not written; of its marks, the other batch may have
    // landed before the kill. The restart sends the unmarked rest again, under the same uuids.
    let marked = outcome["duplicates"].as_u64().unwrap() as usize;
    assert!(marked == 0 || marked == 25, "{outcome}");
    assert_eq!(captured.len(), all.len() + PAGE - marked, "{outcome}");
    assert_eq!(
        outcome["forwarded"].as_u64(),
        Some((all.len() - 2 * PAGE - marked) as u64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_marks_before_the_cursor_commit_resends_nothing() {
    let (outcome, captured, all) =
        killed_then_restarted(Rule::nth(cursor_commit(), 3, Fault::Kill)).await;
    // Page 3's marks were written: the restart re-reads it and drops it as duplicates.
    assert_eq!(captured.len(), all.len(), "{outcome}");
    assert_eq!(outcome["duplicates"].as_u64(), Some(PAGE as u64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_dedupe_check_before_put_events_loses_nothing() {
    // Five PutEvents calls of 10 per page: the 11th is page 3's first. Its records were
    // checked but not delivered; the restart must not take any of them for duplicates.
    let (outcome, captured, all) =
        killed_then_restarted(Rule::nth(put_events(), 11, Fault::Kill)).await;
    assert_eq!(captured.len(), all.len(), "{outcome}");
    assert_eq!(outcome["duplicates"], 0, "{outcome}");
}
