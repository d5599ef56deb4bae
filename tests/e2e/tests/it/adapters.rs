//! Each AWS adapter round-trips against moto through the same ports the pipeline uses.

use crate::support::LocalStack;
use chrono::{TimeZone, Utc};
use okta_relay::adapters::{DynamoStateTable, EventBridgeSink, SecretsManagerSource};
use okta_relay::clock::{Clock, ManualClock};
use okta_relay::okta::OktaCredentials;
use okta_relay::ports::{
    DedupeKey, DedupeStore, EntryOutcome, EventSink, Failure, HealthNote, HealthReport,
    HealthStore, Phase, RateLimitHeadroom, RunRecord, SecretError, SecretSource, SinkEntry,
    SinkError, StateError, StreamKey, StreamStateStore,
};
use okta_relay::record::{self, CollectionPath, RelayMetadata};
use okta_relay::{ErrorKind, Fault};
use secrecy::ExposeSecret;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

fn clock() -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap())
}

fn table(stack: &LocalStack, clock: &ManualClock) -> DynamoStateTable {
    DynamoStateTable::new(
        aws_sdk_dynamodb::Client::new(stack.sdk()),
        &stack.state_table,
        Arc::new(clock.clone()),
    )
}

#[tokio::test]
async fn lease_is_exclusive_and_fences_cursor_writes() {
    let stack = LocalStack::provision(&[]).await;
    let clock = clock();
    let state = table(&stack, &clock);
    let key = StreamKey::new("acme", "logs");

    let a = state
        .acquire(&key, "run-a", MINUTE)
        .await
        .unwrap()
        .expect("free lease");
    assert_eq!((a.fence, a.version, a.cursor.as_deref()), (1, 0, None));
    assert!(
        state
            .acquire(&key, "run-b", MINUTE)
            .await
            .unwrap()
            .is_none(),
        "held by run-a"
    );

    let a = state
        .commit_cursor(&a, "https://acme.okta.com/api/v1/logs?after=1")
        .await
        .unwrap();
    assert_eq!(a.version, 1);
    // A stale copy of the lease (old version) cannot write.
    let mut stale = a.clone();
    stale.version = 0;
    assert!(matches!(
        state.commit_cursor(&stale, "x").await,
        Err(StateError::LeaseLost { .. })
    ));
    // Renewing keeps it ours past the original expiry.
    clock.advance(Duration::from_secs(50));
    let a = state.renew(&a, MINUTE).await.unwrap();
    clock.advance(Duration::from_secs(50));
    assert!(
        state
            .acquire(&key, "run-b", MINUTE)
            .await
            .unwrap()
            .is_none(),
        "renewed"
    );

    // run-a stalls past its lease: run-b takes over with a higher fence.
    clock.advance(Duration::from_secs(61));
    let b = state
        .acquire(&key, "run-b", MINUTE)
        .await
        .unwrap()
        .expect("expired lease");
    assert_eq!(b.fence, a.fence + 1);
    assert_eq!(
        b.cursor.as_deref(),
        Some("https://acme.okta.com/api/v1/logs?after=1")
    );
    // run-a wakes up: it can neither move the cursor nor renew.
    assert!(matches!(
        state.commit_cursor(&a, "https://acme.okta.com/lost").await,
        Err(StateError::LeaseLost { .. })
    ));
    assert!(matches!(
        state.renew(&a, MINUTE).await,
        Err(StateError::LeaseLost { .. })
    ));
    // Releasing a lease we lost leaves the new holder alone.
    state.release_lease(&a).await.unwrap();
    let b = state
        .commit_cursor(&b, "https://acme.okta.com/api/v1/logs?after=2")
        .await
        .unwrap();

    let snap = state.snapshot(&key).await.unwrap().unwrap();
    assert_eq!(
        snap.cursor.as_deref(),
        Some("https://acme.okta.com/api/v1/logs?after=2")
    );
    assert_eq!(snap.version, 2);
    assert_eq!(snap.lease_owner.as_deref(), Some("run-b"));

    // Released leases are free at once.
    state.release_lease(&b).await.unwrap();
    let c = state
        .acquire(&key, "run-c", MINUTE)
        .await
        .unwrap()
        .expect("released");
    assert_eq!(c.version, 2);
    // An expired lease cannot commit even if nobody took it over.
    clock.advance(Duration::from_secs(120));
    assert!(matches!(
        state.commit_cursor(&c, "x").await,
        Err(StateError::LeaseLost { .. })
    ));
    // Other streams are independent.
    assert!(
        state
            .acquire(&StreamKey::new("acme", "users"), "run-b", MINUTE)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn dedupe_marks_say_delivered_per_org_and_expire() {
    let stack = LocalStack::provision(&[]).await;
    let clock = clock();
    let state = table(&stack, &clock);
    let acme = |id: &str| DedupeKey::new("acme", id);
    let keys = [acme("uuid-1"), acme("uuid-2")];
    assert_eq!(state.delivered(&keys).await.unwrap(), [false, false]);
    state
        .mark_delivered(&keys[..1], Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(state.delivered(&keys).await.unwrap(), [true, false]);
    // Marks are per org: another org's same id is not delivered.
    assert_eq!(
        state
            .delivered(&[DedupeKey::new("beta", "uuid-1")])
            .await
            .unwrap(),
        [false]
    );
    // A key asked for twice gets one answer per position.
    assert_eq!(
        state
            .delivered(&[acme("uuid-1"), acme("uuid-1")])
            .await
            .unwrap(),
        [true, true]
    );
    // Marking again is harmless.
    state
        .mark_delivered(&[acme("uuid-1"), acme("uuid-1")], Duration::from_secs(3600))
        .await
        .unwrap();
    // An expired mark counts as absent although moto never deletes it.
    clock.advance(Duration::from_secs(3601));
    assert_eq!(state.delivered(&keys).await.unwrap(), [false, false]);
}

#[tokio::test]
async fn health_records_successes_failures_and_counters() {
    let stack = LocalStack::provision(&[]).await;
    let clock = clock();
    let state = table(&stack, &clock);
    let key = StreamKey::new("acme", "logs");
    assert_eq!(HealthStore::read(&state, &key).await.unwrap(), None);

    // A check proved the credentials: the stream is authenticated.
    let t0 = clock.now();
    state
        .note(&key, t0, HealthNote::Authenticated)
        .await
        .unwrap();
    let phase = |r: &HealthReport| r.phase.map(|p| (p.phase, p.since.timestamp_millis()));
    let report = HealthStore::read(&state, &key).await.unwrap().unwrap();
    assert_eq!(
        phase(&report),
        Some((Phase::Authenticated, t0.timestamp_millis()))
    );

    let newest = clock.now() - chrono::Duration::seconds(30);
    let run = RunRecord {
        counters: BTreeMap::from([("forwarded".to_string(), 10u64), ("deduped".to_string(), 2)]),
        newest_event_at: Some(newest),
        rate_limit: Some(RateLimitHeadroom {
            remaining: 412,
            limit: 600,
        }),
        phase: Some(Phase::Collecting),
    };
    clock.advance(Duration::from_secs(60));
    let t1 = clock.now();
    state.record_success(&key, t1, &run).await.unwrap();
    clock.advance(Duration::from_secs(60));
    state.record_success(&key, clock.now(), &run).await.unwrap();
    // Still collecting: it keeps the time it started; a later check does not hide it.
    state
        .note(&key, clock.now(), HealthNote::Authenticated)
        .await
        .unwrap();
    let report = HealthStore::read(&state, &key).await.unwrap().unwrap();
    assert_eq!(
        phase(&report),
        Some((Phase::Collecting, t1.timestamp_millis()))
    );

    clock.advance(Duration::from_secs(60));
    let t3 = clock.now();
    let failure = Failure {
        kind: ErrorKind::Configuration,
        fault: Fault::OktaConfiguration,
        message: "Okta answered 401: E0000011",
    };
    state.record_failure(&key, t3, &failure).await.unwrap();
    clock.advance(Duration::from_secs(60));
    state
        .record_failure(&key, clock.now(), &failure)
        .await
        .unwrap();
    let report = HealthStore::read(&state, &key).await.unwrap().unwrap();
    assert_eq!(phase(&report), Some((Phase::Error, t3.timestamp_millis())));
    assert_eq!(report.last_error_fault, Some(Fault::OktaConfiguration));
    let report = HealthStore::read(&state, &key).await.unwrap().unwrap();
    assert_eq!(report.counters["forwarded"], 20);
    assert_eq!(report.counters["deduped"], 4);
    assert_eq!(report.consecutive_failures, 2);
    assert_eq!(report.last_error_kind, Some(ErrorKind::Configuration));
    assert!(report.last_error.unwrap().contains("E0000011"));

    assert_eq!(
        report.newest_event_at.map(|t| t.timestamp_millis()),
        Some(newest.timestamp_millis())
    );
    assert_eq!(
        report.rate_limit,
        Some(RateLimitHeadroom {
            remaining: 412,
            limit: 600
        })
    );

    // A run that saw no event and no rate-limit header keeps what the last one saw.
    state
        .record_success(&key, clock.now(), &RunRecord::default())
        .await
        .unwrap();
    let report = HealthStore::read(&state, &key).await.unwrap().unwrap();
    assert_eq!(report.consecutive_failures, 0);
    assert_eq!(report.counters["forwarded"], 20);
    assert!(report.newest_event_at.is_some());
    assert_eq!(report.rate_limit.map(|h| h.remaining), Some(412));
    // ... nor its phase; a run that caught up enters `caught_up`.
    assert_eq!(report.phase.map(|p| p.phase), Some(Phase::Error));
    let caught_up = RunRecord {
        phase: Some(Phase::CaughtUp),
        ..RunRecord::default()
    };
    let t5 = clock.now();
    state.record_success(&key, t5, &caught_up).await.unwrap();
    let report = HealthStore::read(&state, &key).await.unwrap().unwrap();
    assert_eq!(
        phase(&report),
        Some((Phase::CaughtUp, t5.timestamp_millis()))
    );
}

#[tokio::test]
async fn a_cursor_is_cleared_only_under_the_lease() {
    let stack = LocalStack::provision(&[]).await;
    let clock = clock();
    let state = table(&stack, &clock);
    let key = StreamKey::new("acme", "users");
    let lease = state.acquire(&key, "a", MINUTE).await.unwrap().unwrap();
    let lease = state.commit_cursor(&lease, "{\"v\":1}").await.unwrap();
    let cleared = state.clear_cursor(&lease).await.unwrap();
    assert_eq!(cleared.cursor, None);
    assert_eq!(cleared.version, lease.version + 1);
    assert_eq!(state.snapshot(&key).await.unwrap().unwrap().cursor, None);

    // A lease someone else took over cannot clear it.
    let lease = state.commit_cursor(&cleared, "kept").await.unwrap();
    state.release_lease(&lease).await.unwrap();
    state.acquire(&key, "b", MINUTE).await.unwrap().unwrap();
    assert!(matches!(
        state.clear_cursor(&lease).await,
        Err(StateError::LeaseLost { .. })
    ));
    assert_eq!(
        state
            .snapshot(&key)
            .await
            .unwrap()
            .unwrap()
            .cursor
            .as_deref(),
        Some("kept")
    );
}

#[tokio::test]
async fn a_missing_table_is_a_configuration_error() {
    let stack = LocalStack::provision(&[]).await;
    let clock = clock();
    let state = DynamoStateTable::new(
        aws_sdk_dynamodb::Client::new(stack.sdk()),
        "no-such-table",
        Arc::new(clock.clone()),
    );
    let err = state
        .acquire(&StreamKey::new("acme", "logs"), "run", MINUTE)
        .await
        .unwrap_err();
    assert!(matches!(err, StateError::TableMissing { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Configuration);
    let err = state
        .delivered(&[DedupeKey::new("acme", "x")])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    let err = state
        .mark_delivered(&[DedupeKey::new("acme", "x")], MINUTE)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
}

#[tokio::test]
async fn secrets_are_read_by_arn_and_missing_ones_are_configuration_errors() {
    let stack = LocalStack::provision(&[("acme", "https://acme.okta.com")]).await;
    let source = SecretsManagerSource::new(aws_sdk_secretsmanager::Client::new(stack.sdk()));
    let arn = &stack.org_secrets["acme"];
    let secret = source.read(arn).await.unwrap();
    let creds = OktaCredentials::from_secret_json(secret.expose_secret(), false).unwrap();
    assert_eq!(creds.org_url.to_string(), "https://acme.okta.com");

    let missing = format!("{arn}-gone");
    let err = source.read(&missing).await.unwrap_err();
    assert!(matches!(err, SecretError::NotFound { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Configuration);
}

fn entry(i: usize) -> SinkEntry {
    let object = RawValue::from_string(format!(
        r#"{{"uuid":"evt-{i}","published":"2026-11-21T10:00:0{i}.000Z","eventType":"user.session.start"}}"#
    ))
    .unwrap();
    let relay = RelayMetadata::new(
        "acme",
        "logs",
        CollectionPath::Pull,
        Utc::now(),
        format!("evt-{i}"),
    );
    record::shape(
        record::SYSTEM_LOG_DETAIL_TYPE,
        &object,
        &relay,
        Some(Utc::now()),
    )
}

#[tokio::test]
async fn put_events_reaches_the_capture_queue_through_the_rule() {
    let stack = LocalStack::provision(&[]).await;
    let sink = EventBridgeSink::new(
        aws_sdk_eventbridge::Client::new(stack.sdk()),
        &stack.delivery_bus,
    );
    let entries: Vec<SinkEntry> = (0..3).map(entry).collect();
    let outcomes = sink.put(&entries.iter().collect::<Vec<_>>()).await.unwrap();
    assert_eq!(outcomes.len(), 3);
    assert!(
        outcomes.iter().all(|o| matches!(o, EntryOutcome::Accepted)),
        "{outcomes:?}"
    );

    let captured = stack.capture(3, Duration::from_secs(10)).await;
    assert_eq!(captured.len(), 3);
    let mut uuids: Vec<String> = captured
        .iter()
        .map(|env| {
            assert_eq!(env["source"], "okta-relay");
            assert_eq!(env["detail-type"], "Okta System Log Event");
            assert_eq!(env["detail"]["relay"]["org"], "acme");
            env["detail"]["okta"]["uuid"].as_str().unwrap().to_string()
        })
        .collect();
    uuids.sort();
    assert_eq!(uuids, ["evt-0", "evt-1", "evt-2"]);
    let sent: Value = serde_json::from_str(&entries[0].detail).unwrap();
    let got = captured
        .iter()
        .find(|e| e["detail"]["okta"]["uuid"] == "evt-0")
        .unwrap();
    assert_eq!(got["detail"], sent, "detail arrives as the same JSON value");
}

#[tokio::test]
async fn put_events_reports_per_entry_failures_and_bad_buses() {
    let stack = LocalStack::provision(&[]).await;
    let client = aws_sdk_eventbridge::Client::new(stack.sdk());
    let sink = EventBridgeSink::new(client.clone(), &stack.delivery_bus);
    let mut bad = entry(1);
    bad.detail = "not json".into();
    let outcomes = sink.put(&[&entry(0), &bad]).await.unwrap();
    assert!(matches!(outcomes[0], EntryOutcome::Accepted));
    match &outcomes[1] {
        EntryOutcome::Failed { code, .. } => assert_eq!(code, "MalformedDetail"),
        other => panic!("expected a failed entry, got {other:?}"),
    }
    assert!(matches!(
        outcomes[1],
        EntryOutcome::Failed {
            cause: okta_relay::ports::EntryFault::Record,
            ..
        }
    ));

    let eleven: Vec<SinkEntry> = (0..11).map(entry).collect();
    assert!(matches!(
        sink.put(&eleven.iter().collect::<Vec<_>>()).await,
        Err(SinkError::Invalid(_))
    ));

    let nowhere = EventBridgeSink::new(client, "no-such-bus");
    let err = nowhere.put(&[&entry(0)]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration, "{err:?}");
}

#[tokio::test]
async fn batched_checks_and_marks_span_many_calls() {
    let stack = LocalStack::provision(&[]).await;
    let clock = clock();
    let state = table(&stack, &clock);
    // 250 keys: three BatchGetItem calls of at most 100, ten BatchWriteItem calls of 25.
    let keys: Vec<DedupeKey> = (0..250)
        .map(|i| DedupeKey::new("acme", format!("batch-{i}")))
        .collect();
    let every_third: Vec<DedupeKey> = keys.iter().step_by(3).cloned().collect();
    state
        .mark_delivered(&every_third, Duration::from_secs(3600))
        .await
        .unwrap();
    let answers = state.delivered(&keys).await.unwrap();
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(*answer, i % 3 == 0, "key {i}");
    }
    state
        .mark_delivered(&keys, Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(state.delivered(&keys).await.unwrap().iter().all(|d| *d));
    clock.advance(Duration::from_secs(3601));
    assert!(state.delivered(&keys).await.unwrap().iter().all(|d| !*d));
}

/// The two configuration stores read what the IaC writes, see a new version as new, and name
/// a missing location as a configuration problem (no retry helps), never as a transient one.
#[tokio::test]
async fn configuration_stores_read_ssm_parameters_and_s3_objects() {
    use okta_relay::adapters::{S3ObjectStore, SsmParameterStore, s3_client};
    use okta_relay::ports::{ConfigStore, ConfigStoreError};
    let stack = LocalStack::provision(&[]).await;
    let name = format!("/{}/config", stack.state_table);

    let parameter = SsmParameterStore::new(aws_sdk_ssm::Client::new(stack.sdk()), &name);
    assert!(matches!(
        parameter.fetch().await,
        Err(ConfigStoreError::NotFound { .. })
    ));
    let big = format!(r#"{{"orgs": [], "padding": "{}"}}"#, "x".repeat(6000));
    stack.put_config_parameter(&name, &big).await;
    let first = parameter.fetch().await.unwrap();
    assert_eq!(first.text, big, "an advanced-tier parameter, read whole");
    stack.put_config_parameter(&name, r#"{"orgs": []}"#).await;
    let second = parameter.fetch().await.unwrap();
    assert_eq!(second.text, r#"{"orgs": []}"#);
    assert_ne!(first.version, second.version);

    let bucket = format!("{}-config", stack.state_table.to_lowercase());
    let uri = stack
        .put_config_object(&bucket, "okta-relay/config.json", &big)
        .await;
    let object = S3ObjectStore::new(s3_client(stack.sdk()), &bucket, "okta-relay/config.json");
    assert!(object.location().ends_with(&uri), "{}", object.location());
    let read = object.fetch().await.unwrap();
    assert_eq!(read.text, big);
    stack
        .put_config_object(&bucket, "okta-relay/config.json", "{}")
        .await;
    assert_ne!(object.fetch().await.unwrap().version, read.version);

    let missing = S3ObjectStore::new(s3_client(stack.sdk()), &bucket, "nope.json");
    let e = missing.fetch().await.unwrap_err();
    assert!(matches!(e, ConfigStoreError::NotFound { .. }), "{e}");
    assert_eq!(e.kind(), ErrorKind::Configuration);
    let no_bucket = S3ObjectStore::new(s3_client(stack.sdk()), "no-such-bucket-okta", "k");
    assert_eq!(
        no_bucket.fetch().await.unwrap_err().kind(),
        ErrorKind::Configuration
    );
}

/// The org's Okta id round-trips through the state table (`org#<name>`), per org.
#[tokio::test]
async fn the_org_identity_round_trips_per_org() {
    use okta_relay::ports::{OrgIdentity, OrgIdentityStore};
    let stack = LocalStack::provision(&[]).await;
    let state = table(&stack, &clock());
    assert_eq!(state.identity("acme").await.unwrap(), None);
    let acme = OrgIdentity {
        okta_org_id: "00o1a2b3c4d5e6f7g8h9".into(),
        org_url: "https://acme.okta.com/".into(),
    };
    state.remember("acme", &acme).await.unwrap();
    assert_eq!(state.identity("acme").await.unwrap(), Some(acme));
    assert_eq!(state.identity("beta").await.unwrap(), None);
}
