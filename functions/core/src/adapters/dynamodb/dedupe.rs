//! Dedupe marks on the state table: `dedupe#<org>#<id>` items with `mark = delivered` and a TTL
//! (`expires_at`, epoch seconds).
//!
//! Checks are `BatchGetItem` (strongly consistent, 100 keys a call) and marks are
//! `BatchWriteItem` (25 puts a call), several calls in flight at once: a page of 1 000 records
//! costs 10 reads and 40 writes. Keys DynamoDB leaves unprocessed (throttling) are sent again
//! with backoff; if they still are not processed the call fails as
//! [`StateError::Unavailable`], never as a silent "not delivered" or "delivered".

use super::{DynamoStateTable, Item, get_n, get_s, n, plus, s};
use crate::limits::{
    DYNAMODB_BATCH_GET_KEYS, DYNAMODB_BATCH_WRITE_ITEMS, MARK_BATCH_CONCURRENCY,
    UNPROCESSED_RETRIES, UNPROCESSED_RETRY_BACKOFF,
};
use crate::ports::{DedupeKey, DedupeStore, StateError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{KeysAndAttributes, PutRequest, WriteRequest};
use futures::{StreamExt, TryStreamExt};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// The `mark` value of a delivered record.
const DELIVERED: &str = "delivered";

pub(super) fn dedupe_pk(key: &DedupeKey) -> String {
    format!("dedupe#{}#{}", key.org, key.id)
}

impl DynamoStateTable {
    /// The pks among `pks` (at most 100, distinct) that hold an unexpired delivered mark.
    async fn delivered_chunk(&self, pks: Vec<String>) -> Result<HashSet<String>, StateError> {
        let now = self.clock.now().timestamp();
        let mut found = HashSet::new();
        let mut keys: Vec<Item> = pks
            .into_iter()
            .map(|pk| HashMap::from([("pk".to_string(), s(pk))]))
            .collect();
        for attempt in 0..=UNPROCESSED_RETRIES {
            if keys.is_empty() {
                return Ok(found);
            }
            if attempt > 0 {
                tokio::time::sleep(UNPROCESSED_RETRY_BACKOFF * attempt).await;
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .projection_expression("pk, expires_at, #mark")
                .expression_attribute_names("#mark", "mark")
                .build()
                .map_err(|e| StateError::Unavailable(e.to_string()))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| self.error(&e, "dedupe marks"))?;
            for item in out
                .responses()
                .and_then(|r| r.get(&self.table))
                .into_iter()
                .flatten()
            {
                let Some(pk) = get_s(item, "pk") else {
                    continue;
                };
                let expires = get_n(item, "expires_at", pk)?.unwrap_or(0);
                if get_s(item, "mark") == Some(DELIVERED) && expires > now {
                    found.insert(pk.to_string());
                }
            }
            keys = out
                .unprocessed_keys()
                .and_then(|m| m.get(&self.table))
                .map(|k| k.keys().to_vec())
                .unwrap_or_default();
        }
        // The last retry may have read everything.
        if keys.is_empty() {
            return Ok(found);
        }
        Err(StateError::Unavailable(format!(
            "{} dedupe marks left unread (throttled)",
            keys.len()
        )))
    }

    /// Writes delivered marks for `pks` (at most 25), retrying what DynamoDB leaves unprocessed.
    async fn mark_chunk(&self, pks: &[String], expires: i64) -> Result<(), StateError> {
        let mut requests = pks
            .iter()
            .map(|pk| {
                PutRequest::builder()
                    .item("pk", s(pk))
                    .item("mark", s(DELIVERED))
                    .item("expires_at", n(expires))
                    .build()
                    .map(|put| WriteRequest::builder().put_request(put).build())
                    .map_err(|e| StateError::Unavailable(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for attempt in 0..=UNPROCESSED_RETRIES {
            if requests.is_empty() {
                return Ok(());
            }
            if attempt > 0 {
                tokio::time::sleep(UNPROCESSED_RETRY_BACKOFF * attempt).await;
            }
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
        }
        // The last retry may have written everything.
        if requests.is_empty() {
            return Ok(());
        }
        Err(StateError::Unavailable(format!(
            "{} dedupe marks left unwritten (throttled)",
            requests.len()
        )))
    }
}

#[async_trait]
impl DedupeStore for DynamoStateTable {
    async fn delivered(&self, keys: &[DedupeKey]) -> Result<Vec<bool>, StateError> {
        let pks: Vec<String> = keys.iter().map(dedupe_pk).collect();
        // BatchGetItem refuses a request that names a key twice.
        let mut distinct: Vec<String> = pks
            .iter()
            .cloned()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        distinct.sort_unstable();
        let chunks: Vec<Vec<String>> = distinct
            .chunks(DYNAMODB_BATCH_GET_KEYS)
            .map(<[String]>::to_vec)
            .collect();
        let found: Vec<HashSet<String>> = futures::stream::iter(chunks)
            .map(|chunk| self.delivered_chunk(chunk))
            .buffer_unordered(MARK_BATCH_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(pks
            .iter()
            .map(|pk| found.iter().any(|set| set.contains(pk)))
            .collect())
    }

    async fn mark_delivered(&self, keys: &[DedupeKey], ttl: Duration) -> Result<(), StateError> {
        let expires = plus(self.clock.now(), ttl).timestamp();
        // BatchWriteItem refuses a request that names a key twice.
        let distinct: Vec<String> = keys
            .iter()
            .map(dedupe_pk)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let chunks: Vec<Vec<String>> = distinct
            .chunks(DYNAMODB_BATCH_WRITE_ITEMS)
            .map(<[String]>::to_vec)
            .collect();
        futures::stream::iter(chunks)
            .map(|chunk| async move { self.mark_chunk(&chunk, expires).await })
            .buffer_unordered(MARK_BATCH_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
}
