//! Security Lake at its own cadence (`security_lake.staging`): the poller (as
//! `okta-relay-ctl run`) and the events function stage their objects in the relay's bucket,
//! and the poller writes the lake from there once the oldest has waited the write interval:
//! one object per class and day, every org and invocation together, each event once, the
//! staging bucket empty afterwards. Against moto's S3, read back with pyarrow.

use crate::aws_faults::{FaultProxy, sdk_through};
use crate::crash::run_once;
use crate::lake::{assert_each_once, check_objects, lake_bucket, log_events, read_back};
use crate::lambda::function_env;
use crate::pull::{TOKEN, all_events, okta};
use crate::support::{LocalStack, repo_root};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const SOURCE: &str = "aws.partner/okta.com/demo-org/okta-relay";

/// How many objects the bucket holds under `prefix`.
async fn count(stack: &LocalStack, bucket: &str, prefix: &str) -> usize {
    let listed = stack
        .s3()
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    listed.contents().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_objects_of_every_org_and_run_become_one_lake_object_per_class_and_day() {
    use okta_relay::adapters::{AwsSinks, DynamoStateTable, EventBridgeSink, S3LakeStore};
    use okta_relay::clock::SystemClock;
    use okta_relay::config::RelayConfig;
    use okta_relay::push::PushService;
    use std::sync::Arc;

    let sim = okta(300).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let demo_arn = stack.put_org_secret("demo", &sim.url, TOKEN).await;
    let lake = lake_bucket(&stack).await;
    let staging = format!("{lake}-staging");
    stack
        .s3()
        .create_bucket()
        .bucket(&staging)
        .send()
        .await
        .unwrap();
    let config = |interval: u64| {
        json!({
            "allow_loopback_http": true,
            "deadline_margin_seconds": 2,
            "orgs": [
                {"name": "acme", "secret_arn": arn, "logs": {"page_size": 50}},
                {"name": "demo", "secret_arn": demo_arn, "logs": {"enabled": false},
                 "partner_event_source": SOURCE},
            ],
            "security_lake": {"bucket": lake, "region": "us-east-1", "account_id": "123456789012",
                              "max_buffer_events": 60,
                              "staging": {"bucket": staging, "write_interval_seconds": interval}},
        })
    };
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    // Runs until caught up, with a day's interval: they only stage.
    let staging_env = function_env(&stack, &config(86_400));
    let mut runs = 0;
    for _ in 0..20 {
        runs += 1;
        let (status, stdout) = run_once(&staging_env, &proxy, Vec::new()).await;
        assert!(status.success());
        let outcome: Value = serde_json::from_str(&stdout).unwrap();
        assert!(outcome[0]["error"].is_null(), "{outcome}");
        if outcome[0]["caught_up"] == true {
            break;
        }
    }
    // The events function stages a batch of another org's partner events.
    let sdk = sdk_through(&proxy, Duration::from_secs(2), Duration::from_secs(8)).await;
    let table = Arc::new(DynamoStateTable::new(
        sdk.dynamodb.clone(),
        &stack.state_table,
        Arc::new(SystemClock),
    ));
    let mut service = PushService::new(
        Arc::new(RelayConfig::from_json(&config(86_400).to_string()).unwrap()),
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
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/fixtures/okta-system-log-events.json"))
            .unwrap(),
    )
    .unwrap();
    let pushed: Vec<Value> = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .take(20)
        .map(|e| e["event"].clone())
        .collect();
    for event in &pushed {
        let payload = serde_json::value::RawValue::from_string(
            crate::support::partner_envelope(SOURCE, event).to_string(),
        )
        .unwrap();
        service.handle(&payload).await.unwrap();
    }
    let staged = count(&stack, &staging, "lake-staging/ext/").await;
    assert_eq!(
        count(&stack, &lake, "").await,
        0,
        "nothing in the lake before its time"
    );

    // A run whose interval has passed writes the lake from staging.
    let (status, _) = run_once(&function_env(&stack, &config(0)), &proxy, Vec::new()).await;
    assert!(status.success());
    let read = read_back(&stack, &lake).await;
    let objects = read["objects"].as_array().unwrap();
    let directories: BTreeSet<String> = objects
        .iter()
        .map(|o| {
            let key = o["key"].as_str().unwrap();
            key.rsplit_once('/').unwrap().0.to_string()
        })
        .collect();
    assert_eq!(
        objects.len(),
        directories.len(),
        "one object per class and day: {objects:?}"
    );
    println!(
        "Security Lake staging: {staged} staged objects (two orgs: {runs} pull runs of 300 \
         events, {} push invocations) became {} lake objects",
        pushed.len(),
        objects.len()
    );
    assert!(
        staged > objects.len(),
        "{staged} staged, {} written",
        objects.len()
    );
    let seen = check_objects(&read, "*");
    let mut all = all_events(&sim).await;
    all.extend(
        pushed
            .iter()
            .map(|e| e["uuid"].as_str().unwrap().to_string()),
    );
    assert_each_once(&log_events(seen), &all);
    let orgs: BTreeMap<&str, usize> = objects
        .iter()
        .flat_map(|o| o["uids"].as_array().unwrap())
        .fold(BTreeMap::new(), |mut m, uid| {
            let org = if pushed.iter().any(|e| e["uuid"] == *uid) {
                "demo"
            } else {
                "acme"
            };
            *m.entry(org).or_default() += 1;
            m
        });
    assert!(orgs.len() == 2, "both orgs in the lake: {orgs:?}");
    assert_eq!(
        count(&stack, &staging, "").await,
        0,
        "staging is empty afterwards"
    );
}

/// A lake in another account: the poller writes each object as its custom source's provider
/// role (`sts:AssumeRole` with the external id), staging as itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lake_in_another_account_is_written_as_each_sources_provider_role() {
    let sim = okta(120).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let lake = lake_bucket(&stack).await;
    let staging = format!("{lake}-staging");
    stack
        .s3()
        .create_bucket()
        .bucket(&staging)
        .send()
        .await
        .unwrap();
    let lake_account = "210987654321";
    let roles: serde_json::Map<String, Value> = okta_relay::ocsf::TABLE
        .classes
        .iter()
        .map(|c| {
            let key = okta_relay::config::security_lake::class_key(&c.name);
            let role = format!(
                "arn:aws:iam::{lake_account}:role/AmazonSecurityLake-Provider-{}-us-east-1",
                c.lake_source
            );
            (key, Value::String(role))
        })
        .collect();
    let config = json!({
        "allow_loopback_http": true,
        "deadline_margin_seconds": 2,
        "orgs": [{"name": "acme", "secret_arn": arn, "logs": {"page_size": 60}}],
        "security_lake": {"bucket": lake, "region": "us-east-1", "account_id": "123456789012",
                          "staging": {"bucket": staging, "write_interval_seconds": 0},
                          "provider_roles": {"external_id": "okta-relay-lake-7", "arns": roles}},
    });
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    let env = function_env(&stack, &config);
    let (status, stdout) = run_once(&env, &proxy, Vec::new()).await;
    assert!(status.success(), "{stdout}");
    let outcome: Value = serde_json::from_str(&stdout).unwrap();
    assert!(outcome[0]["error"].is_null(), "{outcome}");

    let assumed = proxy.assume_role_requests();
    assert!(!assumed.is_empty(), "the poller took provider roles");
    for form in &assumed {
        assert!(form.contains("ExternalId=okta-relay-lake-7"), "{form}");
        assert!(
            form.contains(&format!("iam%3A%3A{lake_account}%3Arole")),
            "{form}"
        );
    }
    let puts = proxy.signed_puts();
    let staged: BTreeSet<&str> = puts
        .iter()
        .filter(|(path, _)| path.contains("/lake-staging/"))
        .map(|(_, key)| key.as_str())
        .collect();
    let written: Vec<&(String, String)> = puts
        .iter()
        .filter(|(path, _)| path.starts_with(&format!("/{lake}/ext/")))
        .collect();
    assert!(!written.is_empty(), "the lake was written: {puts:?}");
    assert!(
        written
            .iter()
            .all(|(_, key)| !staged.contains(key.as_str())),
        "the lake objects are signed by the provider roles' credentials, staging by the \
         function's own: {puts:?}"
    );
    let seen = check_objects(&read_back(&stack, &lake).await, "*");
    assert_each_once(&log_events(seen), &all_events(&sim).await);
}
