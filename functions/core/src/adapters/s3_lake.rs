//! [`LakeStore`] on S3 `PutObject`: the Security Lake bucket's custom-source locations. The
//! bucket's default encryption (Security Lake's KMS key, when it has one) applies; the relay
//! sets none of its own, so its grant is `s3:PutObject` on the sources' prefixes and
//! `kms:GenerateDataKey` on that key.

use super::AwsFailure;
use crate::ports::{LakeError, LakeStore};
use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;

#[derive(Debug, Clone)]
pub struct S3LakeStore {
    client: aws_sdk_s3::Client,
}

impl S3LakeStore {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl LakeStore for S3LakeStore {
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), LakeError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/vnd.apache.parquet")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| {
                let failure = AwsFailure::from_sdk(&e);
                if failure.code_is("NoSuchBucket") {
                    LakeError::NoBucket {
                        bucket: bucket.to_string(),
                    }
                } else if failure.is_access_denied() || failure.code_is("KMS.AccessDeniedException")
                {
                    LakeError::AccessDenied {
                        bucket: bucket.to_string(),
                        key: key.to_string(),
                        detail: failure.code.unwrap_or_default(),
                    }
                } else {
                    LakeError::Unavailable {
                        bucket: bucket.to_string(),
                        key: key.to_string(),
                        detail: failure.detail,
                    }
                }
            })?;
        Ok(())
    }
}
