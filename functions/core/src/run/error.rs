//! Why a stream's run failed, and whose fault it is ([`ErrorKind`]).

use crate::ErrorKind;
use crate::okta::OktaError;
use crate::pipeline::ForwardError;
use crate::ports::{SecretError, StateError};
use thiserror::Error;

/// Why a stream's run failed.
#[derive(Debug, Error)]
pub enum PollError {
    #[error("{0}")]
    Secret(#[from] SecretError),
    #[error("org secret: {0}")]
    Credentials(#[from] crate::okta::credentials::CredentialsError),
    #[error("{0}")]
    Okta(#[from] OktaError),
    #[error("{0}")]
    State(#[from] StateError),
    #[error("{0}")]
    Forward(#[from] ForwardError),
    #[error("{0}")]
    Cursor(#[from] CursorError),
    /// Re-reading the secret after an authentication failure found it unchanged (internal: the
    /// original failure is what gets reported).
    #[error("the org's secret is unchanged")]
    AuthenticationUnchanged,
    /// A page's delivery had not finished when the run's deadline came (less what committing
    /// takes): the run stops there, the page's cursor unmoved (internal: reported as a stop
    /// for the deadline, not as an error).
    #[error("the run's deadline came during a delivery")]
    OutOfTime,
}

impl PollError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            PollError::Secret(e) => e.kind(),
            PollError::Credentials(e) => e.kind(),
            PollError::Okta(e) => e.kind(),
            PollError::State(e) => e.kind(),
            PollError::Forward(e) => e.kind(),
            PollError::Cursor(e) => e.kind(),
            PollError::AuthenticationUnchanged => ErrorKind::Configuration,
            PollError::OutOfTime => ErrorKind::Transient,
        }
    }

    /// Whose fault ([`crate::Fault`]): the secret store is AWS's, what the secret says about
    /// Okta and a cursor pointing at another org are Okta configuration.
    pub fn fault(&self) -> crate::Fault {
        use crate::Fault;
        match self {
            PollError::Secret(e) => e.fault(),
            PollError::Credentials(e) => e.fault(),
            PollError::AuthenticationUnchanged => Fault::OktaConfiguration,
            PollError::Okta(e) => e.fault(),
            PollError::State(e) => e.fault(),
            PollError::Forward(e) => e.fault(),
            PollError::Cursor(e) => e.fault(),
            // Time went in slow AWS calls (the deliveries).
            PollError::OutOfTime => Fault::Aws,
        }
    }

    /// Okta refused the credentials (a 401, `E0000011`, or the token endpoint's refusal): a
    /// rotated secret may fix it at once.
    pub fn is_authentication_failure(&self) -> bool {
        match self {
            PollError::Okta(OktaError::Api { status, .. }) => *status == 401,
            PollError::Okta(OktaError::OAuth { .. }) => self.kind() == ErrorKind::Configuration,
            _ => false,
        }
    }
}

/// A stored cursor the stream cannot go on from. Starting over silently could skip or repeat
/// a window, so the stream stops (a configuration error, retried with backoff) and the message
/// names the fix.
#[derive(Debug, Error)]
pub enum CursorError {
    #[error(
        "the stored System Log cursor points at {stored}, not at the org's URL {org} (did the org move to another domain?); \
         check the org URL in its secret, then run `okta-relay-ctl reset-cursor --org <org> --stream logs` to start again from the lookback window"
    )]
    ForeignOrigin { stored: String, org: String },
    #[error(
        "the stored System Log cursor is not a URL; run `okta-relay-ctl reset-cursor --org <org> --stream logs` to start again from the lookback window"
    )]
    NotAUrl,
    #[error("{0}")]
    Directory(#[from] crate::inventory::cursor::UnreadableCursor),
    #[error(
        "the directory cursor would be {bytes} bytes, more than the state table's item can hold"
    )]
    TooLarge { bytes: usize },
}

impl CursorError {
    /// A cursor too large for its item cannot be stored however often it is retried; any other
    /// unusable cursor waits for an operator's reset.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CursorError::TooLarge { .. } => ErrorKind::Permanent,
            _ => ErrorKind::Configuration,
        }
    }

    /// A cursor on another origin (or not a URL) says the org moved: Okta configuration. A
    /// directory cursor the relay cannot read or store is the relay's.
    pub fn fault(&self) -> crate::Fault {
        match self {
            CursorError::ForeignOrigin { .. } | CursorError::NotAUrl => {
                crate::Fault::OktaConfiguration
            }
            _ => crate::Fault::Relay,
        }
    }
}
