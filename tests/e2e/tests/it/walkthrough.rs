//! docs/deploy.md followed as a newcomer follows it, against moto and the Okta simulator: the
//! blocks marked `<!-- walkthrough: NAME -->` are taken from the document and run as written
//! (shell blocks with bash, in one working directory; JSON blocks saved as the files the next
//! commands read), with the AWS CLI and `okta-relay-ctl` on the PATH. The only changes are the
//! document's `<placeholders>` (and the example org URL and token), filled with the local
//! stack's values; a placeholder the walkthrough does not know fails the test, so the document
//! cannot grow a step this test skips. The CDK block runs in `make infra-test`
//! (infra/tests/walkthrough_cdk.py). Then docs/operate.md: the first command of each alarm's
//! row, where it runs offline (`okta-relay-ctl`, `aws sqs`, `aws firehose`), against the same
//! deployment.

use crate::lambda::function_env;
use crate::pull::TOKEN;
use crate::support::{LocalStack, repo_root, workspace_binary};
use okta_sim::{SeedConfig, SimConfig};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The document's example org URL and secret ARN, which the walkthrough replaces with the
/// simulator's URL and the ARN the document's `create-secret` printed.
const DOC_ORG_URL: &str = "https://acme.okta.com";
const DOC_SECRET_ARN: &str =
    "arn:aws:secretsmanager:eu-west-1:111122223333:secret:okta-relay/acme-AbCdEf";

/// The marked blocks of a Markdown document, by name.
fn walkthrough_blocks(markdown: &str) -> BTreeMap<String, String> {
    let mut blocks = BTreeMap::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .trim()
            .strip_prefix("<!-- walkthrough: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "walkthrough {name}: no code block follows the marker"
        );
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        let previous = blocks.insert(name.to_string(), body.join("\n") + "\n");
        assert!(previous.is_none(), "walkthrough {name} is marked twice");
    }
    blocks
}

/// `text` with each placeholder filled; any `<…>` left over is a step this test does not know.
fn fill(name: &str, text: &str, values: &[(&str, String)]) -> String {
    let mut text = text.to_string();
    for (placeholder, value) in values {
        text = text.replace(placeholder, value);
    }
    if let Some(left) = placeholder(&text) {
        panic!(
            "walkthrough {name}: the document asks for {left} and the walkthrough does not fill it"
        );
    }
    text
}

/// The first `<placeholder>` in `text`: a `<`, a letter, and a `>` on the same line.
fn placeholder(text: &str) -> Option<&str> {
    text.lines().find_map(|line| {
        line.match_indices('<').find_map(|(start, _)| {
            let rest = &line[start + 1..];
            let end = rest.find('>')?;
            let inner = &rest[..end];
            (inner.starts_with(|c: char| c.is_ascii_alphabetic()) && !inner.contains('<'))
                .then(|| &line[start..start + end + 2])
        })
    })
}

struct Shell {
    dir: PathBuf,
    env: Vec<(&'static str, String)>,
}

impl Shell {
    /// Runs a shell block with `bash -eo pipefail`; returns its stdout. A failing step fails
    /// the test with what it printed.
    fn run(&self, name: &str, script: &str) -> String {
        let path = format!(
            "{}:{}:{}",
            aws_cli_dir().display(),
            workspace_binary("okta-relay-ctl")
                .parent()
                .unwrap()
                .display(),
            std::env::var("PATH").unwrap_or_default()
        );
        // The AWS CLI v1 sends SQS calls in us-east-1 to queue.amazonaws.com whatever
        // AWS_ENDPOINT_URL says; an explicit --endpoint-url (moto's) is the one thing it heeds.
        let script = format!(
            "aws() {{ if [ -n \"${{AWS_ENDPOINT_URL:-}}\" ]; then command aws --endpoint-url \"$AWS_ENDPOINT_URL\" \"$@\"; else command aws \"$@\"; fi; }}\n{script}"
        );
        let mut cmd = Command::new("bash");
        cmd.args(["-eo", "pipefail", "-c", &script])
            .current_dir(&self.dir)
            .env("PATH", path)
            .env_remove("OKTA_RELAY_CONFIG")
            .env_remove("OKTA_RELAY_CONFIG_FILE");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "walkthrough {name} failed:\n{script}\n--- stdout\n{stdout}\n--- stderr\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

/// Where `make test` installs the AWS CLI (a venv of its own: its botocore is not moto's).
fn aws_cli_dir() -> PathBuf {
    let dir = repo_root().join(".local/awscli-venv/bin");
    assert!(
        dir.join("aws").exists(),
        "the AWS CLI is not installed: `make awscli` (make test does it)"
    );
    dir
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap();
}

/// Okta side, secret, configuration, `validate-config`, `status`, a first run, then a second
/// org: each step of docs/deploy.md that runs offline, in order, from the document itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_deploy_walkthrough_from_secret_to_caught_up_and_a_second_org() {
    let markdown = std::fs::read_to_string(repo_root().join("docs/deploy.md")).unwrap();
    let blocks = walkthrough_blocks(&markdown);
    let step = |name: &str| {
        blocks
            .get(name)
            .unwrap_or_else(|| panic!("docs/deploy.md has no walkthrough block {name}"))
            .clone()
    };
    let sim = okta_sim::start(SimConfig {
        tokens: vec![TOKEN.into()],
        seed: SeedConfig {
            backlog_events: 30,
            backlog_hours: 2,
            late_share: 0.0,
            users: 12,
            groups: 3,
            ..SeedConfig::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let stack = LocalStack::provision(&[]).await;
    let dir = std::env::temp_dir().join(format!("okta-relay-walkthrough-{}", stack.state_table));
    std::fs::create_dir_all(&dir).unwrap();
    // The AWS CLI and okta-relay-ctl reach moto as the functions do.
    // (The AWS CLI v1 reads its Region from AWS_DEFAULT_REGION, as an operator's profile has it.)
    let mut env: Vec<_> = function_env(&stack, &serde_json::json!({}))
        .into_iter()
        .filter(|(k, _)| k.starts_with("AWS_"))
        .collect();
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    env.push(("AWS_DEFAULT_REGION", region));
    let mut shell = Shell {
        dir: dir.clone(),
        env,
    };
    let mut values = vec![
        (DOC_ORG_URL, sim.url.clone()),
        ("<Okta API token>", TOKEN.to_string()),
        ("<table>", stack.state_table.clone()),
        ("<bus>", stack.delivery_bus.clone()),
    ];

    // Step 1: the org's secret, as a file, stored with the document's command.
    write(
        &dir,
        "acme-secret.json",
        &fill("secret-json", &step("secret-json"), &values),
    );
    let printed = shell.run(
        "store-secret",
        &fill("store-secret", &step("store-secret"), &values),
    );
    let arn = printed.trim().to_string();
    assert!(
        arn.starts_with("arn:aws:secretsmanager:"),
        "the command prints the ARN: {printed}"
    );
    assert!(
        !dir.join("acme-secret.json").exists(),
        "the secret file is shredded"
    );
    values.push((DOC_SECRET_ARN, arn.clone()));

    // Step 4: the configuration, checked, and the state of each stream. The simulator speaks
    // HTTP on loopback, which the configuration must admit: the walkthrough's one addition.
    let local = |config: &str| {
        let mut config: Value = serde_json::from_str(config).unwrap();
        config["allow_loopback_http"] = true.into();
        config
    };
    let mut config = local(&fill("config-json", &step("config-json"), &values));
    write(&dir, "okta-relay-config.json", &config.to_string());
    let checked = shell.run("check", &fill("check", &step("check"), &values));
    for line in [
        "ok    configuration: 1 org(s)",
        "ok    orgs[acme] secret",
        "ok    orgs[acme] GET /api/v1/logs",
    ] {
        assert!(checked.contains(line), "{line:?} in\n{checked}");
    }
    assert!(
        checked.contains(&format!("ok    state table {}", stack.state_table)),
        "{checked}"
    );
    assert!(
        checked.contains("authenticated"),
        "validate-config leaves each stream authenticated:\n{checked}"
    );
    assert!(
        !checked.contains(TOKEN),
        "no token in what the operator sees"
    );

    // What the check step exported stays in the operator's shell for the steps after it.
    shell.env.extend([
        (
            "OKTA_RELAY_CONFIG_FILE",
            "okta-relay-config.json".to_string(),
        ),
        ("OKTA_RELAY_STATE_TABLE", stack.state_table.clone()),
        ("OKTA_RELAY_DELIVERY_BUS", stack.delivery_bus.clone()),
    ]);

    // A first run from the operator's machine; the System Log is then caught up.
    let ran = shell.run("first-run", &fill("first-run", &step("first-run"), &values));
    assert!(
        ran.contains("caught_up"),
        "after a run the streams are caught up:\n{ran}"
    );

    // Step 5: a second org (its own secret, added to `orgs`), checked and shown.
    let globex = stack.put_org_secret("globex", &sim.url, TOKEN).await;
    config["orgs"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "globex", "secret_arn": globex}));
    write(&dir, "okta-relay-config.json", &config.to_string());
    let shown = shell.run("add-org", &fill("add-org", &step("add-org"), &values));
    assert!(
        shown.contains("ok    orgs[globex] GET /api/v1/logs"),
        "{shown}"
    );
    assert!(
        shown.contains("globex") && shown.contains("authenticated"),
        "{shown}"
    );

    // docs/operate.md: the first command of each alarm's row, where it runs offline.
    let operate = std::fs::read_to_string(repo_root().join("docs/operate.md")).unwrap();
    let firsts = alarm_first_commands(&operate);
    assert!(firsts.len() >= 4, "{firsts:?}");
    stack.create_firehose().await;
    let operate_values = vec![
        ("<org>", "acme".to_string()),
        ("<delivery DLQ>", stack.delivery_dlq_url.clone()),
        ("<stream>", stack.firehose_stream.clone()),
    ];
    for command in firsts.iter().filter(|c| {
        c.starts_with("okta-relay-ctl ")
            || c.starts_with("aws sqs ")
            || c.starts_with("aws firehose ")
    }) {
        let script = fill("operate.md", command, &operate_values);
        let out = shell.run(&format!("operate.md: {command}"), &script);
        if command.starts_with("okta-relay-ctl status") {
            assert!(out.contains("acme"), "{command}: {out}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The commands in the "first command" column of docs/operate.md's alarm table (each in
/// backticks; other text in the cell is prose).
fn alarm_first_commands(markdown: &str) -> Vec<String> {
    markdown
        .lines()
        .filter(|l| l.starts_with("| <a id=\"alarm-"))
        .filter_map(|l| l.split(" | ").nth(2))
        .flat_map(|cell| {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .filter(|c| c.starts_with("okta-relay-ctl") || c.starts_with("aws "))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// docs/deploy.md's cargo lambda command, as written, with `--dry`: every check but the upload.
#[test]
fn docs_deploy_cargo_lambda_command_runs_dry() {
    let markdown = std::fs::read_to_string(repo_root().join("docs/deploy.md")).unwrap();
    let block = walkthrough_blocks(&markdown)
        .remove("cargo-lambda")
        .expect("docs/deploy.md has no walkthrough block cargo-lambda");
    let dir =
        std::env::temp_dir().join(format!("okta-relay-walkthrough-cl-{}", std::process::id()));
    let release = dir.join("release/lambda");
    for binary in ["okta-relay-events", "okta-relay-poller"] {
        std::fs::create_dir_all(release.join(binary)).unwrap();
        std::fs::copy("/bin/true", release.join(binary).join("bootstrap")).unwrap();
    }
    write(
        &dir,
        "okta-relay-config.json",
        r#"{"orgs": [{"name": "acme", "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:okta/acme-AbCdEf", "event_types": {"deny": ["a, \"b\""]}}]}"#,
    );
    let values = vec![
        ("<table>", "okta-relay-state".to_string()),
        ("<bus>", "okta-relay-delivery".to_string()),
        (
            "<events role ARN>",
            "arn:aws:iam::123456789012:role/events".to_string(),
        ),
        (
            "<poller role ARN>",
            "arn:aws:iam::123456789012:role/poller".to_string(),
        ),
        ("<release>", dir.join("release").display().to_string()),
        (
            "infra/cargo-lambda/deploy.sh",
            repo_root()
                .join("infra/cargo-lambda/deploy.sh")
                .display()
                .to_string(),
        ),
    ];
    let script = fill("cargo-lambda", &block, &values).trim_end().to_string() + " --dry\n";
    let shell = Shell {
        dir: dir.clone(),
        env: Vec::new(),
    };
    shell.run("cargo-lambda", &script);
    let _ = std::fs::remove_dir_all(&dir);
}
