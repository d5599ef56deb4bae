//! Where forwarded records go: a sink takes a batch of entries per call and reports the
//! outcome of each one. Which sink an org's records go to is the org's [`SinkChoice`]; the loop
//! and the push path ask [`Sinks`] for it and never know which sinks exist.
//!
//! Each sink says how much one call takes ([`SinkLimits`]): the delivery bus by the
//! configuration (its PutEvents request limit), a Firehose stream by its service limits.

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
    #[error("the sink rejected the call (check its name and the function's permissions): {0}")]
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

/// How much one call of a sink takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SinkLimits {
    /// The delivery bus: ten entries, and the request limit the configuration gives
    /// (`max_request_bytes`, [`crate::pipeline::DeliveryPolicy`]).
    #[default]
    Configured,
    /// Limits the service fixes.
    Fixed {
        max_entries: usize,
        /// All entries of one call, by [`SinkEntry::size`].
        max_request_bytes: usize,
        /// One entry, by [`SinkEntry::size`] and `entry_overhead`; a larger one goes as its
        /// oversize marker.
        max_entry_bytes: usize,
        /// What the sink's own record adds to [`SinkEntry::size`] at most (its envelope).
        entry_overhead: usize,
    },
}

/// Puts entries on a sink. Entries are borrowed: the event JSON is copied once, into the
/// request. One call takes entries within the sink's [`SinkLimits`]; the answer has one outcome
/// per entry, in order.
#[async_trait]
pub trait EventSink: Send + Sync {
    async fn put(&self, entries: &[&SinkEntry]) -> Result<Vec<EntryOutcome>, SinkError>;

    /// How much one call takes: by default the delivery bus's, as configured.
    fn limits(&self) -> SinkLimits {
        SinkLimits::Configured
    }
}

/// Where an org's records go (`sink` in the org's configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SinkChoice {
    /// The delivery bus (`OKTA_RELAY_DELIVERY_BUS`), whose rules take records on to the SIEM's
    /// API destination, one HTTP request per record.
    #[default]
    EventBus,
    /// An Amazon Data Firehose stream, one newline-terminated `Detail` per record: batched
    /// HTTP endpoints (Splunk, Datadog, Elastic, any HTTP SIEM) or an S3 archive.
    Firehose {
        /// The delivery stream's name.
        stream: String,
    },
}

impl std::fmt::Display for SinkChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SinkChoice::EventBus => f.write_str("the delivery bus"),
            SinkChoice::Firehose { stream } => write!(f, "Firehose stream {stream}"),
        }
    }
}

/// The sinks of a deployment, by the org's choice: the one seam between delivery and the
/// services it delivers to.
pub trait Sinks: Send + Sync {
    /// The sink for `org`'s records (a sink may name the org in its records).
    fn sink(&self, org: &str, choice: &SinkChoice) -> std::sync::Arc<dyn EventSink>;
}

/// One sink for every org, whatever it chose: for tests and tools that deliver to a sink they
/// built themselves.
pub struct OneSink(pub std::sync::Arc<dyn EventSink>);

impl Sinks for OneSink {
    fn sink(&self, _: &str, _: &SinkChoice) -> std::sync::Arc<dyn EventSink> {
        self.0.clone()
    }
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
