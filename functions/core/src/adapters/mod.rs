//! AWS implementations of the ports. SDK types stop here.
//!
//! Every client is built from [`aws_config::load_defaults`], which honours `AWS_ENDPOINT_URL`
//! (and `AWS_ENDPOINT_URL_<SERVICE>`), so the same binaries run against moto locally.

mod dynamodb;
pub mod eventbridge;
mod secrets_manager;
mod wiring;

pub use dynamodb::DynamoStateTable;
pub use eventbridge::EventBridgeSink;
pub use secrets_manager::SecretsManagerSource;
pub use wiring::AwsWiring;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Loads the shared AWS configuration (region, credentials, endpoint overrides) from the
/// environment, as Lambda and local runs provide it.
pub async fn load_aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// An SDK failure reduced to what the adapters branch on.
#[derive(Debug)]
pub(crate) struct AwsFailure {
    /// The service's error code (`ConditionalCheckFailedException`, …), if the service answered.
    pub code: Option<String>,
    pub detail: String,
}

impl AwsFailure {
    pub(crate) fn from_sdk<E, R>(err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let mut detail = format!("{}", DisplayErrorContext(err));
        detail.truncate(400);
        Self {
            code: err.code().map(str::to_string),
            detail,
        }
    }

    pub(crate) fn code_is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    pub(crate) fn is_access_denied(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some(
                "AccessDeniedException"
                    | "AccessDenied"
                    | "UnrecognizedClientException"
                    | "InvalidSignatureException"
                    | "ExpiredTokenException"
                    | "NotAuthorized"
                    | "KMSAccessDeniedException"
                    | "DecryptionFailure"
            )
        )
    }
}
