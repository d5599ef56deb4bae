//! Stream health on the state table: run outcomes, counters, and the stream watch's notes
//! (caught up, catch-up requested, log-stream lifecycle), one `health#<org>#<stream>` item each.
//!
//! The stream's phase is one `since_<phase>` attribute: entering a phase sets its own with
//! `if_not_exists` (a stream that stays in a phase keeps the time it entered it) and removes
//! the others, all in the one update that records the run.

use super::{DynamoStateTable, get_n, get_s, get_time, health_pk, millis, n, s};
use crate::ports::{
    Failure, HealthNote, HealthReport, HealthStore, Phase, PhaseMark, RateLimitHeadroom, RunRecord,
    StateError, StreamKey,
};
use crate::{ErrorKind, Fault};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

#[async_trait]
impl HealthStore for DynamoStateTable {
    async fn record_success(
        &self,
        key: &StreamKey,
        at: DateTime<Utc>,
        run: &RunRecord,
    ) -> Result<(), StateError> {
        let pk = health_pk(key);
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .expression_attribute_values(":at", n(millis(at)))
            .expression_attribute_values(":zero", n(0));
        let mut sets = vec!["last_success_at = :at", "consecutive_failures = :zero"];
        if let Some(newest) = run.newest_event_at {
            sets.push("newest_event_at = :newest");
            request = request.expression_attribute_values(":newest", n(millis(newest)));
        }
        if let Some(headroom) = run.rate_limit {
            sets.push("rate_limit_remaining = :rl_remaining, rate_limit_limit = :rl_limit");
            request = request
                .expression_attribute_values(":rl_remaining", n(headroom.remaining))
                .expression_attribute_values(":rl_limit", n(headroom.limit));
        }
        let entered = run.phase.map(enter);
        let mut removes: &[String] = &[];
        if let Some((set, remove)) = &entered {
            sets.push(set);
            removes = remove;
        }
        let mut adds = Vec::new();
        for (i, (name, value)) in run.counters.iter().enumerate() {
            adds.push(format!("#c{i} :c{i}"));
            request = request
                .expression_attribute_names(format!("#c{i}"), format!("c_{name}"))
                .expression_attribute_values(format!(":c{i}"), n(value));
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !adds.is_empty() {
            expression.push_str(" ADD ");
            expression.push_str(&adds.join(", "));
        }
        if !removes.is_empty() {
            expression.push_str(" REMOVE ");
            expression.push_str(&removes.join(", "));
        }
        request
            .update_expression(expression)
            .send()
            .await
            .map_err(|e| self.error(&e, &pk))?;
        Ok(())
    }

    async fn record_failure(
        &self,
        key: &StreamKey,
        at: DateTime<Utc>,
        failure: &Failure<'_>,
    ) -> Result<(), StateError> {
        let pk = health_pk(key);
        let message = bounded(failure.message);
        let (set, remove) = enter(Phase::Error);
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .update_expression(format!(
                "SET last_error_at = :at, last_error = :msg, last_error_kind = :kind, \
                 last_error_fault = :fault, {set} ADD consecutive_failures :one REMOVE {}",
                remove.join(", ")
            ))
            .expression_attribute_values(":at", n(millis(at)))
            .expression_attribute_values(":msg", s(message))
            .expression_attribute_values(":kind", s(failure.kind.as_str()))
            .expression_attribute_values(":fault", s(failure.fault.as_str()))
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map_err(|e| self.error(&e, &pk))?;
        Ok(())
    }

    async fn note(
        &self,
        key: &StreamKey,
        at: DateTime<Utc>,
        note: HealthNote<'_>,
    ) -> Result<(), StateError> {
        let pk = health_pk(key);
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .expression_attribute_values(":at", n(millis(at)));
        let request = match note {
            HealthNote::CaughtUp => request.update_expression("SET caught_up_at = :at"),
            HealthNote::CatchUpRequested { reason } => request
                .update_expression("SET catch_up_requested_at = :at, catch_up_reason = :why")
                .expression_attribute_values(":why", s(bounded(reason))),
            // Both paths report lifecycle events, in any order: the newest one wins.
            HealthNote::Lifecycle { event_type } => request
                .update_expression("SET lifecycle_at = :at, lifecycle_event = :event")
                .condition_expression("attribute_not_exists(lifecycle_at) OR lifecycle_at <= :at")
                .expression_attribute_values(":event", s(bounded(event_type))),
            // Only for a stream that never reported a run (nor a phase): a check never hides
            // what a run found, also in a record written before phases were kept.
            HealthNote::Authenticated => request
                .update_expression(format!("SET {} = :at", since(Phase::Authenticated)))
                .condition_expression(
                    Phase::ALL
                        .map(since)
                        .into_iter()
                        .chain(["last_success_at".into(), "last_error_at".into()])
                        .map(|a| format!("attribute_not_exists({a})"))
                        .collect::<Vec<_>>()
                        .join(" AND "),
                ),
        };
        match request.send().await.map_err(|e| self.error(&e, &pk)) {
            Ok(_) | Err(StateError::LeaseLost { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn read(&self, key: &StreamKey) -> Result<Option<HealthReport>, StateError> {
        let pk = health_pk(key);
        let Some(item) = self.get(&pk).await? else {
            return Ok(None);
        };
        let item = &item;
        let kind = match get_s(item, "last_error_kind") {
            None => None,
            Some("configuration") => Some(ErrorKind::Configuration),
            Some("transient") => Some(ErrorKind::Transient),
            Some("permanent") => Some(ErrorKind::Permanent),
            Some(other) => {
                return Err(StateError::Corrupt {
                    key: pk,
                    detail: format!("unknown error kind {other:?}"),
                });
            }
        };
        let mut counters = BTreeMap::new();
        for name in item.keys().filter_map(|k| k.strip_prefix("c_")) {
            counters.insert(
                name.to_string(),
                get_n(item, &format!("c_{name}"), &pk)?.unwrap_or(0) as u64,
            );
        }
        Ok(Some(HealthReport {
            last_success_at: get_time(item, "last_success_at", &pk)?,
            last_error_at: get_time(item, "last_error_at", &pk)?,
            last_error: get_s(item, "last_error").map(str::to_string),
            last_error_kind: kind,
            last_error_fault: get_s(item, "last_error_fault").and_then(Fault::parse),
            phase: phase(item, &pk)?,
            consecutive_failures: get_n(item, "consecutive_failures", &pk)?.unwrap_or(0) as u64,
            counters,
            caught_up_at: get_time(item, "caught_up_at", &pk)?,
            catch_up_requested_at: get_time(item, "catch_up_requested_at", &pk)?,
            catch_up_reason: get_s(item, "catch_up_reason").map(str::to_string),
            lifecycle_event: get_s(item, "lifecycle_event").map(str::to_string),
            lifecycle_at: get_time(item, "lifecycle_at", &pk)?,
            newest_event_at: get_time(item, "newest_event_at", &pk)?,
            rate_limit: rate_limit(item, &pk)?,
        }))
    }
}

fn rate_limit(item: &super::Item, pk: &str) -> Result<Option<RateLimitHeadroom>, StateError> {
    let remaining = get_n(item, "rate_limit_remaining", pk)?;
    let limit = get_n(item, "rate_limit_limit", pk)?;
    Ok(match (remaining, limit) {
        (Some(remaining), Some(limit)) => Some(RateLimitHeadroom {
            remaining: u32::try_from(remaining).unwrap_or(0),
            limit: u32::try_from(limit).unwrap_or(0),
        }),
        _ => None,
    })
}

/// The attribute that holds when the stream entered `phase`.
fn since(phase: Phase) -> String {
    format!("since_{}", phase.as_str())
}

/// The `SET` clause that enters `phase` (keeping its time if already in it) and the attributes
/// of the other phases to remove.
fn enter(phase: Phase) -> (String, Vec<String>) {
    let own = since(phase);
    let others = Phase::ALL
        .into_iter()
        .filter(|p| *p != phase)
        .map(since)
        .collect();
    (format!("{own} = if_not_exists({own}, :at)"), others)
}

/// The phase whose `since_` attribute is set (the newest, should a record hold several).
fn phase(item: &super::Item, pk: &str) -> Result<Option<PhaseMark>, StateError> {
    let mut found: Option<PhaseMark> = None;
    for phase in Phase::ALL {
        if let Some(at) = get_time(item, &since(phase), pk)?
            && found.is_none_or(|f| at > f.since)
        {
            found = Some(PhaseMark { phase, since: at });
        }
    }
    Ok(found)
}

/// Text stored in health is cut at 1000 characters (on a character boundary).
fn bounded(text: &str) -> String {
    text.chars().take(1000).collect()
}
