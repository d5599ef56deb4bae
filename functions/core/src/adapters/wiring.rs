//! The AWS side of the functions and the CLI, built in one place: the state table, the delivery
//! bus and Secrets Manager as [`Ports`]. Each `main.rs` is then a few lines of wiring.
//!
//! Environment: `OKTA_RELAY_STATE_TABLE` (the DynamoDB table name) and `OKTA_RELAY_DELIVERY_BUS`
//! (the delivery event bus name or ARN), plus the standard AWS variables (`AWS_REGION`,
//! credentials, and `AWS_ENDPOINT_URL` for local runs).

use super::{AwsTimeouts, DynamoStateTable, EventBridgeSink, SecretsManagerSource};
use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, RelayConfig};
use crate::ports::Ports;
use std::sync::Arc;

/// Where the relay's resources are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub table: String,
    pub bus: String,
}

impl Resources {
    /// From `OKTA_RELAY_STATE_TABLE` and `OKTA_RELAY_DELIVERY_BUS`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table: required("OKTA_RELAY_STATE_TABLE")?,
            bus: required("OKTA_RELAY_DELIVERY_BUS")?,
        })
    }
}

fn required(name: &str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ConfigError {
            field: name.to_string(),
            problem: "environment variable is not set".to_string(),
        })
}

/// The adapters.
#[derive(Clone)]
pub struct AwsWiring {
    pub state: Arc<DynamoStateTable>,
    pub sink: Arc<EventBridgeSink>,
    pub secrets: Arc<SecretsManagerSource>,
    pub clock: Arc<dyn Clock>,
}

impl AwsWiring {
    /// The adapters of `resources`, every AWS call with `timeouts`.
    pub async fn new(resources: &Resources, timeouts: AwsTimeouts, clock: Arc<dyn Clock>) -> Self {
        let aws = super::load_aws_config_with(timeouts).await;
        Self {
            state: Arc::new(DynamoStateTable::new(
                aws_sdk_dynamodb::Client::new(&aws),
                &resources.table,
                clock.clone(),
            )),
            sink: Arc::new(EventBridgeSink::new(
                aws_sdk_eventbridge::Client::new(&aws),
                &resources.bus,
            )),
            secrets: Arc::new(SecretsManagerSource::new(
                aws_sdk_secretsmanager::Client::new(&aws),
            )),
            clock,
        }
    }

    /// The adapters the environment names.
    pub async fn from_env(
        clock: Arc<dyn Clock>,
        timeouts: AwsTimeouts,
    ) -> Result<Self, ConfigError> {
        Ok(Self::new(&Resources::from_env()?, timeouts, clock).await)
    }

    /// Every port, on these adapters.
    pub fn ports(&self) -> Ports {
        Ports {
            secrets: self.secrets.clone(),
            streams: self.state.clone(),
            dedupe: self.state.clone(),
            health: self.state.clone(),
            sink: self.sink.clone(),
            clock: self.clock.clone(),
        }
    }
}

/// A function's configuration and ports, from its environment: what both `main.rs` start with.
pub async fn function_from_env() -> Result<(Arc<RelayConfig>, Ports), ConfigError> {
    let config = RelayConfig::from_env()?;
    let wiring = AwsWiring::from_env(Arc::new(SystemClock), config.aws_timeouts()).await?;
    Ok((Arc::new(config), wiring.ports()))
}
