//! A configuration problem names its field, so an operator knows what to change.

use thiserror::Error;

/// A configuration problem, naming the field (`orgs[1].secret_arn`).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("invalid configuration: {field}: {problem}")]
pub struct ConfigError {
    pub field: String,
    pub problem: String,
}

pub(crate) fn err(field: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        problem: problem.into(),
    }
}
