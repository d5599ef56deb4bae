//! `infra/cargo-lambda/deploy.sh`: a configuration with commas, quotes, `#`, `$`, backslashes,
//! newlines and non-ASCII text reaches the functions' environment unchanged, read back with the
//! env-file parser cargo-lambda itself uses, and `cargo lambda deploy --dry` takes every
//! command the script makes (cargo-lambda 1.9 split `--env-var` values on commas).

use crate::support::repo_root;
use serde_json::{Value, json};
use std::process::Command;

/// A configuration that broke the old `--env-var` form, and every character the env file's
/// quoting has to survive.
fn hostile_config() -> Value {
    json!({"orgs": [{
        "name": "acme",
        "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:okta/acme-AbCdEf",
        "partner_event_source": "aws.partner/okta.com/acme/okta-relay",
        "event_types": {"deny": ["it's, \"quoted\", #1 $HOME ${X} `cmd` \\n back\\slash\nnewline é"]},
        "inventory": {"users": {}, "groups": {}}
    }]})
}

fn deploy_sh(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(repo_root().join("infra/cargo-lambda/deploy.sh"))
        .args(args)
        .env("OKTA_RELAY_STATE_TABLE", "okta-relay-state")
        .env("OKTA_RELAY_DELIVERY_BUS", "okta-relay-delivery")
        .env("OKTA_RELAY_CONFIG_PATH", dir.join("config.json"))
        .env("OKTA_RELAY_ENV_FILE", dir.join("functions.env"))
        .env("EVENTS_ROLE_ARN", "arn:aws:iam::123456789012:role/events")
        .env("POLLER_ROLE_ARN", "arn:aws:iam::123456789012:role/poller")
        .output()
        .unwrap()
}

#[test]
fn cargo_lambda_deploy_takes_a_configuration_with_commas_and_quotes() {
    let dir = std::env::temp_dir().join(format!("okta-relay-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = hostile_config();
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();

    let printed = deploy_sh(&dir, &["--print"]);
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let commands = String::from_utf8_lossy(&printed.stdout);
    assert_eq!(
        commands.matches("cargo lambda deploy").count(),
        2,
        "{commands}"
    );
    assert!(!commands.contains("--env-var"), "{commands}");

    // Read back as `cargo lambda deploy --env-file` reads it.
    let env = env_file_reader::read_file(dir.join("functions.env")).unwrap();
    let text = &env["OKTA_RELAY_CONFIG"];
    let read: Value = serde_json::from_str(text).unwrap();
    assert_eq!(read, config, "the configuration arrives unchanged");
    okta_relay::config::RelayConfig::from_json(text).unwrap();
    assert_eq!(env["OKTA_RELAY_STATE_TABLE"], "okta-relay-state");
    assert_eq!(env["MIMALLOC_PURGE_DELAY"], "0");

    // Every command, as cargo lambda runs it, short of the upload. Any ELF stands in for the
    // functions' binaries (a release's unpacked zips in real use).
    for binary in ["okta-relay-events", "okta-relay-poller"] {
        std::fs::create_dir_all(dir.join("bin").join(binary)).unwrap();
        std::fs::copy("/bin/true", dir.join("bin").join(binary).join("bootstrap")).unwrap();
    }
    let bin = dir.join("bin");
    let dry = deploy_sh(&dir, &["--dry", "--binary-dir", bin.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        dry.status.success(),
        "cargo lambda deploy --dry: {}{}",
        String::from_utf8_lossy(&dry.stdout),
        String::from_utf8_lossy(&dry.stderr)
    );
}
