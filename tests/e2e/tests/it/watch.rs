//! The stream watch against moto and the simulator: a deactivated or silent Okta log stream
//! makes the reconciliation poller catch up, and the shared dedupe keeps the overlap harmless.

use crate::pull::{
    TOKEN, all_events, distinct, okta, poller_with, sim_call, sim_log_events, table,
};
use crate::support::{LocalStack, partner_envelope};
use okta_relay::ErrorKind;
use okta_relay::adapters::DynamoStateTable;
use okta_relay::poller::{DueReason, OrgOutcome, PollerService};
use okta_relay::ports::{HealthStore, StreamKey};
use okta_relay::push::PushService;
use okta_relay::stream::PUSH as PUSH_STREAM;
use okta_relay::stream_watch::PushState;
use serde_json::{Value, json};
use std::time::Duration;

const SOURCE: &str = "aws.partner/okta.com/acme/okta-relay";

/// Org settings for the hybrid setup: push primary, hourly reconciliation by the poller.
fn hybrid(silence_seconds: u64) -> String {
    format!(
        r#","partner_event_source":"{SOURCE}","push":{{"silence_window_seconds":{silence_seconds}}},"logs":{{"page_size":50,"interval_seconds":3600}}"#
    )
}

fn events_function(stack: &LocalStack, secret_arn: &str, extra: &str) -> PushService {
    crate::push::events_service(
        stack,
        &format!(r#"{{"orgs":[{{"name":"acme","secret_arn":"{secret_arn}"{extra}}}]}}"#),
    )
}

/// The poller with the hybrid settings.
fn reconciler(stack: &LocalStack, arn: &str, extra: &str) -> PollerService {
    poller_with(stack, arn, 50, extra, table(stack), Duration::from_secs(60))
}

async fn run(poller: &PollerService, owner: &str) -> OrgOutcome {
    let deadline = chrono::Utc::now() + chrono::Duration::minutes(2);
    let mut outcome = poller.run(owner, deadline).await;
    assert_eq!(outcome.len(), 1);
    let outcome = outcome.remove(0);
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    outcome
}

async fn push_health(table: &DynamoStateTable) -> okta_relay::ports::HealthReport {
    table
        .read(&StreamKey::new("acme", PUSH_STREAM))
        .await
        .unwrap()
        .expect("push health recorded")
}

/// A LogEvent the simulator writes and the push path delivers.
async fn append(sim: &okta_sim::RunningSim, event_type: &str) -> Value {
    let uuids = sim_call(
        sim,
        "/events",
        Some(json!({"events": [{"eventType": event_type, "displayMessage": "e2e", "severity": "INFO",
            "actor": {"id": "00u1", "type": "User", "alternateId": "admin@example.com", "displayName": "Admin"},
            "outcome": {"result": "SUCCESS"}}]})),
    )
    .await["uuids"]
        .clone();
    let uuid = uuids[0].as_str().unwrap().to_string();
    sim_log_events(sim)
        .await
        .into_iter()
        .find(|e| e["uuid"] == uuid.as_str())
        .unwrap()
}

#[tokio::test]
async fn a_deactivated_log_stream_makes_the_reconciliation_poller_catch_up() {
    let sim = okta(40).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let table = table(&stack);
    let events = events_function(&stack, &arn, &hybrid(0));
    let poller = reconciler(&stack, &arn, &hybrid(0));

    // Push delivers one event; the first reconciliation reads the backlog and skips that one.
    let pushed = append(&sim, "user.session.start").await;
    assert_eq!(
        events
            .handle(&raw(&partner_envelope(SOURCE, &pushed)))
            .await
            .unwrap()
            .forwarded,
        1
    );
    let first = run(&poller, "first").await;
    assert_eq!(first.due_reason, Some(DueReason::NotCaughtUp));
    assert_eq!((first.summary.forwarded, first.summary.duplicates), (40, 1));
    assert!(first.summary.caught_up);
    assert_eq!(first.push, Some(PushState::Delivering));

    // Caught up and within the hour: the next schedule does not poll.
    sim_call(&sim, "/events", Some(json!({"count": 10}))).await;
    let idle = run(&poller, "idle").await;
    assert_eq!((idle.due_reason, idle.summary.pages), (None, 0));
    assert!(idle.next_poll_at.is_some());

    // Okta deactivates the log stream: the lifecycle event asks for a catch-up.
    let deactivated = append(&sim, "system.log_stream.lifecycle.deactivate").await;
    events
        .handle(&raw(&partner_envelope(SOURCE, &deactivated)))
        .await
        .unwrap();
    let catch_up = run(&poller, "catch-up").await;
    assert_eq!(catch_up.due_reason, Some(DueReason::Requested));
    assert!(
        matches!(catch_up.push, Some(PushState::Stopped { .. })),
        "{:?}",
        catch_up.push
    );
    assert_eq!(
        (catch_up.summary.forwarded, catch_up.summary.duplicates),
        (10, 1),
        "the 10 events push missed; the lifecycle event it delivered is not sent twice"
    );
    let health = push_health(&table).await;
    assert_eq!(health.last_error_kind, Some(ErrorKind::Configuration));
    assert!(health.last_error.unwrap().contains("re-activate"));

    // While the stream stays deactivated, every schedule polls.
    sim_call(&sim, "/events", Some(json!({"count": 5}))).await;
    let while_stopped = run(&poller, "while-stopped").await;
    assert_eq!(while_stopped.due_reason, Some(DueReason::PushNeedsCatchUp));
    assert_eq!(while_stopped.summary.forwarded, 5);

    // Re-activated: back to the hourly reconciliation.
    let activated = append(&sim, "system.log_stream.lifecycle.activate").await;
    events
        .handle(&raw(&partner_envelope(SOURCE, &activated)))
        .await
        .unwrap();
    let back = run(&poller, "back-to-hourly").await;
    assert_eq!(back.push, Some(PushState::Delivering));
    assert_eq!(back.due_reason, None);

    let captured = stack.capture(100, Duration::from_secs(10)).await;
    assert_eq!(captured.len(), distinct(&captured).len(), "nothing twice");
    assert_eq!(distinct(&captured), all_events(&sim).await, "nothing lost");
}

#[tokio::test]
async fn a_silent_log_stream_is_recorded_and_polled_at_every_schedule() {
    let sim = okta(20).await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let table = table(&stack);
    let events = events_function(&stack, &arn, &hybrid(5));
    let poller = reconciler(&stack, &arn, &hybrid(5));

    let pushed = append(&sim, "user.session.start").await;
    events
        .handle(&raw(&partner_envelope(SOURCE, &pushed)))
        .await
        .unwrap();
    let first = run(&poller, "first").await;
    assert_eq!(first.summary.forwarded, 20);
    let idle = run(&poller, "idle").await;
    assert_eq!(idle.due_reason, None, "push delivered within the window");

    // Five seconds without a partner event: silent.
    tokio::time::sleep(Duration::from_millis(5500)).await;
    sim_call(&sim, "/events", Some(json!({"count": 3}))).await;
    let silent = run(&poller, "silent").await;
    assert!(
        matches!(silent.push, Some(PushState::Silent { .. })),
        "{:?}",
        silent.push
    );
    assert_eq!(silent.due_reason, Some(DueReason::PushNeedsCatchUp));
    assert_eq!(silent.summary.forwarded, 3);
    let health = push_health(&table).await;
    assert_eq!(health.last_error_kind, Some(ErrorKind::Transient));
    assert!(health.last_error.unwrap().contains("silence window"));

    // A partner event arrives: delivering again, and the push health says so.
    let next = append(&sim, "user.session.end").await;
    events
        .handle(&raw(&partner_envelope(SOURCE, &next)))
        .await
        .unwrap();
    assert_eq!(push_health(&table).await.consecutive_failures, 0);
}

fn raw(v: &Value) -> Box<serde_json::value::RawValue> {
    serde_json::value::RawValue::from_string(v.to_string()).unwrap()
}
