//! The ports of [`crate::ports::state`] on one DynamoDB table.
//!
//! Table: partition key `pk` (string), TTL attribute `expires_at` (epoch seconds). Records:
//! - `stream#<org>#<stream>`: lease (`lease_owner`, `lease_expires` ms, `fence`) and cursor
//!   (`cursor`, `version`, `cursor_updated` ms) in one item, so a cursor write can be
//!   conditional on the lease in a single `UpdateItem`.
//! - `dedupe#<id>`: `expires_at` (TTL) and `mark` (`pending` | `confirmed`). DynamoDB deletes
//!   expired items lazily (up to days later) and moto never does, so every condition treats
//!   `expires_at < now` as absent.
//! - `health#<org>#<stream>`: last success/error, failure count, `c_<name>` counters, and the
//!   stream watch's notes (see [`health`]).

mod health;

use super::AwsFailure;
use crate::clock::Clock;
use crate::ports::{
    DedupeClaim, DedupeStore, Lease, StateError, StreamKey, StreamSnapshot, StreamStateStore,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, TimeZone, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

type Item = HashMap<String, AttributeValue>;

/// Dedupe claims in flight at once.
const CLAIM_CONCURRENCY: usize = 16;

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
    /// the cursor's version is the one the lease last saw (the fencing write, `DESIGN.md` §5.7).
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

fn dedupe_pk(id: &str) -> String {
    format!("dedupe#{id}")
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

#[async_trait]
impl DedupeStore for DynamoStateTable {
    async fn claim(
        &self,
        id: &str,
        owner: &str,
        hold: Duration,
    ) -> Result<DedupeClaim, StateError> {
        let now = self.clock.now();
        let pk = dedupe_pk(id);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&pk))
            .item("mark", s("pending"))
            .item("claimed_by", s(owner))
            .item("expires_at", n(plus(now, hold).timestamp()))
            .condition_expression(
                "attribute_not_exists(pk) OR expires_at <= :now \
                 OR (mark = :pending AND claimed_by = :me)",
            )
            .expression_attribute_values(":now", n(now.timestamp()))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":me", s(owner))
            .send()
            .await;
        match result {
            Ok(_) => Ok(DedupeClaim::Claimed),
            Err(e) => match self.error(&e, &pk) {
                StateError::LeaseLost { .. } => Ok(DedupeClaim::AlreadySeen),
                other => Err(other),
            },
        }
    }

    async fn confirm(&self, id: &str, ttl: Duration) -> Result<(), StateError> {
        let now = self.clock.now();
        let pk = dedupe_pk(id);
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .update_expression("SET mark = :confirmed, expires_at = :exp")
            .expression_attribute_values(":confirmed", s("confirmed"))
            .expression_attribute_values(":exp", n(plus(now, ttl).timestamp()))
            .send()
            .await
            .map_err(|e| self.error(&e, &pk))?;
        Ok(())
    }

    /// Concurrent single conditional puts. (Not `TransactWriteItems`: a transactional write costs
    /// twice the write units of a conditional put, and one already-seen id cancels the batch.)
    async fn claim_many(
        &self,
        ids: &[String],
        owner: &str,
        hold: Duration,
    ) -> Result<Vec<DedupeClaim>, StateError> {
        use futures::{StreamExt, TryStreamExt};
        futures::stream::iter(ids.iter().cloned())
            .map(|id| async move { self.claim(&id, owner, hold).await })
            .buffered(CLAIM_CONCURRENCY)
            .try_collect()
            .await
    }

    /// Unconditional puts in batches of 25, retrying unprocessed items.
    async fn confirm_many(&self, ids: &[String], ttl: Duration) -> Result<(), StateError> {
        let expires = plus(self.clock.now(), ttl).timestamp();
        for chunk in ids.chunks(25) {
            let mut requests: Vec<aws_sdk_dynamodb::types::WriteRequest> =
                Vec::with_capacity(chunk.len());
            for id in chunk {
                let put = aws_sdk_dynamodb::types::PutRequest::builder()
                    .item("pk", s(dedupe_pk(id)))
                    .item("mark", s("confirmed"))
                    .item("expires_at", n(expires))
                    .build()
                    .map_err(|e| StateError::Unavailable(e.to_string()))?;
                requests.push(
                    aws_sdk_dynamodb::types::WriteRequest::builder()
                        .put_request(put)
                        .build(),
                );
            }
            for attempt in 0..5u64 {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| self.error(&e, "dedupe marks"))?;
                requests = out
                    .unprocessed_items()
                    .and_then(|m| m.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50 * (attempt + 1))).await;
            }
            if !requests.is_empty() {
                return Err(StateError::Unavailable(format!(
                    "{} dedupe marks left unprocessed",
                    requests.len()
                )));
            }
        }
        Ok(())
    }

    async fn release_claim(&self, id: &str) -> Result<(), StateError> {
        let pk = dedupe_pk(id);
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .condition_expression("mark = :pending")
            .expression_attribute_values(":pending", s("pending"))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match self.error(&e, &pk) {
                // Confirmed by someone (a mark we must keep) or already gone.
                StateError::LeaseLost { .. } => Ok(()),
                other => Err(other),
            },
        }
    }
}
