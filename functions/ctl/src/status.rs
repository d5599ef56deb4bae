//! `status`: one row per org and stream.

use crate::context::{Aws, Options};
use crate::show;
use anyhow::{Result, bail};
use chrono::Utc;
use okta_relay::operator::{StreamStatus, gather};
use std::process::ExitCode;

pub async fn run(options: &Options, org: Option<&str>, json: bool) -> Result<ExitCode> {
    let config = options.relay_config()?;
    if let Some(name) = org
        && !config.orgs.iter().any(|o| o.name == name)
    {
        bail!("no org named {name:?} in the configuration");
    }
    let aws = Aws::load().await;
    let table = aws.table(options.table_name()?);
    let now = Utc::now();
    let statuses = gather(&config, org, table.as_ref(), table.as_ref(), now).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&statuses)?);
    } else {
        print!("{}", render(&statuses, now));
        let attention = statuses
            .iter()
            .filter(|s| s.state.needs_attention())
            .count();
        if attention > 0 {
            println!("\n{attention} stream(s) need attention: see README § Troubleshooting.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn render(statuses: &[StreamStatus], now: chrono::DateTime<Utc>) -> String {
    let mut rows = vec![
        [
            "ORG",
            "STREAM",
            "STATE",
            "LAST SUCCESS",
            "LAG",
            "RATE LIMIT LEFT",
            "LAST ERROR",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for s in statuses {
        let state = match (&s.lease_owner, s.backoff_until) {
            (Some(owner), _) => format!("running ({owner})"),
            (None, Some(until)) => format!("backing_off until {}", until.format("%H:%M UTC")),
            _ => serde_json::to_value(s.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        };
        let error = match (&s.last_error, s.last_error_kind) {
            (Some(message), kind) if s.consecutive_failures > 0 || s.state.needs_attention() => {
                let kind = kind.map_or(String::new(), |k| format!("{k}: "));
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
            show::ago(s.last_success_at, now),
            s.lag_seconds.map_or("-".into(), show::duration),
            s.rate_limit
                .map_or("-".into(), |h| format!("{}/{}", h.remaining, h.limit)),
            error,
        ]);
    }
    show::table(&rows)
}
