//! Where a large configuration is kept: an SSM parameter or an S3 object, read at start and
//! again every `config_reload_seconds`. Lambda caps a function's environment at 4 KB, about 15
//! orgs; a store holds hundreds. The document holds names and ARNs, never secret values.

use crate::ErrorKind;
use async_trait::async_trait;
use thiserror::Error;

/// The stored document and its version (the parameter's version, the object's ETag): an
/// unchanged version is not parsed again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigDocument {
    pub text: String,
    pub version: String,
}

/// Reading the stored configuration failed. Messages name the location, never its content.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ConfigStoreError {
    #[error("the configuration {location} does not exist")]
    NotFound { location: String },
    #[error("not allowed to read the configuration {location}: {detail}")]
    AccessDenied { location: String, detail: String },
    #[error("the configuration {location} is {bytes} bytes, over the {limit}-byte limit")]
    TooLarge {
        location: String,
        bytes: u64,
        limit: u64,
    },
    #[error("the configuration {location} is not UTF-8 text")]
    NotText { location: String },
    #[error("could not read the configuration {location} (will retry): {detail}")]
    Unavailable { location: String, detail: String },
}

impl ConfigStoreError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ConfigStoreError::Unavailable { .. } => ErrorKind::Transient,
            _ => ErrorKind::Configuration,
        }
    }

    /// The parameter or object and its grants are AWS resources of the deployment.
    pub fn fault(&self) -> crate::Fault {
        crate::Fault::Aws
    }
}

/// Reads the configuration document.
#[async_trait]
pub trait ConfigStore: Send + Sync {
    /// Where the document is, for messages: `SSM parameter /okta-relay/prod/config`.
    fn location(&self) -> String;
    async fn fetch(&self) -> Result<ConfigDocument, ConfigStoreError>;
}
