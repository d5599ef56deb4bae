//! The relay's configuration: one documented JSON schema, read the same way by both functions
//! from the environment, a file, an SSM parameter or an S3 object ([`ConfigSource`]), validated
//! at start-up with errors that name the field, and reloaded from a store ([`LiveConfig`]).
//!
//! It holds names and ARNs, never secret values: credentials live in Secrets Manager. Every
//! default is in [`defaults`], the one place the code and the documentation take them from.

pub mod defaults;
pub mod error;
pub mod inventory;
mod live;
pub mod security_lake;
mod source;
mod validate;

pub use error::ConfigError;
pub use live::{Build, LiveConfig};
pub use security_lake::SecurityLakeConfig;
pub use source::ConfigSource;

use crate::pipeline::EventTypeFilter;
use defaults::*;
use error::err;
pub use inventory::{InventoryConfig, InventoryStream, InventoryStreamConfig};
use serde::Deserialize;
use std::time::Duration;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    pub orgs: Vec<OrgConfig>,
    /// `User-Agent` sent to Okta. Default `okta-relay/<version>`.
    #[serde(default = "defaults::user_agent")]
    pub user_agent: String,
    /// Admit `http://` org URLs on loopback hosts (the local simulator). Never in production.
    #[serde(default)]
    pub allow_loopback_http: bool,
    /// Share of each Okta rate-limit bucket left for the org's other integrations.
    #[serde(default = "defaults::reserve")]
    pub rate_limit_reserve: f64,
    /// PutEvents request size limit in bytes (AWS: 256 KiB classic, 1 MiB since 2026).
    #[serde(default = "defaults::max_request_bytes")]
    pub max_request_bytes: usize,
    /// How long a dedupe mark suppresses the same id.
    #[serde(default = "defaults::dedupe_ttl_hours")]
    pub dedupe_ttl_hours: u64,
    /// The poller stops taking new pages when less than this is left before the Lambda deadline.
    #[serde(default = "defaults::deadline_margin_seconds")]
    pub deadline_margin_seconds: u64,
    /// How long a run may take when the runtime gives no usable deadline (local emulators).
    #[serde(default = "defaults::max_run_seconds")]
    pub max_run_seconds: u64,
    /// How long a stream lease lasts without renewal. The poller renews it between pages and
    /// around each delivery; a run that stalls longer loses it and cannot move the cursor.
    #[serde(default = "defaults::lease_seconds")]
    pub lease_seconds: u64,
    /// PutEvents requests a delivery keeps in flight at once (1–64).
    #[serde(default = "defaults::put_events_in_flight")]
    pub put_events_in_flight: usize,
    /// How long one attempt of an AWS call (DynamoDB, EventBridge, Secrets Manager) may take
    /// before it is abandoned and retried.
    #[serde(default = "defaults::aws_attempt_timeout_seconds")]
    pub aws_attempt_timeout_seconds: u64,
    /// How long an AWS call may take in all, its retries included. Keep it well under
    /// `deadline_margin_seconds`, so a stalled call ends inside the margin.
    #[serde(default = "defaults::aws_call_timeout_seconds")]
    pub aws_call_timeout_seconds: u64,
    /// How long one PutEvents attempt may take before it is abandoned and retried. Longer than
    /// `aws_attempt_timeout_seconds`: an attempt abandoned while the bus was still answering
    /// may have been delivered, and its retry makes duplicates. A PutEvents call may take two
    /// attempts and a second in all.
    #[serde(default = "defaults::put_events_attempt_timeout_seconds")]
    pub put_events_attempt_timeout_seconds: u64,
    /// A pull stream that has not succeeded within its interval plus this is `overdue` in
    /// `okta-relay-ctl status`: the schedule is not reaching it (a slow org taking the runs,
    /// a disabled schedule, a poller that cannot start).
    #[serde(default = "defaults::overdue_slack_seconds")]
    pub overdue_slack_seconds: u64,
    /// How often a configuration read from a store (SSM parameter, S3 object) is read again.
    #[serde(default = "defaults::config_reload_seconds")]
    pub config_reload_seconds: u64,
    /// OCSF objects to Amazon Security Lake custom sources, beside the delivery bus.
    #[serde(default)]
    pub security_lake: Option<SecurityLakeConfig>,
}

/// One Okta org.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgConfig {
    /// Short name used in state keys and forwarded records: `[a-z0-9][a-z0-9_-]*`, ≤ 64.
    pub name: String,
    /// Okta's id of the org, filled in at run time from the state table or Okta
    /// (`okta::organization`); never configured (`deny_unknown_fields` refuses it).
    #[serde(skip)]
    pub okta_org_id: Option<String>,
    /// ARN of the Secrets Manager secret with the org URL and credentials.
    pub secret_arn: String,
    /// The Okta Log Streaming partner event source (`aws.partner/okta.com/<org>/<name>`), if
    /// the org streams System Log events to EventBridge.
    #[serde(default)]
    pub partner_event_source: Option<String>,
    /// System Log polling.
    #[serde(default)]
    pub logs: LogStreamConfig,
    /// Which System Log event types to forward (both paths).
    #[serde(default)]
    pub event_types: EventTypeFilter,
    /// The push path's policies and the stream watch.
    #[serde(default)]
    pub push: PushConfig,
    /// Directory streams to collect, by name (`users`, `groups`, `group_members`, `apps`,
    /// `app_users`, `app_groups`, `idps`, `zones`, `clients`), each with optional settings.
    #[serde(default)]
    pub inventory: InventoryConfig,
    /// What the delivery bus gets for each event: the raw record, OCSF, or both.
    #[serde(default)]
    pub output: Output,
    /// Where the org's records go: `{"type": "event_bus"}` (the default: the delivery bus and
    /// its API destination) or `{"type": "firehose", "stream": "<delivery stream name>"}`.
    #[serde(default)]
    pub sink: crate::ports::SinkChoice,
    /// Whether the deployment delivers to Security Lake (`security_lake.enabled`), set when
    /// the configuration is read; never configured per org.
    #[serde(skip)]
    pub lake_delivery: bool,
}

/// What an org's events become on the delivery bus.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Output {
    /// The record as Okta sent it with the relay's metadata (`Okta System Log Event`, …).
    #[default]
    Raw,
    /// One OCSF event per System Log event and per mapped directory object (`OCSF <Class>`).
    Ocsf,
    /// Both records, each with its own dedupe mark.
    Both,
}

impl Output {
    pub fn raw(self) -> bool {
        self != Output::Ocsf
    }
    pub fn ocsf(self) -> bool {
        self != Output::Raw
    }
}

impl OrgConfig {
    /// The org's directory streams, resolved against the catalogue.
    pub fn inventory_streams(&self) -> Vec<InventoryStream> {
        crate::config::inventory::resolve(&self.inventory)
    }

    /// The OAuth scopes the org's enabled streams need.
    pub fn scopes(&self) -> Vec<&'static str> {
        let mut scopes = crate::config::inventory::scopes(&self.inventory);
        if self.logs.enabled {
            scopes.insert(0, "okta.logs.read");
        }
        scopes
    }
}

/// What the events function does with an org's partner events, and when the poller steps in.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PushConfig {
    /// With a partner event source configured: if no partner event arrived for this long, the
    /// org's log stream counts as silent, health says so, and the poller polls the System Log
    /// at every schedule until events arrive again. 0 turns the silence check off.
    pub silence_window_seconds: u64,
    /// Events whose `published` is older than this are "old" (counted and logged).
    pub max_event_age_seconds: u64,
    /// What happens to old events: forwarded (default; a SIEM should not lose history) or
    /// dropped (each dropped `uuid` logged and counted).
    pub old_events: OldEventPolicy,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            silence_window_seconds: SILENCE_WINDOW_SECONDS,
            max_event_age_seconds: MAX_EVENT_AGE_DEFAULT_SECONDS,
            old_events: OldEventPolicy::Forward,
        }
    }
}

/// What to do with a partner event older than `max_event_age_seconds`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OldEventPolicy {
    #[default]
    Forward,
    Drop,
}

/// System Log stream settings (defaults from Okta's partner guidance).
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LogStreamConfig {
    pub enabled: bool,
    /// Events per page, 1–1000.
    pub page_size: u32,
    /// How far back the first run starts, in hours (≤ 180 days).
    pub initial_lookback_hours: u32,
    /// Seconds a caught-up stream waits before polling again. 0 (default): every schedule (the
    /// schedule sets the pace). In the hybrid setup (push primary) set e.g. 3600 for an hourly
    /// reconciliation. A run that stopped at the deadline or failed, a requested catch-up, or a
    /// silent or stopped push stream polls at the next schedule anyway.
    pub interval_seconds: u64,
}

impl Default for LogStreamConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            page_size: crate::limits::OKTA_MAX_LOG_PAGE,
            initial_lookback_hours: INITIAL_LOOKBACK_HOURS,
            interval_seconds: 0,
        }
    }
}

/// The partner event source prefix Okta uses.
pub const OKTA_PARTNER_PREFIX: &str = "aws.partner/okta.com/";

impl RelayConfig {
    /// Parses and validates JSON text.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        // Config holds no secrets, so serde's message (which names the field) is fine. The
        // error names the path to the value it is about (`orgs[1].logs.page_size`).
        let mut document = serde_json::Deserializer::from_str(text);
        let mut config: RelayConfig =
            serde_path_to_error::deserialize(&mut document).map_err(|e| {
                let at = e.path().to_string();
                let at = if at == "." {
                    "(document)".to_string()
                } else {
                    at
                };
                err(at, e.into_inner().to_string())
            })?;
        document
            .end()
            .map_err(|e| err("(document)", e.to_string()))?;
        config.validate()?;
        let lake = config.lake().is_some();
        for org in &mut config.orgs {
            org.lake_delivery = lake;
        }
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        validate::relay(self)
    }

    /// The org whose partner event source is `source`.
    pub fn org_for_partner_source(&self, source: &str) -> Option<&OrgConfig> {
        self.orgs
            .iter()
            .find(|o| o.partner_event_source.as_deref() == Some(source))
    }

    /// The Security Lake delivery, when on.
    pub fn lake(&self) -> Option<&SecurityLakeConfig> {
        self.security_lake.as_ref().filter(|l| l.enabled)
    }

    pub fn lease_ttl(&self) -> Duration {
        Duration::from_secs(self.lease_seconds)
    }

    pub fn dedupe_ttl(&self) -> Duration {
        Duration::from_secs(self.dedupe_ttl_hours.saturating_mul(3600))
    }

    /// How the functions deliver: the request size limit and the requests in flight.
    pub fn delivery_policy(&self) -> crate::pipeline::DeliveryPolicy {
        crate::pipeline::DeliveryPolicy {
            max_request_bytes: self.max_request_bytes,
            in_flight: crate::pipeline::InFlightWindow::new(self.put_events_in_flight),
            ..crate::pipeline::DeliveryPolicy::default()
        }
    }
}

#[cfg(test)]
mod tests;
