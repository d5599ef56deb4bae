//! What the documentation tells a newcomer to write is what the relay accepts: every JSON
//! configuration in the README and the deploy and configuration guides parses and validates,
//! and every org secret example is a secret the relay can read.

#![allow(clippy::unwrap_used)]

use okta_relay::config::RelayConfig;
use std::path::Path;

/// The ```json blocks of a Markdown file under the repository root.
fn json_blocks(file: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```json") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

#[test]
fn every_configuration_the_docs_show_is_accepted() {
    let mut checked = 0;
    for file in ["README.md", "docs/configuration.md", "docs/deploy.md"] {
        for block in json_blocks(file) {
            if !block.contains("\"orgs\"") {
                continue;
            }
            if let Err(e) = RelayConfig::from_json(&block) {
                panic!("{file}: a configuration the docs show is refused: {e}\n{block}");
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 2,
        "the README's and the guide's examples were found"
    );
}

#[test]
fn every_secret_the_docs_show_is_readable() {
    let mut checked = 0;
    for block in json_blocks("docs/deploy.md") {
        if !block.contains("\"org_url\"") {
            continue;
        }
        // The docs elide a key and a secret with `…`: put in stand-ins of the right shape.
        let block = block
            .replace(
                "\"<Okta API token>\"",
                "\"00abcdefghijklmnopqrstuvwxyz0123456789ABCD\"",
            )
            .replace("\"<secret>\"", "\"a-client-secret\"")
            .replace("0oa…", "0oa1b2c3d4e5f6g7h8i9");
        let value: serde_json::Value = serde_json::from_str(&block).unwrap_or_else(|e| {
            panic!("docs/deploy.md: a secret example is not JSON: {e}\n{block}")
        });
        assert!(
            value["org_url"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://"))
        );
        checked += 1;
    }
    assert!(checked >= 3, "the three kinds of secret");
}
