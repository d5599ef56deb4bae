//! The pull path: the scheduled poller.
//!
//! One invocation walks every configured org and, for each enabled stream, takes the stream's
//! lease, resumes from its cursor, forwards what Okta returns, and moves the cursor only after
//! the sink acknowledged every record of the page. Orgs are independent: one org's failure is
//! recorded in its health and the others keep running.

mod backfill;
mod inventory_stream;
mod lease;
mod log_stream;
mod org_clients;
mod schedule;

use org_clients::OrgClients;
pub use org_clients::{LOG_SCOPES, SECRET_TTL};

pub use backfill::{BackfillJob, BackfillProgress, BackfillWindow, eta as backfill_eta};
pub use inventory_stream::{DELTA_OVERLAP, InventoryRun};
pub use log_stream::{LOGS_PATH, LogStreamRun, StreamSummary};
pub use schedule::{Due, DueReason, due};

use crate::clock::Clock;
use crate::config::{OrgConfig, RelayConfig};
use crate::inventory::object::InvalidObject;
use crate::inventory::{InventoryCursor, InventoryDue, InventoryStream};
use crate::okta::{ClientSettings, OktaError, RateLimitBucket};
use crate::pipeline::{DeliveryPolicy, ForwardError};
use crate::ports::{
    DedupeStore, EventSink, HealthNote, HealthReport, HealthStore, Lease, RateLimitHeadroom,
    SecretError, SecretSource, StateError, StreamKey, StreamStateStore,
};
use crate::record::SyncMode;
use crate::stream_watch::{self, PushState};
use crate::{ErrorKind, pipeline::log_event::InvalidLogEvent};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Why a stream's run failed.
#[derive(Debug, Error)]
pub enum PollError {
    #[error("{0}")]
    Secret(#[from] SecretError),
    #[error("org secret: {0}")]
    Credentials(#[from] crate::okta::credentials::CredentialsError),
    #[error("{0}")]
    Okta(#[from] OktaError),
    #[error("{0}")]
    State(#[from] StateError),
    #[error("{0}")]
    Forward(#[from] ForwardError),
    #[error("Okta sent an unusable System Log event: {0}")]
    Event(#[from] InvalidLogEvent),
    #[error("Okta sent an unusable directory object: {0}")]
    Object(#[from] InvalidObject),
    #[error("{0}")]
    Cursor(#[from] CursorError),
    /// Re-reading the secret after an authentication failure found it unchanged (internal: the
    /// original failure is what gets reported).
    #[error("the org's secret is unchanged")]
    AuthenticationUnchanged,
}

/// A stored cursor the stream cannot go on from. Starting over silently could skip or repeat
/// a window, so the stream stops (a configuration error, retried with backoff) and the message
/// names the fix.
#[derive(Debug, Error)]
pub enum CursorError {
    #[error(
        "the stored System Log cursor points at {stored}, not at the org's URL {org} (did the org move to another domain?); \
         check the org URL in its secret, then run `okta-relay-ctl reset-cursor --org <org> --stream logs` to start again from the lookback window"
    )]
    ForeignOrigin { stored: String, org: String },
    #[error(
        "the stored System Log cursor is not a URL; run `okta-relay-ctl reset-cursor --org <org> --stream logs` to start again from the lookback window"
    )]
    NotAUrl,
    #[error("{0}")]
    Directory(#[from] crate::inventory::cursor::UnreadableCursor),
    #[error(
        "the directory cursor would be {bytes} bytes, more than the state table's item can hold"
    )]
    TooLarge { bytes: usize },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_deadline_is_used_only_when_plausible() {
        let now = DateTime::<Utc>::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
        let fallback = Duration::from_secs(240);
        let real = now + chrono::Duration::seconds(300);
        assert_eq!(
            effective_deadline(real.timestamp_millis() as u64, now, fallback),
            (real, false)
        );
        for bogus in [
            0,
            (now - chrono::Duration::seconds(1)).timestamp_millis() as u64,
            (now + chrono::Duration::hours(1)).timestamp_millis() as u64,
            u64::MAX,
        ] {
            let (deadline, fell_back) = effective_deadline(bogus, now, fallback);
            assert!(fell_back, "{bogus}");
            assert_eq!(deadline, now + chrono::Duration::seconds(240));
        }
    }

    #[test]
    fn configuration_backoff_doubles_and_is_capped() {
        let minutes: Vec<u64> = (1..=9)
            .map(|n| configuration_backoff(n).as_secs() / 60)
            .collect();
        assert_eq!(minutes, [5, 10, 20, 40, 80, 160, 320, 360, 360]);
        assert_eq!(configuration_backoff(u64::MAX).as_secs(), 360 * 60);
    }
}

impl PollError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            PollError::Secret(e) => e.kind(),
            PollError::Credentials(_) => ErrorKind::Configuration,
            PollError::Okta(e) => e.kind(),
            PollError::State(e) => e.kind(),
            PollError::Forward(e) => e.kind(),
            PollError::Event(_) | PollError::Object(_) => ErrorKind::Permanent,
            PollError::Cursor(CursorError::TooLarge { .. }) => ErrorKind::Permanent,
            PollError::Cursor(_) => ErrorKind::Configuration,
            PollError::AuthenticationUnchanged => ErrorKind::Configuration,
        }
    }
}

/// The ports the poller uses.
#[derive(Clone)]
pub struct PollerPorts {
    pub secrets: Arc<dyn SecretSource>,
    pub streams: Arc<dyn StreamStateStore>,
    pub dedupe: Arc<dyn DedupeStore>,
    pub health: Arc<dyn HealthStore>,
    pub sink: Arc<dyn EventSink>,
    pub clock: Arc<dyn Clock>,
}

/// Tunables of a run that are not part of the user configuration.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub client: ClientSettings,
    /// Stop taking new pages when less than this is left before the deadline.
    pub deadline_margin: Duration,
    pub lease_ttl: Duration,
}

impl RunSettings {
    /// The settings the configuration asks for.
    pub fn from_config(config: &RelayConfig) -> Self {
        Self {
            deadline_margin: Duration::from_secs(config.deadline_margin_seconds),
            lease_ttl: config.lease_ttl(),
            ..Self::default()
        }
    }
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            client: ClientSettings::default(),
            deadline_margin: Duration::from_secs(45),
            lease_ttl: Duration::from_secs(120),
        }
    }
}

/// What one org's stream did in an invocation.
#[derive(Debug, Clone, Serialize)]
pub struct OrgOutcome {
    pub org: String,
    pub stream: String,
    #[serde(flatten)]
    pub summary: StreamSummary,
    pub error: Option<String>,
    pub error_kind: Option<ErrorKind>,
    /// The stream is backing off after configuration errors and was not polled.
    pub backoff_until: Option<DateTime<Utc>>,
    /// Why the stream polled, or `None` when it did not.
    pub due_reason: Option<DueReason>,
    /// Caught up and within its interval: not polled, next poll at this time.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// The org's push path as the stream watch sees it (System Log streams only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushState>,
}

/// What a stream is: the System Log, a directory stream of the catalogue, or an operator's
/// System Log backfill window.
#[derive(Clone, Copy)]
enum StreamJob<'a> {
    Logs,
    Inventory(&'a InventoryStream),
    Backfill(&'a BackfillJob<'a>),
}

impl StreamJob<'_> {
    fn name(&self) -> String {
        match self {
            StreamJob::Logs => crate::pipeline::log_event::LOGS_STREAM.to_string(),
            StreamJob::Inventory(stream) => stream.spec.name.to_string(),
            StreamJob::Backfill(job) => job.window.stream_name(),
        }
    }

    /// The Okta rate-limit bucket the stream spends.
    fn bucket(&self) -> RateLimitBucket {
        match self {
            StreamJob::Logs | StreamJob::Backfill(_) => {
                RateLimitBucket::for_path(log_stream::LOGS_PATH)
            }
            StreamJob::Inventory(stream) => RateLimitBucket::for_path(stream.spec.path),
        }
    }
}

/// Renews a held lease when less than half of it is left, so a slow page does not lose it.
async fn keep_lease(
    ports: &PollerPorts,
    settings: &RunSettings,
    lease: &mut Lease,
) -> Result<(), PollError> {
    if crate::clock::until(ports.clock.now(), lease.expires_at) < settings.lease_ttl / 2 {
        *lease = ports.streams.renew(lease, settings.lease_ttl).await?;
    }
    Ok(())
}

/// Fetches one page while holding the stream's lease. The client sleeps through a rate-limit
/// wait only while the lease surely lasts; a longer wait that still fits in the run is slept
/// here, in steps that renew the lease, so waiting for Okta's reset never costs the run its
/// lease (and with it the cursor). A wait beyond the run's deadline comes back as
/// [`OktaError::RateLimited`] for the stream to stop cleanly.
async fn fetch_page<T: serde::de::DeserializeOwned>(
    ports: &PollerPorts,
    settings: &RunSettings,
    client: &crate::okta::OktaClient,
    lease: &mut Lease,
    deadline: DateTime<Utc>,
    url: &url::Url,
) -> Result<crate::okta::Page<T>, PollError> {
    let step = settings.lease_ttl / 4;
    let stop_by =
        deadline - chrono::Duration::from_std(settings.deadline_margin).unwrap_or_default();
    loop {
        keep_lease(ports, settings, lease).await?;
        let hold = lease.expires_at - chrono::Duration::from_std(step).unwrap_or_default();
        match client
            .clone()
            .with_deadline(hold.min(stop_by))
            .get_page(url)
            .await
        {
            Err(OktaError::RateLimited { retry_after, .. })
                if ports.clock.now()
                    + chrono::Duration::from_std(retry_after).unwrap_or_default()
                    < stop_by =>
            {
                tracing::info!(stream = %lease.key, wait_ms = retry_after.as_millis() as u64,
                    "waiting for Okta's rate-limit reset; the lease is kept meanwhile");
                let mut left = retry_after;
                while !left.is_zero() {
                    let nap = left.min(step);
                    tokio::time::sleep(nap).await;
                    left -= nap;
                    keep_lease(ports, settings, lease).await?;
                }
            }
            other => return other.map_err(PollError::from),
        }
    }
}

/// Forwards one page's records while holding the stream's lease: the lease is renewed before
/// every PutEvents request, so a slow delivery never outlives it.
#[allow(clippy::too_many_arguments)]
async fn forward_page(
    ports: &PollerPorts,
    settings: &RunSettings,
    lease: &mut Lease,
    delivery: &DeliveryPolicy,
    mark_ttl: Duration,
    marks: crate::pipeline::MarkPolicy,
    records: Vec<crate::pipeline::PendingRecord>,
) -> Result<crate::pipeline::ForwardReport, PollError> {
    let keeper = lease::LeaseKeeper::new(
        ports.streams.as_ref(),
        ports.clock.as_ref(),
        settings.lease_ttl,
        lease.clone(),
    );
    let forwarder = crate::pipeline::Forwarder {
        dedupe: ports.dedupe.as_ref(),
        sink: ports.sink.as_ref(),
        policy: delivery,
        mark_ttl,
        marks,
        heartbeat: Some(&keeper),
    };
    let report = forwarder.forward(records).await;
    *lease = keeper.into_lease();
    Ok(report?)
}

/// Gives a lease up at the end of a run (best effort: it also expires by itself).
async fn release_lease(ports: &PollerPorts, lease: &Lease) {
    if let Err(e) = ports.streams.release_lease(lease).await {
        tracing::warn!(stream = %lease.key, error = %e, "could not release the lease; it will expire");
    }
}

/// The deadline a run works to: the runtime's (Lambda's invocation deadline), unless it is not
/// in the future or beyond Lambda's 15-minute maximum (local emulators send none), in which case
/// `now + fallback`. The flag says whether the fallback was used.
pub fn effective_deadline(
    runtime_deadline_ms: u64,
    now: DateTime<Utc>,
    fallback: Duration,
) -> (DateTime<Utc>, bool) {
    let runtime = i64::try_from(runtime_deadline_ms)
        .ok()
        .and_then(DateTime::<Utc>::from_timestamp_millis);
    match runtime {
        Some(d) if d > now && d <= now + chrono::Duration::minutes(15) => (d, false),
        _ => (
            now + chrono::Duration::from_std(fallback).unwrap_or_default(),
            true,
        ),
    }
}

/// After `failures` consecutive configuration errors, wait 5 min × 2^(failures−1), at most 6 h:
/// a wrong token is retried, but never in a storm.
pub fn configuration_backoff(failures: u64) -> Duration {
    let minutes = 5u64.saturating_mul(1 << failures.saturating_sub(1).min(10));
    Duration::from_secs(minutes.min(360) * 60)
}

/// `Some(until)` while a stream's last failures were configuration or permanent errors (a
/// retry gives the same answer until someone changes something) and their backoff
/// ([`configuration_backoff`]) has not passed at `now`.
pub fn backoff_until(health: &HealthReport, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let stops = matches!(
        health.last_error_kind,
        Some(ErrorKind::Configuration | ErrorKind::Permanent)
    );
    if !stops || health.consecutive_failures == 0 {
        return None;
    }
    let backoff =
        chrono::Duration::from_std(configuration_backoff(health.consecutive_failures)).ok()?;
    let until = health.last_error_at? + backoff;
    (now < until).then_some(until)
}

/// The poller: built once per Lambda container, run once per invocation.
pub struct PollerService {
    config: Arc<RelayConfig>,
    ports: PollerPorts,
    settings: RunSettings,
    clients: OrgClients,
}

impl PollerService {
    pub fn new(
        config: Arc<RelayConfig>,
        ports: PollerPorts,
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
        })
    }

    /// The configuration the service runs with.
    pub fn config(&self) -> &RelayConfig {
        &self.config
    }

    /// Runs every org's System Log stream, then every org's directory streams, until each is
    /// caught up or `deadline` approaches. The System Log goes first: inventory must never
    /// starve it. `owner` identifies this invocation in leases (the Lambda request id).
    pub async fn run(&self, owner: &str, deadline: DateTime<Utc>) -> Vec<OrgOutcome> {
        tracing::info!(
            owner,
            remaining_ms = (deadline - self.ports.clock.now()).num_milliseconds(),
            orgs = self.config.orgs.len(),
            "poller invocation started"
        );
        let mut outcomes = Vec::new();
        for org in self.config.orgs.iter().filter(|o| o.logs.enabled) {
            outcomes.push(self.run_stream(org, StreamJob::Logs, owner, deadline).await);
        }
        for org in &self.config.orgs {
            for stream in org.inventory_streams() {
                outcomes.push(
                    self.run_stream(org, StreamJob::Inventory(&stream), owner, deadline)
                        .await,
                );
            }
        }
        tracing::info!(
            owner,
            streams = outcomes.len(),
            failed = outcomes.iter().filter(|o| o.error.is_some()).count(),
            forwarded = outcomes.iter().map(|o| o.summary.forwarded).sum::<u64>(),
            pages = outcomes.iter().map(|o| o.summary.pages).sum::<u64>(),
            "poller invocation finished"
        );
        outcomes
    }

    /// Reads one System Log window of `org` (see [`BackfillJob`]); `None` if no org has that
    /// name. Unlike the scheduled streams, a backfill ignores the configuration-error backoff:
    /// an operator running it wants the answer now.
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

    /// Whether a stream polls now: `Ok(reason)`, or `Err(next poll time)`.
    async fn due_now(
        &self,
        org: &OrgConfig,
        key: &StreamKey,
        job: StreamJob<'_>,
        health: Option<&HealthReport>,
        push: Option<&PushState>,
        now: DateTime<Utc>,
    ) -> Result<DueReason, DateTime<Utc>> {
        match job {
            StreamJob::Logs => {
                let interval = Duration::from_secs(org.logs.interval_seconds);
                let push = push.cloned().unwrap_or(PushState::NotConfigured);
                match due(now, interval, health, &push) {
                    Due::Now(reason) => Ok(reason),
                    Due::NotBefore(next) => Err(next),
                }
            }
            StreamJob::Inventory(stream) => {
                // A look without the lease; the run decides again under it.
                let cursor = match self.ports.streams.snapshot(key).await {
                    Ok(snapshot) => match InventoryCursor::parse(
                        snapshot.as_ref().and_then(|s| s.cursor.as_deref()),
                    ) {
                        Ok(cursor) => cursor,
                        // The run reports it.
                        Err(_) => return Ok(DueReason::NotCaughtUp),
                    },
                    Err(e) => {
                        tracing::warn!(stream = %key, error = %e, "could not read the stream's cursor; trying to run");
                        return Ok(DueReason::NotCaughtUp);
                    }
                };
                match cursor.due(now, stream.interval, stream.delta_interval) {
                    InventoryDue::Resume(_) => Ok(DueReason::NotCaughtUp),
                    InventoryDue::Start(SyncMode::Full) => Ok(DueReason::FullSync),
                    InventoryDue::Start(SyncMode::Delta) => Ok(DueReason::Delta),
                    InventoryDue::NotBefore(next) => Err(next),
                }
            }
            // A finished window is not read again.
            StreamJob::Backfill(_) => match health.and_then(|h| h.caught_up_at) {
                Some(done) => Err(done),
                None => Ok(DueReason::Requested),
            },
        }
    }

    async fn run_stream(
        &self,
        org: &OrgConfig,
        job: StreamJob<'_>,
        owner: &str,
        deadline: DateTime<Utc>,
    ) -> OrgOutcome {
        let key = StreamKey::new(&org.name, job.name());
        let now = self.ports.clock.now();
        let health = self.read_health(&key).await;
        let push = match job {
            StreamJob::Logs => Some(self.watch_push(org, now).await),
            StreamJob::Inventory(_) | StreamJob::Backfill(_) => None,
        };
        let mut outcome = OrgOutcome {
            org: org.name.clone(),
            stream: key.stream.clone(),
            summary: StreamSummary::default(),
            error: None,
            error_kind: None,
            backoff_until: None,
            due_reason: None,
            next_poll_at: None,
            push,
        };
        let scheduled = !matches!(job, StreamJob::Backfill(_));
        if let Some(until) = health
            .as_ref()
            .and_then(|h| self.backing_off(h))
            .filter(|_| scheduled)
        {
            tracing::warn!(org = %org.name, stream = %key.stream, until = %until,
                "stream stopped by a configuration error; fix the secret or configuration (retrying with backoff)");
            outcome.backoff_until = Some(until);
            return outcome;
        }
        match self
            .due_now(org, &key, job, health.as_ref(), outcome.push.as_ref(), now)
            .await
        {
            Err(next) => {
                tracing::info!(org = %org.name, stream = %key.stream, next_poll_at = %next, "caught up; interval not over");
                outcome.next_poll_at = Some(next);
                return outcome;
            }
            Ok(reason) => outcome.due_reason = Some(reason),
        }
        let mut summary = StreamSummary::default();
        let mut result = self
            .run_with_client(org, &key, job, owner, deadline, &mut summary, false)
            .await;
        if let Err(e) = &result
            && is_authentication_failure(e)
        {
            // A rotated secret takes effect now; an unchanged one means the failure is real.
            match self
                .run_with_client(org, &key, job, owner, deadline, &mut summary, true)
                .await
            {
                Err(PollError::AuthenticationUnchanged) => {}
                retried => result = retried,
            }
        }
        let now = self.ports.clock.now();
        let (error, error_kind) = match &result {
            Ok(()) => {
                // Same instant for both, so `due` sees that the last run ended caught up.
                if summary.caught_up
                    && let Err(e) = self
                        .ports
                        .health
                        .note(&key, now, HealthNote::CaughtUp)
                        .await
                {
                    tracing::warn!(org = %org.name, error = %e, "could not record stream health");
                }
                if let Err(e) = self
                    .ports
                    .health
                    .record_success(&key, now, &summary.run_record())
                    .await
                {
                    tracing::warn!(org = %org.name, error = %e, "could not record stream health");
                }
                (None, None)
            }
            Err(e) => {
                tracing::error!(org = %org.name, stream = %key.stream, kind = %e.kind(), error = %e, "stream run failed");
                if let Err(he) = self
                    .ports
                    .health
                    .record_failure(&key, now, e.kind(), &e.to_string())
                    .await
                {
                    tracing::warn!(org = %org.name, error = %he, "could not record stream health");
                }
                (Some(e.to_string()), Some(e.kind()))
            }
        };
        tracing::info!(org = %org.name, stream = %key.stream, pages = summary.pages, forwarded = summary.forwarded,
            duplicates = summary.duplicates, oversize = summary.oversize, lag_seconds = summary.lag_seconds,
            caught_up = summary.caught_up, ok = error.is_none(), "stream run finished");
        outcome.summary = summary;
        outcome.error = error;
        outcome.error_kind = error_kind;
        outcome
    }

    /// A stream's health; one that cannot be read counts as absent (the stream polls).
    async fn read_health(&self, key: &StreamKey) -> Option<HealthReport> {
        match self.ports.health.read(key).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(stream = %key, error = %e, "could not read stream health; polling anyway");
                None
            }
        }
    }

    /// The org's push path as the stream watch sees it; a silent or stopped push path is
    /// recorded in its health so operators see it.
    async fn watch_push(&self, org: &OrgConfig, now: DateTime<Utc>) -> PushState {
        let has_source = org.partner_event_source.is_some();
        let key = StreamKey::new(&org.name, stream_watch::PUSH_STREAM);
        let health = if has_source {
            self.read_health(&key).await
        } else {
            None
        };
        let state = stream_watch::push_state(now, &org.push, has_source, health.as_ref());
        let problem = match &state {
            PushState::Silent { last_event_at } => Some((
                ErrorKind::Transient,
                format!(
                    "no Okta Log Streaming event since {} (silence window {} s); polling the System Log to fill the gap",
                    last_event_at.map_or("ever".to_string(), |t| t.to_rfc3339()),
                    org.push.silence_window_seconds
                ),
            )),
            PushState::Stopped { event_type, at } => Some((
                ErrorKind::Configuration,
                format!(
                    "Okta log stream stopped ({event_type} at {}); re-activate it in Okta. Polling the System Log meanwhile",
                    at.to_rfc3339()
                ),
            )),
            PushState::NotConfigured | PushState::Delivering => None,
        };
        if let Some((kind, message)) = problem {
            tracing::warn!(org = %org.name, "{message}");
            if let Err(e) = self
                .ports
                .health
                .record_failure(&key, now, kind, &message)
                .await
            {
                tracing::warn!(org = %org.name, error = %e, "could not record push health");
            }
        }
        state
    }

    /// `Some(until)` while the stream's last failures were configuration errors and their backoff
    /// has not passed.
    fn backing_off(&self, health: &HealthReport) -> Option<DateTime<Utc>> {
        backoff_until(health, self.ports.clock.now())
    }

    /// One stream run with the org's client; with `fresh_secret`, only if re-reading the
    /// secret found new credentials (otherwise the earlier failure stands).
    #[allow(clippy::too_many_arguments)]
    async fn run_with_client(
        &self,
        org: &OrgConfig,
        key: &StreamKey,
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
            tracing::info!(org = %org.name, "the org's secret changed; retrying with the new credentials");
        }
        // Waits end before the deadline's safety margin: the run then stops cleanly.
        let stop_by = deadline
            - chrono::Duration::from_std(self.settings.deadline_margin).unwrap_or_default();
        let client = client.client.with_deadline(stop_by);
        let delivery = DeliveryPolicy {
            max_request_bytes: self.config.max_request_bytes,
            ..DeliveryPolicy::default()
        };
        let result = match job {
            StreamJob::Logs | StreamJob::Backfill(_) => {
                let run = LogStreamRun {
                    org,
                    client: &client,
                    ports: &self.ports,
                    delivery,
                    mark_ttl: self.config.dedupe_ttl(),
                    settings: &self.settings,
                    backfill: match job {
                        StreamJob::Backfill(backfill) => Some(backfill),
                        _ => None,
                    },
                };
                run.run(key, owner, deadline, summary).await
            }
            StreamJob::Inventory(stream) => {
                let run = InventoryRun {
                    org,
                    stream,
                    client: &client,
                    ports: &self.ports,
                    delivery,
                    mark_ttl: self.config.dedupe_ttl(),
                    settings: &self.settings,
                };
                run.run(key, owner, deadline, summary).await
            }
        };
        summary.rate_limit = headroom(&client, &job.bucket()).or(summary.rate_limit);
        result
    }
}

/// The bucket's headroom as the org's limiter last saw it, once Okta told its limit.
fn headroom(
    client: &crate::okta::OktaClient,
    bucket: &RateLimitBucket,
) -> Option<RateLimitHeadroom> {
    client
        .limiter()
        .headroom(bucket)
        .filter(|(_, limit)| *limit > 0)
        .map(|(remaining, limit)| RateLimitHeadroom { remaining, limit })
}

/// Okta refused the credentials (a 401, `E0000011`, or the token endpoint's refusal).
fn is_authentication_failure(e: &PollError) -> bool {
    match e {
        PollError::Okta(OktaError::Api { status, .. }) => *status == 401,
        PollError::Okta(OktaError::OAuth { .. }) => e.kind() == ErrorKind::Configuration,
        _ => false,
    }
}
