//! [`LakeStore`] on S3 `PutObject`: the Security Lake bucket's custom-source locations. The
//! bucket's default encryption (Security Lake's KMS key, when it has one) applies; the relay
//! sets none of its own, so its grant is `s3:PutObject` on the sources' prefixes and
//! `kms:GenerateDataKey` on that key.
//!
//! Every put is conditional (`If-None-Match: *`): S3 answers 412 `PreconditionFailed` when the
//! name is taken, which is "already there" (names are content addressed), and 409
//! `ConditionalRequestConflict` when a concurrent put of the same name is in flight: that is
//! `Unavailable` (transient), so the run fails without committing and the next run reads the
//! pages again and finds the name taken. Every put names the bucket's expected owner.
//!
//! A lake in another account is written as each custom source's provider role
//! (`security_lake.provider_roles`): `sts:AssumeRole` with the external id, one client per
//! role, whose credentials the SDK refreshes.

use super::AwsFailure;
use crate::limits::S3_DELETE_OBJECTS_KEYS;
use crate::ports::{LakeBucket, LakeError, LakeStore, Listed, Stored};
use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct S3LakeStore {
    client: aws_sdk_s3::Client,
    /// The AWS configuration provider roles are assumed with (`with_roles`).
    sdk: Option<aws_config::SdkConfig>,
    /// A client per provider role, its credentials refreshed by the SDK as they expire.
    assumed: Arc<tokio::sync::Mutex<HashMap<String, aws_sdk_s3::Client>>>,
}

impl S3LakeStore {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self {
            client,
            sdk: None,
            assumed: Arc::default(),
        }
    }

    /// A store that can also write as a custom source's provider role (`sts:AssumeRole` with
    /// its external id, from `sdk`'s credentials).
    pub fn with_roles(mut self, sdk: aws_config::SdkConfig) -> Self {
        self.sdk = Some(sdk);
        self
    }

    /// The client that writes as `bucket.role`, or as the function itself.
    async fn client(&self, bucket: LakeBucket<'_>) -> Result<aws_sdk_s3::Client, LakeError> {
        let Some(role) = bucket.role else {
            return Ok(self.client.clone());
        };
        let mut assumed = self.assumed.lock().await;
        if let Some(client) = assumed.get(role.arn) {
            return Ok(client.clone());
        }
        let sdk = self.sdk.as_ref().ok_or_else(|| LakeError::Role {
            role: role.arn.to_string(),
            detail: "this store was built without an AWS configuration to assume roles with".into(),
        })?;
        let provider = aws_config::sts::AssumeRoleProvider::builder(role.arn)
            .external_id(role.external_id)
            .session_name(ROLE_SESSION)
            .configure(sdk)
            .build()
            .await;
        // Take the role once now: a trust that refuses (a wrong external id, a role that does
        // not trust this account) is the deployment's to fix, not a failure to retry.
        use aws_sdk_s3::config::ProvideCredentials;
        provider
            .provide_credentials()
            .await
            .map_err(|e| LakeError::Role {
                role: role.arn.to_string(),
                detail: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
            })?;
        let client = aws_sdk_s3::Client::from_conf(
            self.client
                .config()
                .to_builder()
                .credentials_provider(provider)
                .build(),
        );
        assumed.insert(role.arn.to_string(), client.clone());
        Ok(client)
    }

    /// A put of `key` that names the bucket's expected owner, as every request here does.
    async fn put(
        &self,
        bucket: LakeBucket<'_>,
        key: &str,
    ) -> Result<aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder, LakeError>
    {
        Ok(self
            .client(bucket)
            .await?
            .put_object()
            .bucket(bucket.name)
            .key(key)
            .expected_bucket_owner(bucket.owner))
    }
}

/// The session name the provider roles are taken with (it shows in the lake account's
/// CloudTrail).
const ROLE_SESSION: &str = "okta-relay";

/// S3's answer to a conditional put whose name is taken.
const NAME_TAKEN: &str = "PreconditionFailed";
/// S3's answer to an `If-Match` put where no object has the name.
const NO_SUCH_KEY: &str = "NoSuchKey";
/// An `If-Match` ETag no object can have (an ETag is hex), so a probe never writes.
const NEVER_AN_ETAG: &str = "\"okta-relay-write-probe\"";

#[async_trait]
impl LakeStore for S3LakeStore {
    async fn put_new(
        &self,
        bucket: LakeBucket<'_>,
        key: &str,
        body: Vec<u8>,
    ) -> Result<Stored, LakeError> {
        let sent = self
            .put(bucket, key)
            .await?
            .if_none_match("*")
            .content_type("application/vnd.apache.parquet")
            .body(ByteStream::from(body))
            .send()
            .await;
        let Err(e) = sent else {
            return Ok(Stored::Created);
        };
        let failure = AwsFailure::from_sdk(&e);
        if failure.code_is(NAME_TAKEN) {
            return Ok(Stored::AlreadyThere);
        }
        Err(refusal(failure, bucket, key))
    }

    /// A put conditional on an ETag no object has: S3 authorizes the request (the caller's
    /// grant, the expected bucket owner) before it evaluates the condition, so `NoSuchKey` or
    /// `PreconditionFailed` means the write would be allowed, and nothing was written.
    async fn probe_write(&self, bucket: LakeBucket<'_>, key: &str) -> Result<(), LakeError> {
        let sent = self
            .put(bucket, key)
            .await?
            .if_match(NEVER_AN_ETAG)
            .body(ByteStream::from(Vec::new()))
            .send()
            .await;
        let failure = match sent {
            // Not reachable on S3 (no object has that ETag); a store that ignores `If-Match`
            // wrote an empty object, which still proves the grant.
            Ok(_) => return Ok(()),
            Err(e) => AwsFailure::from_sdk(&e),
        };
        if failure.code_is(NO_SUCH_KEY) || failure.code_is(NAME_TAKEN) {
            return Ok(());
        }
        Err(refusal(failure, bucket, key))
    }

    async fn list(&self, bucket: LakeBucket<'_>, prefix: &str) -> Result<Vec<Listed>, LakeError> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client(bucket)
                .await?
                .list_objects_v2()
                .bucket(bucket.name)
                .prefix(prefix)
                .expected_bucket_owner(bucket.owner)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| refusal(AwsFailure::from_sdk(&e), bucket, prefix))?;
            for object in page.contents() {
                let (Some(key), Some(modified)) = (object.key(), object.last_modified()) else {
                    continue;
                };
                out.push(Listed {
                    key: key.to_string(),
                    bytes: object.size().unwrap_or_default().max(0) as u64,
                    modified: chrono::DateTime::from_timestamp_millis(
                        modified.to_millis().unwrap_or_default(),
                    )
                    .unwrap_or_default(),
                });
            }
            token = page.next_continuation_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn get(&self, bucket: LakeBucket<'_>, key: &str) -> Result<Option<Vec<u8>>, LakeError> {
        let sent = self
            .client(bucket)
            .await?
            .get_object()
            .bucket(bucket.name)
            .key(key)
            .expected_bucket_owner(bucket.owner)
            .send()
            .await;
        let object = match sent {
            Ok(object) => object,
            Err(e) => {
                let failure = AwsFailure::from_sdk(&e);
                if failure.code_is(NO_SUCH_KEY) {
                    return Ok(None);
                }
                return Err(refusal(failure, bucket, key));
            }
        };
        let body = object
            .body
            .collect()
            .await
            .map_err(|e| LakeError::Unavailable {
                bucket: bucket.name.to_string(),
                key: key.to_string(),
                detail: e.to_string(),
            })?;
        Ok(Some(body.into_bytes().to_vec()))
    }

    async fn delete(&self, bucket: LakeBucket<'_>, keys: &[String]) -> Result<(), LakeError> {
        for chunk in keys.chunks(S3_DELETE_OBJECTS_KEYS) {
            let objects = chunk
                .iter()
                .map(|k| {
                    aws_sdk_s3::types::ObjectIdentifier::builder()
                        .key(k)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| LakeError::Unavailable {
                    bucket: bucket.name.to_string(),
                    key: chunk[0].clone(),
                    detail: e.to_string(),
                })?;
            let delete = aws_sdk_s3::types::Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| LakeError::Unavailable {
                    bucket: bucket.name.to_string(),
                    key: chunk[0].clone(),
                    detail: e.to_string(),
                })?;
            let out = self
                .client(bucket)
                .await?
                .delete_objects()
                .bucket(bucket.name)
                .expected_bucket_owner(bucket.owner)
                .delete(delete)
                .send()
                .await
                .map_err(|e| refusal(AwsFailure::from_sdk(&e), bucket, &chunk[0]))?;
            if let Some(failed) = out.errors().first() {
                return Err(LakeError::Unavailable {
                    bucket: bucket.name.to_string(),
                    key: failed.key().unwrap_or_default().to_string(),
                    detail: failed.code().unwrap_or_default().to_string(),
                });
            }
        }
        Ok(())
    }
}

/// A refused or failed put, by what S3 said.
fn refusal(failure: AwsFailure, bucket: LakeBucket<'_>, key: &str) -> LakeError {
    if failure.code_is("NoSuchBucket") {
        LakeError::NoBucket {
            bucket: bucket.name.to_string(),
        }
    } else if failure.is_access_denied() || failure.code_is("KMS.AccessDeniedException") {
        LakeError::AccessDenied {
            bucket: bucket.name.to_string(),
            key: key.to_string(),
            owner: bucket.owner.to_string(),
            detail: failure.code.unwrap_or_default(),
        }
    } else {
        LakeError::Unavailable {
            bucket: bucket.name.to_string(),
            key: key.to_string(),
            detail: failure.detail,
        }
    }
}
