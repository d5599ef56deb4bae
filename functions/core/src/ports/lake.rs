//! Where Security Lake objects go: a bucket that takes whole objects. A put either stored the
//! object or failed; writing the same key again replaces it, which is what makes a retried
//! batch overwrite itself.

use crate::ErrorKind;
use async_trait::async_trait;
use thiserror::Error;

/// Writing an object failed. Messages name the bucket and key, never the content.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LakeError {
    #[error("the Security Lake bucket {bucket} does not exist")]
    NoBucket { bucket: String },
    #[error("not allowed to write s3://{bucket}/{key} (the relay's S3 or KMS grant): {detail}")]
    AccessDenied {
        bucket: String,
        key: String,
        detail: String,
    },
    #[error("could not write s3://{bucket}/{key} (will retry): {detail}")]
    Unavailable {
        bucket: String,
        key: String,
        detail: String,
    },
    #[error("could not build the Parquet object for class {class_uid}: {detail}")]
    Encode { class_uid: u32, detail: String },
    #[error("security_lake is on but this function was built without a lake store")]
    NoStore,
}

impl LakeError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            LakeError::Unavailable { .. } => ErrorKind::Transient,
            LakeError::Encode { .. } => ErrorKind::Permanent,
            _ => ErrorKind::Configuration,
        }
    }

    pub fn fault(&self) -> crate::Fault {
        match self {
            LakeError::Encode { .. } | LakeError::NoStore => crate::Fault::Relay,
            _ => crate::Fault::Aws,
        }
    }
}

/// Stores whole objects.
#[async_trait]
pub trait LakeStore: Send + Sync {
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), LakeError>;
}
