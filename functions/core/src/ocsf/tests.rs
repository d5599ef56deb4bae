//! The mapping against real-world System Log events (`tests/fixtures/okta-system-log-events.json`,
//! public samples with their sources) and Okta's event-type catalog
//! (`tests/fixtures/okta-event-types.json`). The official-schema validation of every record is
//! in the e2e suite (`ocsf.rs`), which has the OCSF package.

use super::*;
use crate::record::{CollectionPath, RelayMetadata};
use chrono::TimeZone;
use serde_json::json;
use std::collections::BTreeMap;

const FIXTURES: &str = include_str!("../../../../tests/fixtures/okta-system-log-events.json");
const CATALOG: &str = include_str!("../../../../tests/fixtures/okta-event-types.json");

fn fixtures() -> Vec<Value> {
    let doc: Value = serde_json::from_str(FIXTURES).unwrap();
    doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].clone())
        .collect()
}

fn relay(id: &str) -> RelayMetadata {
    RelayMetadata::new(
        "acme",
        "logs",
        CollectionPath::Pull,
        Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap(),
        id.into(),
    )
    .identified(Some("00o1abcdefghijklmnop"))
}

fn map(event: &Value) -> Mapped {
    let raw = RawValue::from_string(event.to_string()).unwrap();
    let published = event["published"]
        .as_str()
        .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
        .map(|p| p.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap());
    system_log(&raw, &relay(event["uuid"].as_str().unwrap()), published)
}

fn fixture(event_type: &str) -> Value {
    fixtures()
        .into_iter()
        .find(|e| e["eventType"] == event_type)
        .unwrap_or_else(|| panic!("a fixture of {event_type}"))
}

#[test]
fn the_table_is_consistent() {
    assert_eq!(TABLE.check(), Ok(()));
    assert!(TABLE.classes.len() >= 8 && TABLE.rules.len() > 40);
}

#[test]
fn each_fixture_event_type_maps_to_its_class() {
    let expected: BTreeMap<&str, u32> = BTreeMap::from([
        ("user.session.start", 3002),
        ("user.session.end", 3002),
        ("user.authentication.sso", 3002),
        ("user.authentication.verify", 3002),
        ("user.authentication.auth_via_mfa", 3002),
        ("user.authentication.auth_via_IDP", 3002),
        ("system.push.send_factor_verify_push", 3002),
        ("user.account.lock", 3001),
        ("user.account.update_password", 3001),
        ("user.account.privilege.grant", 3005),
        ("user.lifecycle.deactivate", 3001),
        ("user.session.access_admin_app", 3003),
        ("group.user_membership.add", 3006),
        ("group.user_membership.remove", 3006),
        ("application.user_membership.add", 3004),
        ("policy.evaluate_sign_on", 3002),
        ("security.threat.detected", 2004),
        ("user.account.report_suspicious_activity_by_enduser", 2004),
        ("system.org.rate_limit.warning", 6003),
        ("system.operation.rate_limit.violation", 6003),
        ("core.concurrency.org.limit.violation", 6003),
        ("app.user_management", 6003),
        ("system.api_token.create", 6003),
        ("policy.lifecycle.create", 3004),
        ("user.session.impersonation.grant", 3003),
        ("app.oauth2.token.grant.access_token", 3002),
    ]);
    let events = fixtures();
    assert!(events.len() >= 25);
    for event in &events {
        let event_type = event["eventType"].as_str().unwrap();
        let want = expected
            .get(event_type)
            .unwrap_or_else(|| panic!("no expectation for fixture {event_type}"));
        let mapped = map(event);
        assert_eq!(mapped.class_uid, *want, "{event_type}");
        let out = &mapped.event;
        assert_eq!(out["class_uid"], *want);
        assert_eq!(
            out["type_uid"],
            u64::from(*want) * 100 + u64::from(mapped.activity_id)
        );
        assert_eq!(out["metadata"]["uid"], event["uuid"], "{event_type}");
        assert_eq!(out["metadata"]["version"], "1.3.0");
        assert_eq!(out["metadata"]["product"]["vendor_name"], "Okta");
        assert_eq!(out["metadata"]["tenant_uid"], "00o1abcdefghijklmnop");
        assert!(out["time"].is_i64() && out["severity_id"].is_u64());
    }
}

#[test]
fn nothing_okta_sent_is_lost() {
    // Every non-null leaf of the event is in `unmapped` at its place, or its value is in the
    // OCSF event (a copy took it).
    fn leaves(v: &Value, at: String, out: &mut Vec<(String, Value)>) {
        match v {
            Value::Object(m) => m
                .iter()
                .for_each(|(k, x)| leaves(x, format!("{at}/{k}"), out)),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, x)| leaves(x, format!("{at}/{i}"), out)),
            Value::Null => {}
            other => out.push((at, other.clone())),
        }
    }
    for event in fixtures() {
        let mapped = map(&event);
        let mut source = Vec::new();
        leaves(&event, String::new(), &mut source);
        let mut copied = Vec::new();
        let mut without = mapped.event.clone();
        let unmapped = without
            .as_object_mut()
            .unwrap()
            .remove("unmapped")
            .unwrap_or(Value::Null);
        leaves(&without, String::new(), &mut copied);
        let copied: Vec<Value> = copied.into_iter().map(|(_, v)| v).collect();
        let mut kept = Vec::new();
        leaves(&unmapped, String::new(), &mut kept);
        for (path, value) in source {
            let in_unmapped = kept.iter().any(|(_, v)| *v == value);
            let as_text = Value::String(value.to_string());
            let in_ocsf = copied.contains(&value) || copied.contains(&as_text);
            assert!(
                in_unmapped || in_ocsf,
                "{}: {path} = {value} is lost",
                event["eventType"]
            );
        }
    }
}

#[test]
fn user_session_start_fills_actor_session_endpoint_and_request() {
    let event = fixture("user.session.start");
    let mapped = map(&event);
    let out = &mapped.event;
    assert_eq!((mapped.class_uid, mapped.activity_id), (3002, 1));
    assert_eq!(out["activity_name"], "Logon");
    assert_eq!(out["type_uid"], 300201);
    assert_eq!(out["actor"]["user"]["uid"], event["actor"]["id"]);
    // OCSF's `name` is the user name (Okta's login), `full_name` the person's name.
    assert_eq!(out["actor"]["user"]["name"], event["actor"]["alternateId"]);
    assert_eq!(
        out["actor"]["user"]["full_name"],
        event["actor"]["displayName"]
    );
    assert_eq!(
        out["actor"]["user"]["email_addr"],
        event["actor"]["alternateId"]
    );
    assert_eq!(out["actor"]["user"]["type_id"], 1);
    assert_eq!(
        out["user"]["uid"], event["actor"]["id"],
        "the user who logged on"
    );
    assert_eq!(
        out["actor"]["session"]["uid"],
        event["authenticationContext"]["externalSessionId"]
    );
    assert_eq!(out["src_endpoint"]["ip"], event["client"]["ipAddress"]);
    assert_eq!(out["src_endpoint"]["type"], event["client"]["device"]);
    assert_eq!(
        out["src_endpoint"]["location"]["city"],
        event["client"]["geographicalContext"]["city"]
    );
    assert_eq!(
        out["src_endpoint"]["location"]["country"],
        event["client"]["geographicalContext"]["country"]
    );
    assert_eq!(
        out["http_request"]["user_agent"],
        event["client"]["userAgent"]["rawUserAgent"]
    );
    assert_eq!(
        out["http_request"]["uid"],
        event["debugContext"]["debugData"]["requestId"]
    );
    assert_eq!(out["message"], event["displayMessage"]);
    let (want_status, caption) = if event["outcome"]["result"] == "SUCCESS" {
        (1, "Success")
    } else {
        (2, "Failure")
    };
    assert_eq!(out["status_id"], want_status);
    assert_eq!(out["status"], caption, "OCSF's caption of status_id");
    assert_eq!(
        (&out["severity_id"], &out["severity"]),
        (&json!(1), &json!("Informational"))
    );
    let published = DateTime::parse_from_rfc3339(event["published"].as_str().unwrap()).unwrap();
    assert_eq!(out["time"], published.timestamp_millis());
    assert_eq!(out["metadata"]["original_time"], event["published"]);
}

#[test]
fn every_session_start_with_an_as_number_maps_it() {
    for event in fixtures()
        .iter()
        .filter(|e| e["eventType"] == "user.session.start")
    {
        let out = map(event).event;
        if let Some(n) = event["securityContext"]["asNumber"].as_i64() {
            assert_eq!(out["src_endpoint"]["autonomous_system"]["number"], n);
        }
        if let Some(isp) = event["securityContext"]["isp"].as_str()
            && event["client"]["geographicalContext"]["country"].is_string()
        {
            assert_eq!(out["src_endpoint"]["location"]["isp"], isp);
        }
    }
}

#[test]
fn user_account_lock_is_an_account_change_lock_of_the_target_user() {
    for event in fixtures()
        .iter()
        .filter(|e| e["eventType"] == "user.account.lock")
    {
        let mapped = map(event);
        assert_eq!((mapped.class_uid, mapped.activity_id), (3001, 9));
        let out = &mapped.event;
        assert_eq!(out["activity_name"], "Lock");
        assert_eq!(out["type_uid"], 300109);
        let target = event["target"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["type"] == "User"))
            .unwrap_or(&event["actor"]);
        assert_eq!(out["user"]["uid"], target["id"]);
        assert_eq!(out["actor"]["user"]["uid"], event["actor"]["id"]);
    }
}

#[test]
fn group_user_membership_add_names_the_group_and_the_member() {
    for event in fixtures()
        .iter()
        .filter(|e| e["eventType"] == "group.user_membership.add")
    {
        let mapped = map(event);
        assert_eq!((mapped.class_uid, mapped.activity_id), (3006, 3));
        let out = &mapped.event;
        assert_eq!(out["activity_name"], "Add User");
        let targets = event["target"].as_array().unwrap();
        let group = targets.iter().find(|t| t["type"] == "UserGroup").unwrap();
        let user = targets.iter().find(|t| t["type"] == "User").unwrap();
        assert_eq!(out["group"]["uid"], group["id"]);
        assert_eq!(out["group"]["name"], group["displayName"]);
        assert_eq!(out["user"]["uid"], user["id"]);
        assert_eq!(out["user"]["name"], user["alternateId"], "the login");
        assert_eq!(out["user"]["full_name"], user["displayName"]);
        let address = user["alternateId"]
            .as_str()
            .is_some_and(|a| table::Check::Email.accepts(a));
        assert_eq!(out["user"]["email_addr"].is_string(), address);
        // Group Management has `actor` through OCSF's host profile, which the event declares.
        assert_eq!(
            out["actor"]["user"]["uid"], event["actor"]["id"],
            "who did it"
        );
        assert_eq!(out["actor"]["user"]["name"], event["actor"]["alternateId"]);
        assert_eq!(out["metadata"]["profiles"], json!(["host"]));
    }
}

#[test]
fn security_threat_detected_is_a_detection_finding() {
    let event = fixture("security.threat.detected");
    let mapped = map(&event);
    assert_eq!((mapped.class_uid, mapped.activity_id), (2004, 1));
    let out = &mapped.event;
    assert_eq!(out["category_uid"], 2);
    assert_eq!(out["finding_info"]["uid"], event["uuid"]);
    assert_eq!(out["finding_info"]["title"], event["displayMessage"]);
    assert_eq!(out["finding_info"]["types"], json!([event["eventType"]]));
    // Its actor is an address (`type` "IP address"), not a user: the address is the
    // evidence's endpoint, the actor stays in `unmapped`.
    assert_eq!(event["actor"]["type"], "IP address");
    assert!(out["evidences"][0].get("actor").is_none(), "{out}");
    assert_eq!(out["unmapped"]["actor"]["type"], "IP address");
    assert_eq!(
        out["evidences"][0]["src_endpoint"]["ip"],
        event["client"]["ipAddress"]
    );
    let severity = event["severity"].as_str().unwrap();
    let want = match severity {
        "WARN" => 3,
        "ERROR" => 4,
        _ => 1,
    };
    assert_eq!(out["severity_id"], want, "{severity}");
}

#[test]
fn an_event_without_its_class_objects_falls_through_to_the_next_rule() {
    // A group membership event without a group target cannot be Group Management: it is the
    // management of the entity it names.
    let event = json!({"uuid": "u-1", "eventType": "group.user_membership.add",
        "published": "2026-11-30T10:00:00.000Z", "actor": {"id": "00u1", "type": "User"},
        "target": [{"type": "User", "id": "00u2"}]});
    let mapped = map(&event);
    assert_eq!((mapped.class_uid, mapped.activity_id), (3004, 1));
    assert_eq!(mapped.event["entity"]["uid"], "00u2");
    // A group created has no member and no privilege: Entity Management too.
    let created = map(
        &json!({"uuid": "u-2", "eventType": "group.lifecycle.create",
        "target": [{"type": "UserGroup", "id": "00g1", "displayName": "Admins"}]}),
    );
    assert_eq!((created.class_uid, created.activity_id), (3004, 1));
    assert_eq!(created.event["entity"]["name"], "Admins");
    // An event of no known family, with no client: API Activity from Okta itself.
    let other = map(
        &json!({"uuid": "u-3", "eventType": "analytics.feedback.provide",
        "actor": {"id": "00u1"}}),
    );
    assert_eq!(other.class_uid, 6003);
    assert_eq!(
        other.event["api"]["operation"],
        "analytics.feedback.provide"
    );
    assert_eq!(other.event["src_endpoint"]["svc_name"], "Okta");
}

#[test]
fn a_login_that_is_not_an_address_stays_unmapped() {
    let event = json!({"uuid": "u-4", "eventType": "user.session.start",
        "actor": {"id": "00u1", "alternateId": "unknown", "displayName": "A"}});
    let out = map(&event).event;
    assert!(out["actor"]["user"].get("email_addr").is_none());
    assert_eq!(out["unmapped"]["actor"]["alternateId"], "unknown");
    assert_eq!(out["service"]["name"], "Okta", "a logon to Okta itself");
}

#[test]
fn the_activity_of_an_administrative_event_comes_from_its_verb() {
    let admin = |t: &str| {
        map(
            &json!({"uuid": "u", "eventType": t, "actor": {"id": "00u1"},
            "target": [{"id": "0oa1", "type": "AppInstance", "displayName": "Slack"}]}),
        )
    };
    let created = admin("application.lifecycle.create");
    assert_eq!((created.class_uid, created.activity_id), (3004, 1));
    assert_eq!(created.event["entity"]["name"], "Slack");
    assert_eq!(admin("application.lifecycle.deactivate").activity_id, 11);
    assert_eq!(admin("system.api_token.revoke").activity_id, 4);
    assert_eq!(admin("system.feature.something").activity_id, 99);
    let api = admin("oauth2.claim.create");
    assert_eq!((api.class_uid, api.activity_id), (6003, 1));
}

#[test]
fn directory_users_and_memberships_are_user_inventory() {
    let user = RawValue::from_string(
        r#"{"id":"00u1","status":"ACTIVE","lastUpdated":"2026-11-21T10:00:00.000Z","profile":{"login":"a@example.com","email":"a@example.com","firstName":"A"}}"#.into(),
    )
    .unwrap();
    let mut relay = relay("00u1@2026-11-21T10:00:00.000Z");
    relay.stream = "users".into();
    let mapped = directory("users", &user, &relay, relay.collected_at).unwrap();
    assert_eq!((mapped.class_uid, mapped.activity_id), (5003, 2));
    assert_eq!(mapped.event["user"]["uid"], "00u1");
    assert_eq!(mapped.event["user"]["name"], "a@example.com");
    assert_eq!(
        mapped.event["metadata"]["uid"],
        "00u1@2026-11-21T10:00:00.000Z"
    );
    assert_eq!(mapped.event["unmapped"]["status"], "ACTIVE");
    relay.stream = "group_members".into();
    relay.parent = Some(crate::record::ParentRef {
        kind: "group",
        id: "00g9".into(),
    });
    let member = directory("group_members", &user, &relay, relay.collected_at).unwrap();
    assert_eq!(member.event["user"]["groups"][0]["uid"], "00g9");
    assert!(
        directory("apps", &user, &relay, relay.collected_at).is_none(),
        "no OCSF class for apps"
    );
}

/// The coverage table in `docs/ocsf-coverage.md` is generated from the table and Okta's
/// catalog; it must match both (`OKTA_RELAY_BLESS=1` rewrites it).
#[test]
fn the_coverage_document_matches_the_table_and_the_catalog() {
    let catalog: Value = serde_json::from_str(CATALOG).unwrap();
    let types: Vec<&str> = catalog["event_types"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(types.len() > 1000, "the whole catalog");
    let text = coverage_document(&types, catalog["source"].as_str().unwrap_or(""));
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ocsf-coverage.md");
    if std::env::var_os("OKTA_RELAY_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "docs/ocsf-coverage.md is stale: run OKTA_RELAY_BLESS=1 cargo test -p okta-relay coverage_document"
    );
}

fn coverage_document(types: &[&str], source: &str) -> String {
    let mut by_class: BTreeMap<u32, Vec<(&str, u32)>> = BTreeMap::new();
    let mut patterns_used: BTreeMap<&str, usize> = BTreeMap::new();
    for t in types {
        let rule = TABLE.rules.iter().find(|r| r.matches(t)).unwrap();
        *patterns_used.entry(rule.pattern.as_str()).or_default() += 1;
        let event = json!({"uuid": "u", "eventType": t, "actor": {"id": "00u1", "displayName": "A"},
            "client": {"ipAddress": "192.0.2.1"},
            "target": [{"id": "00u2", "type": "User"}, {"id": "00g1", "type": "UserGroup"}]});
        let mapped = map(&event);
        by_class
            .entry(mapped.class_uid)
            .or_default()
            .push((t, mapped.activity_id));
    }
    let mut out = String::new();
    out.push_str("# OCSF coverage of Okta's event types\n\n");
    out.push_str("Generated by `the_coverage_document_matches_the_table_and_the_catalog` (`functions/core/src/ocsf/tests.rs`) from the mapping table (`functions/core/src/ocsf/mapping.json`) and Okta's event-type catalog (`tests/fixtures/okta-event-types.json`, from ");
    out.push_str(source);
    out.push_str("). Do not edit by hand. An event whose class needs a target it lacks (a group event without a group) goes to API Activity at run time.\n\n");
    out.push_str("| Class | Event types | Share of the catalog |\n|---|---:|---:|\n");
    for (uid, list) in &by_class {
        let name = &TABLE.class(*uid).unwrap().name;
        out.push_str(&format!(
            "| {uid} {name} | {} | {:.1} % |\n",
            list.len(),
            100.0 * list.len() as f64 / types.len() as f64
        ));
    }
    out.push_str(&format!("| total | {} | 100 % |\n", types.len()));
    for (uid, list) in &by_class {
        let class = TABLE.class(*uid).unwrap();
        out.push_str(&format!("\n## {uid} {}\n\n", class.name));
        out.push_str("| Event type | Activity |\n|---|---|\n");
        for (t, activity) in list {
            out.push_str(&format!(
                "| `{t}` | {activity} {} |\n",
                class.activity_name(*activity)
            ));
        }
    }
    let unused: Vec<&str> = TABLE
        .rules
        .iter()
        .map(|r| r.pattern.as_str())
        .filter(|p| !patterns_used.contains_key(p))
        .collect();
    out.push_str("\n## Rules no catalog event type reaches\n\n");
    if unused.is_empty() {
        out.push_str("None.\n");
    } else {
        out.push_str("Kept for event types Okta emits but does not list (or lists as beta):\n\n");
        for p in unused {
            out.push_str(&format!("- `{p}`\n"));
        }
    }
    out
}

#[test]
fn default_lake_sources_fit_security_lakes_name_limit_and_match_the_contract() {
    let contract: Value =
        serde_json::from_str(include_str!("../../../../infra/contract.json")).unwrap();
    for class in &TABLE.classes {
        assert!(
            class.lake_source.len() <= 20,
            "{}: CreateCustomLogSource takes at most 20 characters",
            class.lake_source
        );
        let key = crate::config::security_lake::class_key(&class.name);
        assert_eq!(
            contract["security_lake"]["sources"][&key],
            class.lake_source.as_str(),
            "{key}"
        );
    }
}

#[test]
fn values_ocsf_cannot_hold_stay_unmapped_and_objects_stay_whole() {
    // A 32-bit AS number (beyond the lake's 32-bit column), a client address that is no IP,
    // a NaN latitude, a target user without id or name, an actor without id or name.
    let event = json!({"uuid": "u-5", "eventType": "user.account.lock",
        "published": "2026-11-30T10:00:00.000Z",
        "actor": {"id": null, "type": "User", "alternateId": "unknown"},
        "client": {"ipAddress": "not-an-ip", "geographicalContext": {"city": "Oslo",
            "geolocation": {"lat": "NaN", "lon": 1.5}}},
        "securityContext": {"asNumber": 4_200_000_000u64},
        "target": [{"type": "AppInstance", "id": "0oa1"}, {"type": "User", "id": null, "displayName": null}]});
    let mapped = map(&event);
    let out = &mapped.event;
    // No whole user anywhere: no class fills, so the event keeps the class and activity its
    // type names (Account Change: Lock) with an Unknown user, labelled as made up.
    assert_eq!((mapped.class_uid, mapped.activity_id), (3001, 9), "{out}");
    assert!(out.get("actor").is_none_or(|a| a.get("user").is_none()));
    assert_eq!(out["user"]["name"], "Unknown");
    assert_eq!(out["metadata"]["uid"], "u-5");
    assert!(
        out.get("src_endpoint").is_none(),
        "not an IP: not an endpoint"
    );
    let unmapped = &out["unmapped"];
    assert_eq!(unmapped["securityContext"]["asNumber"], 4_200_000_000u64);
    assert_eq!(unmapped["client"]["ipAddress"], "not-an-ip");
    assert_eq!(
        unmapped["client"]["geographicalContext"]["geolocation"]["lat"],
        "NaN"
    );
    assert_eq!(unmapped["actor"]["alternateId"], "unknown");
    assert_eq!(unmapped["target"][0]["id"], "0oa1", "positions kept");
    assert_eq!(
        unmapped["target"][1]["type"], "User",
        "the second target is still the second"
    );
}

#[test]
fn a_detection_finding_leaves_the_outcome_to_unmapped() {
    let out = map(&fixture("security.threat.detected")).event;
    assert!(
        out.get("status_id").is_none(),
        "a finding's status is not Okta's outcome"
    );
    assert!(
        out["unmapped"].get("outcome").is_some()
            || fixture("security.threat.detected")["outcome"]["result"].is_null()
    );
}

#[test]
fn a_sparse_event_keeps_its_identity_its_class_and_says_what_was_made_up() {
    // Nothing but an id and a type: no actor, no client, no published.
    let sparse = map(&json!({"uuid": "u-1", "eventType": "user.session.start"}));
    assert_eq!(
        (sparse.class_name, sparse.activity_id),
        ("Authentication", 1)
    );
    let metadata = &sparse.event["metadata"];
    assert_eq!(metadata["uid"], "u-1");
    assert_eq!(metadata["event_code"], "user.session.start");
    assert!(
        metadata["labels"]
            .as_array()
            .unwrap()
            .contains(&json!("okta-relay.missing=user")),
        "{metadata}"
    );
    assert_eq!(sparse.event["user"]["type_id"], 0);
    // A class with a required choice, and one the type names that fills.
    let group = map(&json!({"uuid": "u-3", "eventType": "group.user_membership.add"}));
    assert_eq!(group.event["metadata"]["uid"], "u-3");
    let full = map(&fixture("user.session.start"));
    let labels = full.event["metadata"]["labels"].as_array().unwrap();
    assert!(
        labels
            .iter()
            .all(|l| !l.as_str().unwrap().contains("missing"))
    );
}

#[test]
fn an_event_without_a_readable_published_is_marked_as_on_receipt_time() {
    let mut event = fixture("user.session.start");
    event["published"] = json!("not a time");
    let raw = RawValue::from_string(event.to_string()).unwrap();
    let mut relay = relay(event["uuid"].as_str().unwrap());
    relay.malformed_published = true;
    let received = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
    let mapped = system_log(&raw, &relay, received);
    assert_eq!(mapped.class_name, "Authentication");
    assert_eq!(mapped.time_ms, received.timestamp_millis());
    assert_eq!(mapped.event["metadata"]["uid"], event["uuid"]);
    assert_eq!(
        mapped.event["metadata"]["labels"][2],
        "okta-relay.time=receipt"
    );
}
