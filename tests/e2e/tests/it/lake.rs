//! Security Lake: the poller (as `okta-relay-ctl run`, the poller's code path as a process)
//! and the events function write OCSF Parquet objects to moto's S3, read back with pyarrow
//! (`tests/local/lake_read.py`): the schema is the class's, the partitions are Security Lake's,
//! every row is valid OCSF 1.3.0, and every event is there once. S3 failures and kills at the
//! dangerous points lose nothing and duplicate nothing.

use crate::aws_faults::{Calls, Fault, FaultProxy, Rule, cursor_commit, lake_put, sdk_through};
use crate::crash::run_once;
use crate::lambda::function_env;
use crate::pull::{TOKEN, all_events, okta, table};
use crate::support::{LocalStack, python, repo_root};
use okta_relay::ports::{OneSink, StreamKey, StreamStateStore};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// A simulator, a stack with a lake bucket, and the poller's environment behind the proxy.
struct Lake {
    sim: okta_sim::RunningSim,
    stack: LocalStack,
    bucket: String,
    env: Vec<(&'static str, String)>,
    proxy: FaultProxy,
}

impl Lake {
    async fn new(backlog: usize, page: u32, buffer_events: usize) -> Self {
        Self::with(backlog, page, buffer_events, json!({})).await
    }

    /// [`Lake::new`] with `org` merged into the org's configuration.
    async fn with(backlog: usize, page: u32, buffer_events: usize, org: Value) -> Self {
        let sim = okta(backlog).await;
        let stack = LocalStack::provision(&[]).await;
        let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
        let bucket = lake_bucket(&stack).await;
        let mut acme = json!({"name": "acme", "secret_arn": arn, "output": "both",
                              "logs": {"page_size": page}});
        acme.as_object_mut()
            .unwrap()
            .extend(org.as_object().unwrap().clone());
        let config = json!({
            "allow_loopback_http": true,
            "deadline_margin_seconds": 2,
            "lease_seconds": 10,
            "aws_call_timeout_seconds": 5,
            "put_events_in_flight": 1,
            "orgs": [acme],
            "security_lake": {"bucket": bucket, "region": REGION, "account_id": ACCOUNT,
                              "max_buffer_events": buffer_events},
        });
        let env = function_env(&stack, &config);
        let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
        Self {
            sim,
            stack,
            bucket,
            env,
            proxy,
        }
    }

    /// One poller run with `rules` armed; its outcome for the org's logs.
    async fn run(&self, rules: Vec<Rule>) -> (std::process::ExitStatus, Value) {
        let (status, stdout) = run_once(&self.env, &self.proxy, rules).await;
        let outcome = serde_json::from_str::<Value>(&stdout)
            .map(|o| o[0].clone())
            .unwrap_or(Value::Null);
        (status, outcome)
    }

    /// Runs without faults until caught up.
    async fn settle(&self) {
        for _ in 0..20 {
            let (status, outcome) = self.run(Vec::new()).await;
            assert!(status.success() && outcome["error"].is_null(), "{outcome}");
            if outcome["caught_up"] == true {
                return;
            }
        }
        panic!("did not catch up");
    }

    async fn cursor(&self) -> Option<String> {
        table(&self.stack)
            .snapshot(&StreamKey::new("acme", "logs"))
            .await
            .unwrap()
            .and_then(|s| s.cursor)
    }

    async fn read_back(&self) -> Value {
        read_back(&self.stack, &self.bucket).await
    }
}

/// A Security Lake bucket of the stack's own, in moto.
pub(crate) async fn lake_bucket(stack: &LocalStack) -> String {
    let bucket = format!("{}-lake", stack.state_table.trim_end_matches("-state")).to_lowercase();
    stack
        .s3()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    bucket
}

/// The `security_lake.staging` of a stack's lake (what both stacks deploy): a staging bucket
/// beside it, the lake written at every poller run.
pub(crate) async fn staging(stack: &LocalStack, lake: &str) -> Value {
    let bucket = format!("{lake}-staging");
    stack
        .s3()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    json!({"bucket": bucket, "write_interval_seconds": 0})
}

/// How many objects the lake's staging bucket still holds.
pub(crate) async fn staged_left(stack: &LocalStack, lake: &str) -> usize {
    let listed = stack
        .s3()
        .list_objects_v2()
        .bucket(format!("{lake}-staging"))
        .send()
        .await
        .unwrap();
    listed.contents().len()
}

/// Every object in `bucket`, downloaded under its key and read with pyarrow.
pub(crate) async fn read_back(stack: &LocalStack, bucket: &str) -> Value {
    let s3 = stack.s3();
    let dir = std::env::temp_dir().join(format!("okta-relay-lake-{bucket}"));
    let _ = std::fs::remove_dir_all(&dir);
    let listed = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    for object in listed.contents() {
        let key = object.key().unwrap();
        let body = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        let bytes = body.body.collect().await.unwrap().into_bytes();
        let path = dir.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    let out = std::process::Command::new(python())
        .arg(repo_root().join("tests/local/lake_read.py"))
        .arg(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Checks every object against Security Lake's layout and the class's schema, and returns how
/// many times each event id is in the lake.
pub(crate) fn check_objects(lake: &Value, org: &str) -> BTreeMap<String, usize> {
    assert_eq!(
        lake["invalid"],
        json!([]),
        "rows that are not valid OCSF 1.3.0"
    );
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for object in lake["objects"].as_array().unwrap() {
        let key = object["key"].as_str().unwrap();
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts.len(), 6, "{key}");
        assert_eq!(parts[0], "ext");
        assert_eq!(parts[2], format!("region={REGION}"), "{key}");
        assert_eq!(parts[3], format!("accountId={ACCOUNT}"), "{key}");
        let day = parts[4].strip_prefix("eventDay=").unwrap();
        // A flush's object is the org's; a staged lake's packs every org ("*").
        assert!(
            (org == "*" || parts[5].starts_with(&format!("{org}-")))
                && parts[5].ends_with(".parquet"),
            "{key}"
        );
        let classes = object["class_uids"].as_array().unwrap();
        assert_eq!(classes.len(), 1, "one class per object: {key}");
        let uid = classes[0].as_u64().unwrap() as u32;
        let class = okta_relay::ocsf::TABLE.class(uid).unwrap();
        assert_eq!(
            parts[1], class.lake_source,
            "one custom source per class: {key}"
        );
        let schema = okta_relay::lake::schema::class_schema(uid).unwrap();
        let expected: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let columns: Vec<String> = serde_json::from_value(object["columns"].clone()).unwrap();
        assert_eq!(columns, expected, "the class's schema: {key}");
        assert_eq!(object["compression"], json!(["ZSTD"]), "{key}");
        let times: Vec<i64> = serde_json::from_value(object["times"].clone()).unwrap();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "rows in time order: {key}"
        );
        for t in &times {
            let date = chrono::DateTime::from_timestamp_millis(*t)
                .unwrap()
                .format("%Y%m%d")
                .to_string();
            assert_eq!(date, day, "eventDay of each row: {key}");
        }
        for uid in object["uids"].as_array().unwrap() {
            *seen.entry(uid.as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    seen
}

/// The System Log events among the lake's rows (directory objects' ids hold `@` or `/`).
pub(crate) fn log_events(seen: BTreeMap<String, usize>) -> BTreeMap<String, usize> {
    seen.into_iter()
        .filter(|(id, _)| !id.contains('@') && !id.contains('/'))
        .collect()
}

pub(crate) fn assert_each_once(seen: &BTreeMap<String, usize>, all: &BTreeSet<String>) {
    assert_none_missing(seen, all);
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "events in the lake more than once: {twice:?}"
    );
    assert_eq!(
        seen.len(),
        all.len(),
        "nothing in the lake the simulator does not hold"
    );
}

/// Every event of the simulator is in the lake, and nothing else is.
fn assert_none_missing(seen: &BTreeMap<String, usize>, all: &BTreeSet<String>) {
    let missing: Vec<_> = all.iter().filter(|u| !seen.contains_key(*u)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} events are not in the lake",
        missing.len(),
        all.len()
    );
    let foreign: Vec<_> = seen.keys().filter(|u| !all.contains(*u)).collect();
    assert!(foreign.is_empty(), "not from the simulator: {foreign:?}");
}

/// The SIEM's records of both kinds: raw by `okta.uuid`, OCSF by `metadata.uid`.
fn bus_records(captured: &[Value]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut raw = BTreeSet::new();
    let mut ocsf = BTreeSet::new();
    for e in captured {
        let dt = e["detail-type"].as_str().unwrap_or("");
        if dt == okta_relay::record::SYSTEM_LOG_DETAIL_TYPE {
            raw.insert(e["detail"]["okta"]["uuid"].as_str().unwrap().to_string());
        } else if dt.starts_with(okta_relay::ocsf::DETAIL_TYPE_PREFIX)
            && dt != "OCSF User Inventory Info"
        {
            ocsf.insert(e["detail"]["metadata"]["uid"].as_str().unwrap().to_string());
        }
    }
    (raw, ocsf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_writes_each_event_once_as_parquet_in_security_lakes_layout() {
    let lake = Lake::with(
        300,
        50,
        60,
        json!({"inventory": {"users": {}, "groups": {}, "group_members": {}}}),
    )
    .await;
    lake.settle().await;
    let all = all_events(&lake.sim).await;
    let read = lake.read_back().await;
    let seen = check_objects(&read, "acme");
    let inventory: BTreeMap<String, usize> = seen
        .iter()
        .filter(|(id, _)| id.contains('@') || id.contains('/'))
        .map(|(id, n)| (id.clone(), *n))
        .collect();
    assert_each_once(&log_events(seen), &all);
    let objects = read["objects"].as_array().unwrap();
    let sources: BTreeSet<&str> = objects
        .iter()
        .map(|o| o["key"].as_str().unwrap().split('/').nth(1).unwrap())
        .collect();
    assert!(
        sources.len() >= 3,
        "the simulator's event mix spans several classes: {sources:?}"
    );
    // Buffered by count: 300 events in pages of 50 at 60 a buffer is three flushes.
    let authentication = objects
        .iter()
        .filter(|o| o["key"].as_str().unwrap().contains("okta-authentication/"))
        .count();
    assert!(
        authentication >= 3,
        "{authentication} authentication objects"
    );
    // `output: both`: the SIEM has each event raw and as OCSF (validated against
    // schemas/ocsf-*.schema.json as they are captured).
    // The simulator's default directory: 50 users, 10 groups, 100 memberships.
    let captured = lake
        .stack
        .capture(
            2 * all.len() + 2 * 50 + 10 + 2 * 100,
            Duration::from_secs(10),
        )
        .await;
    let (raw, ocsf) = bus_records(&captured);
    assert_eq!(raw, all);
    assert_eq!(ocsf, all);
    // Users and memberships are User Inventory Info, on the bus and in the lake, each once.
    let on_bus: BTreeSet<String> = captured
        .iter()
        .filter(|e| e["detail-type"] == "OCSF User Inventory Info")
        .map(|e| e["detail"]["metadata"]["uid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(on_bus.len(), 150, "50 users and 100 memberships");
    assert!(inventory.values().all(|n| *n == 1), "{inventory:?}");
    assert_eq!(inventory.keys().cloned().collect::<BTreeSet<_>>(), on_bus);
    let sample = captured
        .iter()
        .find(|e| e["detail-type"] == "OCSF Authentication")
        .unwrap();
    assert_eq!(sample["source"], "okta-relay");
    assert_eq!(
        sample["detail"]["metadata"]["product"]["vendor_name"],
        "Okta"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_failures_fail_the_run_and_the_cursor_waits_for_the_objects() {
    let lake = Lake::new(200, 50, 120).await;
    let (status, failed) = lake
        .run(vec![Rule::range(lake_put(), 1, 1000, Fault::ServerError)])
        .await;
    assert!(status.success(), "{status:?}");
    assert_eq!(failed["error_kind"], "transient", "{failed}");
    assert!(
        lake.proxy.counts().server_errors > 0,
        "the fault was injected"
    );
    assert_eq!(
        lake.cursor().await,
        None,
        "no page's cursor passed events the lake did not take"
    );
    assert!(
        lake.read_back().await["objects"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The bus got the first pages meanwhile; the next runs deliver the rest once.
    lake.settle().await;
    let all = all_events(&lake.sim).await;
    assert_each_once(&check_objects(&lake.read_back().await, "acme"), &all);
    let captured = lake
        .stack
        .capture(2 * all.len(), Duration::from_secs(10))
        .await;
    let (raw, ocsf) = bus_records(&captured);
    assert_eq!((raw.len(), ocsf.len()), (all.len(), all.len()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_and_stalled_writes_are_retried_within_the_run() {
    let lake = Lake::new(120, 40, 1000).await;
    let (status, outcome) = lake
        .run(vec![
            Rule::nth(lake_put(), 1, Fault::Throttle),
            Rule::nth(lake_put(), 2, Fault::Stall(Duration::from_secs(2))),
        ])
        .await;
    assert!(
        status.success() && outcome["error"].is_null(),
        "the SDK's retry rides it out: {outcome}"
    );
    assert!(lake.proxy.counts().throttles > 0);
    // Every put names the bucket's owner and never replaces an object.
    let puts = lake.proxy.lake_puts();
    assert!(!puts.is_empty());
    assert!(
        puts.iter()
            .all(|(owner, none)| owner == ACCOUNT && none == "*"),
        "{puts:?}"
    );
    let all = all_events(&lake.sim).await;
    assert_each_once(&check_objects(&lake.read_back().await, "acme"), &all);
}

/// Kills at each step of a flush. Objects are never replaced and marks follow each object, so
/// nothing is lost anywhere:
/// - between an object and its marks (the first mark write), the next run's batch lacks the
///   events whose marks landed, so it is another object: at most that object's events get a
///   second copy (the price of never overwriting, `lake::object`);
/// - between two objects, and between the marks and the commit: each event once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_at_any_step_of_a_flush_loses_nothing() {
    let buffer = 100;
    for (kill_at, copies_allowed) in [
        (
            Rule::nth(
                Calls {
                    target: "DynamoDB_20120810.BatchWriteItem",
                    body_contains: "lake#",
                },
                1,
                Fault::Kill,
            ),
            buffer,
        ),
        (Rule::nth(lake_put(), 2, Fault::Kill), 0),
        (Rule::nth(cursor_commit(), 1, Fault::Kill), 0),
    ] {
        let lake = Lake::new(150, 50, buffer).await;
        let (status, _) = lake.run(vec![kill_at]).await;
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "killed: {status:?}");
        let before = lake.read_back().await["objects"].as_array().unwrap().len();
        assert!(before > 0, "the killed run had written objects");
        // The dead run's lease expires; then runs go on.
        tokio::time::sleep(Duration::from_secs(11)).await;
        lake.settle().await;
        let all = all_events(&lake.sim).await;
        let seen = check_objects(&lake.read_back().await, "acme");
        assert_none_missing(&seen, &all);
        let twice = seen.values().filter(|n| **n > 1).count();
        assert!(
            twice <= copies_allowed && seen.values().all(|n| *n <= 2),
            "{twice} events in the lake twice, {copies_allowed} allowed"
        );
    }
}

/// The events function: a batch's lake events are staged before it answers (the poller writes
/// them as Parquet). A failed staging write fails the batch, the redelivery stages them, and
/// the bus's marks keep the SIEM from a second copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_function_stages_the_lake_before_it_answers() {
    use okta_relay::adapters::{DynamoStateTable, EventBridgeSink, S3LakeStore};
    use okta_relay::clock::SystemClock;
    use okta_relay::config::RelayConfig;
    use okta_relay::push::{Message, PushService};
    use serde_json::value::RawValue;
    use std::sync::Arc;

    let stack = LocalStack::provision(&[]).await;
    let bucket = lake_bucket(&stack).await;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    let sdk = sdk_through(&proxy, Duration::from_secs(1), Duration::from_secs(4)).await;
    let table = Arc::new(DynamoStateTable::new(
        sdk.dynamodb.clone(),
        &stack.state_table,
        Arc::new(SystemClock),
    ));
    let source = "aws.partner/okta.com/demo-org/okta-relay";
    // The events function stages (it does not link the Parquet encoder); the poller writes.
    let config_json = json!({
        "orgs": [{"name": "demo", "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf",
                  "partner_event_source": source}],
        "security_lake": {"bucket": bucket, "region": REGION, "account_id": ACCOUNT,
                          "staging": staging(&stack, &bucket).await},
    });
    let config = RelayConfig::from_json(&config_json.to_string()).unwrap();
    let mut service = PushService::new(
        Arc::new(config),
        table.clone(),
        table,
        Arc::new(OneSink(Arc::new(EventBridgeSink::new(
            sdk.eventbridge.clone(),
            &stack.delivery_bus,
        )))),
        Arc::new(SystemClock),
    );
    service.lake = Some(Arc::new(S3LakeStore::new(sdk.s3.clone())));
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/fixtures/okta-system-log-events.json"))
            .unwrap(),
    )
    .unwrap();
    let events: Vec<Value> = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .take(10)
        .map(|e| e["event"].clone())
        .collect();
    let bodies: Vec<Box<RawValue>> = events
        .iter()
        .map(|e| {
            RawValue::from_string(crate::support::partner_envelope(source, e).to_string()).unwrap()
        })
        .collect();
    let messages: Vec<Message<'_>> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| Message {
            id: if i == 0 { "m0" } else { "m" },
            body: b,
        })
        .collect();
    proxy.arm(
        0,
        vec![Rule::range(lake_put(), 1, 1000, Fault::ServerError)],
    );
    let failed = service.handle_batch(&messages).await;
    assert_eq!(
        failed.failures.len(),
        1,
        "the batch's messages fail: {failed:?}"
    );
    assert_eq!(failed.failures[0].ids.len(), 10);
    assert_eq!(staged_left(&stack, &bucket).await, 0, "nothing staged");
    proxy.arm(0, Vec::new());
    let retried = service.handle_batch(&messages).await;
    assert!(retried.failures.is_empty(), "{:?}", retried.failures);
    let summary = &retried.summaries[0];
    assert_eq!(
        (summary.lake_events, summary.duplicates),
        (10, 10),
        "the bus records went out the first time"
    );
    assert!(
        staged_left(&stack, &bucket).await > 0,
        "staged before the batch was answered"
    );
    // The poller's run writes the lake from staging (its org run fails: no such secret).
    let _ = run_once(&function_env(&stack, &config_json), &proxy, Vec::new()).await;
    assert_eq!(staged_left(&stack, &bucket).await, 0, "all of it written");
    let read = read_back(&stack, &bucket).await;
    let seen = check_objects(&read, "*");
    let all: BTreeSet<String> = events
        .iter()
        .map(|e| e["uuid"].as_str().unwrap().to_string())
        .collect();
    assert_each_once(&seen, &all);
    // A third delivery of the same batch (SQS at-least-once) writes nothing more.
    let third = service.handle_batch(&messages).await;
    assert_eq!(third.summaries[0].lake_events, 0);
}
