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
    Accepted,
    Failed {
        code: String,
        message: String,
        /// What the code means, as the adapter knows its service's documented codes.
        cause: EntryFault,
    },
}

/// Why a sink did not take an entry: the adapter's reading of the service's code. Only a code
/// documented as a refusal of the record itself is [`EntryFault::Record`]; a code the adapter
/// does not know is [`EntryFault::Transient`] (sent again, then the delivery fails), never a
/// reason to give up on a record (`DESIGN.md` §5.19).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryFault {
    /// Sending it again may work: throttling, an internal failure, or a code not known.
    Transient,
    /// The sink refuses the record for what it holds, for good: a poison record.
    Record,
    /// The sink refuses for the deployment's sake (permissions, the account, a key): nothing
    /// passes until an operator acts.
    Deployment,
}

impl EntryOutcome {
    /// A failed entry with `cause`.
    pub fn failed(code: impl Into<String>, message: impl Into<String>, cause: EntryFault) -> Self {
        EntryOutcome::Failed {
            code: code.into(),
            message: message.into(),
            cause,
        }
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

    /// The bus and its grants are AWS's; a call the bus calls invalid is the relay's to fix.
    pub fn fault(&self) -> crate::Fault {
        match self {
            SinkError::Invalid(_) => crate::Fault::Relay,
            _ => crate::Fault::Aws,
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
}
