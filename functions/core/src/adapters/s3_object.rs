//! [`ConfigStore`] on an S3 object: for configurations beyond an SSM parameter's 8 KB. The
//! CDK construct and the Terraform module write it (content-addressed keys, so a new
//! configuration is a new key and a new function version).

use super::AwsFailure;
use crate::limits::MAX_CONFIG_BYTES;
use crate::ports::{ConfigDocument, ConfigStore, ConfigStoreError};
use async_trait::async_trait;

/// Reads one object with `GetObject`; its ETag is the version.
#[derive(Debug, Clone)]
pub struct S3ObjectStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
}

impl S3ObjectStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: &str, key: &str) -> Self {
        Self {
            client,
            bucket: bucket.to_string(),
            key: key.to_string(),
        }
    }
}

#[async_trait]
impl ConfigStore for S3ObjectStore {
    fn location(&self) -> String {
        format!("S3 object s3://{}/{}", self.bucket, self.key)
    }

    async fn fetch(&self) -> Result<ConfigDocument, ConfigStoreError> {
        let location = self.location();
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .send()
            .await
            .map_err(|e| {
                AwsFailure::from_sdk(&e)
                    .config_store_error(&location, &["NoSuchKey", "NoSuchBucket"])
            })?;
        let bytes = output.content_length.unwrap_or(0).max(0) as u64;
        if bytes > MAX_CONFIG_BYTES {
            return Err(ConfigStoreError::TooLarge {
                location,
                bytes,
                limit: MAX_CONFIG_BYTES,
            });
        }
        let version = output.e_tag.unwrap_or_default();
        let body = output
            .body
            .collect()
            .await
            .map_err(|e| ConfigStoreError::Unavailable {
                location: location.clone(),
                detail: e.to_string(),
            })?
            .into_bytes();
        if body.len() as u64 > MAX_CONFIG_BYTES {
            return Err(ConfigStoreError::TooLarge {
                location,
                bytes: body.len() as u64,
                limit: MAX_CONFIG_BYTES,
            });
        }
        let text =
            String::from_utf8(body.to_vec()).map_err(|_| ConfigStoreError::NotText { location })?;
        Ok(ConfigDocument { text, version })
    }
}
