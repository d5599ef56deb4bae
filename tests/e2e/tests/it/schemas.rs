//! The JSON Schemas under `schemas/` are a contract with the SIEM: every record any suite
//! captures from the delivery bus is validated against the schema of its DetailType (the
//! capture helpers call [`assert_valid`]), so a record the functions emit and the schemas
//! disagree on fails the suite that produced it.

use okta_relay::inventory::catalogue::STREAMS;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::LazyLock;

/// DetailType (each schema's `title`) → validator. `relay.schema.json` is inlined where the
/// record schemas `$ref` it, so no reference resolution (and no network) is involved.
static VALIDATORS: LazyLock<HashMap<String, jsonschema::Validator>> = LazyLock::new(|| {
    let dir = crate::support::repo_root().join("schemas");
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).expect("read schema"))
            .expect("schema is JSON")
    };
    let mut relay = read("relay.schema.json");
    relay.as_object_mut().unwrap().remove("$id");
    relay.as_object_mut().unwrap().remove("$schema");
    let mut out = HashMap::new();
    for entry in std::fs::read_dir(&dir).expect("schemas/") {
        let name = entry.expect("dir entry").file_name().into_string().unwrap();
        // The configuration's schema is not a record's (its own test reads it).
        if !name.ends_with(".schema.json")
            || name == "relay.schema.json"
            || name == "config.schema.json"
        {
            continue;
        }
        let mut schema = read(&name);
        inline_ref(&mut schema, "relay.schema.json", &relay);
        let title = schema["title"].as_str().expect("title").to_string();
        let validator = jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("schemas/{name} is not a valid JSON Schema: {e}"));
        out.insert(title, validator);
    }
    out
});

fn inline_ref(v: &mut Value, target: &str, with: &Value) {
    match v {
        Value::Object(map) if map.get("$ref").and_then(Value::as_str) == Some(target) => {
            *v = with.clone();
        }
        Value::Object(map) => map.values_mut().for_each(|x| inline_ref(x, target, with)),
        Value::Array(items) => items.iter_mut().for_each(|x| inline_ref(x, target, with)),
        _ => {}
    }
}

/// Why `detail` does not match its DetailType's schema, if it does not.
fn problem(envelope: &Value) -> Option<String> {
    let detail_type = envelope["detail-type"].as_str().unwrap_or("<none>");
    let Some(validator) = VALIDATORS.get(detail_type) else {
        return Some(format!(
            "no schema in schemas/ for DetailType {detail_type:?}"
        ));
    };
    let errors: Vec<String> = validator
        .iter_errors(&envelope["detail"])
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    (!errors.is_empty()).then(|| format!("{detail_type}: {}", errors.join("; ")))
}

/// Panics, naming the record and what is wrong, if any envelope breaks its schema.
pub fn assert_valid(envelopes: &[Value]) {
    for e in envelopes {
        if let Some(p) = problem(e) {
            panic!(
                "forwarded record breaks schemas/: {p}\nrecord: relay = {}, OCSF uid = {}",
                e["detail"]["relay"], e["detail"]["metadata"]["uid"]
            );
        }
    }
}

#[test]
fn every_detail_type_the_relay_emits_has_a_schema() {
    let mut emitted: Vec<&str> = STREAMS.iter().map(|s| s.detail_type).collect();
    emitted.extend([
        okta_relay::record::SYSTEM_LOG_DETAIL_TYPE,
        okta_relay::record::OVERSIZE_DETAIL_TYPE,
        okta_relay::record::QUARANTINE_DETAIL_TYPE,
        okta_relay::shape::INVENTORY_CHANGE_DETAIL_TYPE,
    ]);
    let ocsf: Vec<String> = okta_relay::ocsf::TABLE
        .classes
        .iter()
        .map(|c| okta_relay::ocsf::detail_type(&c.name))
        .collect();
    emitted.extend(ocsf.iter().map(String::as_str));
    let mut missing: Vec<&&str> = emitted
        .iter()
        .filter(|d| !VALIDATORS.contains_key(**d))
        .collect();
    missing.sort();
    assert!(
        missing.is_empty(),
        "DetailTypes without a schema: {missing:?}"
    );
    assert_eq!(
        VALIDATORS.len(),
        emitted.len(),
        "a schema for a DetailType nobody emits"
    );
}

#[test]
fn the_schemas_reject_what_a_siem_could_not_rely_on() {
    let good = json!({
        "detail-type": "Okta Group Membership",
        "detail": {
            "okta": {"id": "00u1", "profile": {"login": "a@example.com"}},
            "relay": {"org": "acme", "stream": "group_members", "path": "pull",
                      "collectedAt": "2026-11-23T10:00:00.000Z", "recordId": "00g1/00u1",
                      "parent": {"type": "group", "id": "00g1"}, "sync": "full"}
        }
    });
    assert_eq!(problem(&good), None);
    let broken = |f: &dyn Fn(&mut Value)| {
        let mut e = good.clone();
        f(&mut e);
        problem(&e).is_some()
    };
    assert!(broken(&|e| {
        e["detail"]["relay"]
            .as_object_mut()
            .unwrap()
            .remove("recordId");
    }));
    assert!(broken(&|e| {
        e["detail"]["relay"]
            .as_object_mut()
            .unwrap()
            .remove("parent");
    }));
    assert!(broken(&|e| e["detail"]["relay"]["path"] = json!("sideways")));
    assert!(broken(&|e| e["detail"]["relay"]["stream"] = json!("users")));
    assert!(broken(&|e| e["detail"]["okta"] = json!({"profile": {}})));
    assert!(broken(&|e| e["detail"]["extra"] = json!(1)));
    assert!(broken(&|e| e["detail-type"] = json!("Okta Something Else")));
}

/// `schemas/config.schema.json` (generated from the Rust types) takes the shipped example
/// configurations and refuses a value of the wrong type at its path, as validate-config does.
#[test]
fn the_configuration_schema_checks_a_configuration_before_deployment() {
    let root = crate::support::repo_root();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("schemas/config.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let example: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("infra/cargo-lambda/example-config.json")).unwrap(),
    )
    .unwrap();
    assert!(validator.is_valid(&example));
    let mut two = example.clone();
    let mut second = two["orgs"][0].clone();
    second["name"] = "beta".into();
    second["logs"]["page_size"] = "1000".into();
    two["orgs"].as_array_mut().unwrap().push(second);
    let paths: Vec<String> = validator
        .iter_errors(&two)
        .map(|e| e.instance_path().to_string())
        .collect();
    assert_eq!(paths, ["/orgs/1/logs/page_size"]);
    let mut typo = example;
    typo["orgs"][0]["logz"] = serde_json::json!({});
    assert!(!validator.is_valid(&typo), "unknown fields are refused");
}
