//! [`SecretSource`] on AWS Secrets Manager.

use super::AwsFailure;
use crate::ports::{SecretError, SecretSource};
use async_trait::async_trait;
use secrecy::SecretString;

/// Reads secrets by ARN with `GetSecretValue` (the `AWSCURRENT` version).
#[derive(Debug, Clone)]
pub struct SecretsManagerSource {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManagerSource {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl SecretSource for SecretsManagerSource {
    async fn read(&self, id: &str) -> Result<SecretString, SecretError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| {
                let failure = AwsFailure::from_sdk(&e);
                if failure.code_is("ResourceNotFoundException") {
                    SecretError::NotFound { id: id.to_string() }
                } else if failure.is_access_denied() {
                    SecretError::AccessDenied {
                        id: id.to_string(),
                        detail: failure.code.unwrap_or_default(),
                    }
                } else {
                    SecretError::Unavailable {
                        id: id.to_string(),
                        detail: failure.detail,
                    }
                }
            })?;
        output
            .secret_string
            .map(SecretString::from)
            .ok_or_else(|| SecretError::NotText { id: id.to_string() })
    }
}
