//! Every OCSF event the relay can make, checked against the official OCSF 1.3.0 schema (PyPI
//! `ocsf-json-schema`, through `tests/local/ocsf_schemas.py`) and against the committed
//! `schemas/ocsf-*.schema.json` the capture helpers use: the real-world fixtures, one event of
//! every type in Okta's catalog, every event the simulator makes, and directory objects.

use crate::pull::{okta, sim_log_events};
use crate::support::{python, repo_root};
use chrono::{TimeZone, Utc};
use okta_relay::ocsf;
use okta_relay::record::{CollectionPath, ParentRef, RelayMetadata};
use serde_json::value::RawValue;
use serde_json::{Value, json};

fn relay(id: &str, stream: &str) -> RelayMetadata {
    RelayMetadata::new(
        "acme",
        stream,
        CollectionPath::Pull,
        Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap(),
        id.into(),
    )
    .identified(Some("00o1abcdefghijklmnop"))
}

fn mapped(event: &Value) -> ocsf::Mapped {
    let raw = RawValue::from_string(event.to_string()).unwrap();
    let id = event["uuid"].as_str().unwrap_or("u");
    let relay = relay(id, "logs");
    ocsf::system_log(&raw, &relay, relay.collected_at)
}

/// Validates `events` with the official package; panics with its report.
pub fn assert_official(events: &[Value]) {
    assert!(!events.is_empty());
    // A file of its own, no shared directory: the checks run in parallel.
    let file = std::env::temp_dir().join(format!(
        "okta-relay-ocsf-{}-{}.jsonl",
        std::process::id(),
        rand_suffix()
    ));
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = std::process::Command::new(python())
        .arg(repo_root().join("tests/local/ocsf_schemas.py"))
        .arg("--validate")
        .arg(&file)
        .output()
        .expect("run tests/local/ocsf_schemas.py");
    let _ = std::fs::remove_file(&file);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "not valid OCSF 1.3.0:\n{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains(&format!("{} OCSF events checked", events.len())),
        "{report}"
    );
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Each event also passes the committed schema of its DetailType.
fn assert_committed(events: &[ocsf::Mapped]) {
    let envelopes: Vec<Value> = events
        .iter()
        .map(|m| json!({"detail-type": ocsf::detail_type(m.class_name), "detail": m.event}))
        .collect();
    crate::schemas::assert_valid(&envelopes);
}

#[test]
fn the_committed_ocsf_schemas_are_the_official_ones() {
    let out = std::process::Command::new(python())
        .arg(repo_root().join("tests/local/ocsf_schemas.py"))
        .arg("--check")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_real_world_fixtures_map_to_valid_ocsf() {
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/fixtures/okta-system-log-events.json"))
            .unwrap(),
    )
    .unwrap();
    let fixtures = doc["events"].as_array().unwrap();
    let mut events: Vec<ocsf::Mapped> = fixtures.iter().map(|e| mapped(&e["event"])).collect();
    assert!(events.len() >= 25);
    // The fidelity set's derived cases (a real event changed where no public one was found).
    let fidelity: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/fixtures/ocsf-fidelity.json")).unwrap(),
    )
    .unwrap();
    for case in fidelity["cases"].as_array().unwrap() {
        let Some(set) = case["derive"]["set"].as_object() else {
            continue;
        };
        let want = &case["okta"];
        let mut event = fixtures
            .iter()
            .find(|e| e["source"] == want["source"] && e["event"]["eventType"] == want["eventType"])
            .expect("the case's fixture")["event"]
            .clone();
        for (at, value) in set {
            ocsf::path::write(&mut event, at, value.clone());
        }
        events.push(mapped(&event));
    }
    assert_committed(&events);
    assert_official(&events.iter().map(|m| m.event.clone()).collect::<Vec<_>>());
}

#[test]
fn one_event_of_every_catalog_type_maps_to_valid_ocsf() {
    let catalog: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/fixtures/okta-event-types.json")).unwrap(),
    )
    .unwrap();
    // Each type in five shapes: a full event, one with no client or targets (a system
    // event), one whose actor is an app, one of values of the wrong shape, and a bare one.
    let mut events = Vec::new();
    for (i, t) in catalog["event_types"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let t = t.as_str().unwrap();
        let shapes = [
            json!({"uuid": format!("full-{i}"), "eventType": t, "published": "2026-11-30T10:00:00.000Z",
                "severity": "INFO", "displayMessage": t, "outcome": {"result": "SUCCESS"},
                "actor": {"id": "00u1", "type": "User", "alternateId": "a@example.com", "displayName": "A"},
                "client": {"ipAddress": "192.0.2.1", "device": "Computer",
                    "userAgent": {"rawUserAgent": "Mozilla/5.0"},
                    "geographicalContext": {"city": "Oslo", "country": "Norway", "geolocation": {"lat": 59.9, "lon": 10.7}}},
                "securityContext": {"asNumber": 64500, "asOrg": "example", "isp": "example", "domain": "example.com"},
                "debugContext": {"debugData": {"requestId": "r1", "requestUri": "/api/v1/x"}},
                "authenticationContext": {"externalSessionId": "s1"},
                "transaction": {"id": "r1", "type": "WEB"},
                "target": [{"id": "00u2", "type": "User", "alternateId": "b@example.com", "displayName": "B"},
                           {"id": "00g1", "type": "UserGroup", "displayName": "G"},
                           {"id": "0oa1", "type": "AppInstance", "displayName": "App"}]}),
            json!({"uuid": format!("bare-{i}"), "eventType": t, "published": "2026-11-30T10:00:00.000Z",
                "severity": "WARN", "actor": {"id": "system", "type": "SystemPrincipal"},
                "client": {"ipAddress": null, "geographicalContext": null}, "outcome": null, "target": null}),
            json!({"uuid": format!("app-{i}"), "eventType": t, "published": "2026-11-30T10:00:00.000Z",
                "severity": "ERROR", "actor": {"id": "0oa9", "type": "PublicClientApp", "displayName": "C"},
                "client": {"ipAddress": "2001:db8::1", "geographicalContext": {"geolocation": {"lat": 1.0, "lon": 2.0}}},
                "outcome": {"result": "DENY", "reason": "no"}}),
            // Values OCSF cannot hold as they are: they must stay in `unmapped`, never make an
            // invalid event.
            json!({"uuid": format!("odd-{i}"), "eventType": t, "published": "2026-11-30T10:00:00.000Z",
                "severity": 7, "actor": {"id": null, "type": "User", "alternateId": "not an address"},
                "client": {"ipAddress": "999.1.1.1", "device": 5,
                    "geographicalContext": {"city": null, "country": "", "geolocation": {"lat": "NaN", "lon": "x"}}},
                "securityContext": {"asNumber": 4_200_000_000u64, "isp": ["a"]},
                "authenticationContext": {"externalSessionId": ""},
                "debugContext": {"debugData": {"requestId": {"nested": true}}},
                "outcome": {"result": ["SUCCESS"]},
                "target": [{"id": null, "type": "User", "displayName": null},
                           {"id": "", "type": "UserGroup"}, null, 7]}),
            // Nothing but an id and a type: the class the type names, with OCSF's Unknown
            // for what is required and missing.
            json!({"uuid": format!("sparse-{i}"), "eventType": t}),
        ];
        events.extend(shapes.iter().map(mapped));
    }
    assert!(events.len() > 5000);
    assert_committed(&events);
    assert_official(&events.iter().map(|m| m.event.clone()).collect::<Vec<_>>());
}

#[tokio::test]
async fn every_simulator_event_and_directory_object_maps_to_valid_ocsf() {
    let sim = okta(400).await;
    let mut events: Vec<ocsf::Mapped> = sim_log_events(&sim).await.iter().map(mapped).collect();
    assert!(events.len() >= 300);
    let user = RawValue::from_string(
        json!({"id": "00u1", "status": "ACTIVE", "created": "2026-01-01T00:00:00.000Z",
            "lastUpdated": "2026-11-21T10:00:00.000Z",
            "profile": {"login": "a@example.com", "email": "a@example.com", "firstName": "A", "lastName": "B"},
            "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}}, "_links": {"self": {"href": "x"}}})
        .to_string(),
    )
    .unwrap();
    let users = relay("00u1@2026-11-21T10:00:00.000Z", "users");
    events.push(ocsf::directory("users", &user, &users, users.collected_at).unwrap());
    let mut members = relay("00g1/00u1", "group_members");
    members.parent = Some(ParentRef {
        kind: "group",
        id: "00g1".into(),
    });
    events.push(ocsf::directory("group_members", &user, &members, members.collected_at).unwrap());
    assert_committed(&events);
    assert_official(&events.iter().map(|m| m.event.clone()).collect::<Vec<_>>());
}
