//! `reset-cursor`: says what the reset skips (the System Log window between the newest event
//! read and the new lookback, with the backfill command that covers it), asks before it acts
//! (or needs `--yes`), then clears the cursor under the stream's lease (`operator::reset`).

use crate::context::{Aws, Options, owner};
use anyhow::Result;
use okta_relay::config::RelayConfig;
use okta_relay::operator::{ResetError, reset_cursor, resettable, skipped_by_reset};
use okta_relay::ports::StreamKey;
use okta_relay::stream::StreamId;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

pub async fn run(options: &Options, org: &str, stream: &str, yes: bool) -> Result<ExitCode> {
    let config = options.relay_config().await?;
    let key = match resettable(&config, org, stream) {
        Ok(key) => key,
        Err(e) => {
            eprintln!("refused: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let effect = effect(&config, &key);
    let aws = Aws::load().await;
    let table = aws.table(options.table_name()?);
    let skipped = skipped_by_reset(&config, &key, table.as_ref(), chrono::Utc::now()).await?;
    // Before it acts, with or without --yes: a skipped window is data the SIEM will not get.
    eprintln!("{key}: {}", skipped.explain(&key.org));
    if !yes && !confirmed(&key, &effect)? {
        return Ok(ExitCode::from(2));
    }
    let owner = owner("reset-cursor");
    match reset_cursor(table.as_ref(), &key, &owner, config.lease_ttl()).await {
        Ok(done) => {
            let had = if done.previous.is_some() {
                "cursor removed"
            } else {
                "there was no cursor"
            };
            println!("{key}: {had}; {effect}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ ResetError::Busy { .. }) => {
            eprintln!("refused: {e}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
    }
}

/// What the reset makes the stream do next.
fn effect(config: &RelayConfig, key: &StreamKey) -> String {
    match StreamId::parse(&key.stream) {
        Some(StreamId::Logs) => format!(
            "the next run reads the System Log again from {} hours back",
            config
                .orgs
                .iter()
                .find(|o| o.name == key.org)
                .map_or(0, |o| o.logs.initial_lookback_hours)
        ),
        Some(StreamId::Backfill(_)) => {
            "the same backfill command starts the window again".to_string()
        }
        _ => "the next run does a full sync of the stream".to_string(),
    }
}

/// Asks the operator to type the stream's key; refuses without a terminal.
fn confirmed(key: &StreamKey, effect: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        eprintln!("refused: resetting {key} needs a confirmation; pass --yes to confirm");
        return Ok(false);
    }
    eprint!("Reset the cursor of {key}? {effect}.\nType {key} to confirm: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != key.to_string() {
        eprintln!("not confirmed; nothing changed");
        return Ok(false);
    }
    Ok(true)
}
