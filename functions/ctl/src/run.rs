//! `run`: one poller run from the command line, against real AWS or any `AWS_ENDPOINT_URL`:
//! the same code path as the poller function's handler. Prints each stream's outcome as JSON
//! on stdout (logs go to stderr).

use crate::context::{Options, ports};
use anyhow::{Context, Result};
use chrono::Utc;
use okta_relay::poller::{PollerService, RunSettings};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct Args {
    /// Stop taking pages after about this many seconds (default: `max_run_seconds`).
    #[arg(long)]
    seconds: Option<u64>,
    /// The lease owner: a stable name lets a restarted worker take its own lease back at once.
    #[arg(long)]
    owner: Option<String>,
    /// Only this org (what the org's own schedule invokes the poller with).
    #[arg(long)]
    org: Option<String>,
}

pub async fn run(options: &Options, args: Args) -> Result<ExitCode> {
    let config = options.relay_config().await?;
    if let Some(name) = &args.org
        && !config.orgs.iter().any(|o| &o.name == name)
    {
        anyhow::bail!("no org named {name:?} in the configuration");
    }
    let seconds = args.seconds.unwrap_or(config.max_run_seconds);
    let ports = ports(options, &config).await?;
    let settings = RunSettings::from_config(&config);
    let service = PollerService::new(Arc::new(config), ports, settings)
        .context("cannot build the Okta client")?;
    let owner = args.owner.unwrap_or_else(|| crate::context::owner("run"));
    let deadline = Utc::now() + chrono::Duration::seconds(seconds as i64);
    let span = tracing::info_span!("invocation", request_id = %owner);
    let run = async {
        let outcomes = service
            .run_orgs(&owner, deadline, args.org.as_deref())
            .await;
        // The lake from staging, as the poller function does after its streams (logged).
        service.write_lake(&owner, deadline).await;
        outcomes
    };
    let outcomes = tracing::Instrument::instrument(run, span).await;
    println!("{}", serde_json::to_string_pretty(&outcomes)?);
    Ok(ExitCode::SUCCESS)
}
