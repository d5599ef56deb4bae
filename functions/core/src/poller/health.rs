//! What the poller writes to stream health: each run's outcome, and the push path as the
//! stream watch sees it. Best effort: a health write that fails is logged and never fails a
//! run that delivered.

use super::PollerService;
use crate::config::{InventoryStream, OrgConfig};
use crate::ports::{Failure, HealthNote, HealthReport, StreamKey};
use crate::run::PollError;
use crate::stream::StreamId;
use crate::stream_watch::{self, PushState};
use crate::summary::StreamSummary;
use crate::{ErrorKind, Fault};
use chrono::{DateTime, Utc};

impl PollerService {
    /// A stream's health; one that cannot be read counts as absent (the stream polls).
    pub(super) async fn read_health(&self, key: &StreamKey) -> Option<HealthReport> {
        match self.ports.health.read(key).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "could not read stream health; polling anyway");
                None
            }
        }
    }

    /// Records a run's outcome. A run that caught up records that at the same instant as its
    /// success, so the schedule sees that the last run ended caught up. A run that found the
    /// lease held did nothing: the run holding it records the outcome.
    pub(super) async fn record(
        &self,
        key: &StreamKey,
        result: &Result<(), PollError>,
        summary: &StreamSummary,
    ) {
        let now = self.ports.clock.now();
        let written = match result {
            // Another run holds the lease (it records its own outcome), or the run was stopped
            // by its deadline or the rate limit before reading a page: not a success, or a
            // stream squeezed out run after run would never show as overdue.
            Ok(()) if summary.lease_busy || (summary.pages == 0 && stopped_early(summary)) => {
                return;
            }
            Ok(()) => {
                if summary.caught_up
                    && let Err(e) = self.ports.health.note(key, now, HealthNote::CaughtUp).await
                {
                    tracing::warn!(error = %e, "could not record stream health");
                }
                self.ports
                    .health
                    .record_success(key, now, &summary.run_record())
                    .await
            }
            Err(e) => {
                tracing::error!(kind = %e.kind(), fault = %e.fault(), error = %e, "stream run failed");
                let message = e.to_string();
                let failure = Failure {
                    kind: e.kind(),
                    fault: e.fault(),
                    message: &message,
                };
                self.ports.health.record_failure(key, now, &failure).await
            }
        };
        if let Err(e) = written {
            tracing::warn!(error = %e, "could not record stream health");
        }
    }

    /// A fan-out stream's health follows its parent's run (it runs inside it), except when Okta
    /// refused the child alone: then it is the child's configuration error, not the parent's.
    /// That error stays until the child is listed again: a parent run that read none of its
    /// listings (a delta with nothing moved) does not say it works.
    pub(super) async fn record_children(
        &self,
        org: &OrgConfig,
        stream: &InventoryStream,
        result: &Result<(), PollError>,
        summary: &StreamSummary,
    ) {
        for child in &stream.children {
            let key = StreamId::Directory(child.spec.name).key(&org.name);
            let refused = summary
                .refused_children
                .iter()
                .find(|(name, _)| *name == child.spec.name);
            if let Some((_, message)) = refused {
                let failure = Failure {
                    kind: ErrorKind::Configuration,
                    fault: Fault::OktaConfiguration,
                    message,
                };
                let now = self.ports.clock.now();
                if let Err(e) = self.ports.health.record_failure(&key, now, &failure).await {
                    tracing::warn!(error = %e, "could not record stream health");
                }
                continue;
            }
            let listed = summary.listed_children.contains(&child.spec.name);
            if result.is_ok() && !listed && self.refused_before(&key).await {
                continue;
            }
            let child_summary = StreamSummary {
                pages: summary.pages,
                caught_up: summary.caught_up,
                sync: summary.sync,
                lease_busy: summary.lease_busy,
                stopped_for_deadline: summary.stopped_for_deadline,
                stopped_for_rate_limit: summary.stopped_for_rate_limit,
                ..StreamSummary::default()
            };
            self.record(&key, result, &child_summary).await;
        }
    }

    /// Whether the stream's last word is a configuration error of Okta's not yet followed by a
    /// success (a refused fan-out stream).
    async fn refused_before(&self, key: &StreamKey) -> bool {
        self.read_health(key).await.is_some_and(|h| {
            h.last_error_fault == Some(Fault::OktaConfiguration)
                && h.last_error_at > h.last_success_at
        })
    }

    /// The org's push path as the stream watch sees it; a silent or stopped push path is
    /// recorded in its health so operators see it.
    pub(super) async fn watch_push(&self, org: &OrgConfig, now: DateTime<Utc>) -> PushState {
        let has_source = org.partner_event_source.is_some();
        let key = StreamId::Push.key(&org.name);
        let health = if has_source {
            self.read_health(&key).await
        } else {
            None
        };
        let state = stream_watch::push_state(now, &org.push, has_source, health.as_ref());
        if let Some((kind, fault, message)) = push_problem(&state, org) {
            tracing::warn!("{message}");
            let failure = Failure {
                kind,
                fault,
                message: &message,
            };
            if let Err(e) = self.ports.health.record_failure(&key, now, &failure).await {
                tracing::warn!(error = %e, "could not record push health");
            }
        }
        state
    }
}

/// The run stopped for its deadline or Okta's rate limit.
fn stopped_early(summary: &StreamSummary) -> bool {
    summary.stopped_for_deadline || summary.stopped_for_rate_limit
}

/// What a silent or stopped push path means for an operator.
fn push_problem(state: &PushState, org: &OrgConfig) -> Option<(ErrorKind, Fault, String)> {
    match state {
        PushState::Silent { last_event_at } => Some((
            ErrorKind::Transient,
            Fault::OktaTransient,
            format!(
                "no Okta Log Streaming event since {} (silence window {} s); polling the System Log to fill the gap",
                last_event_at.map_or("ever".to_string(), |t| t.to_rfc3339()),
                org.push.silence_window_seconds
            ),
        )),
        PushState::Stopped { event_type, at } => Some((
            ErrorKind::Configuration,
            Fault::OktaConfiguration,
            format!(
                "Okta log stream stopped ({event_type} at {}); re-activate it in Okta. Polling the System Log meanwhile",
                at.to_rfc3339()
            ),
        )),
        PushState::NotConfigured | PushState::Delivering => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::config::RelayConfig;
    use crate::ports::HealthStore;
    use crate::run::RunSettings;
    use crate::testing::MemoryPorts;
    use std::sync::Arc;

    const CONFIG: &str = r#"{"orgs":[{"name":"acme",
        "secret_arn":"arn:aws:secretsmanager:us-east-1:1:secret:x",
        "inventory":{"groups":{},"group_members":{},"group_roles":{}}}]}"#;

    fn report(refused: bool, listed: &[&'static str]) -> StreamSummary {
        StreamSummary {
            pages: 1,
            caught_up: true,
            refused_children: match refused {
                true => vec![("group_roles", "Okta answered 403".into())],
                false => Vec::new(),
            },
            listed_children: listed.to_vec(),
            ..StreamSummary::default()
        }
    }

    #[tokio::test]
    async fn a_refused_child_stays_an_error_until_a_run_lists_it_again() {
        let config = Arc::new(RelayConfig::from_json(CONFIG).unwrap());
        let fakes = MemoryPorts::new(Arc::new(SystemClock));
        let poller =
            PollerService::new(config.clone(), fakes.ports(), RunSettings::default()).unwrap();
        let org = &config.orgs[0];
        let groups = org.inventory_streams().remove(0);
        let roles = StreamId::Directory("group_roles").key("acme");
        let members = StreamId::Directory("group_members").key("acme");
        let state = || async {
            let h = fakes.health.read(&roles).await.unwrap().unwrap();
            h.last_error_at > h.last_success_at
        };
        // A full sync: Okta refuses the roles, lists the members.
        let ok = Ok(());
        let full = report(true, &["group_members"]);
        poller.record_children(org, &groups, &ok, &full).await;
        assert!(state().await, "refused: an error");
        // A delta that moved nothing lists neither: the error stays; the members follow it.
        poller
            .record_children(org, &groups, &ok, &report(false, &[]))
            .await;
        assert!(state().await, "not listed: still an error");
        let h = fakes.health.read(&members).await.unwrap().unwrap();
        assert!(
            h.last_success_at >= h.last_error_at,
            "group_members is fine"
        );
        // A run that lists the roles again (the scope was granted) clears it.
        let listed = report(false, &["group_members", "group_roles"]);
        poller.record_children(org, &groups, &ok, &listed).await;
        assert!(!state().await, "listed: healthy again");
    }
}
