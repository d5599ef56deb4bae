//! The AWS side of both functions, built from the environment in one place so each `main.rs`
//! stays a few lines of wiring.
//!
//! Environment: `OKTA_RELAY_STATE_TABLE` (the DynamoDB table name) and `OKTA_RELAY_DELIVERY_BUS`
//! (the delivery event bus name or ARN), plus the standard AWS variables (`AWS_REGION`,
//! credentials, and `AWS_ENDPOINT_URL` for local runs).

use super::{DynamoStateTable, EventBridgeSink, SecretsManagerSource};
use crate::clock::Clock;
use crate::config::ConfigError;
use std::sync::Arc;

/// The adapters a function needs.
#[derive(Clone)]
pub struct AwsWiring {
    pub state: Arc<DynamoStateTable>,
    pub sink: Arc<EventBridgeSink>,
    pub secrets: Arc<SecretsManagerSource>,
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

impl AwsWiring {
    pub async fn from_env(
        clock: Arc<dyn Clock>,
        timeouts: super::AwsTimeouts,
    ) -> Result<Self, ConfigError> {
        let table = required("OKTA_RELAY_STATE_TABLE")?;
        let bus = required("OKTA_RELAY_DELIVERY_BUS")?;
        let aws = super::load_aws_config_with(timeouts).await;
        Ok(Self {
            state: Arc::new(DynamoStateTable::new(
                aws_sdk_dynamodb::Client::new(&aws),
                table,
                clock,
            )),
            sink: Arc::new(EventBridgeSink::new(
                aws_sdk_eventbridge::Client::new(&aws),
                bus,
            )),
            secrets: Arc::new(SecretsManagerSource::new(
                aws_sdk_secretsmanager::Client::new(&aws),
            )),
        })
    }
}
