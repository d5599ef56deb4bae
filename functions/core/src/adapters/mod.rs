//! AWS implementations of the ports. SDK types stop here.
//!
//! Every client is built from [`load_aws_config`], which honours `AWS_ENDPOINT_URL` (and
//! `AWS_ENDPOINT_URL_<SERVICE>`), so the same binaries run against moto locally, and gives every
//! call a connect, an attempt and a total timeout ([`AwsTimeouts`]).

mod dynamodb;
pub mod per_event_clients;
mod s3_lake;
mod s3_object;
mod secrets_manager;
pub mod sinks;
mod ssm_parameter;
mod wiring;

pub use dynamodb::DynamoStateTable;
pub use s3_lake::S3LakeStore;
pub use s3_object::S3ObjectStore;
pub use secrets_manager::SecretsManagerSource;
pub use sinks::AwsSinks;
pub use sinks::{EventBridgeSink, FirehoseSink, eventbridge, firehose};
pub use ssm_parameter::SsmParameterStore;
pub use wiring::{AwsWiring, OperatorAws, Resources, config_store, function_from_env, s3_client};

use crate::limits::{AWS_ATTEMPT_TIMEOUT, AWS_CALL_TIMEOUT, AWS_CONNECT_TIMEOUT, AWS_MAX_ATTEMPTS};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::time::Duration;

/// How long AWS calls may take: every SDK client the relay builds has both limits, so a stalled
/// call ends (and is retried, up to [`AWS_MAX_ATTEMPTS`](crate::limits::AWS_MAX_ATTEMPTS)
/// attempts) instead of hanging a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsTimeouts {
    /// One attempt of a call.
    pub attempt: Duration,
    /// The whole call, retries included.
    pub call: Duration,
    /// One PutEvents attempt (longer: an abandoned attempt may have been delivered).
    pub put_events_attempt: Duration,
}

impl Default for AwsTimeouts {
    fn default() -> Self {
        Self {
            attempt: AWS_ATTEMPT_TIMEOUT,
            call: AWS_CALL_TIMEOUT,
            put_events_attempt: crate::limits::PUT_EVENTS_ATTEMPT_TIMEOUT,
        }
    }
}

impl AwsTimeouts {
    /// The timeouts `config` sets.
    pub fn of(config: &crate::config::RelayConfig) -> Self {
        Self {
            attempt: Duration::from_secs(config.aws_attempt_timeout_seconds),
            call: Duration::from_secs(config.aws_call_timeout_seconds),
            put_events_attempt: Duration::from_secs(config.put_events_attempt_timeout_seconds),
        }
    }

    /// The delivery bus client's: PutEvents attempts of their own length, and a call of
    /// [`PUT_EVENTS_ATTEMPTS_PER_CALL`](crate::limits::PUT_EVENTS_ATTEMPTS_PER_CALL) of them.
    pub fn put_events(self) -> Self {
        let attempt = self.put_events_attempt;
        Self {
            attempt,
            call: attempt * crate::limits::PUT_EVENTS_ATTEMPTS_PER_CALL
                + crate::limits::PUT_EVENTS_CALL_SLACK,
            ..self
        }
    }
}

/// Loads the shared AWS configuration (region, credentials, endpoint overrides) from the
/// environment, as Lambda and local runs provide it, with the default [`AwsTimeouts`].
pub async fn load_aws_config() -> aws_config::SdkConfig {
    load_aws_config_with(AwsTimeouts::default()).await
}

/// [`load_aws_config`] with the given timeouts.
pub async fn load_aws_config_with(timeouts: AwsTimeouts) -> aws_config::SdkConfig {
    let timeout_config = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(AWS_CONNECT_TIMEOUT)
        .operation_attempt_timeout(timeouts.attempt)
        .operation_timeout(timeouts.call)
        .build();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeout_config)
        .retry_config(
            aws_config::retry::RetryConfig::standard().with_max_attempts(AWS_MAX_ATTEMPTS),
        )
        .load()
        .await
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

    /// A configuration store's failure: `not_found` are the service's codes for a missing
    /// parameter or object.
    pub(crate) fn config_store_error(
        self,
        location: &str,
        not_found: &[&str],
    ) -> crate::ports::ConfigStoreError {
        use crate::ports::ConfigStoreError;
        let location = location.to_string();
        if not_found.iter().any(|code| self.code_is(code)) {
            ConfigStoreError::NotFound { location }
        } else if self.is_access_denied() {
            ConfigStoreError::AccessDenied {
                location,
                detail: self.code.unwrap_or_default(),
            }
        } else {
            ConfigStoreError::Unavailable {
                location,
                detail: self.detail,
            }
        }
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
