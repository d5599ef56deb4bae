//! Where Security Lake objects go: a bucket that takes whole, new objects. A put never replaces
//! an object: names are content addressed (`lake::object`), so a name that is taken holds the
//! same events already, and a put that finds it taken stored nothing and lost nothing.

use crate::ErrorKind;
use async_trait::async_trait;
use thiserror::Error;

/// The lake's bucket and the account that must own it: a wrong or re-created bucket name in
/// another account is refused by S3 instead of receiving the events.
#[derive(Debug, Clone, Copy)]
pub struct LakeBucket<'a> {
    pub name: &'a str,
    pub owner: &'a str,
    /// Write as this custom source's provider role (a lake in another account); `None`: as
    /// the function's own role.
    pub role: Option<ProviderRole<'a>>,
}

/// A Security Lake custom source's provider role, and the external id its trust names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderRole<'a> {
    pub arn: &'a str,
    pub external_id: &'a str,
}

/// What a put of a new object found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// The object is new.
    Created,
    /// An object of that name was there already: the same events, written by an earlier run
    /// (one that failed before its commit, or a reset's rerun).
    AlreadyThere,
}

/// Writing an object failed. Messages name the bucket and key, never the content.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LakeError {
    #[error("the Security Lake bucket {bucket} does not exist")]
    NoBucket { bucket: String },
    #[error(
        "not allowed to write s3://{bucket}/{key} (the relay's S3 or KMS grant, or the bucket is not owned by account {owner}: security_lake.bucket_owner): {detail}"
    )]
    AccessDenied {
        bucket: String,
        key: String,
        owner: String,
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
    #[error(
        "security_lake.staging is not set: the events function stages the lake's events and only the poller writes Parquet; set security_lake.staging (both stacks do)"
    )]
    StagingRequired,
    #[error(
        "could not take the provider role {role} (its trust policy, the external id, or sts:AssumeRole on it): {detail}"
    )]
    Role { role: String, detail: String },
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
            LakeError::Encode { .. } | LakeError::NoStore | LakeError::StagingRequired => {
                crate::Fault::Relay
            }
            _ => crate::Fault::Aws,
        }
    }
}

/// An object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub bytes: u64,
    pub modified: chrono::DateTime<chrono::Utc>,
}

/// Stores whole objects, never over another; lists, reads and deletes the relay's own staged
/// objects (`security_lake.staging`).
#[async_trait]
pub trait LakeStore: Send + Sync {
    /// Puts `body` under `key` unless an object has that name.
    async fn put_new(
        &self,
        bucket: LakeBucket<'_>,
        key: &str,
        body: Vec<u8>,
    ) -> Result<Stored, LakeError>;

    /// Whether a put under `key` would be allowed (the bucket exists, is owned by
    /// `bucket.owner`, and the caller may write there), without writing anything. For
    /// `validate-config`; an encryption key's grant shows only when a real object is written.
    async fn probe_write(&self, bucket: LakeBucket<'_>, key: &str) -> Result<(), LakeError>;

    /// Every object under `prefix`.
    async fn list(&self, bucket: LakeBucket<'_>, prefix: &str) -> Result<Vec<Listed>, LakeError>;

    /// The object's body; `None` when there is no such object.
    async fn get(&self, bucket: LakeBucket<'_>, key: &str) -> Result<Option<Vec<u8>>, LakeError>;

    /// Deletes `keys` (a missing one is no error).
    async fn delete(&self, bucket: LakeBucket<'_>, keys: &[String]) -> Result<(), LakeError>;
}
