//! `okta-sim --listen 127.0.0.1:0 --token <T> [seed and size flags]`: prints one line
//! `okta-sim listening on http://127.0.0.1:<port>` and serves until killed.

use clap::Parser;
use okta_sim::{LimitConfig, SeedConfig, SimConfig};
use std::collections::BTreeMap;
use std::net::SocketAddr;

#[derive(Parser)]
#[command(name = "okta-sim", about = "A local Okta Management API simulator")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// A valid SSWS API token (repeatable). Prefer --token-file: arguments are visible to `ps`.
    #[arg(long)]
    token: Vec<String>,
    /// A file holding one valid SSWS token.
    #[arg(long)]
    token_file: Option<std::path::PathBuf>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, default_value_t = 50)]
    users: usize,
    #[arg(long, default_value_t = 10)]
    groups: usize,
    #[arg(long, default_value_t = 100)]
    memberships: usize,
    #[arg(long, default_value_t = 5)]
    apps: usize,
    #[arg(long, default_value_t = 50)]
    app_users: usize,
    #[arg(long, default_value_t = 10)]
    app_groups: usize,
    #[arg(long, default_value_t = 200)]
    backlog_events: usize,
    #[arg(long, default_value_t = 12)]
    backlog_hours: u32,
    /// Share of events persisted late (published earlier than events already stored).
    #[arg(long, default_value_t = 0.05)]
    late_share: f64,
    /// Live activity: events per second (0 = none).
    #[arg(long, default_value_t = 0.0)]
    live_rate: f64,
    /// Per-minute limit of a bucket, as BUCKET=N (repeatable), e.g. /api/v1/logs=120.
    #[arg(long = "limit")]
    limits: Vec<String>,
    /// Simulated minutes per real minute for rate-limit windows.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Org-wide concurrent request limit.
    #[arg(long)]
    concurrency: Option<u32>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut tokens = args.token;
    if let Some(path) = args.token_file {
        tokens.push(std::fs::read_to_string(path)?.trim().to_string());
    }
    let mut per_minute = BTreeMap::new();
    for spec in &args.limits {
        let (bucket, n) = spec.split_once('=').ok_or("--limit takes BUCKET=N")?;
        per_minute.insert(bucket.to_string(), n.parse()?);
    }
    let config = SimConfig {
        listen: Some(args.listen),
        tokens,
        seed: SeedConfig {
            seed: args.seed,
            users: args.users,
            groups: args.groups,
            memberships: args.memberships,
            apps: args.apps,
            app_users: args.app_users,
            app_groups: args.app_groups,
            backlog_events: args.backlog_events,
            backlog_hours: args.backlog_hours,
            late_share: args.late_share,
            ..SeedConfig::default()
        },
        limits: LimitConfig {
            per_minute,
            time_scale: args.time_scale,
            concurrency: args.concurrency,
        },
    };
    let sim = okta_sim::start(config).await?;
    if args.live_rate > 0.0 {
        *sim.state.live.lock().unwrap_or_else(|p| p.into_inner()) = okta_sim::LiveConfig {
            events_per_second: args.live_rate,
            late_share: args.late_share,
            max_late_seconds: 120,
        };
    }
    println!("okta-sim listening on {}", sim.url);
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = sim.wait() => {}
    }
    Ok(())
}
