//! Validation: every value the relay would choke on is refused at start-up, with the field
//! named, never found later as a panic or a silent clamp.

use super::defaults::{MAX_DEDUPE_TTL_HOURS, MAX_EVENT_AGE_SECONDS, MAX_SILENCE_WINDOW_SECONDS};
use super::error::err;
use super::{ConfigError, OKTA_PARTNER_PREFIX, OrgConfig, RelayConfig};
use crate::limits::{
    LAKE_LEASE_PER_CALL, OKTA_MAX_LOG_PAGE, PUT_EVENTS_MAX_IN_FLIGHT, PUT_EVENTS_MAX_REQUEST_BYTES,
};
use std::collections::BTreeSet;

/// `value` within `[min, max]`, or an error naming `field`.
fn within<T: PartialOrd>(
    value: T,
    (min, max): (T, T),
    field: &str,
    problem: &str,
) -> Result<(), ConfigError> {
    if value < min || value > max {
        return Err(err(field, problem));
    }
    Ok(())
}

pub(super) fn relay(c: &RelayConfig) -> Result<(), ConfigError> {
    if c.orgs.is_empty() {
        return Err(err("orgs", "at least one org is required"));
    }
    settings(c)?;
    timeouts(c)?;
    if let Some(lake) = &c.security_lake {
        lake.validate()?;
        // The lease is confirmed before each lake object's put; the put must then end while
        // the lease still holds, or a run that lost it could still be writing.
        if c.lake().is_some() && c.lease_seconds < LAKE_LEASE_PER_CALL * c.aws_call_timeout_seconds
        {
            return Err(err(
                "lease_seconds",
                format!(
                    "with security_lake on, must be at least {LAKE_LEASE_PER_CALL} × aws_call_timeout_seconds ({}): a lake write must finish within the lease it was fenced by",
                    LAKE_LEASE_PER_CALL * c.aws_call_timeout_seconds
                ),
            ));
        }
    }
    let mut names = BTreeSet::new();
    let mut sources = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    for (i, org) in c.orgs.iter().enumerate() {
        let at = |f: &str| format!("orgs[{i}].{f}");
        if !names.insert(&org.name) {
            return Err(err(
                at("name"),
                format!("duplicate org name {:?}", org.name),
            ));
        }
        if let Some(source) = &org.partner_event_source
            && !sources.insert(source)
        {
            return Err(err(
                at("partner_event_source"),
                "already used by another org",
            ));
        }
        if !secrets.insert(&org.secret_arn) {
            return Err(err(
                at("secret_arn"),
                "already used by another org: one Okta org under two names is read twice and labelled twice; give each org its own secret",
            ));
        }
        identity(org, &at)?;
        streams(org, &at)?;
    }
    Ok(())
}

/// The deployment-wide settings.
fn settings(c: &RelayConfig) -> Result<(), ConfigError> {
    if c.user_agent.trim().is_empty()
        || !c
            .user_agent
            .chars()
            .all(|ch| ch.is_ascii_graphic() || ch == ' ')
    {
        return Err(err("user_agent", "must be non-empty printable ASCII"));
    }
    if !(0.0..=0.9).contains(&c.rate_limit_reserve) {
        return Err(err("rate_limit_reserve", "must be between 0.0 and 0.9"));
    }
    let request = (1024, PUT_EVENTS_MAX_REQUEST_BYTES);
    within(
        c.max_request_bytes,
        request,
        "max_request_bytes",
        "must be between 1024 and 1048576",
    )?;
    let flight = format!("must be between 1 and {PUT_EVENTS_MAX_IN_FLIGHT}");
    let most = (1, PUT_EVENTS_MAX_IN_FLIGHT);
    within(
        c.put_events_in_flight,
        most,
        "put_events_in_flight",
        &flight,
    )?;
    let ttl = format!("must be between 1 and {MAX_DEDUPE_TTL_HOURS} (a year)");
    within(
        c.dedupe_ttl_hours,
        (1, MAX_DEDUPE_TTL_HOURS),
        "dedupe_ttl_hours",
        &ttl,
    )
}

/// How long runs, leases and AWS calls may take.
fn timeouts(c: &RelayConfig) -> Result<(), ConfigError> {
    let margin = "must be between 1 and 600";
    within(
        c.deadline_margin_seconds,
        (1, 600),
        "deadline_margin_seconds",
        margin,
    )?;
    let run = "must be between 10 and 900 (Lambda's maximum)";
    within(c.max_run_seconds, (10, 900), "max_run_seconds", run)?;
    within(
        c.lease_seconds,
        (10, 900),
        "lease_seconds",
        "must be between 10 and 900",
    )?;
    let attempt = "must be between 1 and 60";
    within(
        c.aws_attempt_timeout_seconds,
        (1, 60),
        "aws_attempt_timeout_seconds",
        attempt,
    )?;
    within(
        c.overdue_slack_seconds,
        super::defaults::OVERDUE_SLACK_RANGE,
        "overdue_slack_seconds",
        "must be between 60 and 604800 (a week)",
    )?;
    within(
        c.config_reload_seconds,
        super::defaults::CONFIG_RELOAD_RANGE,
        "config_reload_seconds",
        "must be between 10 and 900: a new org's first invocations and partner events wait for the reload (SQS redelivers a partner event for 15 minutes)",
    )?;
    within(
        c.put_events_attempt_timeout_seconds,
        (1, 60),
        "put_events_attempt_timeout_seconds",
        attempt,
    )?;
    let call = "must be at least aws_attempt_timeout_seconds and at most 120";
    let call_range = (c.aws_attempt_timeout_seconds, 120);
    within(
        c.aws_call_timeout_seconds,
        call_range,
        "aws_call_timeout_seconds",
        call,
    )
}

/// What names the org and where its credentials and events come from.
fn identity(org: &OrgConfig, at: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
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
        let problem = "must match [a-z0-9][a-z0-9_-]* and be at most 64 characters";
        return Err(err(at("name"), problem));
    }
    if !org.secret_arn.starts_with("arn:") || org.secret_arn.split(':').count() < 7 {
        let problem = "must be a Secrets Manager ARN (arn:aws:secretsmanager:…)";
        return Err(err(at("secret_arn"), problem));
    }
    if let Some(source) = &org.partner_event_source
        && (!source.starts_with(OKTA_PARTNER_PREFIX) || source.len() <= OKTA_PARTNER_PREFIX.len())
    {
        let problem = format!("must start with {OKTA_PARTNER_PREFIX}");
        return Err(err(at("partner_event_source"), problem));
    }
    if let crate::ports::SinkChoice::Firehose { stream } = &org.sink
        && !firehose_stream_name_ok(stream)
    {
        let problem = "must be a Firehose delivery stream name: 1 to 64 of A-Z a-z 0-9 _ . -";
        return Err(err(at("sink.stream"), problem));
    }
    Ok(())
}

/// AWS's pattern for a delivery stream name: `[a-zA-Z0-9_.-]+`, 1 to 64 characters.
fn firehose_stream_name_ok(name: &str) -> bool {
    (1..=crate::limits::FIREHOSE_STREAM_NAME_MAX).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The org's streams: the System Log, the push path's policies, the directory.
fn streams(org: &OrgConfig, at: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
    if let Some(bad) = org.event_types.invalid_entry() {
        let problem = format!("{bad:?} is not an event type or a prefix ending in *");
        return Err(err(at("event_types"), problem));
    }
    let page = "must be between 1 and 1000 (Okta's maximum)";
    within(
        org.logs.page_size,
        (1, OKTA_MAX_LOG_PAGE),
        &at("logs.page_size"),
        page,
    )?;
    let lookback = "must be between 1 and 4320 (Okta's 180 days)";
    let hours = &at("logs.initial_lookback_hours");
    within(
        org.logs.initial_lookback_hours,
        (1, 180 * 24),
        hours,
        lookback,
    )?;
    let interval = "must be at most 604800 (a week)";
    let seconds = &at("logs.interval_seconds");
    within(
        org.logs.interval_seconds,
        (0, 7 * 24 * 3600),
        seconds,
        interval,
    )?;
    let age = format!("must be between 1 and {MAX_EVENT_AGE_SECONDS} (Okta's 180 days)");
    let field = &at("push.max_event_age_seconds");
    within(
        org.push.max_event_age_seconds,
        (1, MAX_EVENT_AGE_SECONDS),
        field,
        &age,
    )?;
    let silence = format!("must be at most {MAX_SILENCE_WINDOW_SECONDS} (30 days)");
    let field = &at("push.silence_window_seconds");
    within(
        org.push.silence_window_seconds,
        (0, MAX_SILENCE_WINDOW_SECONDS),
        field,
        &silence,
    )?;
    crate::config::inventory::validate(&org.inventory, |f| at(&format!("inventory.{f}")))
}
