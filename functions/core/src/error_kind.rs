//! How a caller should react to an error: the one question every error type here answers.

use serde::{Deserialize, Serialize};

/// What a failure means for the stream that hit it (`ARCHITECTURE.md`, "Errors have kinds").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Wrong or missing configuration (bad token, 401/403, missing secret, bad URL).
    /// Retrying will not help until an operator changes something: stop the stream.
    Configuration,
    /// Throttling, 5xx, timeouts, dropped connections: retry later with backoff.
    Transient,
    /// The data or the peer broke a contract (malformed body, hostile link). Retrying the same
    /// request gives the same answer; surface it and keep other streams running.
    Permanent,
}

impl ErrorKind {
    /// Whether retrying the same operation later can succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Transient)
    }

    /// A stable lower-case label for logs, metrics and the health record.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Configuration => "configuration",
            ErrorKind::Transient => "transient",
            ErrorKind::Permanent => "permanent",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
