//! `backfill`: one System Log window through the poller's own code path
//! ([`PollerService::backfill`]), with a progress bar and an ETA from the rate budget.

use crate::context::{Options, owner, ports};
use crate::show;
use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use okta_relay::poller::{
    BackfillJob, BackfillProgress, BackfillWindow, OrgOutcome, PollerService, RunSettings,
    backfill_eta,
};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use okta_relay::limits::OKTA_LOG_KEPT_DAYS;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    org: String,
    /// Start of the window: RFC 3339 (`2026-11-01T00:00:00Z`) or a date (`2026-11-01`, UTC).
    #[arg(long, value_parser = parse_time)]
    since: DateTime<Utc>,
    /// End of the window (exclusive; default: now). Pass the same value to resume.
    #[arg(long, value_parser = parse_time)]
    until: Option<DateTime<Utc>>,
    /// Stop after this many pages; the same command goes on from there.
    #[arg(long)]
    max_pages: Option<u64>,
    /// Stop after this many minutes; the same command goes on from there.
    #[arg(long, default_value_t = 24 * 60)]
    max_minutes: u64,
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.to_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("{text:?} is not an RFC 3339 time or a YYYY-MM-DD date"))
}

pub async fn run(options: &Options, args: Args) -> Result<ExitCode> {
    let mut config = options.relay_config().await?;
    let now = Utc::now();
    let window = window(&args, now)?;
    let Some(org) = config.orgs.iter_mut().find(|o| o.name == args.org) else {
        bail!("no org named {:?} in the configuration", args.org);
    };
    // A backfill reads the System Log even where the schedule does not (a push-only org): its
    // OAuth token must then carry okta.logs.read too.
    org.logs.enabled = true;
    let (page_size, reserve) = (org.logs.page_size, config.rate_limit_reserve);
    let ports = ports(options, &config).await?;
    let settings = RunSettings::from_config(&config);
    let service = PollerService::new(Arc::new(config), ports, settings)
        .context("cannot build the Okta client")?;

    let bar = progress_bar();
    let started = Instant::now();
    let on_page = progress_reporter(bar.clone(), window, started, page_size, reserve);
    let job = BackfillJob {
        window,
        max_pages: args.max_pages,
        on_page: &on_page,
    };
    let deadline = now + chrono::Duration::minutes(args.max_minutes as i64);
    let outcome = service
        .backfill(&args.org, &job, &owner("backfill"), deadline)
        .await
        .context("the org disappeared from the configuration")?;
    bar.finish_and_clear();
    Ok(report(&args.org, &window, &outcome, started))
}

/// The window the arguments name, in whole seconds: its name (and the resume command) must say
/// exactly this window.
fn window(args: &Args, now: DateTime<Utc>) -> Result<BackfillWindow> {
    let until = args.until.unwrap_or(now).min(now);
    let until = DateTime::from_timestamp(until.timestamp(), 0).unwrap_or(until);
    let window = BackfillWindow {
        since: args.since,
        until,
    };
    if window.since >= window.until {
        bail!("--since must be before --until (and before now)");
    }
    let kept = now - chrono::Duration::days(OKTA_LOG_KEPT_DAYS);
    if window.since < kept {
        eprintln!(
            "note: Okta keeps the System Log for {OKTA_LOG_KEPT_DAYS} days; events before {} are gone",
            kept.format("%Y-%m-%d")
        );
    }
    Ok(window)
}

/// What a page's progress shows: the bar (or a plain line) with counts and the ETA.
fn progress_reporter(
    bar: ProgressBar,
    window: BackfillWindow,
    started: Instant,
    page_size: u32,
    reserve: f64,
) -> impl Fn(&BackfillProgress) + Send + Sync {
    move |p: &BackfillProgress| {
        let fraction = p.reached.map_or(0.0, |t| window.fraction(t));
        let eta = backfill_eta(&window, p, started.elapsed(), page_size, reserve)
            .map_or("…".to_string(), |d| show::duration(d.as_secs() as i64));
        let budget = p.rate_limit.map_or(String::new(), |h| {
            let spend = h.limit - (f64::from(h.limit) * reserve).ceil() as u32;
            format!(", budget {spend}/min")
        });
        let message = format!(
            "{} events, {} forwarded, {} duplicates, ETA {eta}{budget}",
            p.events, p.forwarded, p.duplicates
        );
        bar.set_position((fraction * 1000.0) as u64);
        if bar.is_hidden() {
            eprintln!("progress {:.1}%: {message}", fraction * 100.0);
        } else {
            bar.set_message(message);
        }
    }
}

/// The summary line, and what to do next: exit 0 done or stopped, 1 failed, 2 busy.
fn report(org: &str, window: &BackfillWindow, outcome: &OrgOutcome, started: Instant) -> ExitCode {
    let s = &outcome.summary;
    let since = window.since.to_rfc3339_opts(SecondsFormat::Secs, true);
    let until = window.until.to_rfc3339_opts(SecondsFormat::Secs, true);
    let resume = format!("okta-relay-ctl backfill --org {org} --since {since} --until {until}");
    println!(
        "{org} {since} → {until}: {} pages, {} events, {} forwarded, {} duplicates dropped",
        s.pages, s.events, s.forwarded, s.duplicates
    );
    if let Some(error) = &outcome.error {
        let kind = outcome
            .error_kind
            .map_or(String::new(), |k| format!("{k}: "));
        println!("failed: {kind}{error}\nfix it and resume with: {resume}");
        return ExitCode::from(1);
    }
    if let Some(done) = outcome.next_poll_at {
        println!(
            "this window was already complete ({}); nothing to do",
            done.to_rfc3339()
        );
    } else if s.lease_busy {
        println!("another backfill of this window is running; try again when it ends");
        return ExitCode::from(2);
    } else if s.caught_up {
        println!(
            "complete in {}",
            show::duration(started.elapsed().as_secs() as i64)
        );
    } else {
        println!("stopped before the end of the window; resume with: {resume}");
    }
    ExitCode::SUCCESS
}

/// A bar on a terminal; hidden (plain progress lines instead) otherwise.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(1000);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
        return bar;
    }
    bar.set_draw_target(ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {percent:>3}%  {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_dates() {
        assert_eq!(
            parse_time("2026-11-01").unwrap(),
            parse_time("2026-11-01T00:00:00Z").unwrap()
        );
        assert_eq!(
            parse_time("2026-11-01T01:00:00+01:00").unwrap(),
            parse_time("2026-11-01").unwrap()
        );
        assert!(parse_time("last tuesday").is_err());
    }
}
