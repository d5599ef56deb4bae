//! The fidelity set (`tests/fixtures/ocsf-fidelity.json`): real Okta events and the OCSF the
//! relay must make of them, field by field, each reviewed against OCSF 1.3.0's definitions.
//! Valid against the schema is not the same as right; this is the check that the class, the
//! actor and the names mean what OCSF says. A field the table fills that no expectation
//! names fails the set too, so a new mapping comes with an expected record.

use super::*;
use crate::record::{CollectionPath, ParentRef, RelayMetadata};
use chrono::TimeZone;
use serde_json::json;
use std::collections::BTreeSet;

const SET: &str = include_str!("../../../../tests/fixtures/ocsf-fidelity.json");
const EVENTS: &str = include_str!("../../../../tests/fixtures/okta-system-log-events.json");

fn received() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
}

/// The Okta event a case names (its source and type), with the case's changes applied.
fn okta_event(case: &Value) -> Value {
    let events: Value = serde_json::from_str(EVENTS).unwrap();
    let want = &case["okta"];
    let mut event = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == want["source"] && e["event"]["eventType"] == want["eventType"])
        .unwrap_or_else(|| panic!("{}: no fixture {want}", case["name"]))["event"]
        .clone();
    if let Some(set) = case["derive"]["set"].as_object() {
        for (at, value) in set {
            path::write(&mut event, at, value.clone());
        }
    }
    event
}

/// The case's OCSF event, mapped as the relay maps it.
fn mapped(case: &Value, doc: &Value) -> Mapped {
    if let Some(key) = case["okta"]["directory"].as_str() {
        let entry = &doc["directory"][key];
        let stream = entry["stream"].as_str().unwrap_or(key);
        let record_id = entry["record_id"].as_str().expect("record_id").to_string();
        let mut relay =
            RelayMetadata::new("acme", stream, CollectionPath::Pull, received(), record_id)
                .identified(Some("00o1abcdefghijklmnop"));
        relay.parent = entry["parent"].as_str().map(|id| ParentRef {
            kind: match entry["parent_kind"].as_str() {
                Some("user") => "user",
                _ => "group",
            },
            id: id.into(),
        });
        let raw = RawValue::from_string(entry["object"].to_string()).unwrap();
        return directory(stream, &raw, &relay, received()).expect("a mapped stream");
    }
    let event = okta_event(case);
    let published = event["published"]
        .as_str()
        .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
        .map(|p| p.with_timezone(&Utc));
    let mut relay = RelayMetadata::new(
        "acme",
        "logs",
        CollectionPath::Pull,
        received(),
        event["uuid"].as_str().unwrap_or("").into(),
    )
    .identified(Some("00o1abcdefghijklmnop"));
    relay.malformed_published = published.is_none();
    let raw = RawValue::from_string(event.to_string()).unwrap();
    system_log(&raw, &relay, published.unwrap_or_else(received))
}

fn cases() -> (Value, Vec<Value>) {
    let doc: Value = serde_json::from_str(SET).unwrap();
    let cases = doc["cases"].as_array().unwrap().clone();
    (doc, cases)
}

#[test]
fn every_case_of_the_fidelity_set_maps_field_by_field_as_expected() {
    let (doc, cases) = cases();
    assert!(cases.len() >= 20, "a set, not a sample");
    let mut wrong = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        assert!(
            case["review"].as_str().is_some_and(|r| !r.is_empty()),
            "{name}: each case says why"
        );
        let out = mapped(case, &doc).event;
        for (at, want) in case["expect"].as_object().unwrap() {
            let got = path::read(&out, at);
            if got != Some(want) {
                wrong.push(format!("{name}: {at} is {got:?}, expected {want}"));
            }
        }
        for at in case["absent"].as_array().into_iter().flatten() {
            let at = at.as_str().unwrap();
            if let Some(got) = path::read(&out, at) {
                wrong.push(format!("{name}: {at} is {got}, expected none"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `a[3].b` → `a[].b`: a field regardless of its position.
fn shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

#[test]
fn every_field_the_table_fills_is_expected_in_some_case() {
    let (_, cases) = cases();
    let expected: BTreeSet<String> = cases
        .iter()
        .flat_map(|c| c["expect"].as_object().unwrap().keys().map(|k| shape(k)))
        .collect();
    let filled: BTreeSet<String> = TABLE
        .groups
        .values()
        .flat_map(|g| {
            g.fields.iter().map(|f| match f.split {
                // A split field's target is a list.
                Some(_) => format!("{}[]", shape(&f.to)),
                None => shape(&f.to),
            })
        })
        .collect();
    let missing: Vec<&String> = filled.difference(&expected).collect();
    assert!(
        missing.is_empty(),
        "fields the table fills that no fidelity case expects: {missing:?}"
    );
}

#[test]
fn every_class_with_an_actor_in_okta_has_one_in_ocsf() {
    // Okta names an actor on every event of the fixtures that has one; each class that can
    // carry it (its own attribute or the host profile) must, as a user or an app.
    let events: Value = serde_json::from_str(EVENTS).unwrap();
    let (doc, _) = cases();
    for entry in events["events"].as_array().unwrap() {
        let event = &entry["event"];
        let kind = event["actor"]["type"].as_str().unwrap_or("");
        if event["actor"]["id"].is_null() || kind == "IP address" {
            continue;
        }
        let case = json!({"okta": {"source": entry["source"], "eventType": event["eventType"]}, "name": "fixture"});
        let out = mapped(&case, &doc).event;
        let actor = if out["class_uid"] == 2004 {
            &out["evidences"][0]["actor"]
        } else {
            &out["actor"]
        };
        let user = |f: &str| actor["user"][f].is_string();
        assert!(
            user("uid") || user("name") || actor["app_uid"].is_string(),
            "{} ({}): no actor in {out}",
            event["eventType"],
            out["class_name"]
        );
    }
}
