//! Directory inventory against moto and the Okta simulator: a full sync forwards every object
//! once; a delta forwards exactly what changed, plus the deletion and removal records the
//! System Log implies; a full sync cut by the deadline resumes without gaps or duplicates; and
//! a tight rate limit on the directory buckets never makes the System Log fall behind.
//!
//! Sizes: `OKTA_RELAY_INVENTORY_SCALE` (default 1) multiplies a 1 000-user org; 5 is the
//! issue's 5 000 users / 300 groups / 20 000 memberships / 50 apps / 3 000 assignments.

use crate::pull::{TOKEN, poller_with, sim_call, table};
use crate::support::LocalStack;
use chrono::Utc;
use okta_relay::poller::OrgOutcome;
use okta_relay::ports::{StreamKey, StreamStateStore};
use okta_sim::{RunningSim, SeedConfig, SimConfig};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

fn scale() -> usize {
    std::env::var("OKTA_RELAY_INVENTORY_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

async fn directory_org(scale: usize, backlog: usize) -> RunningSim {
    okta_sim::start(SimConfig {
        tokens: vec![TOKEN.into()],
        seed: SeedConfig {
            users: 1000 * scale,
            groups: 60 * scale,
            memberships: 4000 * scale,
            apps: 10 * scale,
            app_users: 600 * scale,
            app_groups: 40 * scale,
            backlog_events: backlog,
            backlog_hours: 1,
            ..SeedConfig::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// Every stream, deltas allowed at once (the test does not wait a quarter of an hour).
const ALL_STREAMS: &str = r#","inventory":{"users":{"delta_interval_seconds":1},
    "groups":{"delta_interval_seconds":1},"group_members":{},"apps":{},"app_users":{"page_size":100},
    "app_groups":{},"idps":{},"zones":{},"clients":{}}"#;

/// Record ids per DetailType.
fn by_kind(captured: &[Value]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in captured {
        out.entry(e["detail-type"].as_str().unwrap().to_string())
            .or_default()
            .push(
                e["detail"]["relay"]["recordId"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
    }
    out
}

fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

fn pairs(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}/{}", p[0].as_str().unwrap(), p[1].as_str().unwrap()))
        .collect()
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn assert_ok(outcomes: &[OrgOutcome]) {
    for o in outcomes {
        assert!(o.error.is_none(), "{}: {:?}", o.stream, o.error);
    }
}

fn outcome<'a>(outcomes: &'a [OrgOutcome], stream: &str) -> &'a OrgOutcome {
    outcomes.iter().find(|o| o.stream == stream).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_then_delta_forward_every_object_once_and_exactly_the_changes() {
    let scale = scale();
    let sim = directory_org(scale, 0).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let poller = poller_with(
        &stack,
        &arn,
        1000,
        ALL_STREAMS,
        table(&stack),
        Duration::from_secs(60),
    );
    let drainer = stack.drain_in_background();
    let deadline = Utc::now() + chrono::Duration::minutes(10);

    let full = poller.run("full", deadline).await;
    assert_ok(&full);
    let streams: Vec<&str> = full.iter().map(|o| o.stream.as_str()).collect();
    assert_eq!(
        streams,
        [
            "logs", "users", "groups", "apps", "idps", "zones", "clients"
        ],
        "the System Log first"
    );
    for o in &full[1..] {
        assert!(o.summary.caught_up, "{}: {:?}", o.stream, o.summary);
    }
    let captured = drainer.finish().await;
    let kinds = by_kind(&captured);
    let dir = sim_call(&sim, "/directory", None).await;
    let users: BTreeSet<String> = strings(&dir["users"])
        .union(&strings(&dir["deprovisioned_users"]))
        .cloned()
        .collect();
    let expect = [
        ("Okta User", users.len()),
        ("Okta Group", strings(&dir["groups"]).len()),
        ("Okta Group Membership", pairs(&dir["memberships"]).len()),
        ("Okta App", strings(&dir["apps"]).len()),
        ("Okta App User", pairs(&dir["app_users"]).len()),
        ("Okta App Group", pairs(&dir["app_groups"]).len()),
        ("Okta Identity Provider", strings(&dir["idps"]).len()),
        ("Okta Network Zone", strings(&dir["zones"]).len()),
        ("Okta OAuth Client", strings(&dir["clients"]).len()),
    ];
    for (kind, count) in expect {
        let ids = kinds.get(kind).cloned().unwrap_or_default();
        if ids.len() != count {
            let mut seen = BTreeSet::new();
            let twice: Vec<&Value> = captured
                .iter()
                .filter(|e| e["detail-type"] == kind)
                .filter(|e| !seen.insert(e["detail"]["relay"]["recordId"].to_string()))
                .collect();
            for t in &twice {
                let rid = &t["detail"]["relay"]["recordId"];
                let copies: Vec<_> = captured
                    .iter()
                    .filter(|e| &e["detail"]["relay"]["recordId"] == rid)
                    .map(|e| (&e["id"], &e["detail"]["relay"]["collectedAt"]))
                    .collect();
                eprintln!("{kind}: {rid} arrived {} times: {copies:?}", copies.len());
            }
        }
        assert_eq!(ids.len(), count, "{kind}: every object");
        assert_eq!(set(&ids).len(), count, "{kind}: exactly once");
    }
    // Memberships name both sides; every object is what Okta sent, with its metadata.
    assert_eq!(
        set(&kinds["Okta Group Membership"]),
        pairs(&dir["memberships"])
    );
    let user_ids: BTreeSet<String> = kinds["Okta User"]
        .iter()
        .map(|r| r.split('@').next().unwrap().to_string())
        .collect();
    assert_eq!(user_ids, users, "DEPROVISIONED users included");
    let member = captured
        .iter()
        .find(|e| e["detail-type"] == "Okta App User")
        .unwrap();
    assert_eq!(member["source"], "okta-relay");
    assert_eq!(member["detail"]["relay"]["parent"]["type"], "app");
    assert_eq!(member["detail"]["relay"]["sync"], "full");
    assert!(
        member["detail"]["okta"]["_links"]["app"]["href"]
            .as_str()
            .unwrap()
            .ends_with(member["detail"]["relay"]["parent"]["id"].as_str().unwrap())
    );
    println!(
        "inventory full sync: scale {scale}, {} records ({:?})",
        captured.len(),
        kinds
            .iter()
            .map(|(k, v)| (k.as_str(), v.len()))
            .collect::<Vec<_>>()
    );

    // Directory changes, each with its System Log events.
    let changes = sim_call(
        &sim,
        "/directory",
        Some(
            json!({"update_users": 100, "delete_users": 10, "remove_memberships": 50,
            "add_memberships": 50, "remove_app_users": 20}),
        ),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let drainer = stack.drain_in_background();
    let delta = poller.run("delta", deadline).await;
    assert_ok(&delta);
    assert_eq!(
        outcome(&delta, "users").summary.sync,
        Some(okta_relay::record::SyncMode::Delta)
    );
    assert!(
        outcome(&delta, "apps").next_poll_at.is_some(),
        "apps wait for their daily interval"
    );
    let captured = drainer.finish().await;
    let kinds = by_kind(&captured);
    let deleted = strings(&changes["deleted_users"]);
    let updated: BTreeSet<String> = strings(&changes["updated_users"])
        .difference(&deleted)
        .cloned()
        .collect();
    let got_users: BTreeSet<String> = kinds["Okta User"]
        .iter()
        .map(|r| r.split('@').next().unwrap().to_string())
        .collect();
    assert_eq!(kinds["Okta User"].len(), updated.len(), "each change once");
    assert_eq!(got_users, updated, "exactly the changed users");
    // A group whose membership changed is listed whole, under its new membership version:
    // its members as they are now (the added ones among them), each once. (A membership removed
    // and added again between two deltas therefore comes again.)
    let group_of = |pair: &String| pair.split('/').next().unwrap().to_string();
    let user_of = |pair: &String| pair.split('/').nth(1).unwrap().to_string();
    let added = pairs(&changes["added_memberships"]);
    let changed_groups: BTreeSet<String> = added
        .iter()
        .chain(&pairs(&changes["removed_memberships"]))
        .map(group_of)
        .chain(
            pairs(&dir["memberships"])
                .iter()
                .filter(|p| deleted.contains(&user_of(p)))
                .map(group_of),
        )
        .collect();
    let now_members = pairs(&sim_call(&sim, "/directory", None).await["memberships"]);
    let expected_members: BTreeSet<String> = now_members
        .iter()
        .filter(|p| changed_groups.contains(&group_of(p)))
        .cloned()
        .collect();
    assert!(expected_members.is_superset(&added));
    assert_eq!(
        set(&kinds["Okta Group Membership"]),
        expected_members,
        "the members of every group whose membership changed"
    );
    assert_eq!(
        kinds["Okta Group Membership"].len(),
        expected_members.len(),
        "each once"
    );
    assert!(!kinds.contains_key("Okta Group"), "no group changed");
    for kind in ["Okta App", "Okta App User", "Okta App Group"] {
        assert!(!kinds.contains_key(kind), "{kind}: not due");
    }
    // Deletions and removals, from the System Log: one change record each.
    let inventory_changes: Vec<&Value> = captured
        .iter()
        .filter(|e| e["detail-type"] == "Okta Inventory Change")
        .collect();
    let of = |stream: &str, key: &str, other: &str| -> BTreeSet<String> {
        inventory_changes
            .iter()
            .filter(|e| e["detail"]["relay"]["stream"] == stream)
            .map(|e| {
                let c = &e["detail"]["relay"]["change"];
                match other {
                    "" => c[key].as_str().unwrap().to_string(),
                    _ => format!(
                        "{}/{}",
                        c[key].as_str().unwrap(),
                        c[other].as_str().unwrap()
                    ),
                }
            })
            .collect()
    };
    assert_eq!(of("users", "userId", ""), deleted);
    assert_eq!(
        of("group_members", "groupId", "userId"),
        pairs(&changes["removed_memberships"])
    );
    assert_eq!(
        of("app_users", "appId", "userId"),
        pairs(&changes["removed_app_users"])
    );
    assert_eq!(inventory_changes.len(), 10 + 50 + 20, "once each");
    let log_events = kinds["Okta System Log Event"].len();
    assert_eq!(log_events, changes["events"].as_array().unwrap().len());
    assert_eq!(
        captured.len(),
        updated.len() + expected_members.len() + 80 + log_events,
        "nothing else"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sync_cut_by_the_deadline_resumes_without_gaps_or_duplicates() {
    let sim = okta_sim::start(SimConfig {
        tokens: vec![TOKEN.into()],
        seed: SeedConfig {
            users: 400,
            groups: 30,
            memberships: 900,
            apps: 6,
            app_users: 150,
            app_groups: 12,
            backlog_events: 0,
            ..SeedConfig::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    // Every directory request takes 300 ms, so a run of ~2.5 s does only a few pages.
    sim_send(
        &sim,
        reqwest::Method::PUT,
        "/faults",
        json!({"path_prefix": "/api/v1/", "latency_ms": 300}),
    )
    .await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let extra = r#","logs":{"enabled":false},"inventory":{"users":{"page_size":50},
        "groups":{"page_size":7},"group_members":{"page_size":20},"apps":{"page_size":2},
        "app_users":{"page_size":25},"app_groups":{}}"#;
    let table = table(&stack);
    let poller = poller_with(
        &stack,
        &arn,
        1000,
        extra,
        table.clone(),
        Duration::from_secs(60),
    );
    let drainer = stack.drain_in_background();
    let mut runs = 0;
    let mut stopped = 0;
    loop {
        runs += 1;
        assert!(runs < 200, "the full sync did not complete");
        let out = poller
            .run(
                &format!("run-{runs}"),
                Utc::now() + chrono::Duration::milliseconds(4500),
            )
            .await;
        assert_ok(&out);
        stopped += out
            .iter()
            .filter(|o| o.summary.stopped_for_deadline)
            .count();
        if out.iter().all(|o| o.next_poll_at.is_some()) {
            break;
        }
    }
    assert!(stopped >= 5, "the deadline cut the sync {stopped} times");
    let captured = drainer.finish().await;
    let kinds = by_kind(&captured);
    let dir = sim_call(&sim, "/directory", None).await;
    let users: BTreeSet<String> = strings(&dir["users"])
        .union(&strings(&dir["deprovisioned_users"]))
        .cloned()
        .collect();
    for (kind, want) in [
        ("Okta User", users.len()),
        ("Okta Group", strings(&dir["groups"]).len()),
        ("Okta Group Membership", pairs(&dir["memberships"]).len()),
        ("Okta App", strings(&dir["apps"]).len()),
        ("Okta App User", pairs(&dir["app_users"]).len()),
        ("Okta App Group", pairs(&dir["app_groups"]).len()),
    ] {
        let ids = &kinds[kind];
        assert_eq!(set(ids).len(), want, "{kind}: no gap");
        assert_eq!(ids.len(), want, "{kind}: no duplicate");
    }
    assert_eq!(
        set(&kinds["Okta Group Membership"]),
        pairs(&dir["memberships"])
    );
    // The cursors record a finished sync and a delta high-water mark.
    let cursor = table
        .snapshot(&StreamKey::new("acme", "groups"))
        .await
        .unwrap()
        .unwrap()
        .cursor
        .unwrap();
    let cursor: Value = serde_json::from_str(&cursor).unwrap();
    assert!(
        cursor["listing"].is_null() && cursor["high_water"].is_string(),
        "{cursor}"
    );
    println!("resumable full sync: {runs} runs, cut by the deadline {stopped} times");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tight_directory_rate_limit_never_makes_the_system_log_fall_behind() {
    let sim = directory_org(1, 50).await;
    // Directory buckets nearly spent (6 requests a window, 5 s windows); the System Log's
    // bucket at Okta's default. Events keep arriving.
    let put = |body| sim_send(&sim, reqwest::Method::PUT, "/limits", body);
    put(
        json!({"per_minute": {"/api/v1/users": 6, "/api/v1/groups": 6, "/api/v1/groups/{id}": 6,
        "/api/v1/apps": 6}, "time_scale": 12.0}),
    )
    .await;
    sim_send(
        &sim,
        reqwest::Method::POST,
        "/live",
        json!({"events_per_second": 20, "late_share": 0.1, "max_late_seconds": 5}),
    )
    .await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let extra = r#","logs":{"page_size":200},"inventory":{"users":{"page_size":20},"groups":{"page_size":10},"group_members":{},"apps":{}}"#;
    let poller = poller_with(
        &stack,
        &arn,
        200,
        extra,
        table(&stack),
        Duration::from_secs(60),
    );
    let drainer = stack.drain_in_background();
    let mut directory_pages = 0;
    let mut rate_limited_stops = 0;
    for run in 0..8 {
        let out = poller
            .run(
                &format!("run-{run}"),
                Utc::now() + chrono::Duration::seconds(5),
            )
            .await;
        assert_ok(&out);
        let logs = outcome(&out, "logs");
        assert!(
            logs.summary.caught_up && !logs.summary.stopped_for_deadline,
            "run {run}: the System Log caught up: {:?}",
            logs.summary
        );
        assert!(
            logs.summary.lag_seconds.is_none_or(|lag| lag <= 10),
            "run {run}: System Log lag {:?}",
            logs.summary.lag_seconds
        );
        for o in out.iter().filter(|o| o.stream != "logs") {
            directory_pages += o.summary.pages;
            rate_limited_stops += u64::from(o.summary.stopped_for_rate_limit);
        }
    }
    sim_send(
        &sim,
        reqwest::Method::POST,
        "/live",
        json!({"events_per_second": 0}),
    )
    .await;
    let counters = sim_call(&sim, "/counters", None).await;
    assert!(directory_pages > 0, "the inventory made progress");
    assert!(rate_limited_stops > 0, "the directory budget was the limit");
    let throttled: u64 = counters["buckets"]
        .as_object()
        .unwrap()
        .values()
        .map(|b| b["throttled"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(throttled, 0, "no 429 of our own: the reserve held");
    drainer.finish().await;
    println!(
        "tight directory limits: {directory_pages} directory pages, {rate_limited_stops} clean stops for the rate limit, System Log caught up in every run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_membership_removed_and_added_again_is_forwarded_again() {
    let sim = okta_sim::start(SimConfig {
        tokens: vec![TOKEN.into()],
        seed: SeedConfig {
            users: 40,
            groups: 4,
            memberships: 30,
            backlog_events: 0,
            ..SeedConfig::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let extra = r#","logs":{"enabled":false},"inventory":{"groups":{"delta_interval_seconds":1},"group_members":{}}"#;
    let poller = poller_with(
        &stack,
        &arn,
        100,
        extra,
        table(&stack),
        Duration::from_secs(60),
    );
    let run = |name: &'static str| {
        let poller = &poller;
        async move {
            tokio::time::sleep(Duration::from_millis(1100)).await;
            let out = poller
                .run(name, Utc::now() + chrono::Duration::minutes(2))
                .await;
            assert_ok(&out);
            out
        }
    };
    run("full").await;
    let dir = sim_call(&sim, "/directory", None).await;
    let pair = dir["memberships"][0].clone();
    let member = format!(
        "{}/{}",
        pair[0].as_str().unwrap(),
        pair[1].as_str().unwrap()
    );
    stack.capture(1, Duration::from_secs(3)).await;

    sim_call(
        &sim,
        "/directory",
        Some(json!({"remove_membership_pairs": [pair]})),
    )
    .await;
    run("delta-1").await;
    let removed = by_kind(&stack.capture(1, Duration::from_secs(3)).await);
    assert!(
        !removed
            .get("Okta Group Membership")
            .is_some_and(|m| m.contains(&member)),
        "{removed:?}"
    );

    sim_call(
        &sim,
        "/directory",
        Some(json!({"add_membership_pairs": [pair]})),
    )
    .await;
    run("delta-2").await;
    let added = by_kind(&stack.capture(1, Duration::from_secs(3)).await);
    assert!(
        added
            .get("Okta Group Membership")
            .is_some_and(|m| m.contains(&member)),
        "the re-added membership reached the SIEM: {added:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_groups_page_of_8000_keeps_the_cursor_small_and_the_listing_resumes() {
    let sim = okta_sim::start(SimConfig {
        tokens: vec![TOKEN.into()],
        seed: SeedConfig {
            users: 50,
            groups: 8_000,
            memberships: 200,
            backlog_events: 0,
            ..SeedConfig::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let extra = r#","logs":{"enabled":false},"inventory":{"groups":{"page_size":10000},"group_members":{}}"#;
    let table = table(&stack);
    let poller = poller_with(
        &stack,
        &arn,
        100,
        extra,
        table.clone(),
        Duration::from_secs(60),
    );
    let drainer = stack.drain_in_background();
    let key = StreamKey::new("acme", "groups");
    // The first run reads the one page of 8 000 groups and starts listing their members; the
    // deadline stops it partway (8 000 member listings take eight minutes of the simulator's
    // `/api/v1/groups/*` budget). Delivering the page takes 30-60 s against moto, and the loop
    // starts no page it expects to outlast the deadline, so the run gets room for both.
    let first = poller
        .run("run-1", Utc::now() + chrono::Duration::seconds(150))
        .await;
    assert_ok(&first);
    assert!(first[0].summary.pages >= 2, "{:?}", first[0].summary);
    let cursor = table.snapshot(&key).await.unwrap().unwrap().cursor.unwrap();
    assert!(
        cursor.len() < 4096,
        "the cursor stays small: {} bytes",
        cursor.len()
    );
    let stored: Value = serde_json::from_str(&cursor).unwrap();
    let at = &stored["listing"]["fanout_at"];
    assert!(at["task"]["parent"].is_string(), "{stored}");
    // The next run reads the page again to rebuild its member listings and goes on from the
    // one in progress: page 1's groups are not sent again. The first run may have spent the
    // `/api/v1/groups/*` window: the run has room to wait for its reset (up to a minute).
    let second = poller
        .run("run-2", Utc::now() + chrono::Duration::seconds(90))
        .await;
    assert_ok(&second);
    assert!(second[0].summary.pages >= 2, "{:?}", second[0].summary);
    let captured = drainer.finish().await;
    let kinds = by_kind(&captured);
    assert_eq!(kinds["Okta Group"].len(), 8_000, "every group once");
    assert_eq!(set(&kinds["Okta Group"]).len(), 8_000);
}

/// A control call whose answer is only its status.
async fn sim_send(sim: &RunningSim, method: reqwest::Method, path: &str, body: Value) {
    let status = reqwest::Client::new()
        .request(method, format!("{}/__sim{path}", sim.url))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{path}: {status}");
}
