//! `status`: one row per org and stream.

use crate::context::{Aws, Options};
use crate::show;
use anyhow::{Result, bail};
use chrono::Utc;
use okta_relay::operator::{StreamState, StreamStatus, gather};
use std::process::ExitCode;

pub async fn run(
    options: &Options,
    org: Option<&str>,
    json: bool,
    watch: Option<u64>,
) -> Result<ExitCode> {
    let config = options.relay_config().await?;
    if let Some(name) = org
        && !config.orgs.iter().any(|o| o.name == name)
    {
        bail!("no org named {name:?} in the configuration");
    }
    let aws = Aws::load().await;
    let table = aws.table(options.table_name()?);
    loop {
        let now = Utc::now();
        let statuses = gather(&config, org, table.as_ref(), table.as_ref(), now).await?;
        if watch.is_some() && !json {
            // Clear the terminal and draw from the top, as `watch(1)` does.
            print!("\x1b[2J\x1b[H");
        }
        if json {
            println!("{}", serde_json::to_string_pretty(&statuses)?);
        } else {
            print!("{}", render(&statuses, now));
            let attention = statuses
                .iter()
                .filter(|s| s.state.needs_attention())
                .count();
            if attention > 0 {
                println!(
                    "\n{attention} stream(s) need attention: see docs/operate.md, Troubleshooting."
                );
            }
        }
        let Some(seconds) = watch else {
            return Ok(ExitCode::SUCCESS);
        };
        std::io::Write::flush(&mut std::io::stdout())?;
        tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
    }
}

fn render(statuses: &[StreamStatus], now: chrono::DateTime<Utc>) -> String {
    let mut rows = vec![
        [
            "ORG",
            "STREAM",
            "STATE",
            "FAULT",
            "SINCE",
            "LAST SUCCESS",
            "LAG",
            "RATE LIMIT LEFT",
            "LAST ERROR",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for s in statuses {
        let mut state = s.state.as_str().to_string();
        if let Some(owner) = &s.lease_owner {
            state.push_str(&format!(" (running: {owner})"));
        } else if let Some(until) = s.backoff_until {
            state.push_str(&format!(" (retry {})", until.format("%H:%M UTC")));
        }
        let error = match &s.last_error {
            // An error, or an overdue stream whose runs keep failing (its fault says whose).
            Some(message) if s.state == StreamState::Error || s.fault.is_some() => {
                let kind = s
                    .last_error_kind
                    .map_or(String::new(), |k| format!("{k}: "));
                format!(
                    "{kind}{message} ({}×, {})",
                    s.consecutive_failures,
                    show::ago(s.last_error_at, now)
                )
            }
            _ => "-".into(),
        };
        rows.push(vec![
            s.org.clone(),
            s.stream.clone(),
            state,
            s.fault.map_or("-".into(), |f| f.to_string()),
            show::ago(s.since, now),
            show::ago(s.last_success_at, now),
            s.lag_seconds.map_or("-".into(), show::duration),
            s.rate_limit
                .map_or("-".into(), |h| format!("{}/{}", h.remaining, h.limit)),
            error,
        ]);
    }
    show::table(&rows)
}
