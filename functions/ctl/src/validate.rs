//! `validate-config`: the configuration, then every org's secret and Okta access, the state
//! table, the delivery bus and the Security Lake bucket. Nothing it prints is secret (see `operator::check`).

use crate::context::{Aws, Options};
use anyhow::Result;
use okta_relay::config::RelayConfig;
use okta_relay::operator::{
    Check, check_lake, check_org, check_state_table, configured_streams, record_authenticated,
};
use okta_relay::ports::SinkChoice;
use std::process::ExitCode;

pub async fn run(options: &Options, offline: bool, json: bool) -> Result<ExitCode> {
    let config = match options.relay_config().await {
        Ok(config) => config,
        Err(e) => {
            let check = Check {
                subject: "configuration".into(),
                ok: false,
                detail: format!("{e:#}"),
            };
            report(&[check], json)?;
            return Ok(ExitCode::from(1));
        }
    };
    let mut checks = vec![Check {
        subject: "configuration".into(),
        ok: true,
        detail: format!("{} org(s)", config.orgs.len()),
    }];
    for org in &config.orgs {
        checks.push(Check {
            subject: format!("orgs[{}] streams", org.name),
            ok: true,
            detail: format!(
                "{}; OAuth scopes needed: {}",
                configured_streams(org)
                    .iter()
                    .map(|id| id.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                org.scopes().join(" ")
            ),
        });
    }
    // The events function only stages the lake (it does not link the Parquet encoder).
    let lake = config.security_lake.as_ref().filter(|l| l.enabled);
    if lake.is_some_and(|l| l.staging.is_none())
        && config.orgs.iter().any(|o| o.partner_event_source.is_some())
    {
        checks.push(Check {
            subject: "security_lake.staging".into(),
            ok: false,
            detail: "not set, and an org is pushed (partner_event_source): the events \
                     function only stages the lake and would refuse every batch; set \
                     security_lake.staging (both stacks do)"
                .into(),
        });
    }
    if !offline {
        checks.extend(online(options, &config).await);
    }
    report(&checks, json)?;
    Ok(if checks.iter().all(|c| c.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Each org's secret and Okta access, each streaming org's partner event bus and rule, the
/// state table, the delivery bus and, when it is on, the Security Lake bucket.
async fn online(options: &Options, config: &RelayConfig) -> Vec<Check> {
    let aws = Aws::load().await;
    let secrets = aws.secrets();
    let table = options.table_name().ok().map(|name| aws.table(name));
    let mut checks = Vec::new();
    for org in &config.orgs {
        let org_checks = check_org(config, org, secrets.as_ref(), aws.clock()).await;
        if let Some(table) = &table {
            record_authenticated(org, &org_checks, table.as_ref(), aws.clock().now()).await;
        }
        checks.extend(org_checks);
    }
    for org in config.orgs.iter() {
        if let Some(source) = &org.partner_event_source {
            checks.push(partner_bus(&aws, &org.name, source).await);
        }
        if let SinkChoice::Firehose { stream } = &org.sink {
            checks.push(firehose_stream(&aws, &org.name, stream).await);
        }
    }
    checks.push(match options.table_name() {
        Ok(name) => check_state_table(aws.table(name).as_ref(), name).await,
        Err(e) => failed("state table", e),
    });
    checks.push(match options.bus_name() {
        Ok(name) => match aws.sink(name).describe().await {
            Ok(arn) => Check {
                subject: format!("delivery bus {name}"),
                ok: true,
                detail: arn,
            },
            Err(e) => failed(&format!("delivery bus {name}"), e),
        },
        Err(e) => failed("delivery bus", e),
    });
    if let Some(lake) = config.security_lake.as_ref().filter(|l| l.enabled) {
        checks.extend(check_lake(lake, aws.lake().as_ref()).await);
    }
    checks
}

/// An org's partner event bus: Okta's Log Streaming source associated with a bus of its name,
/// with the rule the stacks put on it to the push queue.
async fn partner_bus(aws: &Aws, org: &str, source: &str) -> Check {
    let subject = format!("orgs[{org}] partner event bus {source}");
    match aws.sink(source).enabled_rules().await {
        Ok(rules) if rules.is_empty() => Check {
            subject,
            ok: false,
            detail: "the bus has no enabled rule: deploy the stack, which puts the org's rule to the push queue on it".into(),
        },
        Ok(rules) => Check {
            subject,
            ok: true,
            detail: format!("rules: {}", rules.join(", ")),
        },
        Err(e) => Check {
            subject,
            ok: false,
            detail: format!(
                "the bus does not exist or may not be read ({}): associate the org's Log Streaming partner event source with an event bus of the same name (docs/deploy.md, step 2)",
                match e.kind() {
                    okta_relay::ErrorKind::Transient => "EventBridge did not answer; try again",
                    _ => "not found, or no events:DescribeEventBus permission",
                }
            ),
        },
    }
}

/// An org's Firehose delivery stream: it exists and is active.
async fn firehose_stream(aws: &Aws, org: &str, stream: &str) -> Check {
    let subject = format!("orgs[{org}] Firehose stream {stream}");
    match aws.firehose(stream).describe().await {
        Ok(status) => Check {
            ok: status == "ACTIVE",
            detail: if status == "ACTIVE" {
                status
            } else {
                format!("{status}: the stream takes records only when ACTIVE")
            },
            subject,
        },
        Err(e) => failed(&subject, e),
    }
}

fn failed(subject: &str, e: impl std::fmt::Display) -> Check {
    Check {
        subject: subject.into(),
        ok: false,
        detail: e.to_string(),
    }
}

fn report(checks: &[Check], json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(checks)?);
        return Ok(());
    }
    for c in checks {
        let mark = if c.ok { "ok  " } else { "FAIL" };
        println!("{mark}  {}: {}", c.subject, c.detail);
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    if failed > 0 {
        println!("\n{failed} check(s) failed: see docs/operate.md, Troubleshooting.");
    }
    Ok(())
}
