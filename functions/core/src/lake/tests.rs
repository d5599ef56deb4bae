//! The lake sink with the in-memory bucket (which, like S3 with `If-None-Match`, never replaces
//! an object): objects per class and day, content-addressed names, buffering, marks, fencing,
//! and Parquet that reads back.

use super::*;
use crate::config::SecurityLakeConfig;
use crate::ocsf;
use crate::pipeline::MarkPolicy;
use crate::ports::DedupeStore;
use crate::ports::LakeStore;
use crate::record::{CollectionPath, RelayMetadata};
use crate::testing::{MemoryDedupe, MemoryLake};
use chrono::{TimeZone, Utc};
use serde_json::value::RawValue;
use std::time::Duration;

pub(crate) fn lake_config() -> SecurityLakeConfig {
    serde_json::from_value(serde_json::json!({
        "bucket": "aws-security-data-lake-us-east-1-abc", "region": "us-east-1",
        "account_id": "123456789012", "max_buffer_events": 3
    }))
    .unwrap()
}

/// A writer on the in-memory bucket and marks, marks kept a minute.
fn writer<'a>(
    config: &'a SecurityLakeConfig,
    store: &'a MemoryLake,
    marks: &'a MemoryDedupe,
) -> LakeWriter<'a> {
    LakeWriter {
        config,
        store,
        dedupe: marks,
        mark_ttl: Duration::from_secs(60),
        parquet: Some(crate::lake::encode_object),
    }
}

fn event(uuid: &str, event_type: &str, published: &str) -> LakeEvent {
    let raw = RawValue::from_string(format!(
        r#"{{"uuid":"{uuid}","eventType":"{event_type}","published":"{published}","actor":{{"id":"00u1","type":"User"}},"client":{{"ipAddress":"192.0.2.1"}},"outcome":{{"result":"SUCCESS"}},"target":[{{"type":"UserGroup","id":"00g1"}},{{"type":"User","id":"00u2"}}],"debugContext":{{"debugData":{{"privilegeGranted":"Read-only Administrator"}}}}}}"#
    ))
    .unwrap();
    let at = chrono::DateTime::parse_from_rfc3339(published)
        .unwrap()
        .with_timezone(&Utc);
    let relay = RelayMetadata::new("acme", "logs", CollectionPath::Pull, at, uuid.into());
    LakeEvent::new("acme", uuid, &ocsf::system_log(&raw, &relay, at))
}

#[tokio::test]
async fn objects_are_per_class_and_day_with_partitions_and_content_addressed_names() {
    let config = lake_config();
    let store = MemoryLake::default();
    let marks = MemoryDedupe::default();
    let writer = writer(&config, &store, &marks);
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
    let batch = || {
        vec![
            event("b", "user.session.start", "2026-11-29T23:59:59.000Z"),
            event("a", "user.session.start", "2026-11-30T00:00:01.000Z"),
            event("c", "group.user_membership.add", "2026-11-30T00:00:02.000Z"),
        ]
    };
    let mut buffer = LakeBuffer::default();
    writer
        .admit(batch(), MarkPolicy::Check, &mut buffer, now)
        .await
        .unwrap();
    assert!(
        buffer.is_due(&config, now),
        "three events is the configured limit"
    );
    let report = writer.flush(&mut buffer, None).await.unwrap();
    assert_eq!((report.objects, report.written), (3, 3));
    let keys: Vec<String> = store.keys().into_iter().map(|(_, k)| k).collect();
    assert!(keys.iter().any(|k| k.starts_with(
        "ext/okta-authentication/region=us-east-1/accountId=123456789012/eventDay=20261129/acme-"
    )));
    assert!(keys.iter().any(|k| k.starts_with(
        "ext/okta-authentication/region=us-east-1/accountId=123456789012/eventDay=20261130/acme-"
    )));
    assert!(keys.iter().any(|k| k.starts_with("ext/okta-group-mgmt/")));
    // Marked: the same events again are not buffered.
    let again = writer
        .admit(batch(), MarkPolicy::Check, &mut buffer, now)
        .await
        .unwrap();
    assert_eq!((again.buffered, again.duplicates), (0, 3));
    // A snapshot (or a retry after lost marks) writes the same keys again: no new objects.
    writer
        .admit(batch(), MarkPolicy::Refresh, &mut buffer, now)
        .await
        .unwrap();
    let again = writer.flush(&mut buffer, None).await.unwrap();
    assert_eq!((again.objects, again.already_there), (0, 3));
    assert_eq!(store.keys().len(), 3, "same events, same names");
    assert_eq!((store.puts(), store.taken(), store.collisions()), (3, 3, 0));
}

#[tokio::test]
async fn a_failed_write_marks_nothing_so_the_retry_writes_everything() {
    let config = lake_config();
    let store = MemoryLake::default();
    let marks = MemoryDedupe::default();
    let writer = writer(&config, &store, &marks);
    let now = Utc::now();
    let batch = || {
        vec![
            event("a", "user.session.start", "2026-11-30T00:00:01.000Z"),
            event("c", "group.user_membership.add", "2026-11-30T00:00:02.000Z"),
        ]
    };
    let mut buffer = LakeBuffer::default();
    writer
        .admit(batch(), MarkPolicy::Check, &mut buffer, now)
        .await
        .unwrap();
    store.fail_puts(1);
    let err = writer.flush(&mut buffer, None).await.unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Transient);
    assert!(marks.is_empty(), "nothing marked after a failed write");
    let again = writer
        .admit(batch(), MarkPolicy::Check, &mut buffer, now)
        .await
        .unwrap();
    assert_eq!(again.buffered, 2);
    assert_eq!(writer.flush(&mut buffer, None).await.unwrap().written, 2);
}

#[test]
fn the_buffer_is_due_by_count_bytes_or_age() {
    let mut config = lake_config();
    config.max_buffer_events = 10;
    config.max_buffer_bytes = 1024;
    config.max_buffer_seconds = 60;
    let t0 = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
    let mut buffer = LakeBuffer::default();
    assert!(!buffer.is_due(&config, t0));
    buffer.push(
        vec![event("a", "user.session.start", "2026-11-30T00:00:01.000Z")],
        t0,
    );
    assert!(!buffer.is_due(&config, t0 + chrono::Duration::seconds(59)));
    assert!(
        buffer.is_due(&config, t0 + chrono::Duration::seconds(60)),
        "age"
    );
    let _ = buffer.take();
    buffer.push(
        (0..3)
            .map(|i| {
                event(
                    &format!("e{i}"),
                    "user.session.start",
                    "2026-11-30T00:00:01.000Z",
                )
            })
            .collect(),
        t0,
    );
    assert!(
        buffer.is_due(&config, t0),
        "bytes: three events exceed 1 KiB"
    );
}

#[test]
fn parquet_objects_have_the_class_schema_and_every_row() {
    use ::parquet::file::reader::{FileReader, SerializedFileReader};
    let events: Vec<LakeEvent> = (0..5)
        .map(|i| {
            event(
                &format!("e{i}"),
                "security.threat.detected",
                &format!("2026-11-30T00:00:0{i}.000Z"),
            )
        })
        .collect();
    let lines: Vec<&str> = events.iter().map(|e| e.line.as_str()).collect();
    let bytes = parquet::encode(2004, &lines).unwrap();
    let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
    let meta = reader.metadata().file_metadata();
    assert_eq!(meta.num_rows(), 5);
    let columns: Vec<String> = meta
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.path().string())
        .collect();
    for c in [
        "class_uid",
        "time",
        "finding_info.uid",
        "metadata.product.vendor_name",
        "unmapped",
    ] {
        assert!(columns.iter().any(|x| x == c), "{c} in {columns:?}");
    }
    assert!(
        columns
            .iter()
            .any(|x| x.starts_with("evidences.list.element.actor.user.uid")),
        "{columns:?}"
    );
}

#[test]
fn every_class_encodes_and_reads_back() {
    use ::parquet::file::reader::{FileReader, SerializedFileReader};
    let events = [
        ("user.session.start", 3002),
        ("user.account.lock", 3001),
        ("user.session.access_admin_app", 3003),
        ("application.lifecycle.create", 3004),
        ("group.user_membership.add", 3006),
        ("user.account.privilege.grant", 3005),
        ("security.threat.detected", 2004),
        ("analytics.feedback.provide", 6003),
    ];
    for (event_type, class) in events {
        let e = event("u-1", event_type, "2026-11-30T00:00:01.000Z");
        assert_eq!(e.class_uid, class, "{event_type}");
        let bytes = parquet::encode(class, &[e.line.as_str()]).unwrap();
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        assert_eq!(
            reader.metadata().file_metadata().num_rows(),
            1,
            "{event_type}"
        );
    }
    let user = RawValue::from_string(
        r#"{"id":"00u1","status":"ACTIVE","profile":{"login":"a@example.com","email":"a@example.com"}}"#.into(),
    )
    .unwrap();
    let mut relay = RelayMetadata::new(
        "acme",
        "group_members",
        CollectionPath::Pull,
        Utc::now(),
        "00g1/00u1".into(),
    );
    relay.parent = Some(crate::record::ParentRef {
        kind: "group",
        id: "00g1".into(),
    });
    let mapped = ocsf::directory("group_members", &user, &relay, relay.collected_at).unwrap();
    let e = LakeEvent::new("acme", "inv#group_members#00g1/00u1", &mapped);
    let bytes = parquet::encode(5003, &[e.line.as_str()]).unwrap();
    let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 1);
    // An admin role (User Inventory Info with its privileges) and a device (Device Inventory
    // Info) go in the same files.
    let objects = [
        (
            "user_roles",
            r#"{"id":"ra1","label":"Super Administrator","type":"SUPER_ADMIN","assignmentType":"USER"}"#,
            Some(("user", "00u1")),
            5003,
        ),
        (
            "devices",
            r#"{"id":"guo1","profile":{"displayName":"d","platform":"IOS","osVersion":"17.1"}}"#,
            None,
            5001,
        ),
    ];
    for (stream, object, parent, class) in objects {
        let raw = RawValue::from_string(object.into()).unwrap();
        let mut relay =
            RelayMetadata::new("acme", stream, CollectionPath::Pull, Utc::now(), "x".into());
        relay.parent = parent.map(|(kind, id)| crate::record::ParentRef {
            kind,
            id: id.into(),
        });
        let mapped = ocsf::directory(stream, &raw, &relay, relay.collected_at).unwrap();
        assert_eq!(mapped.class_uid, class, "{stream}");
        let e = LakeEvent::new("acme", "inv#x", &mapped);
        let bytes = parquet::encode(class, &[e.line.as_str()]).unwrap();
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 1, "{stream}");
    }
    // Every class the table has was written above.
    assert_eq!(crate::ocsf::TABLE.classes.len(), events.len() + 2);
}

#[test]
fn an_event_of_the_wrong_shape_is_an_encode_error_not_a_panic() {
    let err = parquet::encode(3002, &[r#"{"class_uid":"not a number"}"#]).unwrap_err();
    assert!(matches!(err, parquet::EncodeError::Schema(_)), "{err}");
    assert!(matches!(
        parquet::encode(9999, &[]),
        Err(parquet::EncodeError::UnknownClass(9999))
    ));
}

#[tokio::test]
async fn an_event_that_does_not_fit_its_schema_is_kept_degraded_and_the_rest_written() {
    let config = lake_config();
    let store = MemoryLake::default();
    let marks = MemoryDedupe::default();
    let writer = writer(&config, &store, &marks);
    let good = event("a", "user.session.start", "2026-11-30T00:00:01.000Z");
    let mut bad = event("b", "user.session.start", "2026-11-30T00:00:02.000Z");
    bad.line = bad
        .line
        .replace("\"severity_id\":", "\"severity_id\":\"high\",\"x\":");
    let mut buffer = LakeBuffer::default();
    writer
        .admit(vec![good, bad], MarkPolicy::Check, &mut buffer, Utc::now())
        .await
        .unwrap();
    let report = writer.flush(&mut buffer, None).await.unwrap();
    assert_eq!((report.written, report.degraded), (2, 1));
    use ::parquet::file::reader::{FileReader, SerializedFileReader};
    let (bucket, key) = store.keys().pop().unwrap();
    let reader =
        SerializedFileReader::new(bytes::Bytes::from(store.object(&bucket, &key).unwrap()))
            .unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 2, "both kept");
}

#[test]
fn an_id_met_twice_before_the_flush_is_buffered_once() {
    let mut buffer = LakeBuffer::default();
    let now = Utc::now();
    assert_eq!(
        buffer.push(
            vec![event("a", "user.session.start", "2026-11-30T00:00:01.000Z")],
            now
        ),
        0
    );
    assert_eq!(
        buffer.push(
            vec![event("a", "user.session.start", "2026-11-30T00:00:01.000Z")],
            now
        ),
        1
    );
    assert_eq!(buffer.len(), 1);
    buffer.take();
    assert_eq!(
        buffer.push(
            vec![event("a", "user.session.start", "2026-11-30T00:00:01.000Z")],
            now
        ),
        0
    );
}

#[test]
fn only_the_same_events_share_a_name() {
    let config = lake_config();
    let all = vec![
        event("a", "user.session.start", "2026-11-30T00:00:01.000Z"),
        event("b", "user.session.start", "2026-11-30T00:00:02.000Z"),
    ];
    let first = object::objects(&config, &all);
    let reversed: Vec<LakeEvent> = all.iter().rev().cloned().collect();
    assert_eq!(
        first[0].key,
        object::objects(&config, &reversed)[0].key,
        "the order events arrive in does not matter"
    );
    // A retry from another cursor (after a reset, or marks written meanwhile) holds fewer
    // events: it must get its own name, or its put would replace "b".
    assert_ne!(first[0].key, object::objects(&config, &all[..1])[0].key);
    // The same id with other content (a directory object synced again) is another object.
    let mut changed = all.clone();
    changed[1].line = changed[1].line.replace("192.0.2.1", "192.0.2.2");
    assert_ne!(first[0].key, object::objects(&config, &changed)[0].key);
}

#[tokio::test]
async fn a_reset_rerun_the_same_day_adds_its_events_and_keeps_the_first_object() {
    // The measured loss: a first run writes 440 events, a reset and a rerun the same day read
    // a batch that the marks make a subset of the first. Its put must not replace the first.
    let config = lake_config();
    let store = MemoryLake::default();
    let marks = MemoryDedupe::default();
    let writer = writer(&config, &store, &marks);
    let day: Vec<LakeEvent> = (0..6)
        .map(|i| {
            event(
                &format!("e{i}"),
                "user.session.start",
                "2026-11-30T00:00:01.000Z",
            )
        })
        .collect();
    let mut buffer = LakeBuffer::default();
    buffer.push(day.clone(), Utc::now());
    writer.flush(&mut buffer, None).await.unwrap();
    // The rerun starts with no cursor; its marks were lost (a reset, another table): it
    // writes the newer half again, with one event the first run never saw.
    let mut rerun: Vec<LakeEvent> = day[3..].to_vec();
    rerun.push(event(
        "e9",
        "user.session.start",
        "2026-11-30T00:00:03.000Z",
    ));
    buffer.push(rerun, Utc::now());
    writer.flush(&mut buffer, None).await.unwrap();
    assert_eq!(store.collisions(), 0);
    let mut ids = Vec::new();
    for (bucket, key) in store.keys() {
        ids.extend(object_ids(&store.object(&bucket, &key).unwrap()));
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids, ["e0", "e1", "e2", "e3", "e4", "e5", "e9"]);
}

#[tokio::test]
async fn a_stale_run_is_fenced_before_it_writes() {
    struct Lost;
    #[async_trait::async_trait]
    impl crate::pipeline::Heartbeat for Lost {
        async fn beat(&self) -> Result<(), crate::ports::StateError> {
            Ok(())
        }
        async fn confirm(&self) -> Result<(), crate::ports::StateError> {
            Err(crate::ports::StateError::LeaseLost {
                key: "acme/logs".into(),
            })
        }
    }
    let config = lake_config();
    let store = MemoryLake::default();
    let marks = MemoryDedupe::default();
    let writer = writer(&config, &store, &marks);
    let mut buffer = LakeBuffer::default();
    buffer.push(
        vec![event("a", "user.session.start", "2026-11-30T00:00:01.000Z")],
        Utc::now(),
    );
    let err = writer.flush(&mut buffer, Some(&Lost)).await.unwrap_err();
    assert!(
        matches!(err, crate::pipeline::ForwardError::Fenced(_)),
        "{err}"
    );
    assert!(store.keys().is_empty() && marks.is_empty());
}

#[tokio::test]
async fn a_bucket_owned_by_another_account_is_refused() {
    let mut config = lake_config();
    config.bucket_owner = Some("210987654321".into());
    let store = MemoryLake::default();
    store.owned_by("123456789012");
    let marks = MemoryDedupe::default();
    let writer = writer(&config, &store, &marks);
    let mut buffer = LakeBuffer::default();
    buffer.push(
        vec![event("a", "user.session.start", "2026-11-30T00:00:01.000Z")],
        Utc::now(),
    );
    let err = writer.flush(&mut buffer, None).await.unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Configuration);
    assert!(err.to_string().contains("bucket_owner"), "{err}");
    assert!(store.keys().is_empty() && marks.is_empty());
}

use crate::testing::lake_object_ids as object_ids;

#[tokio::test]
async fn when_a_buffer_is_due_depends_on_what_was_read_not_on_marks() {
    let mut config = lake_config();
    config.max_buffer_events = 2;
    let store = MemoryLake::default();
    let marks = MemoryDedupe::default();
    let writer = writer(&config, &store, &marks);
    marks
        .mark_delivered(
            &[crate::ports::DedupeKey::new("acme", "lake#a")],
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let mut buffer = LakeBuffer::default();
    let report = writer
        .admit(
            vec![
                event("a", "user.session.start", "2026-11-30T00:00:01.000Z"),
                event("b", "user.session.start", "2026-11-30T00:00:02.000Z"),
            ],
            MarkPolicy::Check,
            &mut buffer,
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!((report.buffered, buffer.len()), (1, 1));
    assert!(
        buffer.is_due(&config, Utc::now()),
        "two events read: due, though one is buffered"
    );
}

/// The lake configuration with staging: a 5-minute cadence.
fn staged_config() -> SecurityLakeConfig {
    let mut config = lake_config();
    config.staging =
        Some(serde_json::from_value(serde_json::json!({"bucket": "okta-relay-staging"})).unwrap());
    config
}

/// An event of `org` (its own marks and ids).
fn org_event(org: &str, uuid: &str, event_type: &str, published: &str) -> LakeEvent {
    let mut e = event(uuid, event_type, published);
    e.org = org.into();
    e.key = crate::ports::DedupeKey::new(org, format!("lake#{uuid}"));
    e
}

struct Held;
#[async_trait::async_trait]
impl crate::pipeline::Heartbeat for Held {
    async fn beat(&self) -> Result<(), crate::ports::StateError> {
        Ok(())
    }
}

fn compactor<'a>(config: &'a SecurityLakeConfig, store: &'a MemoryLake) -> Compactor<'a> {
    Compactor {
        config,
        staging: config.staging.as_ref().unwrap(),
        store,
        fence: &Held,
        stop_at: std::time::Instant::now() + Duration::from_secs(60),
    }
}

/// The rows of a lake object: their `metadata.uid`s in row order.
fn rows(body: Vec<u8>) -> Vec<String> {
    use ::parquet::file::reader::{FileReader, SerializedFileReader};
    use ::parquet::record::Field;
    let reader = SerializedFileReader::new(bytes::Bytes::from(body)).unwrap();
    reader
        .get_row_iter(None)
        .unwrap()
        .map(|row| {
            let row = row.unwrap();
            let metadata = row
                .get_column_iter()
                .find(|(name, _)| *name == "metadata")
                .map(|(_, f)| f.clone())
                .unwrap();
            let Field::Group(metadata) = metadata else {
                panic!("metadata is a group")
            };
            metadata
                .get_column_iter()
                .find(|(name, _)| *name == "uid")
                .map(|(_, f)| f.to_string().trim_matches('"').to_string())
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn staged_flushes_of_many_orgs_become_one_lake_object_per_class_and_day_at_the_cadence() {
    use crate::clock::Clock;
    let clock = std::sync::Arc::new(crate::clock::ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap(),
    ));
    let config = staged_config();
    let store = MemoryLake::with_clock(clock.clone());
    let marks = MemoryDedupe::default();
    let writer = writer(&config, &store, &marks);
    // Three orgs, each two flushes (two invocations), two classes, one day; out of time order.
    let mut uids = Vec::new();
    for org in ["acme", "beta", "gamma"] {
        for flush in 0..2 {
            let mut buffer = LakeBuffer::default();
            let second = 50 - flush * 20 - org.len();
            let events = vec![
                org_event(
                    org,
                    &format!("{org}-{flush}-a"),
                    "user.session.start",
                    &format!("2026-11-30T00:00:{second:02}.000Z"),
                ),
                org_event(
                    org,
                    &format!("{org}-{flush}-b"),
                    "group.user_membership.add",
                    &format!("2026-11-30T00:01:{second:02}.000Z"),
                ),
            ];
            uids.extend(
                events
                    .iter()
                    .map(|e| e.key.id.trim_start_matches("lake#").to_string()),
            );
            writer
                .admit(events, MarkPolicy::Check, &mut buffer, clock.now())
                .await
                .unwrap();
            writer.flush(&mut buffer, None).await.unwrap();
        }
    }
    let staged: Vec<String> = store
        .keys()
        .into_iter()
        .map(|(b, k)| format!("{b}/{k}"))
        .collect();
    assert_eq!(
        staged.len(),
        12,
        "one staged object per org, class and flush: {staged:?}"
    );
    assert!(
        staged
            .iter()
            .all(|k| k.starts_with("okta-relay-staging/lake-staging/ext/"))
    );
    assert!(
        marks.len() >= 12,
        "staged events are marked: the lake gets them"
    );

    // Not due yet: nothing is written, nothing deleted.
    let early = compactor(&config, &store)
        .run(clock.now())
        .await
        .unwrap()
        .report;
    assert_eq!(early.objects, 0);
    clock.advance(Duration::from_secs(301));
    let report = compactor(&config, &store)
        .run(clock.now())
        .await
        .unwrap()
        .report;
    assert_eq!((report.objects, report.written), (2, 12));
    let keys = store.keys();
    assert_eq!(
        keys.len(),
        2,
        "the staged objects and the records are gone: {keys:?}"
    );
    let mut seen = Vec::new();
    for (bucket, key) in keys {
        assert_eq!(bucket, config.bucket);
        assert!(
            key.starts_with("ext/okta-") && key.contains("/eventDay=20261130/"),
            "{key}"
        );
        let body = store.object(&bucket, &key).unwrap();
        let got = rows(body);
        assert_eq!(got.len(), 6, "three orgs and two invocations in one object");
        seen.extend(got);
    }
    seen.sort();
    uids.sort();
    assert_eq!(seen, uids, "every event once");
    assert_eq!(store.collisions(), 0);
}

#[tokio::test]
async fn rows_are_in_time_order_and_an_event_staged_twice_is_written_once() {
    let config = staged_config();
    let store = MemoryLake::default();
    let marks = MemoryDedupe::default();
    let writer = writer(&config, &store, &marks);
    let late = event("late", "user.session.start", "2026-11-30T00:00:09.000Z");
    let early = event("early", "user.session.start", "2026-11-30T00:00:01.000Z");
    for batch in [vec![late.clone()], vec![early.clone(), late.clone()]] {
        let mut buffer = LakeBuffer::default();
        buffer.push(batch, Utc::now());
        writer.flush(&mut buffer, None).await.unwrap();
    }
    let mut config = config.clone();
    config.staging.as_mut().unwrap().write_interval_seconds = 0;
    let report = compactor(&config, &store)
        .run(Utc::now())
        .await
        .unwrap()
        .report;
    assert_eq!((report.objects, report.written), (1, 2));
    let (bucket, key) = store.keys().pop().unwrap();
    let uids = rows(store.object(&bucket, &key).unwrap());
    let early_uid =
        serde_json::from_str::<serde_json::Value>(&early.line).unwrap()["metadata"]["uid"]
            .as_str()
            .unwrap()
            .to_string();
    assert_eq!(uids.len(), 2);
    assert_eq!(uids[0], early_uid, "sorted by time");
}

#[tokio::test]
async fn a_compaction_cut_after_its_object_is_finished_by_the_next_without_a_second_copy() {
    let mut config = staged_config();
    config.staging.as_mut().unwrap().write_interval_seconds = 0;
    let store = MemoryLake::default();
    let marks = MemoryDedupe::default();
    let writer = writer(&config, &store, &marks);
    let mut buffer = LakeBuffer::default();
    buffer.push(
        vec![
            event("a", "user.session.start", "2026-11-30T00:00:01.000Z"),
            event("b", "user.session.start", "2026-11-30T00:00:02.000Z"),
        ],
        Utc::now(),
    );
    writer.flush(&mut buffer, None).await.unwrap();
    // The object is stored, then the staged objects' delete fails (a crash there).
    store.fail_deletes(1);
    let cut = compactor(&config, &store).run(Utc::now()).await.unwrap();
    assert_eq!(cut.failures, 1, "counted, and left for the next pass");
    let lake = |store: &MemoryLake| {
        store
            .keys()
            .into_iter()
            .filter(|(b, _)| *b == config.bucket)
            .count()
    };
    assert_eq!(lake(&store), 1);
    // Meanwhile more events are staged; the next run finishes the first compaction from its
    // record (no second object of the same events), then writes the new ones.
    let mut buffer = LakeBuffer::default();
    buffer.push(
        vec![event("c", "user.session.start", "2026-11-30T00:00:03.000Z")],
        Utc::now(),
    );
    writer.flush(&mut buffer, None).await.unwrap();
    let report = compactor(&config, &store)
        .run(Utc::now())
        .await
        .unwrap()
        .report;
    assert_eq!(
        (report.objects, report.written),
        (1, 1),
        "only the new event: {report:?}"
    );
    assert_eq!(lake(&store), 2);
    assert_eq!(store.keys().len(), 2, "nothing staged left");
    let mut all: Vec<String> = store
        .keys()
        .into_iter()
        .flat_map(|(b, k)| rows(store.object(&b, &k).unwrap()))
        .collect();
    all.sort();
    assert_eq!(all.len(), 3, "a, b and c, each once: {all:?}");
}

/// Two written-down plans that overlap (a poller that stalled past its lease wrote one after
/// its successor wrote the other): whichever is finished first, every staged event reaches the
/// lake, none is deleted unwritten.
#[tokio::test]
async fn overlapping_plans_lose_no_staged_event_whichever_is_finished_first() {
    let mut config = staged_config();
    config.staging.as_mut().unwrap().write_interval_seconds = 86_400;
    let store = MemoryLake::default();
    let marks = MemoryDedupe::default();
    let writer = writer(&config, &store, &marks);
    for (uuid, second) in [("k1", 1), ("k2", 2), ("k3", 3)] {
        let mut buffer = LakeBuffer::default();
        buffer.push(
            vec![event(
                uuid,
                "user.session.start",
                &format!("2026-11-30T00:00:0{second}.000Z"),
            )],
            Utc::now(),
        );
        writer.flush(&mut buffer, None).await.unwrap();
    }
    let staged: Vec<String> = store.keys().into_iter().map(|(_, k)| k).collect();
    assert_eq!(staged.len(), 3);
    let dir = staged[0]
        .rsplit_once('/')
        .unwrap()
        .0
        .trim_start_matches("lake-staging/");
    let bucket = crate::ports::LakeBucket {
        name: "okta-relay-staging",
        owner: "123456789012",
        role: None,
    };
    // The stale poller's plan takes two of them and sorts first; its successor's takes all three.
    let (a, b) = (&staged[..2], &staged[..]);
    for (name, keys, target) in [("a", a, "ta"), ("b", b, "tb")] {
        let plan = serde_json::json!({"target": format!("{dir}/{target}.parquet"), "staged": keys});
        store
            .put_new(
                bucket,
                &format!("lake-staging/_compacting/{name}.json"),
                plan.to_string().into_bytes(),
            )
            .await
            .unwrap();
    }
    let done = compactor(&config, &store).run(Utc::now()).await.unwrap();
    assert_eq!(done.failures, 0);
    let lake: Vec<(String, String)> = store
        .keys()
        .into_iter()
        .filter(|(b, _)| *b == config.bucket)
        .collect();
    let mut rows_seen: Vec<String> = lake
        .iter()
        .flat_map(|(b, k)| rows(store.object(b, k).unwrap()))
        .collect();
    rows_seen.sort();
    rows_seen.dedup();
    assert_eq!(
        rows_seen.len(),
        3,
        "k1, k2 and k3 all in the lake: {lake:?}"
    );
    assert_eq!(store.keys().len(), lake.len(), "staging is empty");
}
