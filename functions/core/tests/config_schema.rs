//! `schemas/config.schema.json` is the configuration's JSON Schema, derived from the Rust types
//! the relay parses it with (`schemars`), so an editor or a pipeline can check a configuration
//! before it is deployed. This test fails when the committed schema is stale:
//! `OKTA_RELAY_BLESS=1 cargo test -p okta-relay --test config_schema` writes it again.

#![allow(clippy::unwrap_used)]

use okta_relay::config::RelayConfig;
use std::path::Path;

fn generated() -> String {
    let mut schema = serde_json::to_value(schemars::schema_for!(RelayConfig)).unwrap();
    // The User-Agent's default carries the version: its description says so instead, so the
    // schema does not change with every release.
    if let Some(user_agent) = schema["properties"]["user_agent"].as_object_mut() {
        user_agent.remove("default");
    }
    schema["description"] = "The okta-relay configuration (docs/configuration.md). Generated from \
        functions/core/src/config by functions/core/tests/config_schema.rs; do not edit."
        .into();
    format!("{}\n", serde_json::to_string_pretty(&schema).unwrap())
}

#[test]
fn the_committed_schema_is_the_one_the_types_give() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/config.schema.json");
    let now = generated();
    if std::env::var_os("OKTA_RELAY_BLESS").is_some() {
        std::fs::write(&path, &now).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == now,
        "schemas/config.schema.json is stale: run OKTA_RELAY_BLESS=1 cargo test -p okta-relay --test config_schema"
    );
}

#[test]
fn the_schema_knows_every_field_and_refuses_unknown_ones() {
    let schema: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    let org = &schema["$defs"]["OrgConfig"];
    assert_eq!(org["additionalProperties"], false);
    for field in [
        "name",
        "secret_arn",
        "logs",
        "inventory",
        "event_types",
        "push",
        "output",
    ] {
        assert!(org["properties"].get(field).is_some(), "{field}");
    }
    assert!(
        org["properties"].get("okta_org_id").is_none(),
        "not configurable"
    );
    let page = &schema["$defs"]["LogStreamConfig"]["properties"]["page_size"];
    assert_eq!(page["type"], "integer", "{page}");
}
