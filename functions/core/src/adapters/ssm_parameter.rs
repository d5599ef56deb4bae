//! [`ConfigStore`] on an SSM Parameter Store parameter (a `String`, or a `SecureString` the
//! function may decrypt). Standard parameters hold 4 KB and advanced ones 8 KB, about 35 orgs;
//! larger configurations go to S3 ([`super::S3ObjectStore`]).

use super::AwsFailure;
use crate::limits::MAX_CONFIG_BYTES;
use crate::ports::{ConfigDocument, ConfigStore, ConfigStoreError};
use async_trait::async_trait;

/// Reads one parameter with `GetParameter`.
#[derive(Debug, Clone)]
pub struct SsmParameterStore {
    client: aws_sdk_ssm::Client,
    name: String,
}

impl SsmParameterStore {
    pub fn new(client: aws_sdk_ssm::Client, name: &str) -> Self {
        Self {
            client,
            name: name.to_string(),
        }
    }
}

#[async_trait]
impl ConfigStore for SsmParameterStore {
    fn location(&self) -> String {
        format!("SSM parameter {}", self.name)
    }

    async fn fetch(&self) -> Result<ConfigDocument, ConfigStoreError> {
        let location = self.location();
        let output = self
            .client
            .get_parameter()
            .name(&self.name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| {
                AwsFailure::from_sdk(&e).config_store_error(
                    &location,
                    &["ParameterNotFound", "ParameterVersionNotFound"],
                )
            })?;
        let parameter = output.parameter.ok_or_else(|| ConfigStoreError::NotFound {
            location: location.clone(),
        })?;
        let text = parameter.value.unwrap_or_default();
        if text.len() as u64 > MAX_CONFIG_BYTES {
            return Err(ConfigStoreError::TooLarge {
                location,
                bytes: text.len() as u64,
                limit: MAX_CONFIG_BYTES,
            });
        }
        Ok(ConfigDocument {
            text,
            version: parameter.version.to_string(),
        })
    }
}
