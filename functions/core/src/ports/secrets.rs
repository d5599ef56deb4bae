//! Where credentials come from: a secret identified by ARN, read when needed, never logged.

use crate::ErrorKind;
use async_trait::async_trait;
use secrecy::SecretString;
use thiserror::Error;

/// Reading a secret failed. Messages carry the secret's identifier, never its value.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SecretError {
    #[error("secret {id} does not exist")]
    NotFound { id: String },
    #[error("not allowed to read secret {id}: {detail}")]
    AccessDenied { id: String, detail: String },
    #[error("secret {id} has no string value (binary secrets are not supported)")]
    NotText { id: String },
    #[error("could not read secret {id} (will retry): {detail}")]
    Unavailable { id: String, detail: String },
}

impl SecretError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            SecretError::Unavailable { .. } => ErrorKind::Transient,
            _ => ErrorKind::Configuration,
        }
    }

    /// Secrets Manager and its grants: AWS's side (what the secret says is
    /// [`crate::okta::credentials::CredentialsError`]).
    pub fn fault(&self) -> crate::Fault {
        crate::Fault::Aws
    }
}

/// Reads secret values by identifier (a Secrets Manager ARN in production).
#[async_trait]
pub trait SecretSource: Send + Sync {
    async fn read(&self, id: &str) -> Result<SecretString, SecretError>;
}
