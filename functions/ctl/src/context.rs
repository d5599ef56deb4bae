//! What every command needs: the configuration and the AWS adapters, from options or the same
//! environment variables the functions read.

use anyhow::{Context, Result, bail};
pub use okta_relay::adapters::OperatorAws as Aws;
use okta_relay::adapters::{AwsWiring, Resources};
use okta_relay::clock::SystemClock;
use okta_relay::config::{ConfigSource, RelayConfig};
use okta_relay::ports::Ports;
use std::path::PathBuf;
use std::sync::Arc;

pub struct Options {
    pub config: Option<PathBuf>,
    pub table: Option<String>,
    pub bus: Option<String>,
}

impl Options {
    /// The configuration from `--config`, else from where the functions' variables say
    /// (`OKTA_RELAY_CONFIG`, `OKTA_RELAY_CONFIG_PARAMETER`, `OKTA_RELAY_CONFIG_OBJECT`).
    /// Errors name the field, or the store and what failed.
    pub async fn relay_config(&self) -> Result<RelayConfig> {
        if let Some(path) = &self.config {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            return Ok(RelayConfig::from_json(&text)?);
        }
        let source = ConfigSource::from_env()?;
        if let Some(config) = source.read_local() {
            return Ok(config?);
        }
        let store = Aws::load().await.config_store(&source)?;
        let document = store.fetch().await?;
        RelayConfig::from_json(&document.text)
            .with_context(|| format!("the configuration in {}", store.location()))
    }

    pub fn table_name(&self) -> Result<&str> {
        match self.table.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(t) => Ok(t),
            None => bail!("no state table: pass --table or set OKTA_RELAY_STATE_TABLE"),
        }
    }

    pub fn bus_name(&self) -> Result<&str> {
        match self.bus.as_deref().filter(|b| !b.trim().is_empty()) {
            Some(b) => Ok(b),
            None => bail!("no delivery bus: pass --bus or set OKTA_RELAY_DELIVERY_BUS"),
        }
    }
}

/// Every port the poller uses, on the table and bus the options name, as the functions build
/// them.
pub async fn ports(options: &Options, config: &RelayConfig) -> Result<Ports> {
    let resources = Resources {
        table: options.table_name()?.to_string(),
        bus: options.bus_name()?.to_string(),
    };
    let wiring = AwsWiring::new(
        &resources,
        okta_relay::adapters::AwsTimeouts::of(config),
        Arc::new(SystemClock),
    )
    .await;
    Ok(wiring.ports())
}

/// A lease owner that says who and where, unique per process: `okta-relay-ctl:<command>:<pid>-<nonce>`.
/// The pid alone is not enough: two `okta-relay-ctl` processes in containers both have pid 1,
/// and a lease owner shared by two processes lets each commit over the other.
pub fn owner(command: &str) -> String {
    use rand::RngExt;
    let nonce: u32 = rand::rng().random();
    format!(
        "okta-relay-ctl:{command}:{}-{nonce:08x}",
        std::process::id()
    )
}
