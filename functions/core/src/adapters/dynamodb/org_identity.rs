//! [`OrgIdentityStore`] on the state table: one `org#<name>` item with `okta_org_id` and the
//! `org_url` it was read from. Read with
//! `BatchGetItem` and written with `UpdateItem`, the two calls both functions already have.

use super::{DynamoStateTable, get_s, s};
use crate::ports::{OrgIdentity, OrgIdentityStore, StateError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use std::collections::HashMap;

fn org_pk(org: &str) -> String {
    format!("org#{org}")
}

#[async_trait]
impl OrgIdentityStore for DynamoStateTable {
    async fn identity(&self, org: &str) -> Result<Option<OrgIdentity>, StateError> {
        let pk = org_pk(org);
        let request = KeysAndAttributes::builder()
            .keys(HashMap::from([("pk".to_string(), s(&pk))]))
            .projection_expression("pk, okta_org_id, org_url")
            .build()
            .map_err(|e| StateError::Unavailable(e.to_string()))?;
        let out = self
            .client
            .batch_get_item()
            .request_items(&self.table, request)
            .send()
            .await
            .map_err(|e| self.error(&e, &pk))?;
        if out
            .unprocessed_keys()
            .is_some_and(|m| m.contains_key(&self.table))
        {
            return Err(StateError::Unavailable(format!(
                "{pk} left unread (throttled)"
            )));
        }
        Ok(out
            .responses()
            .and_then(|r| r.get(&self.table))
            .and_then(|items| items.first())
            .and_then(|item| {
                Some(OrgIdentity {
                    okta_org_id: get_s(item, "okta_org_id")?.to_string(),
                    org_url: get_s(item, "org_url")?.to_string(),
                })
            }))
    }

    async fn remember(&self, org: &str, identity: &OrgIdentity) -> Result<(), StateError> {
        let pk = org_pk(org);
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .update_expression("SET okta_org_id = :id, org_url = :url")
            .expression_attribute_values(":id", s(&identity.okta_org_id))
            .expression_attribute_values(":url", s(&identity.org_url))
            .send()
            .await
            .map_err(|e| self.error(&e, &pk))?;
        Ok(())
    }
}
