//! The push path with the real adapters against moto: partner event in, capture queue out.

use crate::support::{LocalStack, repo_root};
use okta_relay::ErrorKind;
use okta_relay::adapters::{DynamoStateTable, EventBridgeSink};
use okta_relay::clock::SystemClock;
use okta_relay::config::RelayConfig;
use okta_relay::ports::OneSink;
use okta_relay::push::{PushError, PushService};
use serde_json::Value;
use serde_json::value::RawValue;
use std::sync::Arc;
use std::time::Duration;

const SOURCE: &str = "aws.partner/okta.com/demo-org/okta-relay";

fn service(stack: &LocalStack) -> PushService {
    service_with(stack, "")
}

/// The events function's service; `extra` is added to the org's configuration.
pub(crate) fn service_with(stack: &LocalStack, extra: &str) -> PushService {
    events_service(
        stack,
        &format!(
            r#"{{"orgs":[{{"name":"demo","secret_arn":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf","partner_event_source":"{SOURCE}"{extra}}}]}}"#
        ),
    )
}

/// The events function's service on the stack's table and bus, with configuration `config`.
pub(crate) fn events_service(stack: &LocalStack, config: &str) -> PushService {
    let clock = Arc::new(SystemClock);
    let table = Arc::new(DynamoStateTable::new(
        aws_sdk_dynamodb::Client::new(stack.sdk()),
        &stack.state_table,
        clock.clone(),
    ));
    PushService::new(
        Arc::new(RelayConfig::from_json(config).unwrap()),
        table.clone(),
        table,
        Arc::new(OneSink(Arc::new(EventBridgeSink::new(
            aws_sdk_eventbridge::Client::new(stack.sdk()),
            &stack.delivery_bus,
        )))),
        clock,
    )
}

fn fixture() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/fixtures/partner-event.json")).unwrap(),
    )
    .unwrap()
}

fn raw(v: &Value) -> Box<RawValue> {
    RawValue::from_string(v.to_string()).unwrap()
}

#[tokio::test]
async fn a_partner_event_is_forwarded_once_with_its_detail_unchanged() {
    let stack = LocalStack::provision(&[]).await;
    let service = service(&stack);
    let event = fixture();
    let first = service.handle(&raw(&event)).await.unwrap();
    assert_eq!(
        (first.org.as_str(), first.forwarded, first.duplicates),
        ("demo", 1, 0)
    );
    // Okta delivers at least once: the redelivery is dropped.
    let again = service.handle(&raw(&event)).await.unwrap();
    assert_eq!((again.forwarded, again.duplicates), (0, 1));

    let captured = stack.capture(2, Duration::from_secs(5)).await;
    assert_eq!(captured.len(), 1, "exactly one record reached the SIEM");
    let record = &captured[0];
    assert_eq!(record["detail-type"], "Okta System Log Event");
    assert_eq!(
        record["detail"]["okta"], event["detail"],
        "the Okta event, unchanged"
    );
    assert_eq!(record["detail"]["relay"]["path"], "push");
    assert_eq!(
        record["detail"]["relay"]["recordId"],
        event["detail"]["uuid"]
    );
    assert_eq!(
        record["time"], "2026-11-21T14:17:58Z",
        "entry time is the event's published"
    );
}

/// An input, a check of the error it must give, and the error's kind.
type Case = (Value, fn(&PushError) -> bool, ErrorKind);

#[tokio::test]
async fn bad_partner_events_fail_with_a_reason_and_reach_nobody() {
    let stack = LocalStack::provision(&[]).await;
    let service = service(&stack);
    let mut unknown = fixture();
    unknown["source"] = "aws.partner/okta.com/someone-else/stream".into();
    let mut foreign = fixture();
    foreign["source"] = "com.example.app".into();
    let mut no_uuid = fixture();
    no_uuid["detail"].as_object_mut().unwrap().remove("uuid");
    let mut no_detail_type = fixture();
    no_detail_type
        .as_object_mut()
        .unwrap()
        .remove("detail-type");

    let cases: Vec<Case> = vec![
        (
            unknown,
            |e| matches!(e, PushError::UnknownSource(_)),
            ErrorKind::Configuration,
        ),
        (
            foreign,
            |e| matches!(e, PushError::NotOkta(_)),
            ErrorKind::Permanent,
        ),
        (
            no_uuid,
            |e| e.to_string().contains("uuid"),
            ErrorKind::Permanent,
        ),
        (
            no_detail_type,
            |e| matches!(e, PushError::Envelope(_)),
            ErrorKind::Permanent,
        ),
        (
            serde_json::json!([1, 2]),
            |e| matches!(e, PushError::Envelope(_)),
            ErrorKind::Permanent,
        ),
    ];
    for (event, expected, kind) in cases {
        let err = service.handle(&raw(&event)).await.unwrap_err();
        assert!(expected(&err), "{event}: {err}");
        assert_eq!(err.kind(), kind, "{err}");
    }
    assert!(stack.capture(1, Duration::from_secs(2)).await.is_empty());
}

/// The fixture with a fresh `uuid` and a `published` `age` ago.
fn event_aged(age: chrono::Duration) -> Value {
    let mut event = fixture();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
    event["detail"]["uuid"] = format!("{:08x}-0000-4000-8000-{:012x}", nanos as u32, n).into();
    event["detail"]["published"] = (chrono::Utc::now() - age)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        .into();
    event
}

#[tokio::test]
async fn old_events_are_forwarded_unless_the_policy_drops_them_by_uuid() {
    let stack = LocalStack::provision(&[]).await;
    let keep = service(&stack);
    let old = event_aged(chrono::Duration::days(3));
    let kept = keep.handle(&raw(&old)).await.unwrap();
    assert_eq!((kept.old, kept.forwarded, kept.dropped_old), (1, 1, 0));
    let fresh = keep
        .handle(&raw(&event_aged(chrono::Duration::minutes(1))))
        .await
        .unwrap();
    assert_eq!((fresh.old, fresh.forwarded), (0, 1));

    let drop = service_with(
        &stack,
        r#","push":{"max_event_age_seconds":3600,"old_events":"drop"}"#,
    );
    let older = event_aged(chrono::Duration::hours(2));
    let dropped = drop.handle(&raw(&older)).await.unwrap();
    assert_eq!(
        (dropped.old, dropped.dropped_old, dropped.forwarded),
        (1, 1, 0)
    );
    assert_eq!(dropped.uuid, older["detail"]["uuid"].as_str().unwrap());
    let captured = stack.capture(3, Duration::from_secs(5)).await;
    let ids: Vec<&str> = captured
        .iter()
        .map(|r| r["detail"]["relay"]["recordId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(!ids.contains(&older["detail"]["uuid"].as_str().unwrap()));
    // The push health counts them.
    let health = okta_relay::ports::HealthStore::read(
        &DynamoStateTable::new(
            aws_sdk_dynamodb::Client::new(stack.sdk()),
            &stack.state_table,
            Arc::new(SystemClock),
        ),
        &okta_relay::ports::StreamKey::new("demo", okta_relay::stream::PUSH),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(health.counters["old"], 2);
    assert_eq!(health.counters["dropped_old"], 1);
    assert_eq!(health.counters["forwarded"], 2);
}

#[tokio::test]
async fn a_huge_partner_event_becomes_an_oversize_marker_with_its_uuid() {
    let stack = LocalStack::provision(&[]).await;
    let service = service(&stack);
    let mut huge = event_aged(chrono::Duration::minutes(1));
    huge["detail"]["debugContext"]["debugData"]["blob"] = "x".repeat(300 * 1024).into();
    let summary = service.handle(&raw(&huge)).await.unwrap();
    assert_eq!((summary.oversize, summary.forwarded), (1, 1), "{summary:?}");
    let captured = stack.capture(2, Duration::from_secs(5)).await;
    assert_eq!(captured.len(), 1);
    assert_eq!(
        captured[0]["detail-type"],
        okta_relay::record::OVERSIZE_DETAIL_TYPE
    );
    assert_eq!(
        captured[0]["detail"]["relay"]["recordId"],
        huge["detail"]["uuid"]
    );
}

#[tokio::test]
async fn a_partner_event_is_dropped_only_once_a_mark_says_it_was_delivered() {
    use okta_relay::ports::{DedupeKey, DedupeStore};
    let stack = LocalStack::provision(&[]).await;
    let table = DynamoStateTable::new(
        aws_sdk_dynamodb::Client::new(stack.sdk()),
        &stack.state_table,
        Arc::new(SystemClock),
    );
    // An attempt whose delivery failed leaves nothing behind: the retry forwards the event.
    let failing = {
        let config = RelayConfig::from_json(&format!(
            r#"{{"orgs":[{{"name":"demo","secret_arn":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf","partner_event_source":"{SOURCE}"}}]}}"#
        ))
        .unwrap();
        let sink = okta_relay::testing::MemorySink::default();
        sink.fail_calls(usize::MAX);
        let table = Arc::new(table.clone());
        PushService::new(
            Arc::new(config),
            table.clone(),
            table,
            Arc::new(OneSink(Arc::new(sink))),
            Arc::new(SystemClock),
        )
    };
    let event = event_aged(chrono::Duration::minutes(1));
    let err = failing.handle(&raw(&event)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    let retried = service(&stack).handle(&raw(&event)).await.unwrap();
    assert_eq!(
        (retried.forwarded, retried.duplicates),
        (1, 0),
        "not taken for a duplicate"
    );

    // The poller delivered this one (its mark is written): the push path drops it.
    let polled = event_aged(chrono::Duration::minutes(1));
    let uuid = polled["detail"]["uuid"].as_str().unwrap();
    table
        .mark_delivered(&[DedupeKey::new("demo", uuid)], Duration::from_secs(3600))
        .await
        .unwrap();
    let pushed = service(&stack).handle(&raw(&polled)).await.unwrap();
    assert_eq!((pushed.forwarded, pushed.duplicates), (0, 1));
    assert_eq!(stack.capture(2, Duration::from_secs(5)).await.len(), 1);
}

#[tokio::test]
async fn partner_events_reach_the_function_through_the_queue_in_a_batch_and_a_bad_one_fails_alone()
{
    use lambda_runtime::{Context, LambdaEvent};
    let stack = LocalStack::provision(&[]).await;
    let service = service(&stack);
    let mut details: Vec<Value> = (0..12)
        .map(|_| event_aged(chrono::Duration::minutes(1))["detail"].clone())
        .collect();
    details.push(serde_json::json!({"eventType": "user.session.start"}));
    stack.put_partner_events(SOURCE, &details).await;
    let (batch, receipts) = stack.push_batch(13).await;
    assert_eq!(
        receipts.len(),
        13,
        "every partner event went to the push queue"
    );
    let payload = RawValue::from_string(batch.to_string()).unwrap();
    let answer =
        okta_relay::handlers::events(&service, LambdaEvent::new(payload, Context::default()))
            .await
            .unwrap();
    let failures = answer["batchItemFailures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "only the event without a uuid: {answer}");
    stack.finish_push_batch(&receipts, &answer).await;
    let captured = stack.capture(12, Duration::from_secs(5)).await;
    assert_eq!(captured.len(), 12, "each good event once");
    // The failed message stays in the queue for another delivery (then the DLQ).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sqs = aws_sdk_sqs::Client::new(stack.sdk());
    sqs.change_message_visibility()
        .queue_url(&stack.push_queue_url)
        .receipt_handle(&receipts[failures[0]["itemIdentifier"].as_str().unwrap()])
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let (again, _) = stack.push_batch(1).await;
    assert_eq!(again["Records"].as_array().unwrap().len(), 1);
}
