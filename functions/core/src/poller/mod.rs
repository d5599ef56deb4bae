//! The pull path: the scheduled poller.
//!
//! One invocation walks every configured org and runs each due stream through the stream-run
//! loop ([`crate::run`]) with its source ([`crate::sources`]): the System Log streams first,
//! then the directory streams, so inventory never starves the System Log. Orgs are independent:
//! one org's failure is recorded in its health and the others keep running.

mod backoff;
mod health;
mod job;
mod lake_compaction;
pub use lake_compaction::LakeWrite;
mod org_clients;
mod schedule;

pub use backoff::{backoff_until, configuration_backoff};
pub use job::StreamJob;
pub use org_clients::{LOG_SCOPES, SECRET_TTL};
pub use schedule::{Due, DueReason, due, overdue_after, overdue_since};

pub use crate::ports::Ports as PollerPorts;
pub use crate::run::{CursorError, PollError, RunSettings, effective_deadline};
pub use crate::sources::{BackfillJob, BackfillProgress, DELTA_OVERLAP, LOGS_PATH, backfill_eta};
pub use crate::stream::BackfillWindow;
pub use crate::summary::{OrgOutcome, StreamSummary};

use crate::config::{OrgConfig, RelayConfig};
use crate::okta::OktaError;
use crate::ports::{OrgIdentity, Ports, RateLimitHeadroom};
use crate::run::StreamRun;
use chrono::{DateTime, Utc};
use org_clients::OrgClients;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// The poller: built once per Lambda container, run once per invocation.
pub struct PollerService {
    config: Arc<RelayConfig>,
    ports: Ports,
    settings: RunSettings,
    clients: OrgClients,
    /// Each org's identity as last looked for, and when ([`identified`](Self::identified)).
    okta_org_ids: std::sync::Mutex<std::collections::HashMap<String, LookedUp>>,
}

/// An org's identity as last looked for (`None`: not found), and when.
type LookedUp = (Option<OrgIdentity>, DateTime<Utc>);

pub use crate::limits::OKTA_ORG_ID_RECHECK;

impl PollerService {
    pub fn new(
        config: Arc<RelayConfig>,
        ports: Ports,
        mut settings: RunSettings,
    ) -> Result<Self, OktaError> {
        settings.client.user_agent = config.user_agent.clone();
        settings.deadline_margin = Duration::from_secs(config.deadline_margin_seconds);
        let http = settings.client.build_http()?;
        let clients = OrgClients::new(
            &config,
            http,
            settings.client.clone(),
            ports.secrets.clone(),
            ports.clock.clone(),
        );
        Ok(Self {
            config,
            ports,
            settings,
            clients,
            okta_org_ids: std::sync::Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// `org` with its Okta id: from this service's memory, else the state table, else Okta's
    /// `/.well-known/okta-organization` (then kept in the table, with the org URL it came from,
    /// for the push path and later runs). An id read from another org URL (the secret now points
    /// at another org) is read again. Never fails a run: its records then go without the id,
    /// and the id is looked for again after [`OKTA_ORG_ID_RECHECK`].
    async fn identified(&self, org: &OrgConfig, client: &crate::okta::OktaClient) -> OrgConfig {
        let mut org = org.clone();
        let org_url = client.org().as_url().as_str().to_string();
        let now = self.ports.clock.now();
        let cached = {
            let ids = self.okta_org_ids.lock().unwrap_or_else(|p| p.into_inner());
            ids.get(&org.name).cloned()
        };
        org.okta_org_id = match cached {
            Some((Some(known), _)) if known.org_url == org_url => Some(known.okta_org_id),
            Some((None, at)) if crate::clock::until(at, now) < OKTA_ORG_ID_RECHECK => None,
            _ => {
                let found = self.read_identity(&org.name, &org_url, client).await;
                let id = found.as_ref().map(|f| f.okta_org_id.clone());
                let mut ids = self.okta_org_ids.lock().unwrap_or_else(|p| p.into_inner());
                ids.insert(org.name.clone(), (found, now));
                id
            }
        };
        org
    }

    async fn read_identity(
        &self,
        org: &str,
        org_url: &str,
        client: &crate::okta::OktaClient,
    ) -> Option<OrgIdentity> {
        match self.ports.identities.identity(org).await {
            Ok(Some(kept)) if kept.org_url == org_url => return Some(kept),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not read the org's Okta id from the state table");
                return None;
            }
        }
        let identity = match client.organization_id().await {
            Ok(okta_org_id) => OrgIdentity {
                okta_org_id,
                org_url: org_url.to_string(),
            },
            Err(e) => {
                tracing::warn!(error = %e,
                    "could not read the org's Okta id; records go without it until it is read");
                return None;
            }
        };
        tracing::info!(okta_org_id = %identity.okta_org_id, "read the org's Okta id");
        if let Err(e) = self.ports.identities.remember(org, &identity).await {
            tracing::warn!(error = %e, "could not keep the org's Okta id in the state table");
        }
        Some(identity)
    }

    /// The configuration the service runs with.
    pub fn config(&self) -> &RelayConfig {
        &self.config
    }

    /// Runs every org's System Log stream, then every org's directory streams, until each is
    /// caught up or `deadline` approaches. `owner` identifies this invocation in leases (the
    /// Lambda request id).
    pub async fn run(&self, owner: &str, deadline: DateTime<Utc>) -> Vec<OrgOutcome> {
        self.run_orgs(owner, deadline, None).await
    }

    /// [`run`](Self::run) for `only` the org with that name (an org's own schedule), or for
    /// every org. A name no org has runs nothing.
    pub async fn run_orgs(
        &self,
        owner: &str,
        deadline: DateTime<Utc>,
        only: Option<&str>,
    ) -> Vec<OrgOutcome> {
        let orgs: Vec<&OrgConfig> = self
            .config
            .orgs
            .iter()
            .filter(|o| only.is_none_or(|name| name == o.name))
            .collect();
        tracing::info!(
            remaining_ms = (deadline - self.ports.clock.now()).num_milliseconds(),
            orgs = orgs.len(),
            only = only.unwrap_or("(all)"),
            "poller invocation started"
        );
        let mut outcomes = Vec::new();
        for org in orgs.iter().filter(|o| o.logs.enabled) {
            outcomes.push(self.run_stream(org, StreamJob::Logs, owner, deadline).await);
        }
        for org in &orgs {
            for stream in org.inventory_streams() {
                let job = StreamJob::Directory(&stream);
                outcomes.push(self.run_stream(org, job, owner, deadline).await);
            }
        }
        tracing::info!(
            streams = outcomes.len(),
            failed = outcomes.iter().filter(|o| o.error.is_some()).count(),
            forwarded = outcomes.iter().map(|o| o.summary.forwarded).sum::<u64>(),
            pages = outcomes.iter().map(|o| o.summary.pages).sum::<u64>(),
            "poller invocation finished"
        );
        outcomes
    }

    /// Reads one System Log window of `org` (see [`BackfillJob`]); `None` if no org has that
    /// name. Unlike the scheduled streams, a backfill ignores the backoff: an operator running
    /// it wants the answer now.
    pub async fn backfill(
        &self,
        org: &str,
        job: &BackfillJob<'_>,
        owner: &str,
        deadline: DateTime<Utc>,
    ) -> Option<OrgOutcome> {
        let org = self.config.orgs.iter().find(|o| o.name == org)?;
        Some(
            self.run_stream(org, StreamJob::Backfill(job), owner, deadline)
                .await,
        )
    }

    /// One stream, in a span of its own: backoff, due, run, health.
    async fn run_stream(
        &self,
        org: &OrgConfig,
        job: StreamJob<'_>,
        owner: &str,
        deadline: DateTime<Utc>,
    ) -> OrgOutcome {
        let id = job.id();
        let span = tracing::info_span!("stream", org = %org.name, stream = %id);
        async {
            let mut outcome = OrgOutcome::new(&org.name, &id.name());
            let Some(caught_up_at) = self.due(org, job, &mut outcome).await else {
                return outcome;
            };
            let key = id.key(&org.name);
            let mut summary = StreamSummary::default();
            let result = self
                .run_with_retry(org, job, owner, deadline, &mut summary)
                .await;
            if matches!(job, StreamJob::Logs)
                && summary.lag_seconds.is_none()
                && !summary.lease_busy
            {
                summary.lag_seconds =
                    lag_without_events(&summary, caught_up_at, self.ports.clock.now());
            }
            self.record(&key, &result, &summary).await;
            if let StreamJob::Directory(stream) = job {
                self.record_children(org, stream, &result, &summary).await;
            }
            tracing::info!(
                pages = summary.pages,
                forwarded = summary.forwarded,
                duplicates = summary.duplicates,
                oversize = summary.oversize,
                quarantined = summary.quarantined,
                lag_seconds = summary.lag_seconds,
                caught_up = summary.caught_up,
                ok = result.is_ok(),
                "stream run finished"
            );
            outcome.summary = summary;
            if let Err(e) = result {
                outcome.error = Some(e.to_string());
                outcome.error_kind = Some(e.kind());
                outcome.error_fault = Some(e.fault());
            }
            outcome
        }
        .instrument(span)
        .await
    }

    /// Whether the stream runs now, with when it last caught up (`Some`); if not (`None`),
    /// `outcome` says why (backoff, or not before) and, for the System Log, its lag. Either way
    /// `outcome` says whether the stream is overdue.
    async fn due(
        &self,
        org: &OrgConfig,
        job: StreamJob<'_>,
        outcome: &mut OrgOutcome,
    ) -> Option<Option<DateTime<Utc>>> {
        let key = job.id().key(&org.name);
        let now = self.ports.clock.now();
        let health = self.read_health(&key).await;
        let slack = Duration::from_secs(self.config.overdue_slack_seconds);
        outcome.overdue = job.scheduled()
            && health
                .as_ref()
                .and_then(|h| overdue_since(org, job.id(), h, slack, now))
                .is_some();
        let caught_up_at = health.as_ref().and_then(|h| h.caught_up_at);
        if matches!(job, StreamJob::Logs) {
            outcome.push = Some(self.watch_push(org, now).await);
        }
        let backing_off = health.as_ref().and_then(|h| backoff_until(h, now));
        if let Some(until) = backing_off.filter(|_| job.scheduled()) {
            tracing::warn!(until = %until,
                "stream stopped by an error a retry cannot fix; fix the secret or configuration (retrying with backoff)");
            outcome.backoff_until = Some(until);
            return None;
        }
        let snapshot = match job {
            StreamJob::Directory(_) => {
                self.ports.streams.snapshot(&key).await.unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "could not read the stream's cursor; trying to run");
                    None
                })
            }
            _ => None,
        };
        match job.due(
            org,
            health.as_ref(),
            outcome.push.as_ref(),
            snapshot.as_ref(),
            now,
        ) {
            Ok(reason) => {
                outcome.due_reason = Some(reason);
                Some(caught_up_at)
            }
            Err(next) => {
                tracing::info!(next_poll_at = %next, "caught up; interval not over");
                outcome.next_poll_at = Some(next);
                // Caught up and resting by the schedule's own choice: no lag to report but 0
                // (an idle org reads 0; a starved or failing stream is due and reports its own).
                if matches!(job, StreamJob::Logs) {
                    outcome.summary.lag_seconds = Some(0);
                }
                None
            }
        }
    }

    /// The run; after an authentication failure, once more if the org's secret changed (a
    /// rotated secret takes effect now; an unchanged one means the failure is real).
    async fn run_with_retry(
        &self,
        org: &OrgConfig,
        job: StreamJob<'_>,
        owner: &str,
        deadline: DateTime<Utc>,
        summary: &mut StreamSummary,
    ) -> Result<(), PollError> {
        let first = self
            .run_with_client(org, job, owner, deadline, summary, false)
            .await;
        match first {
            Err(e) if e.is_authentication_failure() => {
                match self
                    .run_with_client(org, job, owner, deadline, summary, true)
                    .await
                {
                    Err(PollError::AuthenticationUnchanged) => Err(e),
                    retried => retried,
                }
            }
            other => other,
        }
    }

    /// One run with the org's client; with `fresh_secret`, only if re-reading the secret found
    /// new credentials (otherwise the earlier failure stands).
    async fn run_with_client(
        &self,
        org: &OrgConfig,
        job: StreamJob<'_>,
        owner: &str,
        deadline: DateTime<Utc>,
        summary: &mut StreamSummary,
        fresh_secret: bool,
    ) -> Result<(), PollError> {
        let client = self
            .clients
            .client(&org.name, &org.secret_arn, fresh_secret)
            .await?;
        if fresh_secret {
            if !client.secret_changed {
                return Err(PollError::AuthenticationUnchanged);
            }
            tracing::info!("the org's secret changed; retrying with the new credentials");
        }
        // Waits end before the deadline's safety margin: the run then stops cleanly.
        let client = client.client.with_deadline(self.settings.stop_by(deadline));
        let delivery = self.config.delivery_policy();
        let key = job.id().key(&org.name);
        let sink = self.ports.sinks.sink(&org.name, &org.sink);
        let run = StreamRun {
            ports: &self.ports,
            sink: sink.as_ref(),
            settings: &self.settings,
            delivery: &delivery,
            mark_ttl: self.config.dedupe_ttl(),
            client: &client,
            key: &key,
            owner,
            deadline,
            lake: self.config.lake(),
        };
        let org = self.identified(org, &client).await;
        let mut source = job.source(&org);
        let result = run.run(source.as_mut(), summary).await;
        summary.rate_limit = headroom(&client, &job).or(summary.rate_limit);
        result
    }
}

/// The System Log's lag after a run that read no event: 0 when it caught up, else the time
/// since it last did (a run stopped before its first page, or failed). Never caught up: unknown.
fn lag_without_events(
    summary: &StreamSummary,
    caught_up_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<i64> {
    if summary.caught_up {
        Some(0)
    } else {
        caught_up_at.map(|t| (now - t).num_seconds().max(0))
    }
}

/// The stream's bucket as the org's limiter last saw it, once Okta told its limit.
fn headroom(client: &crate::okta::OktaClient, job: &StreamJob<'_>) -> Option<RateLimitHeadroom> {
    client
        .limiter()
        .headroom(&job.bucket())
        .filter(|(_, limit)| *limit > 0)
        .map(|(remaining, limit)| RateLimitHeadroom { remaining, limit })
}
