//! The middle test layer: the poller and the events function on the in-memory fakes of every
//! port (`okta_relay::testing`), against the Okta simulator in-process. No AWS, no processes:
//! each scenario (lease loss, a crash between acknowledgment and commit, partial delivery, a
//! backfill, both paths on one event) runs in about a second. moto stays for the adapters and
//! the end-to-end suites.

#![allow(clippy::unwrap_used)]

use chrono::Utc;
use okta_relay::clock::SystemClock;
use okta_relay::config::RelayConfig;
use okta_relay::okta::{ClientSettings, RetryPolicy};
use okta_relay::pipeline::DeliveryPolicy;
use okta_relay::poller::{BackfillJob, BackfillWindow, OrgOutcome, PollerService, RunSettings};
use okta_relay::ports::{
    DedupeKey, EntryFault, EntryOutcome, SinkChoice, StreamKey, StreamStateStore,
};
use okta_relay::push::PushService;
use okta_relay::testing::{MemoryPorts, MemorySink};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const TOKEN: &str = "00ServiceLayerToken";
const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:okta/acme-AbCdEf";
const PAGE: usize = 100;

/// A simulator with `backlog` System Log events.
async fn okta(backlog: usize) -> okta_sim::RunningSim {
    okta_sim::start(okta_sim::SimConfig {
        tokens: vec![TOKEN.into()],
        seed: okta_sim::SeedConfig {
            backlog_events: backlog,
            backlog_hours: 2,
            late_share: 0.0,
            ..okta_sim::SeedConfig::default()
        },
        ..okta_sim::SimConfig::default()
    })
    .await
    .unwrap()
}

/// The acme org's partner event source, as Okta names it.
const PARTNER_SOURCE: &str = "aws.partner/okta.com/acme/relay";

/// The push service for the acme org, with its partner event source, on the fakes.
fn push_service(fakes: &MemoryPorts) -> PushService {
    let config = RelayConfig::from_json(&format!(
        r#"{{"orgs":[{{"name":"acme","secret_arn":"{ARN}","partner_event_source":"{PARTNER_SOURCE}"}}]}}"#
    ))
    .unwrap();
    PushService::from_ports(Arc::new(config), &fakes.ports())
}

/// A partner event as the partner bus carries it, around a System Log event.
fn partner_envelope(detail: &Value) -> Value {
    json!({"version":"0","id":"e","detail-type":"SystemLog","source":PARTNER_SOURCE,
        "account":"1","time":detail["published"],"region":"us-east-1","resources":[],"detail":detail})
}

/// The fakes, with the org's secret, and a sink that answers by `rule`.
fn fakes(sim: &okta_sim::RunningSim, sink: MemorySink) -> MemoryPorts {
    let mut fakes = MemoryPorts::new(Arc::new(SystemClock));
    fakes.sink = Arc::new(sink);
    fakes.secrets.put(
        ARN,
        &json!({"org_url": sim.url, "api_token": TOKEN}).to_string(),
    );
    fakes
}

fn config() -> Arc<RelayConfig> {
    Arc::new(
        RelayConfig::from_json(&format!(
            r#"{{"allow_loopback_http":true,"deadline_margin_seconds":2,
                "orgs":[{{"name":"acme","secret_arn":"{ARN}","logs":{{"page_size":{PAGE}}}}}]}}"#
        ))
        .unwrap(),
    )
}

fn poller(fakes: &MemoryPorts) -> PollerService {
    let settings = RunSettings {
        client: ClientSettings {
            retry: RetryPolicy {
                base_backoff: Duration::from_millis(5),
                ..RetryPolicy::default()
            },
            ..ClientSettings::default()
        },
        deadline_margin: Duration::from_secs(2),
        lease_ttl: Duration::from_secs(60),
    };
    PollerService::new(config(), fakes.ports(), settings).unwrap()
}

async fn run(poller: &PollerService, owner: &str) -> OrgOutcome {
    let out = poller
        .run(owner, Utc::now() + chrono::Duration::minutes(1))
        .await;
    out.into_iter().next().unwrap()
}

/// Every event the simulator holds.
async fn all_events(sim: &okta_sim::RunningSim) -> BTreeSet<String> {
    let text = reqwest::get(format!("{}/__sim/events", sim.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    serde_json::from_value(v["uuids"].clone()).unwrap()
}

/// The `uuid`s the sink accepted, repeats included.
fn delivered(sink: &MemorySink) -> Vec<String> {
    sink.accepted_uuids()
}

fn logs() -> StreamKey {
    StreamKey::new("acme", "logs")
}

#[tokio::test]
async fn a_run_forwards_the_backlog_page_by_page_and_the_next_finds_nothing_new() {
    let sim = okta(250).await;
    let fakes = fakes(&sim, MemorySink::default());
    let poller = poller(&fakes);
    let first = run(&poller, "run-1").await;
    assert!(
        first.error.is_none() && first.summary.caught_up,
        "{first:?}"
    );
    assert_eq!((first.summary.pages, first.summary.forwarded), (3, 250));
    assert!(fakes.streams.cursor(&logs()).is_some(), "the cursor moved");
    let second = run(&poller, "run-2").await;
    assert_eq!(second.summary.forwarded, 0, "{second:?}");
    let got = delivered(&fakes.sink);
    assert_eq!(got.len(), 250);
    assert_eq!(
        got.into_iter().collect::<BTreeSet<_>>(),
        all_events(&sim).await
    );
}

#[tokio::test]
async fn a_run_that_loses_its_lease_stops_and_cannot_move_the_cursor() {
    let sim = okta(250).await;
    // The lease is taken from the run while it delivers its second page.
    let streams = Arc::new(std::sync::OnceLock::<Arc<okta_relay::testing::MemoryStreams>>::new());
    let seen = Arc::new(AtomicUsize::new(0));
    let sink = {
        let (streams, seen) = (streams.clone(), seen.clone());
        MemorySink::with_rule(move |_| {
            if seen.fetch_add(1, Ordering::SeqCst) == 150 {
                streams.get().unwrap().steal(&logs(), "thief");
            }
            None
        })
    };
    let fakes = fakes(&sim, sink);
    streams.set(fakes.streams.clone()).unwrap();
    let poller = poller(&fakes);
    let lost = run(&poller, "run-1").await;
    assert_eq!(
        lost.error_kind,
        Some(okta_relay::ErrorKind::Transient),
        "{lost:?}"
    );
    assert!(lost.error.unwrap().contains("no longer ours"));
    let after_page_one = fakes.streams.cursor(&logs());
    assert!(after_page_one.is_some(), "page 1 was committed");
    // The thief goes; the next run resumes from page 1's cursor.
    fakes.streams.expire(&logs());
    let resumed = run(&poller, "run-2").await;
    assert!(
        resumed.error.is_none() && resumed.summary.caught_up,
        "{resumed:?}"
    );
    let got: BTreeSet<String> = delivered(&fakes.sink).into_iter().collect();
    assert_eq!(got, all_events(&sim).await, "nothing lost");
}

#[tokio::test]
async fn a_crash_between_acknowledgment_and_commit_delivers_nothing_twice() {
    let sim = okta(250).await;
    let fakes = fakes(&sim, MemorySink::default());
    let poller = poller(&fakes);
    fakes.streams.fail_commits(1);
    let failed = run(&poller, "run-1").await;
    assert!(failed.error.is_some(), "{failed:?}");
    assert_eq!(
        fakes.streams.cursor(&logs()),
        None,
        "the cursor did not move"
    );
    let retried = run(&poller, "run-2").await;
    assert!(
        retried.error.is_none() && retried.summary.caught_up,
        "{retried:?}"
    );
    assert_eq!(
        retried.summary.duplicates, PAGE as u64,
        "page 1 was delivered and marked: read again, dropped"
    );
    let got = delivered(&fakes.sink);
    assert_eq!(got.len(), 250, "each event reached the sink once");
}

#[tokio::test]
async fn a_partial_delivery_fails_the_run_and_the_retry_delivers_the_rest() {
    let sim = okta(150).await;
    // The 5th entry of the first page is throttled at every try of the first run.
    let entries = Arc::new(AtomicUsize::new(0));
    let victim = Arc::new(std::sync::Mutex::new((None::<String>, 0usize)));
    let sink = {
        let (entries, victim) = (entries.clone(), victim.clone());
        MemorySink::with_rule(move |e| {
            let n = entries.fetch_add(1, Ordering::SeqCst);
            let mut victim = victim.lock().unwrap();
            if n == 4 {
                victim.0 = Some(e.detail.clone());
            }
            if victim.0.as_deref() != Some(e.detail.as_str()) {
                return None;
            }
            victim.1 += 1;
            let throttled = victim.1 <= DeliveryPolicy::default().max_attempts as usize;
            throttled
                .then(|| EntryOutcome::failed("ThrottlingException", "", EntryFault::Transient))
        })
    };
    let fakes = fakes(&sim, sink);
    let poller = poller(&fakes);
    let failed = run(&poller, "run-1").await;
    assert_eq!(
        failed.error_kind,
        Some(okta_relay::ErrorKind::Transient),
        "{failed:?}"
    );
    assert_eq!(fakes.streams.cursor(&logs()), None, "the cursor stayed");
    let delivered_first = delivered(&fakes.sink).len();
    assert_eq!(
        delivered_first,
        PAGE - 1,
        "all of page 1 but the throttled entry"
    );
    let retried = run(&poller, "run-2").await;
    assert!(retried.error.is_none(), "{retried:?}");
    assert_eq!(
        retried.summary.duplicates,
        (PAGE - 1) as u64,
        "the acknowledged ones are marked"
    );
    let got: BTreeSet<String> = delivered(&fakes.sink).into_iter().collect();
    assert_eq!(got, all_events(&sim).await);
}

#[tokio::test]
async fn a_backfill_reads_its_window_once_and_resumes_after_its_page_limit() {
    let sim = okta(250).await;
    let fakes = fakes(&sim, MemorySink::default());
    let poller = poller(&fakes);
    let job = |max_pages| BackfillJob {
        window: BackfillWindow {
            since: Utc::now() - chrono::Duration::days(1),
            until: Utc::now() + chrono::Duration::minutes(1),
        },
        max_pages,
        on_page: &|_| {},
    };
    let deadline = || Utc::now() + chrono::Duration::minutes(1);
    let limited = job(Some(2));
    let first = poller
        .backfill("acme", &limited, "op-1", deadline())
        .await
        .unwrap();
    assert_eq!(
        (first.summary.pages, first.summary.caught_up),
        (2, false),
        "{first:?}"
    );
    let rest = BackfillJob {
        max_pages: None,
        ..limited
    };
    let second = poller
        .backfill("acme", &rest, "op-2", deadline())
        .await
        .unwrap();
    assert!(second.summary.caught_up, "{second:?}");
    let again = poller
        .backfill("acme", &rest, "op-3", deadline())
        .await
        .unwrap();
    assert!(
        again.next_poll_at.is_some(),
        "a finished window is not read again: {again:?}"
    );
    let got = delivered(&fakes.sink);
    assert_eq!(got.len(), 250, "each event of the window once");
}

#[tokio::test]
async fn an_event_pushed_first_is_a_duplicate_for_the_poller() {
    let sim = okta(20).await;
    let fakes = fakes(&sim, MemorySink::default());
    let push = push_service(&fakes);
    let events: Vec<Value> = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/logs?since={}&until={}&limit=5",
            sim.url,
            (Utc::now() - chrono::Duration::days(1))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ))
        .header("Authorization", format!("SSWS {TOKEN}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    for detail in &events {
        let envelope = partner_envelope(detail);
        let payload = serde_json::value::RawValue::from_string(envelope.to_string()).unwrap();
        let pushed = push.handle(&payload).await.unwrap();
        assert_eq!(pushed.forwarded, 1);
    }
    let key = DedupeKey::new("acme", events[0]["uuid"].as_str().unwrap());
    assert!(fakes.dedupe.is_marked(&key));
    let polled = run(&poller(&fakes), "run-1").await;
    assert_eq!(
        (polled.summary.forwarded, polled.summary.duplicates),
        (15, 5),
        "{polled:?}"
    );
    assert_eq!(delivered(&fakes.sink).len(), 20, "each event once");
}

/// An org that chose a Firehose stream gets every record there, from both paths, in calls of
/// Firehose's size; the delivery bus gets nothing of it.
#[tokio::test]
async fn an_org_s_records_go_to_the_sink_it_chose() {
    let sim = okta(700).await;
    let fakes = fakes(&sim, MemorySink::default());
    let org = format!(
        r#"{{"name":"acme","secret_arn":"{ARN}","partner_event_source":"{PARTNER_SOURCE}",
            "logs":{{"page_size":1000}},"sink":{{"type":"firehose","stream":"siem"}}}}"#
    );
    let config = Arc::new(
        RelayConfig::from_json(&format!(
            r#"{{"allow_loopback_http":true,"deadline_margin_seconds":2,"orgs":[{org}]}}"#
        ))
        .unwrap(),
    );
    let settings = RunSettings {
        deadline_margin: Duration::from_secs(2),
        lease_ttl: Duration::from_secs(60),
        ..RunSettings::default()
    };
    let poller = PollerService::new(config.clone(), fakes.ports(), settings).unwrap();
    let polled = run(&poller, "run-1").await;
    assert!(polled.error.is_none(), "{polled:?}");
    let firehose = fakes.other_sinks.get(&SinkChoice::Firehose {
        stream: "siem".into(),
    });
    let got: BTreeSet<String> = delivered(&firehose).into_iter().collect();
    assert_eq!(got, all_events(&sim).await, "every event, to the stream");
    assert_eq!(delivered(&firehose).len(), 700, "each once");
    assert_eq!(firehose.calls(), 2, "700 records: 500 and 200 a call");
    assert_eq!(fakes.sink.calls(), 0, "nothing on the delivery bus");

    let push = PushService::from_ports(config, &fakes.ports());
    let detail = json!({"uuid": "pushed-1", "published": Utc::now().to_rfc3339(),
        "eventType": "user.session.start"});
    let payload =
        serde_json::value::RawValue::from_string(partner_envelope(&detail).to_string()).unwrap();
    assert_eq!(push.handle(&payload).await.unwrap().forwarded, 1);
    assert!(delivered(&firehose).contains(&"pushed-1".to_string()));
    assert_eq!(fakes.sink.calls(), 0, "nor from the push path");
}

#[tokio::test]
async fn the_handlers_take_a_real_lambda_event() {
    use lambda_runtime::{Context, LambdaEvent};
    let sim = okta(30).await;
    let fakes = fakes(&sim, MemorySink::default());
    let poller = poller(&fakes);
    let scheduled = LambdaEvent::new(json!({"source": "aws.events"}), Context::default());
    let outcomes = okta_relay::handlers::poller(&poller, scheduled)
        .await
        .unwrap();
    assert_eq!(outcomes[0].summary.forwarded, 30, "{outcomes:?}");

    let push = push_service(&fakes);
    let detail = json!({"uuid": "handler-1", "published": Utc::now().to_rfc3339(),
        "eventType": "user.session.start"});
    let envelope = partner_envelope(&detail);
    let payload = serde_json::value::RawValue::from_string(envelope.to_string()).unwrap();
    let summary =
        okta_relay::handlers::events(&push, LambdaEvent::new(payload, Context::default()))
            .await
            .unwrap();
    assert_eq!(
        (&summary["uuid"], &summary["forwarded"]),
        (&json!("handler-1"), &json!(1))
    );
    let refused = serde_json::value::RawValue::from_string("{\"detail\":1}".into()).unwrap();
    let err = okta_relay::handlers::events(&push, LambdaEvent::new(refused, Context::default()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("envelope"), "{err}");
    assert_eq!(
        lambda_runtime::Diagnostic::from(err).error_type,
        "OktaRelay.InvalidEvent"
    );
    let unknown = partner_envelope(&detail)
        .to_string()
        .replace("/acme/", "/other/");
    let unknown = serde_json::value::RawValue::from_string(unknown).unwrap();
    let err = okta_relay::handlers::events(&push, LambdaEvent::new(unknown, Context::default()))
        .await
        .unwrap_err();
    assert_eq!(
        lambda_runtime::Diagnostic::from(err).error_type,
        "OktaRelay.UnknownSource"
    );
}

/// An SQS batch as the queue's event source mapping delivers it: each body the EventBridge
/// event as JSON text.
fn sqs_batch(bodies: &[(String, String)]) -> Box<serde_json::value::RawValue> {
    let records: Vec<Value> = bodies
        .iter()
        .map(|(id, body)| json!({"messageId": id, "eventSource": "aws:sqs", "body": body}))
        .collect();
    serde_json::value::RawValue::from_string(json!({"Records": records}).to_string()).unwrap()
}

/// A live partner event (published now) with `uuid`, as the queue's message body.
fn live_envelope(uuid: &str) -> String {
    let detail = json!({"uuid": uuid, "published": Utc::now().to_rfc3339(),
        "eventType": "user.session.start"});
    partner_envelope(&detail).to_string()
}

/// The events handler's answer to an SQS batch of `(messageId, body)`.
async fn invoke_batch(push: &PushService, bodies: &[(String, String)]) -> Value {
    use lambda_runtime::{Context, LambdaEvent};
    okta_relay::handlers::events(
        push,
        LambdaEvent::new(sqs_batch(bodies), Context::default()),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn an_sqs_batch_is_forwarded_together_and_a_bad_message_fails_only_itself() {
    let sim = okta(0).await;
    let fakes = fakes(&sim, MemorySink::default());
    let push = push_service(&fakes);
    let envelope = live_envelope;
    let mut bodies: Vec<(String, String)> = (0..25)
        .map(|i| (format!("m-{i}"), envelope(&format!("sqs-{i}"))))
        .collect();
    bodies.push(("m-bad".into(), "{\"not\": \"an event\"}".into()));
    bodies.push(("m-garbage".into(), "not json".into()));
    let answer = invoke_batch(&push, &bodies).await;
    let failed: BTreeSet<&str> = answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(failed, BTreeSet::from(["m-bad", "m-garbage"]), "{answer}");
    assert_eq!(delivered(&fakes.sink).len(), 25);
    assert!(
        fakes.sink.calls() <= 3,
        "25 events in packed requests: {}",
        fakes.sink.calls()
    );
    let health = okta_relay::ports::HealthStore::read(
        fakes.health.as_ref(),
        &StreamKey::new("acme", "push"),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        health.counters["events"], 25,
        "one health write for the batch"
    );

    // Delivered again (the queue's retry): every event is a duplicate, nothing is sent.
    let again = invoke_batch(&push, &bodies[..25]).await;
    assert_eq!(again["batchItemFailures"], json!([]));
    assert_eq!(delivered(&fakes.sink).len(), 25);
}

/// Public events come with `published` missing, redacted or malformed: each is forwarded once,
/// unchanged, marked in its `relay` block and counted; only an event without a `uuid` is
/// refused, with `OktaRelay.InvalidEvent`.
#[tokio::test]
async fn partner_events_go_on_whatever_their_published_and_only_a_missing_uuid_is_refused() {
    use lambda_runtime::{Context, Diagnostic, LambdaEvent};
    let sim = okta(0).await;
    let fakes = fakes(&sim, MemorySink::default());
    let push = push_service(&fakes);
    let details = [
        json!({"uuid": "p-none", "eventType": "user.session.start"}),
        json!({"uuid": "p-redacted", "published": "redacted", "eventType": "user.session.start"}),
        json!({"uuid": "p-spaces", "published": "2025-08-19T19: 49: 51.342Z",
            "eventType": "user.session.end"}),
        json!({"uuid": "p-number", "published": 1_700_000_000, "eventType": "user.session.end"}),
    ];
    let envelope = |detail: &Value| {
        let mut e = partner_envelope(detail);
        e["time"] = json!("2026-11-30T10:00:00Z");
        e.to_string()
    };
    let bodies: Vec<(String, String)> = details
        .iter()
        .enumerate()
        .map(|(i, d)| (format!("m-{i}"), envelope(d)))
        .collect();
    let before = Utc::now();
    let answer = invoke_batch(&push, &bodies).await;
    let after = Utc::now();
    assert_eq!(answer["batchItemFailures"], json!([]), "none refused");
    let accepted = fakes.sink.accepted();
    assert_eq!(accepted.len(), details.len());
    for (entry, detail) in accepted.iter().zip(&details) {
        let forwarded: Value = serde_json::from_str(&entry.detail).unwrap();
        assert_eq!(&forwarded["okta"], detail, "unchanged");
        assert_eq!(forwarded["relay"]["malformedPublished"], true);
        let time = entry.time.expect("a Time");
        assert!(
            before <= time && time <= after,
            "the receipt time stands in, not the envelope's: {time}"
        );
    }
    let health = okta_relay::ports::HealthStore::read(
        fakes.health.as_ref(),
        &StreamKey::new("acme", "push"),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(health.counters["malformed_published"], 4);
    assert_eq!(health.newest_event_at, None, "no made-up lag");

    // Only what cannot be deduplicated or named is refused, with its documented code.
    let no_uuid = json!({"published": "2026-11-30T10:00:00Z", "eventType": "user.session.end"});
    let payload = serde_json::value::RawValue::from_string(envelope(&no_uuid)).unwrap();
    let err = okta_relay::handlers::events(&push, LambdaEvent::new(payload, Context::default()))
        .await
        .unwrap_err();
    let diagnostic = Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "OktaRelay.InvalidEvent");
    assert!(diagnostic.error_message.contains("uuid"), "{diagnostic:?}");
    assert_eq!(fakes.sink.accepted().len(), details.len());
}

/// A push batch that cannot be forwarded (the dedupe table unavailable) is recorded in the org's
/// push health, so `status` shows the push path as an error of AWS's, not as silence; the next
/// batch that goes through makes it collecting again.
#[tokio::test]
async fn a_failed_push_forward_shows_as_an_aws_error_in_status() {
    use okta_relay::operator::{StreamState, derive};
    let sim = okta(0).await;
    let fakes = fakes(&sim, MemorySink::default());
    let push = push_service(&fakes);
    let body = |uuid: &str| vec![("m-1".to_string(), live_envelope(uuid))];
    let status = |health: Option<&okta_relay::ports::HealthReport>| {
        let key = StreamKey::new("acme", "push");
        derive(
            &push.config.orgs[0],
            &key,
            None,
            health,
            Duration::from_secs(900),
            Utc::now(),
        )
    };
    fakes.dedupe.fail_checks(1);
    let answer = invoke_batch(&push, &body("fails-once")).await;
    assert_eq!(
        answer["batchItemFailures"].as_array().map(Vec::len),
        Some(1)
    );
    let key = StreamKey::new("acme", "push");
    let health = okta_relay::ports::HealthStore::read(fakes.health.as_ref(), &key)
        .await
        .unwrap();
    let s = status(health.as_ref());
    assert_eq!(
        (s.state, s.fault),
        (StreamState::Error, Some(okta_relay::Fault::Aws)),
        "{s:?}"
    );

    let answer = invoke_batch(&push, &body("fails-once")).await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    let health = okta_relay::ports::HealthStore::read(fakes.health.as_ref(), &key)
        .await
        .unwrap();
    assert_eq!(status(health.as_ref()).state, StreamState::Collecting);
}

/// Each org's schedule invokes the poller with `{"org": <name>}`: only that org's streams run,
/// so a slow org never holds up another. A plain scheduled event runs every org, and an org
/// no configuration has is refused with `OktaRelay.Configuration`.
#[tokio::test]
async fn an_invocation_that_names_an_org_polls_only_that_org() {
    use lambda_runtime::{Context, Diagnostic, LambdaEvent};
    let sim = okta(5).await;
    let fakes = fakes(&sim, MemorySink::default());
    let beta = format!("{ARN}-beta");
    fakes.secrets.put(
        &beta,
        &json!({"org_url": sim.url, "api_token": TOKEN}).to_string(),
    );
    let config = RelayConfig::from_json(&format!(
        r#"{{"allow_loopback_http":true,"deadline_margin_seconds":2,
            "orgs":[{{"name":"acme","secret_arn":"{ARN}"}},{{"name":"beta","secret_arn":"{beta}"}}]}}"#
    ))
    .unwrap();
    let settings = RunSettings::from_config(&config);
    let poller = PollerService::new(Arc::new(config), fakes.ports(), settings).unwrap();
    let invoke = |payload: Value| {
        okta_relay::handlers::poller(&poller, LambdaEvent::new(payload, Context::default()))
    };
    let outcomes = invoke(json!({"org": "beta"})).await.unwrap();
    let orgs: BTreeSet<&str> = outcomes.iter().map(|o| o.org.as_str()).collect();
    assert_eq!(orgs, BTreeSet::from(["beta"]), "{outcomes:?}");
    assert_eq!(outcomes[0].summary.forwarded, 5);

    let scheduled = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
    let outcomes = invoke(scheduled).await.unwrap();
    let orgs: BTreeSet<&str> = outcomes.iter().map(|o| o.org.as_str()).collect();
    assert_eq!(orgs, BTreeSet::from(["acme", "beta"]));

    // A name no org has, or an `org` that is not a name, is refused rather than polling all.
    for named in [json!("gamma"), json!(5), Value::Null, json!("")] {
        let err = invoke(json!({ "org": named })).await.unwrap_err();
        let diagnostic = Diagnostic::from(err);
        assert_eq!(diagnostic.error_type, "OktaRelay.Configuration", "{named}");
        assert!(
            diagnostic.error_message.contains(&named.to_string()),
            "{diagnostic:?}"
        );
    }
}

/// The poller reports a stream it reaches after the schedule starved it (`Overdue`), and the
/// System Log's lag on every invocation: 0 once caught up with nothing new, the time since it
/// last caught up while it rests within its interval.
#[tokio::test]
async fn an_overdue_stream_is_reported_and_the_lag_is_known_on_every_invocation() {
    use okta_relay::ports::{HealthNote, HealthStore, Phase, RunRecord};
    let sim = okta(0).await;
    let fakes = fakes(&sim, MemorySink::default());
    let config = RelayConfig::from_json(&format!(
        r#"{{"allow_loopback_http":true,"deadline_margin_seconds":2,"overdue_slack_seconds":600,
            "orgs":[{{"name":"acme","secret_arn":"{ARN}","logs":{{"interval_seconds":3600}}}}]}}"#
    ))
    .unwrap();
    let settings = RunSettings::from_config(&config);
    let poller = PollerService::new(Arc::new(config), fakes.ports(), settings).unwrap();
    // The last run caught up two hours ago: past the hour and the 10 minutes.
    let then = Utc::now() - chrono::Duration::hours(2);
    let caught_up = RunRecord {
        phase: Some(Phase::CaughtUp),
        ..RunRecord::default()
    };
    fakes
        .health
        .record_success(&logs(), then, &caught_up)
        .await
        .unwrap();
    fakes
        .health
        .note(&logs(), then, HealthNote::CaughtUp)
        .await
        .unwrap();

    let first = run(&poller, "starved").await;
    assert!(first.overdue, "{first:?}");
    assert!(first.summary.caught_up);
    assert_eq!(first.summary.lag_seconds, Some(0), "caught up, nothing new");
    let emf = okta_relay::metrics::emf(&first, Utc::now().timestamp_millis());
    assert_eq!(
        (emf["Overdue"].as_f64(), emf["LagSeconds"].as_f64()),
        (Some(1.0), Some(0.0))
    );

    // Within its interval now: not polled, not overdue, and a lag of 0 (resting, caught up).
    let second = run(&poller, "resting").await;
    assert!(
        second.next_poll_at.is_some() && second.due_reason.is_none(),
        "{second:?}"
    );
    assert!(!second.overdue);
    assert_eq!(second.summary.lag_seconds, Some(0));
}

/// A run its deadline stops before it reads a page is no success: a stream squeezed out run
/// after run must still become overdue, so its health is left as it was.
#[tokio::test]
async fn a_run_stopped_before_its_first_page_records_no_success() {
    use okta_relay::ports::HealthStore;
    let sim = okta(5).await;
    let fakes = fakes(&sim, MemorySink::default());
    let poller = poller(&fakes);
    let starved = poller.run("starved", Utc::now()).await;
    assert!(
        starved[0].summary.stopped_for_deadline && starved[0].summary.pages == 0,
        "{starved:?}"
    );
    assert_eq!(fakes.health.read(&logs()).await.unwrap(), None);
}

/// The `relay.oktaOrgId` of each record the sink accepted (`None` where absent).
fn okta_org_ids(sink: &MemorySink) -> Vec<Option<String>> {
    sink.accepted()
        .iter()
        .map(|e| {
            let detail: Value = serde_json::from_str(&e.detail).unwrap();
            detail["relay"]["oktaOrgId"].as_str().map(str::to_string)
        })
        .collect()
}

/// Records carry the org's Okta id once the poller has read it from
/// `/.well-known/okta-organization`: the poller keeps it in the state table, and the events
/// function (which holds no credentials) reads it from there. Before that, and when the table
/// fails, records go without it and nothing else changes.
#[tokio::test]
async fn records_carry_the_okta_org_id_the_poller_read_and_kept() {
    let sim = okta(10).await;
    let fakes = fakes(&sim, MemorySink::default());
    let before = push_service(&fakes);
    let payload =
        |uuid: &str| serde_json::value::RawValue::from_string(live_envelope(uuid)).unwrap();
    assert_eq!(before.handle(&payload("early")).await.unwrap().forwarded, 1);
    assert_eq!(okta_org_ids(&fakes.sink), vec![None], "not read yet");

    fakes.identities.fail(true);
    let failing = run(&poller(&fakes), "run-1").await;
    assert!(failing.error.is_none(), "{failing:?}");
    assert_eq!(failing.summary.forwarded, 10);
    assert!(okta_org_ids(&fakes.sink).iter().all(Option::is_none));
    fakes.identities.fail(false);

    reqwest::Client::new()
        .post(format!("{}/__sim/events", sim.url))
        .header("content-type", "application/json")
        .body(json!({"count": 3, "late_share": 0.0}).to_string())
        .send()
        .await
        .unwrap();
    let outcome = run(&poller(&fakes), "run-2").await;
    assert_eq!(outcome.summary.forwarded, 3, "{outcome:?}");
    let id = sim.state.org_id.clone();
    let ids = okta_org_ids(&fakes.sink);
    assert_eq!(
        &ids[11..],
        &[Some(id.clone()), Some(id.clone()), Some(id.clone())]
    );
    use okta_relay::ports::OrgIdentityStore;
    let kept = fakes.identities.identity("acme").await.unwrap().unwrap();
    assert_eq!(kept.okta_org_id, id);
    assert_eq!(kept.org_url.trim_end_matches('/'), sim.url);

    let after = push_service(&fakes);
    assert_eq!(after.handle(&payload("late")).await.unwrap().forwarded, 1);
    assert_eq!(okta_org_ids(&fakes.sink).last().unwrap(), &Some(id));
}

/// A secret pointed at another Okta org: the id kept for the old org URL is not reused, the
/// new org's id is read and kept.
#[tokio::test]
async fn a_secret_pointed_at_another_org_reads_its_okta_org_id_again() {
    use okta_relay::ports::{OrgIdentity, OrgIdentityStore};
    let sim = okta(3).await;
    let fakes = fakes(&sim, MemorySink::default());
    fakes
        .identities
        .remember(
            "acme",
            &OrgIdentity {
                okta_org_id: "00oOLDoldOLDoldOLDol".into(),
                org_url: "https://old.okta.com/".into(),
            },
        )
        .await
        .unwrap();
    let outcome = run(&poller(&fakes), "run-1").await;
    assert_eq!(outcome.summary.forwarded, 3, "{outcome:?}");
    let id = sim.state.org_id.clone();
    assert!(
        okta_org_ids(&fakes.sink)
            .iter()
            .all(|o| o.as_deref() == Some(id.as_str()))
    );
    let kept = fakes.identities.identity("acme").await.unwrap().unwrap();
    assert_eq!(kept.okta_org_id, id);
}

/// A poller whose configuration is `acme` with `org_extra` and a Security Lake section with
/// `lake_extra`.
fn lake_poller(fakes: &MemoryPorts, org_extra: &str, lake_extra: &str) -> PollerService {
    let config = RelayConfig::from_json(&format!(
        r#"{{"allow_loopback_http":true,"deadline_margin_seconds":2,
            "orgs":[{{"name":"acme","secret_arn":"{ARN}"{org_extra}}}],
            "security_lake":{{"bucket":"aws-security-data-lake-us-east-1-x","region":"us-east-1",
                "account_id":"123456789012"{lake_extra}}}}}"#
    ))
    .unwrap();
    let settings = RunSettings {
        client: ClientSettings::default(),
        deadline_margin: Duration::from_secs(2),
        lease_ttl: Duration::from_secs(60),
    };
    PollerService::new(Arc::new(config), fakes.ports(), settings).unwrap()
}

/// Rows of every object in the in-memory lake, by the object's key.
fn lake_rows(fakes: &MemoryPorts) -> Vec<(String, i64)> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    fakes
        .lake
        .keys()
        .into_iter()
        .map(|(bucket, key)| {
            let bytes = fakes.lake.object(&bucket, &key).unwrap();
            let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
            let rows = reader.metadata().file_metadata().num_rows();
            (key, rows)
        })
        .collect()
}

#[tokio::test]
async fn with_the_lake_the_cursor_waits_across_pages_for_the_flush_that_wrote_them() {
    let sim = okta(350).await;
    let fakes = fakes(&sim, MemorySink::default());
    // One buffer for the whole run: four pages go to the bus, then the end-of-run flush fails.
    let poller = lake_poller(
        &fakes,
        r#","logs":{"page_size":100}"#,
        r#","max_buffer_events":100000"#,
    );
    fakes.lake.fail_puts(100);
    let failed = run(&poller, "run-1").await;
    assert!(failed.error.is_some(), "the failed flush fails the run");
    assert_eq!(failed.summary.forwarded, 350, "the bus got every page");
    assert_eq!(
        fakes.streams.cursor(&StreamKey::new("acme", "logs")),
        None,
        "no page's cursor moved before its lake events were written"
    );
    fakes.lake.fail_puts(0);
    let ok = run(&poller, "run-2").await;
    assert!(ok.error.is_none(), "{:?}", ok.error);
    assert_eq!((ok.summary.duplicates, ok.summary.lake_events), (350, 350));
    let snapshot = fakes
        .streams
        .snapshot(&StreamKey::new("acme", "logs"))
        .await
        .unwrap()
        .unwrap();
    assert!(snapshot.cursor.is_some());
    assert_eq!(
        snapshot.version, 1,
        "one flush at the end of the run, then one commit"
    );
    let rows: i64 = lake_rows(&fakes).iter().map(|(_, n)| n).sum();
    assert_eq!(rows, 350, "each event once");
    // Nothing new: nothing written again.
    let again = run(&poller, "run-3").await;
    assert_eq!(again.summary.lake_events, 0);
}

#[tokio::test]
async fn a_full_buffer_is_written_and_committed_mid_run() {
    let sim = okta(300).await;
    let fakes = fakes(&sim, MemorySink::default());
    let poller = lake_poller(
        &fakes,
        r#","logs":{"page_size":50}"#,
        r#","max_buffer_events":100"#,
    );
    let ok = run(&poller, "run-1").await;
    assert!(ok.error.is_none(), "{:?}", ok.error);
    assert_eq!(ok.summary.lake_events, 300);
    // Six pages of 50 at 100 a buffer: three flushes, each with objects per class and day,
    // each followed by the commit of the pages it covered; then the empty last page's cursor.
    assert!(ok.summary.lake_objects >= 3, "{:?}", ok.summary);
    let key = StreamKey::new("acme", "logs");
    let commits = fakes.streams.snapshot(&key).await.unwrap().unwrap().version;
    assert_eq!(commits, 4, "a commit per flush, not per page (7 pages)");
    let rows: i64 = lake_rows(&fakes).iter().map(|(_, n)| n).sum();
    assert_eq!(rows, 300);
}

#[tokio::test]
async fn ocsf_output_sends_ocsf_records_and_directory_users_go_to_the_lake_as_inventory() {
    let sim = okta_sim::start(okta_sim::SimConfig {
        tokens: vec![TOKEN.into()],
        seed: okta_sim::SeedConfig {
            backlog_events: 40,
            backlog_hours: 2,
            late_share: 0.0,
            users: 30,
            groups: 4,
            memberships: 50,
            ..okta_sim::SeedConfig::default()
        },
        ..okta_sim::SimConfig::default()
    })
    .await
    .unwrap();
    let fakes = fakes(&sim, MemorySink::default());
    let poller = lake_poller(
        &fakes,
        r#","output":"ocsf","inventory":{"users":{},"groups":{},"group_members":{}}"#,
        "",
    );
    for owner in ["run-1", "run-2", "run-3"] {
        let out = poller
            .run(owner, Utc::now() + chrono::Duration::minutes(1))
            .await;
        assert!(out.iter().all(|o| o.error.is_none()), "{out:?}");
    }
    let sent = fakes.sink.accepted();
    let kinds: BTreeSet<&str> = sent.iter().map(|e| e.detail_type.as_str()).collect();
    assert!(kinds.contains("OCSF User Inventory Info"), "{kinds:?}");
    assert!(
        !kinds.contains("Okta System Log Event"),
        "output ocsf: no raw events: {kinds:?}"
    );
    assert!(!kinds.contains("Okta User"), "{kinds:?}");
    assert!(
        kinds.contains("Okta Group"),
        "OCSF 1.3 has no group inventory class: groups stay raw: {kinds:?}"
    );
    let events = sent
        .iter()
        .filter(|e| {
            e.detail_type.starts_with("OCSF ") && e.detail_type != "OCSF User Inventory Info"
        })
        .count();
    assert_eq!(events, 40, "one OCSF record per System Log event");
    let inventory = sent
        .iter()
        .filter(|e| e.detail_type == "OCSF User Inventory Info")
        .count();
    let members = sent
        .iter()
        .filter(|e| {
            e.detail_type == "OCSF User Inventory Info"
                && e.detail.contains("\"log_name\":\"group_members\"")
        })
        .count();
    assert_eq!(
        (inventory - members, members),
        (30, 50),
        "users, and memberships with their group"
    );
    let rows = lake_rows(&fakes);
    let in_lake: i64 = rows
        .iter()
        .filter(|(k, _)| k.starts_with("ext/okta-user-inventory/region=us-east-1/"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        in_lake as usize, inventory,
        "users and memberships, on the bus and in the lake: {rows:?}"
    );
}

#[tokio::test]
async fn both_paths_put_one_copy_of_an_event_in_the_lake() {
    let sim = okta(0).await;
    let fakes = fakes(&sim, MemorySink::default());
    let push = lake_push(&fakes, "", STAGING);
    let event = json!({"uuid": "8f7c-1", "eventType": "user.session.start",
        "published": Utc::now().to_rfc3339(), "actor": {"id": "00u1", "type": "User"},
        "client": {"ipAddress": "192.0.2.1"}});
    let payload =
        serde_json::value::RawValue::from_string(partner_envelope(&event).to_string()).unwrap();
    let first = push.handle(&payload).await.unwrap();
    assert_eq!(first.lake_events, 1);
    let again = push.handle(&payload).await.unwrap();
    assert_eq!(again.lake_events, 0, "the lake mark drops the redelivery");
    write_lake(&fakes).await;
    assert_eq!(lake_rows(&fakes).iter().map(|(_, n)| n).sum::<i64>(), 1);
}

/// The events function of `acme` (pushed, with `org_extra`) and a lake section with
/// `lake_extra`.
fn lake_push(fakes: &MemoryPorts, org_extra: &str, lake_extra: &str) -> PushService {
    let config = RelayConfig::from_json(&format!(
        r#"{{"allow_loopback_http":true,"orgs":[{{"name":"acme","secret_arn":"{ARN}","partner_event_source":"{PARTNER_SOURCE}"{org_extra}}}],
            "security_lake":{{"bucket":"aws-security-data-lake-us-east-1-x","region":"us-east-1","account_id":"123456789012"{lake_extra}}}}}"#
    ))
    .unwrap();
    PushService::from_ports(Arc::new(config), &fakes.ports())
}

/// The events function's lake section: it stages, and the poller writes the lake at once.
const STAGING: &str = r#","staging":{"bucket":"relay-staging","write_interval_seconds":0}"#;

/// The poller's write of what the events function staged (`security_lake.staging`).
async fn write_lake(fakes: &MemoryPorts) {
    let poller = lake_poller(fakes, "", STAGING);
    let deadline = Utc::now() + chrono::Duration::seconds(60);
    poller.write_lake("test", deadline).await;
}

#[tokio::test]
async fn without_staging_the_events_function_refuses_before_it_delivers_anything() {
    // The events function does not link the Parquet encoder: it only stages. A lake without
    // `staging` is a configuration error before any delivery, so the queue keeps the batch.
    let sim = okta(0).await;
    let fakes = fakes(&sim, MemorySink::default());
    let push = lake_push(&fakes, "", "");
    let event = json!({"uuid": "8f7c-2", "eventType": "user.session.start",
        "published": Utc::now().to_rfc3339(), "actor": {"id": "00u1", "type": "User"}});
    let payload =
        serde_json::value::RawValue::from_string(partner_envelope(&event).to_string()).unwrap();
    let err = push.handle(&payload).await.unwrap_err();
    assert!(err.to_string().contains("security_lake.staging"), "{err}");
    assert_eq!(err.kind(), okta_relay::ErrorKind::Configuration);
    assert!(fakes.sink.accepted().is_empty(), "nothing delivered");
    assert!(fakes.lake.keys().is_empty(), "nothing written");
}

#[tokio::test]
async fn a_failure_after_held_pages_still_writes_and_commits_them() {
    let sim = okta(300).await;
    // The bus refuses (retryably) every entry after the 150th while `failing` is set: page 4
    // of 50 fails, after pages 1–3 were acknowledged and their lake events buffered.
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let seen = Arc::new(AtomicUsize::new(0));
    let sink = {
        let (failing, seen) = (failing.clone(), seen.clone());
        MemorySink::with_rule(move |_| {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            (failing.load(Ordering::SeqCst) && n >= 150).then(|| {
                EntryOutcome::failed("ThrottlingException", "injected", EntryFault::Transient)
            })
        })
    };
    let fakes = fakes(&sim, sink);
    let poller = lake_poller(
        &fakes,
        r#","logs":{"page_size":50}"#,
        r#","max_buffer_events":100000"#,
    );
    let failed = run(&poller, "run-1").await;
    assert!(failed.error.is_some(), "page 4 fails the run");
    let key = StreamKey::new("acme", "logs");
    assert!(
        fakes.streams.cursor(&key).is_some(),
        "pages 1–3 are written to the lake and committed, not thrown away"
    );
    let rows: i64 = lake_rows(&fakes).iter().map(|(_, n)| n).sum();
    assert_eq!(rows, 150);
    failing.store(false, Ordering::SeqCst);
    let ok = run(&poller, "run-2").await;
    assert!(ok.error.is_none(), "{:?}", ok.error);
    assert_eq!(
        ok.summary.lake_events, 150,
        "the rest, from the committed cursor"
    );
    let rows: i64 = lake_rows(&fakes).iter().map(|(_, n)| n).sum();
    assert_eq!(rows, 300, "each event once");
}

/// The ids of every row in the in-memory lake, each once, and how many rows there are.
fn lake_ids(fakes: &MemoryPorts) -> (BTreeSet<String>, usize) {
    let mut rows = 0;
    let mut ids = BTreeSet::new();
    for (bucket, key) in fakes.lake.keys() {
        let found =
            okta_relay::testing::lake_object_ids(&fakes.lake.object(&bucket, &key).unwrap());
        rows += found.len();
        ids.extend(found);
    }
    (ids, rows)
}

/// Appends `count` generated events to the simulator's System Log.
async fn append_events(sim: &okta_sim::RunningSim, count: usize) {
    reqwest::Client::new()
        .post(format!("{}/__sim/events", sim.url))
        .json(&json!({ "count": count }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
}

#[tokio::test]
async fn a_reset_and_a_rerun_the_same_day_keep_every_event_in_the_lake() {
    // Measured on the second wave: 400 of 440 events vanished. The rerun starts with no cursor
    // like the first run; its batch (the 40 new events, the rest marked) took the first
    // batch's name and replaced it.
    let sim = okta(400).await;
    let fakes = fakes(&sim, MemorySink::default());
    let poller = lake_poller(&fakes, r#","logs":{"page_size":100}"#, "");
    let first = run(&poller, "run-1").await;
    assert!(first.error.is_none(), "{:?}", first.error);
    append_events(&sim, 40).await;
    let key = StreamKey::new("acme", "logs");
    okta_relay::operator::reset_cursor(
        fakes.streams.as_ref(),
        &key,
        "okta-relay-ctl",
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let rerun = run(&poller, "run-2").await;
    assert!(rerun.error.is_none(), "{:?}", rerun.error);
    assert_eq!(rerun.summary.lake_events, 40, "{:?}", rerun.summary);
    let (ids, rows) = lake_ids(&fakes);
    assert_eq!(ids, all_events(&sim).await, "every event is in the lake");
    assert_eq!(rows, 440, "each once");
    assert_eq!(
        fakes.lake.collisions(),
        0,
        "no put met another batch's name"
    );
    // A second reset the same day, with nothing new: every event is marked, nothing moves.
    okta_relay::operator::reset_cursor(
        fakes.streams.as_ref(),
        &key,
        "ctl",
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let third = run(&poller, "run-3").await;
    assert!(third.error.is_none(), "{:?}", third.error);
    assert_eq!(lake_ids(&fakes).1, 440);
}

#[tokio::test]
async fn a_run_that_fails_between_its_flush_and_its_commit_loses_nothing_on_the_retry() {
    let sim = okta(300).await;
    let fakes = fakes(&sim, MemorySink::default());
    let poller = lake_poller(&fakes, r#","logs":{"page_size":100}"#, "");
    fakes.streams.fail_commits(1);
    let failed = run(&poller, "run-1").await;
    assert!(failed.error.is_some(), "the commit failed");
    assert!(!fakes.lake.keys().is_empty(), "the objects were written");
    append_events(&sim, 25).await;
    let retry = run(&poller, "run-2").await;
    assert!(retry.error.is_none(), "{:?}", retry.error);
    let (ids, rows) = lake_ids(&fakes);
    assert_eq!(ids, all_events(&sim).await);
    assert_eq!(
        rows, 325,
        "marks written with each object: the retry adds only the new"
    );
    assert_eq!(fakes.lake.collisions(), 0);
}

#[tokio::test]
async fn a_run_whose_lease_was_taken_writes_nothing_to_the_lake() {
    let sim = okta(120).await;
    let fakes = MemoryPorts::new(Arc::new(SystemClock));
    let key = StreamKey::new("acme", "logs");
    // The run's lease is taken while its last page is on the bus (a run that outlived its
    // lease, or a second process with the same owner name): its flush must not happen.
    let streams = fakes.streams.clone();
    let stolen = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sink = {
        let (key, stolen) = (key.clone(), stolen.clone());
        MemorySink::with_rule(move |_| {
            if !stolen.swap(true, Ordering::SeqCst) {
                streams.steal(&key, "thief");
            }
            None
        })
    };
    let mut fakes = fakes;
    fakes.sink = Arc::new(sink);
    fakes.secrets.put(
        ARN,
        &json!({"org_url": sim.url, "api_token": TOKEN}).to_string(),
    );
    let poller = lake_poller(&fakes, r#","logs":{"page_size":200}"#, "");
    let stale = run(&poller, "run-1").await;
    assert!(stale.error.is_some(), "the stale run fails");
    assert!(
        fakes.lake.keys().is_empty(),
        "no object from a run without its lease: {:?}",
        fakes.lake.keys()
    );
    assert_eq!(fakes.dedupe.len(), 120, "only the bus's marks");
    // Once the thief's lease is gone, the next run writes them.
    fakes.streams.expire(&key);
    let next = run(&poller, "run-2").await;
    assert!(next.error.is_none(), "{:?}", next.error);
    assert_eq!(lake_ids(&fakes).0, all_events(&sim).await);
}

#[tokio::test]
async fn a_sparse_event_without_published_keeps_its_identity_on_both_paths_and_in_the_lake() {
    let sim = okta(0).await;
    let fakes = fakes(&sim, MemorySink::default());
    let push = lake_push(&fakes, r#","output":"both""#, STAGING);
    // Pushed: a type, an id, and a `published` that is no time.
    let pushed =
        json!({"uuid": "sparse-push", "eventType": "user.session.start", "published": "yesterday"});
    let mut envelope = partner_envelope(&pushed);
    envelope["time"] = json!(Utc::now().to_rfc3339());
    let payload = serde_json::value::RawValue::from_string(envelope.to_string()).unwrap();
    push.handle(&payload).await.unwrap();
    // Pulled: a type and an id (Okta always sends `published`; the simulator fills it in).
    reqwest::Client::new()
        .post(format!("{}/__sim/events", sim.url))
        .json(&json!({"events": [{"uuid": "sparse-pull", "eventType": "user.account.lock"}]}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let poller = lake_poller(&fakes, r#","output":"both""#, STAGING);
    let pulled = run(&poller, "run-1").await;
    assert!(pulled.error.is_none(), "{:?}", pulled.error);
    write_lake(&fakes).await;
    let ocsf: Vec<Value> = fakes
        .sink
        .accepted()
        .iter()
        .filter(|e| e.detail_type.starts_with("OCSF "))
        .map(|e| serde_json::from_str(&e.detail).unwrap())
        .collect();
    let by_uid = |uid: &str| {
        ocsf.iter()
            .find(|e| e["metadata"]["uid"] == uid)
            .unwrap_or_else(|| panic!("an OCSF record with metadata.uid {uid}: {ocsf:?}"))
    };
    let session = by_uid("sparse-push");
    assert_eq!(session["class_name"], "Authentication");
    let labels = session["metadata"]["labels"].as_array().unwrap();
    assert!(
        labels.contains(&json!("okta-relay.time=receipt"))
            && labels.contains(&json!("okta-relay.missing=user")),
        "{session}"
    );
    let lock = by_uid("sparse-pull");
    assert_eq!(
        (&lock["class_name"], &lock["activity_name"]),
        (&json!("Account Change"), &json!("Lock"))
    );
    let (ids, _) = lake_ids(&fakes);
    assert!(
        ids.contains("sparse-push") && ids.contains("sparse-pull"),
        "{ids:?}"
    );
}

#[tokio::test]
async fn a_reset_names_the_window_it_skips_from_what_the_stream_last_read() {
    use okta_relay::operator::{Skipped, skipped_by_reset};
    use okta_relay::ports::{HealthStore, RunRecord};
    let fakes = MemoryPorts::new(Arc::new(SystemClock));
    let config = config();
    let key = StreamKey::new("acme", "logs");
    let now = Utc::now();
    // No health record: the relay cannot tell what it read.
    assert!(matches!(
        skipped_by_reset(&config, &key, fakes.health.as_ref(), now)
            .await
            .unwrap(),
        Skipped::Unknown { .. }
    ));
    // The stream stopped 30 hours ago; the lookback is 24 hours: six hours are skipped.
    let stopped = now - chrono::Duration::hours(30);
    let run = RunRecord {
        newest_event_at: Some(stopped),
        ..RunRecord::default()
    };
    fakes
        .health
        .record_success(&key, stopped, &run)
        .await
        .unwrap();
    let skipped = skipped_by_reset(&config, &key, fakes.health.as_ref(), now)
        .await
        .unwrap();
    let Skipped::Window { from, until } = skipped else {
        panic!("{skipped:?}");
    };
    assert_eq!(from, stopped);
    assert_eq!(until, now - chrono::Duration::hours(24));
    assert!(
        skipped
            .explain("acme")
            .contains("okta-relay-ctl backfill --org acme --since")
    );
    // A directory stream's reset is a full sync: nothing is skipped.
    let users = StreamKey::new("acme", "users");
    assert_eq!(
        skipped_by_reset(&config, &users, fakes.health.as_ref(), now)
            .await
            .unwrap(),
        Skipped::Nothing
    );
}
