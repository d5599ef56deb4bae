//! What an invocation of the events function answers when a partner event fails: the
//! [`FunctionError`] of a [`PushError`], its stable code the Lambda error type operators see.

use super::PushError;
use crate::function_error::{ErrorCode, FunctionError};

impl From<&PushError> for FunctionError {
    fn from(e: &PushError) -> Self {
        let code = match e {
            PushError::Envelope(_) | PushError::NotOkta(_) | PushError::Event(_) => {
                ErrorCode::InvalidEvent
            }
            PushError::UnknownSource(_) => ErrorCode::UnknownSource,
            PushError::Forward { source, .. } => ErrorCode::for_kind(source.kind()),
            PushError::Deadline { .. } => ErrorCode::for_kind(e.kind()),
            PushError::Panicked { .. } => ErrorCode::Internal,
        };
        Self::new(code, e.to_string()).at(e.fault())
    }
}

impl From<PushError> for FunctionError {
    fn from(e: PushError) -> Self {
        Self::from(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::log_header::InvalidLogEvent;
    use lambda_runtime::Diagnostic;

    #[test]
    fn push_errors_map_to_their_documented_codes() {
        let cases = [
            (PushError::Envelope("x".into()), "OktaRelay.InvalidEvent"),
            (PushError::NotOkta("x".into()), "OktaRelay.InvalidEvent"),
            (
                PushError::Event(InvalidLogEvent::Field("uuid")),
                "OktaRelay.InvalidEvent",
            ),
            (
                PushError::UnknownSource("x".into()),
                "OktaRelay.UnknownSource",
            ),
            (
                PushError::Deadline { org: "a".into() },
                "OktaRelay.Transient",
            ),
            (
                PushError::Panicked { org: "a".into() },
                "OktaRelay.Internal",
            ),
        ];
        for (error, code) in cases {
            let diagnostic = Diagnostic::from(FunctionError::from(&error));
            assert_eq!(diagnostic.error_type, code);
            assert_eq!(diagnostic.error_message, error.to_string());
        }
    }
}
