//! Where forwarded records go: an EventBridge-like sink that accepts up to ten entries per call
//! and reports the outcome of each one.

use crate::ErrorKind;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

/// One entry for the delivery bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkEntry {
    pub source: String,
    pub detail_type: String,
    /// The JSON text of the `Detail` object.
    pub detail: String,
    pub time: Option<DateTime<Utc>>,
    pub resources: Vec<String>,
}

impl SinkEntry {
    /// The entry's size by AWS's PutEvents formula: 14 bytes if `Time` is set, plus the UTF-8
    /// bytes of `Source`, `DetailType`, `Detail` and each of `Resources`.
    pub fn size(&self) -> usize {
        let time = if self.time.is_some() { 14 } else { 0 };
        time + self.source.len()
            + self.detail_type.len()
            + self.detail.len()
            + self.resources.iter().map(String::len).sum::<usize>()
    }
}

/// What happened to one entry of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryOutcome {
    Accepted { event_id: String },
    Failed { code: String, message: String },
}

impl EntryOutcome {
    /// Only `InternalFailure` and `ThrottlingException` can succeed when sent again (AWS's
    /// PutEvents documentation); every other entry error is final for that entry.
    pub fn is_retryable(&self) -> bool {
        matches!(self, EntryOutcome::Failed { code, .. }
            if code == "InternalFailure" || code == "ThrottlingException")
    }
}

/// The whole call failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SinkError {
    #[error("delivery bus rejected the call (check the bus name and permissions): {0}")]
    Configuration(String),
    #[error("delivery failed, can be retried: {0}")]
    Transient(String),
    #[error("delivery call was invalid: {0}")]
    Invalid(String),
}

impl SinkError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            SinkError::Configuration(_) => ErrorKind::Configuration,
            SinkError::Transient(_) => ErrorKind::Transient,
            SinkError::Invalid(_) => ErrorKind::Permanent,
        }
    }
}

/// Puts entries on the delivery bus. Entries are borrowed: the event JSON is copied once, into
/// the request. One call takes at most ten entries whose total
/// [`SinkEntry::size`] is within the bus's request limit; the answer has one outcome per entry,
/// in order.
#[async_trait]
pub trait EventSink: Send + Sync {
    async fn put(&self, entries: &[&SinkEntry]) -> Result<Vec<EntryOutcome>, SinkError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_follows_the_aws_formula() {
        let mut entry = SinkEntry {
            source: "okta-relay".into(),
            detail_type: "Okta User".into(),
            detail: r#"{"é":1}"#.into(),
            time: None,
            resources: vec!["arn:a".into(), "bc".into()],
        };
        // 10 + 9 + 8 (é is two bytes) + 5 + 2
        assert_eq!(entry.size(), 34);
        entry.time = Some(Utc::now());
        assert_eq!(entry.size(), 48);
    }

    #[test]
    fn only_internal_failure_and_throttling_are_retryable() {
        let failed = |code: &str| EntryOutcome::Failed {
            code: code.into(),
            message: String::new(),
        };
        assert!(failed("InternalFailure").is_retryable());
        assert!(failed("ThrottlingException").is_retryable());
        for code in [
            "MalformedDetail",
            "InvalidArgument",
            "AccessDeniedException",
            "",
        ] {
            assert!(!failed(code).is_retryable(), "{code}");
        }
        assert!(
            !EntryOutcome::Accepted {
                event_id: "1".into()
            }
            .is_retryable()
        );
    }
}
