//! The relay's configuration: one documented JSON schema, read the same way by both functions
//! (from `OKTA_RELAY_CONFIG`, or the file named by `OKTA_RELAY_CONFIG_FILE`), validated at
//! start-up with errors that name the field.
//!
//! It holds names and ARNs, never secret values: credentials live in Secrets Manager.

use crate::inventory::{InventoryConfig, InventoryStream};
use crate::pipeline::EventTypeFilter;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::time::Duration;
use thiserror::Error;

/// A configuration problem, naming the field (`orgs[1].secret_arn`).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("invalid configuration: {field}: {problem}")]
pub struct ConfigError {
    pub field: String,
    pub problem: String,
}

fn err(field: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        problem: problem.into(),
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    pub orgs: Vec<OrgConfig>,
    /// `User-Agent` sent to Okta. Default `okta-relay/<version>`.
    #[serde(default = "default_user_agent")]
    pub user_agent: String,
    /// Admit `http://` org URLs on loopback hosts (the local simulator). Never in production.
    #[serde(default)]
    pub allow_loopback_http: bool,
    /// Share of each Okta rate-limit bucket left for the org's other integrations.
    #[serde(default = "default_reserve")]
    pub rate_limit_reserve: f64,
    /// PutEvents request size limit in bytes (AWS: 256 KiB classic, 1 MiB since 2026).
    #[serde(default = "default_max_request_bytes")]
    pub max_request_bytes: usize,
    /// How long a dedupe mark suppresses the same id.
    #[serde(default = "default_dedupe_ttl_hours")]
    pub dedupe_ttl_hours: u64,
    /// The poller stops taking new pages when less than this is left before the Lambda deadline.
    #[serde(default = "default_deadline_margin_seconds")]
    pub deadline_margin_seconds: u64,
    /// How long a run may take when the runtime gives no usable deadline (local emulators).
    #[serde(default = "default_max_run_seconds")]
    pub max_run_seconds: u64,
    /// How long a stream lease lasts without renewal. The poller renews it between pages and
    /// around each delivery; a run that stalls longer loses it and cannot move the cursor.
    #[serde(default = "default_lease_seconds")]
    pub lease_seconds: u64,
    /// How long one attempt of an AWS call (DynamoDB, EventBridge, Secrets Manager) may take
    /// before it is abandoned and retried.
    #[serde(default = "default_aws_attempt_timeout_seconds")]
    pub aws_attempt_timeout_seconds: u64,
    /// How long an AWS call may take in all, its retries included. Keep it well under
    /// `deadline_margin_seconds`, so a stalled call ends inside the margin.
    #[serde(default = "default_aws_call_timeout_seconds")]
    pub aws_call_timeout_seconds: u64,
}

/// One Okta org.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OrgConfig {
    /// Short name used in state keys and forwarded records: `[a-z0-9][a-z0-9_-]*`, ≤ 64.
    pub name: String,
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
}

impl OrgConfig {
    /// The org's directory streams, resolved against the catalogue.
    pub fn inventory_streams(&self) -> Vec<InventoryStream> {
        crate::inventory::settings::resolve(&self.inventory)
    }

    /// The OAuth scopes the org's enabled streams need.
    pub fn scopes(&self) -> Vec<&'static str> {
        let mut scopes = crate::inventory::settings::scopes(&self.inventory);
        if self.logs.enabled {
            scopes.insert(0, "okta.logs.read");
        }
        scopes
    }
}

/// What the events function does with an org's partner events, and when the poller steps in.
#[derive(Debug, Clone, Deserialize, PartialEq)]
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
            silence_window_seconds: 15 * 60,
            max_event_age_seconds: 24 * 3600,
            old_events: OldEventPolicy::Forward,
        }
    }
}

/// What to do with a partner event older than `max_event_age_seconds`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum OldEventPolicy {
    #[default]
    Forward,
    Drop,
}

/// System Log stream settings (defaults from Okta's partner guidance).
#[derive(Debug, Clone, Deserialize, PartialEq)]
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
            page_size: 1000,
            initial_lookback_hours: 24,
            interval_seconds: 0,
        }
    }
}

fn default_user_agent() -> String {
    crate::DEFAULT_USER_AGENT.to_string()
}
fn default_reserve() -> f64 {
    0.10
}
fn default_max_request_bytes() -> usize {
    256 * 1024
}
fn default_dedupe_ttl_hours() -> u64 {
    24 * 7
}
fn default_deadline_margin_seconds() -> u64 {
    45
}
fn default_max_run_seconds() -> u64 {
    240
}
fn default_lease_seconds() -> u64 {
    120
}
fn default_aws_attempt_timeout_seconds() -> u64 {
    crate::limits::AWS_ATTEMPT_TIMEOUT.as_secs()
}
fn default_aws_call_timeout_seconds() -> u64 {
    crate::limits::AWS_CALL_TIMEOUT.as_secs()
}

/// The longest dedupe mark: a year.
pub const MAX_DEDUPE_TTL_HOURS: u64 = 366 * 24;
/// The oldest a partner event can be: Okta keeps the System Log for 180 days.
pub const MAX_EVENT_AGE_SECONDS: u64 = 180 * 24 * 3600;
/// The longest silence window of a push stream: 30 days.
pub const MAX_SILENCE_WINDOW_SECONDS: u64 = 30 * 24 * 3600;

/// The partner event source prefix Okta uses.
pub const OKTA_PARTNER_PREFIX: &str = "aws.partner/okta.com/";

impl RelayConfig {
    /// Parses and validates JSON text.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let config: RelayConfig = serde_json::from_str(text).map_err(|e| {
            // Config holds no secrets, so serde's message (which names the field) is fine.
            err("(document)", e.to_string())
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads `OKTA_RELAY_CONFIG` (JSON) or the file named by `OKTA_RELAY_CONFIG_FILE`.
    pub fn from_env() -> Result<Self, ConfigError> {
        if let Ok(text) = std::env::var("OKTA_RELAY_CONFIG") {
            return Self::from_json(&text);
        }
        if let Ok(path) = std::env::var("OKTA_RELAY_CONFIG_FILE") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| err("OKTA_RELAY_CONFIG_FILE", format!("cannot read {path}: {e}")))?;
            return Self::from_json(&text);
        }
        Err(err(
            "OKTA_RELAY_CONFIG",
            "not set (set it to the JSON configuration, or OKTA_RELAY_CONFIG_FILE to a file)",
        ))
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.orgs.is_empty() {
            return Err(err("orgs", "at least one org is required"));
        }
        if self.user_agent.trim().is_empty()
            || !self
                .user_agent
                .chars()
                .all(|c| c.is_ascii_graphic() || c == ' ')
        {
            return Err(err("user_agent", "must be non-empty printable ASCII"));
        }
        if !(0.0..=0.9).contains(&self.rate_limit_reserve) {
            return Err(err("rate_limit_reserve", "must be between 0.0 and 0.9"));
        }
        if !(1024..=1024 * 1024).contains(&self.max_request_bytes) {
            return Err(err("max_request_bytes", "must be between 1024 and 1048576"));
        }
        if !(1..=600).contains(&self.deadline_margin_seconds) {
            return Err(err("deadline_margin_seconds", "must be between 1 and 600"));
        }
        if !(10..=900).contains(&self.max_run_seconds) {
            return Err(err(
                "max_run_seconds",
                "must be between 10 and 900 (Lambda's maximum)",
            ));
        }
        if !(10..=900).contains(&self.lease_seconds) {
            return Err(err("lease_seconds", "must be between 10 and 900"));
        }
        if !(1..=60).contains(&self.aws_attempt_timeout_seconds) {
            return Err(err(
                "aws_attempt_timeout_seconds",
                "must be between 1 and 60",
            ));
        }
        if !(self.aws_attempt_timeout_seconds..=120).contains(&self.aws_call_timeout_seconds) {
            return Err(err(
                "aws_call_timeout_seconds",
                "must be at least aws_attempt_timeout_seconds and at most 120",
            ));
        }
        if !(1..=MAX_DEDUPE_TTL_HOURS).contains(&self.dedupe_ttl_hours) {
            return Err(err(
                "dedupe_ttl_hours",
                format!("must be between 1 and {MAX_DEDUPE_TTL_HOURS} (a year)"),
            ));
        }
        let mut names = BTreeSet::new();
        let mut sources = BTreeSet::new();
        for (i, org) in self.orgs.iter().enumerate() {
            let at = |f: &str| format!("orgs[{i}].{f}");
            let name_ok = !org.name.is_empty()
                && org.name.len() <= 64
                && org
                    .name
                    .starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && org
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if !name_ok {
                return Err(err(
                    at("name"),
                    "must match [a-z0-9][a-z0-9_-]* and be at most 64 characters",
                ));
            }
            if !names.insert(&org.name) {
                return Err(err(
                    at("name"),
                    format!("duplicate org name {:?}", org.name),
                ));
            }
            if !org.secret_arn.starts_with("arn:") || org.secret_arn.split(':').count() < 7 {
                return Err(err(
                    at("secret_arn"),
                    "must be a Secrets Manager ARN (arn:aws:secretsmanager:…)",
                ));
            }
            if let Some(source) = &org.partner_event_source {
                if !source.starts_with(OKTA_PARTNER_PREFIX)
                    || source.len() <= OKTA_PARTNER_PREFIX.len()
                {
                    return Err(err(
                        at("partner_event_source"),
                        format!("must start with {OKTA_PARTNER_PREFIX}"),
                    ));
                }
                if !sources.insert(source) {
                    return Err(err(
                        at("partner_event_source"),
                        "already used by another org",
                    ));
                }
            }
            if let Some(bad) = org.event_types.invalid_entry() {
                return Err(err(
                    at("event_types"),
                    format!("{bad:?} is not an event type or a prefix ending in *"),
                ));
            }
            if !(1..=1000).contains(&org.logs.page_size) {
                return Err(err(
                    at("logs.page_size"),
                    "must be between 1 and 1000 (Okta's maximum)",
                ));
            }
            if org.logs.initial_lookback_hours == 0 || org.logs.initial_lookback_hours > 180 * 24 {
                return Err(err(
                    at("logs.initial_lookback_hours"),
                    "must be between 1 and 4320 (Okta's 180 days)",
                ));
            }
            if org.logs.interval_seconds > 7 * 24 * 3600 {
                return Err(err(
                    at("logs.interval_seconds"),
                    "must be at most 604800 (a week)",
                ));
            }
            if !(1..=MAX_EVENT_AGE_SECONDS).contains(&org.push.max_event_age_seconds) {
                return Err(err(
                    at("push.max_event_age_seconds"),
                    format!("must be between 1 and {MAX_EVENT_AGE_SECONDS} (Okta's 180 days)"),
                ));
            }
            if org.push.silence_window_seconds > MAX_SILENCE_WINDOW_SECONDS {
                return Err(err(
                    at("push.silence_window_seconds"),
                    format!("must be at most {MAX_SILENCE_WINDOW_SECONDS} (30 days)"),
                ));
            }
            crate::inventory::settings::validate(&org.inventory, |f| {
                at(&format!("inventory.{f}"))
            })?;
        }
        Ok(())
    }

    /// The org whose partner event source is `source`.
    pub fn org_for_partner_source(&self, source: &str) -> Option<&OrgConfig> {
        self.orgs
            .iter()
            .find(|o| o.partner_event_source.as_deref() == Some(source))
    }

    pub fn lease_ttl(&self) -> Duration {
        Duration::from_secs(self.lease_seconds)
    }

    pub fn dedupe_ttl(&self) -> Duration {
        Duration::from_secs(self.dedupe_ttl_hours.saturating_mul(3600))
    }

    /// How long AWS calls may take.
    pub fn aws_timeouts(&self) -> crate::adapters::AwsTimeouts {
        crate::adapters::AwsTimeouts {
            attempt: Duration::from_secs(self.aws_attempt_timeout_seconds),
            call: Duration::from_secs(self.aws_call_timeout_seconds),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:okta/acme-AbCdEf";

    fn valid() -> String {
        format!(
            r#"{{"orgs":[{{"name":"acme","secret_arn":"{ARN}","partner_event_source":"aws.partner/okta.com/acme/relay"}}]}}"#
        )
    }

    #[test]
    fn defaults_follow_oktas_guidance() {
        let c = RelayConfig::from_json(&valid()).unwrap();
        assert_eq!(c.user_agent, crate::DEFAULT_USER_AGENT);
        assert_eq!(c.orgs[0].logs.page_size, 1000);
        assert_eq!(c.orgs[0].logs.initial_lookback_hours, 24);
        assert_eq!(c.max_request_bytes, 262_144);
        assert!(!c.allow_loopback_http);
        assert_eq!(c.lease_seconds, 120);
        assert_eq!(c.orgs[0].logs.interval_seconds, 0);
        assert_eq!(c.orgs[0].push, PushConfig::default());
        assert_eq!(c.orgs[0].push.old_events, OldEventPolicy::Forward);
        let drop = RelayConfig::from_json(
            &valid().replace("}]}", ",\"push\":{\"old_events\":\"drop\"}}]}"),
        )
        .unwrap();
        assert_eq!(drop.orgs[0].push.old_events, OldEventPolicy::Drop);
        assert_eq!(
            c.org_for_partner_source("aws.partner/okta.com/acme/relay")
                .unwrap()
                .name,
            "acme"
        );
        assert!(
            c.org_for_partner_source("aws.partner/okta.com/other/relay")
                .is_none()
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (r#"{"orgs":[]}"#.to_string(), "orgs"),
            (valid().replace("\"acme\"", "\"Acme!\""), "orgs[0].name"),
            (valid().replace(ARN, "okta/acme"), "orgs[0].secret_arn"),
            (
                valid().replace("aws.partner/okta.com/acme/relay", "aws.partner/other/x"),
                "orgs[0].partner_event_source",
            ),
            (
                valid().replace("}]}", ",\"logs\":{\"page_size\":5000}}]}"),
                "orgs[0].logs.page_size",
            ),
            (
                valid().replace("}]}", ",\"logs\":{\"initial_lookback_hours\":5000}}]}"),
                "orgs[0].logs.initial_lookback_hours",
            ),
            (
                valid().replace("{\"orgs\"", "{\"max_request_bytes\":10,\"orgs\""),
                "max_request_bytes",
            ),
            (
                valid().replace("}]}", ",\"event_types\":{\"allow\":[\"user.*.x\"]}}]}"),
                "orgs[0].event_types",
            ),
            (
                valid().replace("{\"orgs\"", "{\"rate_limit_reserve\":1.5,\"orgs\""),
                "rate_limit_reserve",
            ),
            (
                valid().replace("{\"orgs\"", "{\"lease_seconds\":5,\"orgs\""),
                "lease_seconds",
            ),
            (
                valid().replace("}]}", ",\"logs\":{\"interval_seconds\":9999999}}]}"),
                "orgs[0].logs.interval_seconds",
            ),
            (
                valid().replace("}]}", ",\"push\":{\"max_event_age_seconds\":0}}]}"),
                "orgs[0].push.max_event_age_seconds",
            ),
            (
                valid().replace("}]}", ",\"inventory\":{\"users\":{\"page_size\":999}}}]}"),
                "orgs[0].inventory.users.page_size",
            ),
        ];
        for (text, field) in cases {
            let e = RelayConfig::from_json(&text).unwrap_err();
            assert_eq!(e.field, field, "{text}: {e}");
        }
        let typo =
            RelayConfig::from_json(&valid().replace("secret_arn", "secert_arn")).unwrap_err();
        assert!(typo.to_string().contains("secert_arn"), "{typo}");
    }

    #[test]
    fn values_near_the_integer_limits_are_refused_and_never_panic() {
        for (text, field) in [
            (
                valid().replace(
                    "{\"orgs\"",
                    &format!("{{\"dedupe_ttl_hours\":{},\"orgs\"", u64::MAX),
                ),
                "dedupe_ttl_hours",
            ),
            (
                valid().replace(
                    "}]}",
                    &format!(",\"push\":{{\"silence_window_seconds\":{}}}}}]}}", u64::MAX),
                ),
                "orgs[0].push.silence_window_seconds",
            ),
            (
                valid().replace(
                    "}]}",
                    &format!(
                        ",\"push\":{{\"max_event_age_seconds\":{}}}}}]}}",
                        i64::MAX as u64 + 1
                    ),
                ),
                "orgs[0].push.max_event_age_seconds",
            ),
            (
                valid().replace(
                    "}]}",
                    &format!(
                        ",\"push\":{{\"max_event_age_seconds\":{}}}}}]}}",
                        i64::MAX / 1000 + 1
                    ),
                ),
                "orgs[0].push.max_event_age_seconds",
            ),
            (
                valid().replace(
                    "{\"orgs\"",
                    &format!("{{\"aws_call_timeout_seconds\":{},\"orgs\"", u64::MAX),
                ),
                "aws_call_timeout_seconds",
            ),
        ] {
            let e = RelayConfig::from_json(&text).unwrap_err();
            assert_eq!(e.field, field, "{text}: {e}");
        }
        // The largest accepted values are usable by everything that reads them.
        let most = RelayConfig::from_json(
            &valid()
                .replace("{\"orgs\"", &format!("{{\"dedupe_ttl_hours\":{MAX_DEDUPE_TTL_HOURS},\"orgs\""))
                .replace(
                    "}]}",
                    &format!(
                        ",\"push\":{{\"silence_window_seconds\":{MAX_SILENCE_WINDOW_SECONDS},\"max_event_age_seconds\":{MAX_EVENT_AGE_SECONDS}}}}}]}}"
                    ),
                ),
        )
        .unwrap();
        assert_eq!(most.dedupe_ttl().as_secs(), MAX_DEDUPE_TTL_HOURS * 3600);
        let org = &most.orgs[0];
        let now = chrono::Utc::now();
        let health = crate::ports::HealthReport::default();
        let _ = crate::stream_watch::push_state(now, &org.push, true, Some(&health));
    }

    #[test]
    fn duplicate_orgs_and_sources_are_refused() {
        let org = format!(
            r#"{{"name":"acme","secret_arn":"{ARN}","partner_event_source":"aws.partner/okta.com/acme/relay"}}"#
        );
        let twice = format!(r#"{{"orgs":[{org},{org}]}}"#);
        assert_eq!(
            RelayConfig::from_json(&twice).unwrap_err().field,
            "orgs[1].name"
        );
        let other = org.replace("\"acme\"", "\"beta\"");
        let same_source = format!(r#"{{"orgs":[{org},{other}]}}"#);
        assert_eq!(
            RelayConfig::from_json(&same_source).unwrap_err().field,
            "orgs[1].partner_event_source"
        );
    }
}
