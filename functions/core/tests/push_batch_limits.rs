//! The events function's batch against its deadline and its own bugs: an org whose delivery is
//! slow, or whose handling panics, fails its own messages (delivered again by the queue) while
//! the other orgs of the batch are forwarded and answered; and an invocation from an Okta
//! partner source the configuration lacks makes the function read its stored configuration
//! again, as the poller does for an unknown org.

#![allow(clippy::unwrap_used)]

use async_trait::async_trait;
use chrono::Utc;
use okta_relay::clock::SystemClock;
use okta_relay::config::RelayConfig;
use okta_relay::ports::{EntryOutcome, EventSink, OneSink, SinkEntry, SinkError};
use okta_relay::push::{Message, PushError, PushService};
use okta_relay::testing::{MemoryPorts, MemorySink};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:okta-";

/// A sink that takes `delay` (or panics) for the records of one org, and passes the rest on.
struct TroubleFor {
    org: &'static str,
    trouble: Trouble,
    inner: MemorySink,
}

#[derive(Clone, Copy)]
enum Trouble {
    Slow(Duration),
    Panic,
}

#[async_trait]
impl EventSink for TroubleFor {
    async fn put(&self, entries: &[&SinkEntry]) -> Result<Vec<EntryOutcome>, SinkError> {
        let marker = format!("\"org\":\"{}\"", self.org);
        if entries.iter().any(|e| e.detail.contains(&marker)) {
            match self.trouble {
                Trouble::Slow(delay) => tokio::time::sleep(delay).await,
                Trouble::Panic => panic!("a bug while delivering the records of {}", self.org),
            }
        }
        self.inner.put(entries).await
    }
}

fn config() -> RelayConfig {
    let org = |name: &str| {
        json!({"name": name, "secret_arn": format!("{ARN}{name}-AbCdEf"),
            "partner_event_source": format!("aws.partner/okta.com/{name}/relay")})
    };
    RelayConfig::from_json(&json!({"orgs": [org("slow"), org("acme")]}).to_string()).unwrap()
}

fn service(trouble: Trouble) -> (PushService, Arc<TroubleFor>) {
    let fakes = MemoryPorts::new(Arc::new(SystemClock));
    let sink = Arc::new(TroubleFor {
        org: "slow",
        trouble,
        inner: MemorySink::default(),
    });
    let mut service = PushService::from_ports(Arc::new(config()), &fakes.ports());
    service.sinks = Arc::new(OneSink(sink.clone()));
    (service, sink)
}

/// `(messageId, body)` of a live partner event of `org`.
fn message(org: &str, uuid: &str) -> (String, Box<RawValue>) {
    let detail = json!({"uuid": uuid, "published": Utc::now().to_rfc3339(), "eventType": "user.session.start"});
    let envelope = json!({"version": "0", "id": uuid, "detail-type": "SystemLog",
        "source": format!("aws.partner/okta.com/{org}/relay"), "account": "1",
        "time": detail["published"], "region": "us-east-1", "resources": [], "detail": detail});
    (
        format!("m-{uuid}"),
        RawValue::from_string(envelope.to_string()).unwrap(),
    )
}

fn batch() -> Vec<(String, Box<RawValue>)> {
    // The troubled org first: handled in order, it would take the others' time.
    let mut all: Vec<_> = (0..3)
        .map(|i| message("slow", &format!("slow-{i}")))
        .collect();
    all.extend((0..4).map(|i| message("acme", &format!("acme-{i}"))));
    all
}

fn messages(batch: &[(String, Box<RawValue>)]) -> Vec<Message<'_>> {
    batch
        .iter()
        .map(|(id, body)| Message { id, body })
        .collect()
}

fn delivered(sink: &MemorySink) -> BTreeSet<String> {
    sink.accepted_uuids().into_iter().collect()
}

#[tokio::test]
async fn a_slow_org_misses_the_deadline_alone_and_its_messages_come_again() {
    let (push, sink) = service(Trouble::Slow(Duration::from_secs(30)));
    let batch = batch();
    let deadline = Utc::now()
        + chrono::Duration::from_std(okta_relay::limits::PUSH_DEADLINE_MARGIN).unwrap()
        + chrono::Duration::seconds(2);
    let started = std::time::Instant::now();
    let outcome = push
        .handle_batch_until(&messages(&batch), Some(deadline))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the batch ends by its deadline"
    );
    assert_eq!(outcome.summaries.len(), 1);
    assert_eq!(outcome.summaries[0].org, "acme");
    assert_eq!(outcome.summaries[0].forwarded, 4);
    assert_eq!(outcome.failures.len(), 1);
    let failure = &outcome.failures[0];
    assert!(
        matches!(&failure.error, PushError::Deadline { org } if org == "slow"),
        "{:?}",
        failure.error
    );
    assert_eq!(failure.error.kind(), okta_relay::ErrorKind::Transient);
    let ids: BTreeSet<&str> = failure.ids.iter().map(String::as_str).collect();
    assert_eq!(ids, BTreeSet::from(["m-slow-0", "m-slow-1", "m-slow-2"]));
    assert_eq!(
        delivered(&sink.inner),
        (0..4).map(|i| format!("acme-{i}")).collect()
    );
}

#[tokio::test]
async fn a_panic_while_forwarding_one_org_fails_only_that_orgs_messages() {
    let (push, sink) = service(Trouble::Panic);
    let batch = batch();
    let outcome = push.handle_batch(&messages(&batch)).await;
    assert_eq!(outcome.summaries.len(), 1, "{outcome:?}");
    assert_eq!(outcome.summaries[0].org, "acme");
    let failure = &outcome.failures[0];
    assert!(
        matches!(&failure.error, PushError::Panicked { org } if org == "slow"),
        "{:?}",
        failure.error
    );
    assert_eq!(failure.ids.len(), 3);
    assert_eq!(delivered(&sink.inner).len(), 4);
    let code = okta_relay::function_error::FunctionError::from(&failure.error).code;
    assert_eq!(code.to_string(), "OktaRelay.Internal");
}

#[tokio::test]
async fn an_event_from_a_partner_source_no_org_has_reads_the_stored_configuration_again() {
    use lambda_runtime::{Context, LambdaEvent};
    use okta_relay::clock::ManualClock;
    use okta_relay::config::LiveConfig;
    use okta_relay::testing::MemoryConfigStore;
    let only_slow = json!({"config_reload_seconds": 900, "orgs": [{"name": "slow",
        "secret_arn": format!("{ARN}slow-AbCdEf"), "partner_event_source": "aws.partner/okta.com/slow/relay"}]});
    let store = Arc::new(MemoryConfigStore::holding(&only_slow.to_string()));
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let fakes = MemoryPorts::new(clock.clone());
    let ports = fakes.ports();
    let live = LiveConfig::stored(
        store.clone(),
        Box::new(move |config: Arc<RelayConfig>| {
            let service = PushService::from_ports(config, &ports);
            Box::pin(async move { Ok(service) })
        }),
        clock.clone(),
    );
    let invoke = |org: &str, uuid: &str| {
        let (_, body) = message(org, uuid);
        LambdaEvent::new(body, Context::default())
    };
    live_forward(&live, invoke("slow", "first")).await.unwrap();
    // The operator adds acme; its Log Streaming starts long before the 15-minute reload.
    store.put(&config_json());
    clock.advance(Duration::from_secs(60));
    let answer = live_forward(&live, invoke("acme", "new-org")).await;
    assert_eq!(answer.unwrap()["forwarded"], 1, "read again, acme is known");
    assert_eq!(store.fetches(), 2);
    // A source that is still unknown is refused, and the store is not read at every event.
    let refused = live_forward(&live, invoke("other", "x")).await.unwrap_err();
    assert_eq!(
        lambda_runtime::Diagnostic::from(refused).error_type,
        "OktaRelay.UnknownSource"
    );
    assert_eq!(store.fetches(), 2, "read again at most every few seconds");
}

async fn live_forward(
    live: &okta_relay::config::LiveConfig<PushService>,
    event: lambda_runtime::LambdaEvent<Box<RawValue>>,
) -> Result<Value, okta_relay::function_error::FunctionError> {
    okta_relay::handlers::events_live(live, event).await
}

fn config_json() -> String {
    let org = |name: &str| {
        json!({"name": name, "secret_arn": format!("{ARN}{name}-AbCdEf"),
            "partner_event_source": format!("aws.partner/okta.com/{name}/relay")})
    };
    json!({"config_reload_seconds": 900, "orgs": [org("slow"), org("acme")]}).to_string()
}
