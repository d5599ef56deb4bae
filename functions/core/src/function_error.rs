//! What a function returns when an invocation fails: a stable, documented error code and a
//! message without secrets.
//!
//! The code is the Lambda error type (`errorType` on the Runtime API): what the invocation's
//! response and an on-failure destination's record carry, and what the handlers log as `code`,
//! so what an operator searches docs/operate.md for. Rust type names never reach them.

use crate::ErrorKind;
use lambda_runtime::Diagnostic;

/// The error codes a function can fail with (docs/operate.md, "Error codes"). Never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The payload is not a partner event the relay can forward: not an EventBridge envelope,
    /// not from an Okta partner source, or a System Log event without a `uuid` or `eventType`.
    /// Redelivery gives the same answer.
    InvalidEvent,
    /// A partner event from a source no configured org claims (`orgs[].partner_event_source`).
    UnknownSource,
    /// The function's configuration or an AWS resource it needs is wrong or missing (bad
    /// `OKTA_RELAY_CONFIG`, a missing table or bus, a missing permission).
    Configuration,
    /// A failure a retry can fix (throttling, a timeout, an unavailable table or bus).
    Transient,
    /// A failure that is the relay's own (a record it could not serialise, a broken contract).
    Internal,
}

impl ErrorCode {
    /// Every code, in docs/operate.md's order.
    pub const ALL: [ErrorCode; 5] = [
        ErrorCode::InvalidEvent,
        ErrorCode::UnknownSource,
        ErrorCode::Configuration,
        ErrorCode::Transient,
        ErrorCode::Internal,
    ];

    /// The Lambda error type.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidEvent => "OktaRelay.InvalidEvent",
            ErrorCode::UnknownSource => "OktaRelay.UnknownSource",
            ErrorCode::Configuration => "OktaRelay.Configuration",
            ErrorCode::Transient => "OktaRelay.Transient",
            ErrorCode::Internal => "OktaRelay.Internal",
        }
    }

    /// The code of an error of `kind` that is not about the input.
    pub fn for_kind(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Configuration => ErrorCode::Configuration,
            ErrorKind::Transient => ErrorCode::Transient,
            ErrorKind::Permanent => ErrorCode::Internal,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed invocation: its code and a message (error types here never carry secrets). Its
/// `Debug` is its `Display` (the runtime logs errors with `{:?}`): no Rust type name.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct FunctionError {
    pub code: ErrorCode,
    pub message: String,
    /// Whose fault: the error it came from says, else its code's usual side
    /// ([`FunctionError::new`]).
    pub fault: crate::Fault,
}

impl FunctionError {
    /// An error of `code`, at its code's usual side: a transient failure is AWS's (the bus, the
    /// table), everything else (a malformed or unknown event, the function's configuration, a
    /// panic) the relay's.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let fault = match code {
            ErrorCode::Transient => crate::Fault::Aws,
            _ => crate::Fault::Relay,
        };
        Self {
            code,
            message: message.into(),
            fault,
        }
    }

    /// The same error, at `fault`.
    pub fn at(mut self, fault: crate::Fault) -> Self {
        self.fault = fault;
        self
    }

    /// Whose fault the failed invocation was.
    pub fn fault(&self) -> crate::Fault {
        self.fault
    }

    /// The function could not start (configuration, wiring).
    pub fn configuration(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Configuration, message)
    }
}

impl std::fmt::Debug for FunctionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Runs a handler's future; a panic becomes `OktaRelay.Internal` instead of the runtime's
/// report, whose error type is a Rust type name.
pub async fn catching_panics<T>(
    handler: impl std::future::Future<Output = Result<T, FunctionError>>,
) -> Result<T, FunctionError> {
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(handler)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            tracing::error!(code = %ErrorCode::Internal, "the handler panicked");
            Err(FunctionError::new(
                ErrorCode::Internal,
                "the function failed unexpectedly; its log has the details",
            ))
        })
}

impl From<FunctionError> for Diagnostic {
    fn from(e: FunctionError) -> Self {
        Diagnostic {
            error_type: e.code.as_str().to_string(),
            error_message: e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_an_internal_error_and_debug_names_the_code() {
        let answer: Result<(), FunctionError> = catching_panics(async {
            if true {
                panic!("boom");
            }
            Ok(())
        })
        .await;
        let error = answer.unwrap_err();
        assert_eq!(error.code, ErrorCode::Internal);
        assert_eq!(
            Diagnostic::from(error.clone()).error_type,
            "OktaRelay.Internal"
        );
        assert!(
            format!("{error:?}").starts_with("OktaRelay.Internal: "),
            "{error:?}"
        );
    }

    #[test]
    fn codes_are_namespaced_and_distinct() {
        let codes: std::collections::BTreeSet<_> = ErrorCode::ALL.map(ErrorCode::as_str).into();
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        assert!(codes.iter().all(|c| c.starts_with("OktaRelay.")));
        assert_eq!(
            ErrorCode::for_kind(ErrorKind::Transient).as_str(),
            "OktaRelay.Transient"
        );
    }
}
