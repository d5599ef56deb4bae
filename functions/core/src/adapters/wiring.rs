//! The AWS side of the functions and the CLI, built in one place: the state table, the delivery
//! bus and Secrets Manager as [`Ports`]. Each `main.rs` is then a few lines of wiring.
//!
//! Environment: `OKTA_RELAY_STATE_TABLE` (the DynamoDB table name) and `OKTA_RELAY_DELIVERY_BUS`
//! (the delivery event bus name or ARN), one of the configuration variables
//! ([`ConfigSource`]), plus the standard AWS variables (`AWS_REGION`, credentials, and
//! `AWS_ENDPOINT_URL` for local runs).

use super::{
    AwsSinks, AwsTimeouts, DynamoStateTable, EventBridgeSink, FirehoseSink, S3LakeStore,
    S3ObjectStore, SecretsManagerSource, SsmParameterStore, load_aws_config,
};
use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, ConfigSource, LiveConfig, RelayConfig};
use crate::ports::{ConfigStore, Ports};
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
    pub sinks: AwsSinks,
    pub secrets: Arc<SecretsManagerSource>,
    pub lake: Arc<S3LakeStore>,
    pub clock: Arc<dyn Clock>,
}

impl AwsWiring {
    /// The adapters of `resources`, every AWS call with `timeouts`.
    pub async fn new(resources: &Resources, timeouts: AwsTimeouts, clock: Arc<dyn Clock>) -> Self {
        let aws = super::load_aws_config_with(timeouts).await;
        // Delivery calls (PutEvents, PutRecordBatch) get attempts of their own length: an
        // attempt abandoned while the service was still answering may have been delivered.
        let delivery = super::load_aws_config_with(timeouts.put_events()).await;
        Self {
            state: Arc::new(DynamoStateTable::new(
                super::per_event_clients::dynamodb(&aws),
                &resources.table,
                clock.clone(),
            )),
            sinks: AwsSinks {
                bus: Arc::new(EventBridgeSink::new(
                    super::per_event_clients::eventbridge(&delivery),
                    &resources.bus,
                )),
                firehose: super::per_event_clients::firehose(&delivery),
            },
            secrets: Arc::new(SecretsManagerSource::new(
                aws_sdk_secretsmanager::Client::new(&aws),
            )),
            lake: {
                let lake = super::load_aws_config_with(Self::lake_timeouts(timeouts)).await;
                Arc::new(S3LakeStore::new(s3_client(&lake)).with_roles(lake))
            },
            clock,
        }
    }

    /// The Security Lake client's timeouts: the configured ones, but never under
    /// [`LAKE_PUT_ATTEMPT_TIMEOUT`](crate::limits::LAKE_PUT_ATTEMPT_TIMEOUT) and
    /// [`LAKE_PUT_CALL_TIMEOUT`](crate::limits::LAKE_PUT_CALL_TIMEOUT).
    fn lake_timeouts(t: AwsTimeouts) -> AwsTimeouts {
        AwsTimeouts {
            attempt: t.attempt.max(crate::limits::LAKE_PUT_ATTEMPT_TIMEOUT),
            call: t.call.max(crate::limits::LAKE_PUT_CALL_TIMEOUT),
            ..t
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
            identities: self.state.clone(),
            sinks: Arc::new(self.sinks.clone()),
            lake: self.lake.clone(),
            clock: self.clock.clone(),
        }
    }
}

/// A function's service on its configuration and ports, from its environment: what both
/// `main.rs` start with. `build` makes the service from a configuration and the ports built
/// with that configuration's timeouts; with a stored configuration it runs again on each new
/// version ([`LiveConfig`]).
pub async fn function_from_env<S, B>(build: B) -> Result<LiveConfig<S>, ConfigError>
where
    S: Send + Sync + 'static,
    B: Fn(Arc<RelayConfig>, Ports) -> Result<S, String> + Send + Sync + 'static,
{
    let source = ConfigSource::from_env()?;
    let resources = Resources::from_env()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    if let Some(config) = source.read_local() {
        let config = Arc::new(config?);
        let ports = AwsWiring::new(&resources, AwsTimeouts::of(&config), clock.clone())
            .await
            .ports();
        let service = build(config, ports).map_err(|problem| ConfigError {
            field: "(start)".to_string(),
            problem,
        })?;
        return Ok(LiveConfig::fixed(service, clock));
    }
    let store = config_store(&source, &load_aws_config().await)?;
    let build = Arc::new(build);
    let wiring_clock = clock.clone();
    let build_service: crate::config::Build<S> = Box::new(move |config: Arc<RelayConfig>| {
        let (build, resources, clock) = (build.clone(), resources.clone(), wiring_clock.clone());
        Box::pin(async move {
            let ports = AwsWiring::new(&resources, AwsTimeouts::of(&config), clock)
                .await
                .ports();
            build(config, ports)
        })
    });
    Ok(LiveConfig::stored(store, build_service, clock))
}

/// The AWS side of an operator command (`okta-relay-ctl`), from the default credential chain
/// and `AWS_ENDPOINT_URL`: the adapters it needs, so no SDK type leaves `adapters/`.
#[derive(Clone)]
pub struct OperatorAws {
    sdk: aws_config::SdkConfig,
    clock: Arc<dyn Clock>,
}

impl OperatorAws {
    pub async fn load() -> Self {
        Self {
            sdk: super::load_aws_config().await,
            clock: Arc::new(SystemClock),
        }
    }

    pub fn table(&self, name: &str) -> Arc<DynamoStateTable> {
        Arc::new(DynamoStateTable::new(
            super::per_event_clients::dynamodb(&self.sdk),
            name,
            self.clock.clone(),
        ))
    }

    pub fn sink(&self, bus: &str) -> Arc<EventBridgeSink> {
        Arc::new(EventBridgeSink::new(
            super::per_event_clients::eventbridge(&self.sdk),
            bus,
        ))
    }

    /// A Firehose delivery stream (`validate-config`).
    pub fn firehose(&self, stream: &str) -> Arc<FirehoseSink> {
        Arc::new(FirehoseSink::new(
            super::per_event_clients::firehose(&self.sdk),
            stream,
            "",
        ))
    }

    pub fn secrets(&self) -> Arc<SecretsManagerSource> {
        Arc::new(SecretsManagerSource::new(
            aws_sdk_secretsmanager::Client::new(&self.sdk),
        ))
    }

    /// The Security Lake bucket's store.
    pub fn lake(&self) -> Arc<S3LakeStore> {
        Arc::new(S3LakeStore::new(s3_client(&self.sdk)).with_roles(self.sdk.clone()))
    }

    /// The clock the adapters use.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The store a stored configuration lives in.
    pub fn config_store(&self, source: &ConfigSource) -> Result<Arc<dyn ConfigStore>, ConfigError> {
        config_store(source, &self.sdk)
    }
}

/// The store a [`ConfigSource`] names, on `aws`.
pub fn config_store(
    source: &ConfigSource,
    aws: &aws_config::SdkConfig,
) -> Result<Arc<dyn ConfigStore>, ConfigError> {
    match source {
        ConfigSource::Parameter(name) => Ok(Arc::new(SsmParameterStore::new(
            aws_sdk_ssm::Client::new(aws),
            name,
        ))),
        ConfigSource::Object { bucket, key } => {
            Ok(Arc::new(S3ObjectStore::new(s3_client(aws), bucket, key)))
        }
        ConfigSource::Inline(_) | ConfigSource::File(_) => Err(ConfigError {
            field: "(source)".to_string(),
            problem: "an inline or file configuration has no store".to_string(),
        }),
    }
}

/// An S3 client: virtual-hosted addressing on AWS, path-style on an endpoint override
/// (`AWS_ENDPOINT_URL`: moto and other local stand-ins serve every bucket on one host).
pub fn s3_client(aws: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let path_style = aws.endpoint_url().is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(aws)
            .force_path_style(path_style)
            .build(),
    )
}
