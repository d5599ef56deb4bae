//! The ports of [`crate::ports::state`] on one DynamoDB table.
//!
//! Table: partition key `pk` (string), TTL attribute `expires_at` (epoch seconds). Records:
//! - `stream#<org>#<stream>`: lease (`lease_owner`, `lease_expires` ms, `fence`) and cursor
//!   (`cursor`, `version`, `cursor_updated` ms) in one item, so a cursor write can be
//!   conditional on the lease in a single `UpdateItem`.
//! - `dedupe#<org>#<id>`: `mark = delivered` and `expires_at` (TTL), written only after the sink
//!   acknowledged the record (see [`dedupe`]). DynamoDB deletes expired items lazily (up to days
//!   later) and moto never does, so every read treats `expires_at <= now` as absent.
//! - `health#<org>#<stream>`: last success/error, failure count, `c_<name>` counters, and the
//!   stream watch's notes (see [`health`]).

mod dedupe;
mod health;
mod org_identity;

use super::AwsFailure;
use crate::clock::Clock;
use crate::ports::{Lease, StateError, StreamKey, StreamSnapshot, StreamStateStore};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, TimeZone, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

type Item = HashMap<String, AttributeValue>;

/// The state table.
#[derive(Debug, Clone)]
pub struct DynamoStateTable {
    client: aws_sdk_dynamodb::Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl DynamoStateTable {
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }

    /// A strongly consistent read of one record.
    async fn get(&self, pk: &str) -> Result<Option<Item>, StateError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error(&e, pk))?;
        Ok(out.item)
    }

    fn error<E, R>(&self, err: &SdkError<E, R>, key: &str) -> StateError
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let failure = AwsFailure::from_sdk(err);
        if failure.code_is("ConditionalCheckFailedException") {
            StateError::LeaseLost {
                key: key.to_string(),
            }
        } else if failure.code_is("ResourceNotFoundException") {
            StateError::TableMissing {
                table: self.table.clone(),
            }
        } else if failure.is_access_denied() {
            StateError::AccessDenied(failure.detail)
        } else {
            StateError::Unavailable(failure.detail)
        }
    }
}

impl DynamoStateTable {
    /// Sets (or, with `None`, removes) the cursor, only if `lease` is still held, unexpired, and
    /// the cursor's version is the one the lease last saw (the fencing write, `ARCHITECTURE.md`).
    async fn write_cursor(&self, lease: &Lease, cursor: Option<&str>) -> Result<Lease, StateError> {
        let now = self.clock.now();
        let pk = stream_pk(&lease.key);
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .condition_expression(
                "lease_owner = :me AND fence = :fence AND version = :version AND lease_expires > :now",
            )
            .expression_attribute_names("#cursor", "cursor")
            .expression_attribute_values(":me", s(&lease.owner))
            .expression_attribute_values(":fence", n(lease.fence))
            .expression_attribute_values(":version", n(lease.version))
            .expression_attribute_values(":now", n(millis(now)))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew);
        let request = match cursor {
            Some(cursor) => request
                .update_expression(
                    "SET #cursor = :cursor, version = version + :one, cursor_updated = :now",
                )
                .expression_attribute_values(":cursor", s(cursor)),
            None => request.update_expression(
                "REMOVE #cursor SET version = version + :one, cursor_updated = :now",
            ),
        };
        let out = request.send().await.map_err(|e| self.error(&e, &pk))?;
        lease_from(out.attributes().unwrap_or(&HashMap::new()), &lease.key)
    }
}

fn stream_pk(key: &StreamKey) -> String {
    format!("stream#{}#{}", key.org, key.stream)
}

fn health_pk(key: &StreamKey) -> String {
    format!("health#{}#{}", key.org, key.stream)
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn plus(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(3650))
}

fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn get_n(item: &Item, name: &str, pk: &str) -> Result<Option<i64>, StateError> {
    match item.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_n()
            .ok()
            .and_then(|n| n.parse::<i64>().ok())
            .map(Some)
            .ok_or_else(|| StateError::Corrupt {
                key: pk.to_string(),
                detail: format!("`{name}` is not an integer"),
            }),
    }
}

fn get_time(item: &Item, name: &str, pk: &str) -> Result<Option<DateTime<Utc>>, StateError> {
    Ok(get_n(item, name, pk)?.and_then(|ms| Utc.timestamp_millis_opt(ms).single()))
}

fn lease_from(item: &Item, key: &StreamKey) -> Result<Lease, StateError> {
    let pk = stream_pk(key);
    let corrupt = |detail: &str| StateError::Corrupt {
        key: pk.clone(),
        detail: detail.to_string(),
    };
    Ok(Lease {
        key: key.clone(),
        owner: get_s(item, "lease_owner")
            .ok_or_else(|| corrupt("no lease_owner"))?
            .to_string(),
        fence: get_n(item, "fence", &pk)?.ok_or_else(|| corrupt("no fence"))? as u64,
        expires_at: get_time(item, "lease_expires", &pk)?
            .ok_or_else(|| corrupt("no lease_expires"))?,
        cursor: get_s(item, "cursor").map(str::to_string),
        version: get_n(item, "version", &pk)?.unwrap_or(0) as u64,
    })
}

#[async_trait]
impl StreamStateStore for DynamoStateTable {
    async fn acquire(
        &self,
        key: &StreamKey,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StateError> {
        let now = self.clock.now();
        let pk = stream_pk(key);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .update_expression(
                "SET lease_owner = :me, lease_expires = :exp, \
                 fence = if_not_exists(fence, :zero) + :one, version = if_not_exists(version, :zero)",
            )
            .condition_expression(
                "attribute_not_exists(lease_owner) OR lease_expires < :now OR lease_owner = :me",
            )
            .expression_attribute_values(":me", s(owner))
            .expression_attribute_values(":exp", n(millis(plus(now, ttl))))
            .expression_attribute_values(":now", n(millis(now)))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => lease_from(out.attributes().unwrap_or(&HashMap::new()), key).map(Some),
            Err(e) => match self.error(&e, &pk) {
                StateError::LeaseLost { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<Lease, StateError> {
        let now = self.clock.now();
        let pk = stream_pk(&lease.key);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .update_expression("SET lease_expires = :exp")
            .condition_expression("lease_owner = :me AND fence = :fence AND lease_expires > :now")
            .expression_attribute_values(":me", s(&lease.owner))
            .expression_attribute_values(":fence", n(lease.fence))
            .expression_attribute_values(":now", n(millis(now)))
            .expression_attribute_values(":exp", n(millis(plus(now, ttl))))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| self.error(&e, &pk))?;
        lease_from(out.attributes().unwrap_or(&HashMap::new()), &lease.key)
    }

    async fn commit_cursor(&self, lease: &Lease, cursor: &str) -> Result<Lease, StateError> {
        self.write_cursor(lease, Some(cursor)).await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<(), StateError> {
        let pk = stream_pk(&lease.key);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .update_expression("SET lease_expires = :zero")
            .condition_expression("lease_owner = :me AND fence = :fence")
            .expression_attribute_values(":me", s(&lease.owner))
            .expression_attribute_values(":fence", n(lease.fence))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Someone else holds it already: nothing of ours to release.
            Err(e) => match self.error(&e, &pk) {
                StateError::LeaseLost { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn clear_cursor(&self, lease: &Lease) -> Result<Lease, StateError> {
        self.write_cursor(lease, None).await
    }

    async fn snapshot(&self, key: &StreamKey) -> Result<Option<StreamSnapshot>, StateError> {
        let pk = stream_pk(key);
        let Some(item) = self.get(&pk).await? else {
            return Ok(None);
        };
        let item = &item;
        Ok(Some(StreamSnapshot {
            key: key.clone(),
            cursor: get_s(item, "cursor").map(str::to_string),
            version: get_n(item, "version", &pk)?.unwrap_or(0) as u64,
            lease_owner: get_s(item, "lease_owner").map(str::to_string),
            lease_expires_at: get_time(item, "lease_expires", &pk)?,
            cursor_updated_at: get_time(item, "cursor_updated", &pk)?,
        }))
    }
}
