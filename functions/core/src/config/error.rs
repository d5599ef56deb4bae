//! A configuration problem names its field, so an operator knows what to change.

use thiserror::Error;

/// A configuration problem, naming the field (`orgs[1].secret_arn`).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("invalid configuration: {field}: {problem}")]
pub struct ConfigError {
    pub field: String,
    pub problem: String,
}

impl ConfigError {
    /// An operator must change the relay's configuration document.
    pub fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::Configuration
    }

    /// The relay's own configuration (not Okta's, not an AWS resource): [`crate::Fault::Relay`].
    pub fn fault(&self) -> crate::Fault {
        crate::Fault::Relay
    }
}

pub(crate) fn err(field: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        problem: problem.into(),
    }
}
