//! `okta-relay-ctl`: the operator's tool for a running relay. It reads the same configuration
//! and talks to the same state table, secrets and delivery bus as the functions, through the
//! same library code, so it works against real AWS or any `AWS_ENDPOINT_URL`.
//!
//! Exit codes: 0 done; 1 a check or the operation failed; 2 refused or misused (bad arguments,
//! no confirmation, a busy stream).

mod backfill;
mod context;
mod reset;
mod run;
mod show;
mod status;
mod validate;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "okta-relay-ctl",
    version,
    about = "Operate an okta-relay deployment"
)]
struct Cli {
    /// The relay configuration file (JSON; default: the OKTA_RELAY_CONFIG variable's text).
    #[arg(long, global = true, env = "OKTA_RELAY_CONFIG_FILE")]
    config: Option<std::path::PathBuf>,
    /// The state table's name.
    #[arg(long, global = true, env = "OKTA_RELAY_STATE_TABLE")]
    table: Option<String>,
    /// The delivery event bus's name or ARN.
    #[arg(long, global = true, env = "OKTA_RELAY_DELIVERY_BUS")]
    bus: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Each org's streams: state (pending, authenticated, collecting, caught_up, overdue,
    /// error) and since when, whose fault an error is, last success, lag, rate-limit headroom.
    Status {
        /// Only this org.
        #[arg(long)]
        org: Option<String>,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
        /// Redraw every this many seconds until interrupted (Ctrl-C).
        #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "5",
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        watch: Option<u64>,
    },
    /// Forward one System Log window again, through the same dedupe and delivery bus.
    /// Bounded and resumable: run the same command again to go on.
    Backfill(backfill::Args),
    /// Parse the configuration, then check each org's secret and Okta access, each partner
    /// event bus, the state table, the delivery bus and the Security Lake bucket (its owner and
    /// write access, probed without writing).
    ValidateConfig {
        /// Only parse the configuration (no AWS or Okta call).
        #[arg(long)]
        offline: bool,
        #[arg(long)]
        json: bool,
    },
    /// One poller run now, the same code path as the poller function; prints each stream's
    /// outcome as JSON.
    Run(run::Args),
    /// Make one stream start over (System Log: its lookback window; directory: a full sync).
    ResetCursor {
        #[arg(long)]
        org: String,
        #[arg(long)]
        stream: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
    },
}

/// mimalloc, not glibc's allocator: the SDK allocates per request, and glibc spent ~15 % of
/// the poller's CPU in malloc and free (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    okta_relay::telemetry::init_with(std::io::stderr, "warn");
    let cli = Cli::parse();
    let options = context::Options {
        config: cli.config,
        table: cli.table,
        bus: cli.bus,
    };
    let result = match cli.command {
        Command::Status { org, json, watch } => {
            status::run(&options, org.as_deref(), json, watch).await
        }
        Command::Backfill(args) => backfill::run(&options, args).await,
        Command::ValidateConfig { offline, json } => validate::run(&options, offline, json).await,
        Command::ResetCursor { org, stream, yes } => reset::run(&options, &org, &stream, yes).await,
        Command::Run(args) => run::run(&options, args).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
