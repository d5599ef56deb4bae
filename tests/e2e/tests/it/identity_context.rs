//! Every directory stream of the catalogue against moto and the Okta simulator: a full sync
//! delivers each object of all 33 streams once (the `/iam` envelopes, the policy-type sweep,
//! the unpaged lists and every fan-out included); deleting one object of each stream whose
//! deletions Okta logs yields exactly one `Okta Inventory Change` naming it; and a service app
//! whose scopes leave one fan-out stream out gets that stream reported as its own
//! configuration error while its parent and every other stream deliver; `validate-config`
//! reads one item of every stream and names each stream whose scope the secret leaves out.

use crate::ctl::ctl;
use crate::lambda::function_env;
use crate::pull::{TOKEN, poller_with, sim_call, table};
use crate::support::LocalStack;
use chrono::Utc;
use okta_relay::config::RelayConfig;
use okta_relay::inventory::catalogue::STREAMS;
use okta_relay::operator::{StreamState, gather};
use okta_relay::record::SyncMode;
use okta_sim::{RunningSim, SeedConfig, SimConfig};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

async fn small_org() -> RunningSim {
    okta_sim::start(SimConfig {
        tokens: vec![TOKEN.into()],
        seed: SeedConfig {
            users: 24,
            groups: 6,
            memberships: 30,
            apps: 4,
            app_users: 8,
            app_groups: 4,
            backlog_events: 0,
            ..SeedConfig::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// Every stream of the catalogue, deltas allowed at once.
fn every_stream() -> String {
    let streams: Vec<String> = STREAMS
        .iter()
        .map(|s| match s.delta {
            Some(_) => format!(r#""{}":{{"delta_interval_seconds":1}}"#, s.name),
            None => format!(r#""{}":{{}}"#, s.name),
        })
        .collect();
    format!(r#","inventory":{{{}}}"#, streams.join(","))
}

/// The record id without its version: `parent/id` or `id`.
fn unversioned(record_id: &str) -> String {
    record_id.split('@').next().unwrap().to_string()
}

/// What the simulator holds, per stream, as unversioned record ids.
fn expected(dir: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let strings = |key: &str| -> BTreeSet<String> {
        dir[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let pairs = |key: &str| -> BTreeSet<String> {
        dir[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| format!("{}/{}", p[0].as_str().unwrap(), p[1].as_str().unwrap()))
            .collect()
    };
    let mut out = BTreeMap::new();
    out.insert("users".into(), strings("users"));
    for (stream, key) in [
        ("groups", "groups"),
        ("apps", "apps"),
        ("idps", "idps"),
        ("zones", "zones"),
        ("clients", "clients"),
    ] {
        out.insert(stream.into(), strings(key));
    }
    for stream in ["group_members", "app_users", "app_groups"] {
        let key = if stream == "group_members" {
            "memberships"
        } else {
            stream
        };
        out.insert(stream.into(), pairs(key));
    }
    for (collection, refs) in dir["context"].as_object().unwrap() {
        let ids = refs
            .as_array()
            .unwrap()
            .iter()
            .map(|r| match r["parent"].as_str().unwrap() {
                "" => r["id"].as_str().unwrap().to_string(),
                parent => format!("{parent}/{}", r["id"].as_str().unwrap()),
            })
            .collect();
        out.insert(collection.clone(), ids);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stream_delivers_each_object_once_and_each_logged_deletion() {
    let sim = small_org().await;
    let stack = LocalStack::provision(&[]).await;
    let arn = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    // Raw and OCSF: every record is checked against its schema as it is captured, the OCSF
    // ones (admin roles, devices) against OCSF's own.
    let table = table(&stack);
    let poller = poller_with(
        &stack,
        &arn,
        100,
        &format!(r#"{},"output":"both""#, every_stream()),
        table.clone(),
        Duration::from_secs(60),
    );
    let deadline = Utc::now() + chrono::Duration::minutes(5);
    let drainer = stack.drain_in_background();
    let full = poller.run("full", deadline).await;
    for o in &full {
        assert!(o.error.is_none(), "{}: {:?}", o.stream, o.error);
    }
    // `okta-relay-ctl status` has a row for the System Log and each of the 33 streams, every
    // fan-out stream after its parent, all caught up.
    let config = RelayConfig::from_json(&format!(
        r#"{{"orgs":[{{"name":"acme","secret_arn":"{arn}"{}}}]}}"#,
        every_stream()
    ))
    .unwrap();
    let statuses = gather(&config, None, table.as_ref(), table.as_ref(), Utc::now())
        .await
        .unwrap();
    let rows: BTreeSet<&str> = statuses.iter().map(|s| s.stream.as_str()).collect();
    let mut want_rows: BTreeSet<&str> = STREAMS.iter().map(|s| s.name).collect();
    want_rows.insert("logs");
    assert_eq!(rows, want_rows);
    assert_eq!(statuses.len(), STREAMS.len() + 1, "one row each");
    for status in &statuses {
        assert_eq!(status.state, StreamState::CaughtUp, "{}", status.stream);
    }
    let (captured, ocsf): (Vec<Value>, Vec<Value>) = drainer
        .finish()
        .await
        .into_iter()
        .partition(|e| e["detail"].get("relay").is_some());
    let ocsf_kinds: BTreeMap<String, usize> = ocsf.iter().fold(BTreeMap::new(), |mut m, e| {
        *m.entry(e["detail-type"].as_str().unwrap().to_string())
            .or_default() += 1;
        m
    });
    let dir = sim_call(&sim, "/directory", None).await;
    let count = |c: &str| dir["context"][c].as_array().unwrap().len();
    let members = dir["memberships"].as_array().unwrap().len();
    let users = dir["users"].as_array().unwrap().len();
    assert_eq!(
        ocsf_kinds,
        BTreeMap::from([
            ("OCSF Device Inventory Info".to_string(), count("devices")),
            (
                "OCSF User Inventory Info".to_string(),
                users + members + count("user_roles")
            ),
        ]),
        "admins with their roles and devices in OCSF too"
    );
    let admin = ocsf
        .iter()
        .find(|e| e["detail"]["metadata"]["log_name"] == "user_roles")
        .unwrap();
    assert_eq!(admin["detail"]["user"]["type_id"], 2);
    assert!(admin["detail"]["user"]["groups"][0]["privileges"][0].is_string());
    let want = expected(&dir);
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &captured {
        let relay = &e["detail"]["relay"];
        got.entry(relay["stream"].as_str().unwrap().to_string())
            .or_default()
            .push(unversioned(relay["recordId"].as_str().unwrap()));
    }
    assert!(STREAMS.len() >= 25, "{} streams", STREAMS.len());
    for spec in STREAMS {
        let ids = got.remove(spec.name).unwrap_or_default();
        let expected = &want[spec.name];
        assert!(
            !expected.is_empty(),
            "{}: the simulator seeds some",
            spec.name
        );
        assert_eq!(ids.len(), expected.len(), "{}: each object once", spec.name);
        let ids: BTreeSet<String> = ids.into_iter().collect();
        assert_eq!(&ids, expected, "{}: every object", spec.name);
        let one = captured
            .iter()
            .find(|e| e["detail"]["relay"]["stream"] == spec.name)
            .unwrap();
        assert_eq!(one["detail-type"], spec.detail_type);
    }
    assert!(
        got.keys().all(|k| k == "logs"),
        "nothing else: {:?}",
        got.keys()
    );
    // API tokens are metadata: no token value ever crosses the bus.
    let tokens = captured
        .iter()
        .filter(|e| e["detail"]["relay"]["stream"] == "api_tokens");
    for token in tokens {
        let okta = token["detail"]["okta"].as_object().unwrap();
        assert!(
            !okta.keys().any(|k| k.to_lowercase().contains("value")),
            "{okta:?}"
        );
    }

    // Delete one object of every stream whose deletions Okta logs.
    let deletable = [
        "user_roles",
        "group_roles",
        "custom_roles",
        "resource_sets",
        "user_factors",
        "devices",
        "device_users",
        "policies",
        "policy_rules",
        "authorization_servers",
        "auth_server_scopes",
        "auth_server_claims",
        "behaviors",
        "trusted_origins",
        "api_tokens",
        "event_hooks",
        "inline_hooks",
        "log_streams",
    ];
    // Objects whose parent is deleted too would go with it: pick children of other parents.
    let refs = &dir["context"];
    let first = |c: &str| refs[c].as_array().unwrap()[0].clone();
    let last = |c: &str| refs[c].as_array().unwrap().last().unwrap().clone();
    let mut targets = Vec::new();
    for c in deletable {
        let object = match c {
            "device_users" | "policy_rules" | "auth_server_scopes" | "auth_server_claims" => {
                last(c)
            }
            _ => first(c),
        };
        targets.push(object);
    }
    let (device, policy, server) = (
        first("devices"),
        first("policies"),
        first("authorization_servers"),
    );
    for child in &targets {
        for parent in [&device, &policy, &server] {
            assert_ne!(
                child["parent"], parent["id"],
                "{child}: its parent is deleted too"
            );
        }
    }
    let changes = sim_call(&sim, "/directory", Some(json!({"delete_objects": targets}))).await;
    assert_eq!(
        changes["deleted_objects"].as_array().unwrap().len(),
        deletable.len()
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let drainer = stack.drain_in_background();
    let delta = poller.run("delta", deadline).await;
    for o in &delta {
        assert!(o.error.is_none(), "{}: {:?}", o.stream, o.error);
    }
    let captured: Vec<Value> = drainer.finish().await;
    let changes: Vec<&Value> = captured
        .iter()
        .filter(|e| e["detail-type"] == "Okta Inventory Change")
        .collect();
    assert_eq!(changes.len(), deletable.len(), "one change per deletion");
    for object in &targets {
        let stream = object["collection"].as_str().unwrap();
        let found: Vec<&&Value> = changes
            .iter()
            .filter(|e| e["detail"]["relay"]["stream"] == stream)
            .collect();
        assert_eq!(found.len(), 1, "{stream}: one change");
        let change = &found[0]["detail"]["relay"]["change"];
        let (id, parent) = (
            object["id"].as_str().unwrap(),
            object["parent"].as_str().unwrap(),
        );
        let names = |v: &str| change.as_object().unwrap().values().any(|x| x == v);
        match stream {
            // Okta names the user or group that lost its roles or factor, not the role itself.
            "user_roles" | "user_factors" => assert_eq!(change["userId"], parent, "{stream}"),
            "group_roles" => assert_eq!(change["groupId"], parent, "{stream}"),
            "device_users" => {
                assert_eq!(change["userId"], id);
                assert_eq!(change["parentId"], parent);
            }
            _ if !parent.is_empty() => {
                assert_eq!(change["objectId"], id, "{stream}");
                assert_eq!(change["parentId"], parent, "{stream}");
            }
            _ => assert!(names(id) && change["objectId"] == id, "{stream}: {change}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_stream_the_service_app_may_not_read_is_its_own_configuration_error() {
    let sim = small_org().await;
    let stack = LocalStack::provision(&[]).await;
    let key = crate::oauth::es256("roles");
    let granted = ["okta.logs.read", "okta.users.read", "okta.groups.read"];
    crate::oauth::register(
        &sim,
        json!({"client_id": "0oaNoRoles", "jwks": [key.jwk], "scopes": granted, "dpop": true}),
    )
    .await;
    let secret = json!({"org_url": sim.url, "oauth": {"client_id": "0oaNoRoles",
        "keys": [key.secret_entry()], "scopes": granted}});
    let arn = stack.put_secret("acme-no-roles", &secret.to_string()).await;
    let inventory = r#","inventory":{"users":{},"user_factors":{},"groups":{"delta_interval_seconds":1},"group_members":{},"group_roles":{},"custom_roles":{}}"#;
    let table = table(&stack);
    let poller = poller_with(
        &stack,
        &arn,
        100,
        inventory,
        table.clone(),
        Duration::from_secs(60),
    );
    let drainer = stack.drain_in_background();
    let run = poller
        .run("scopes", Utc::now() + chrono::Duration::minutes(3))
        .await;
    // A delta of the groups a second later: the refused stream is still an error after it
    // (re-listed and refused again, or not listed at all: `poller::health`'s unit test).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let delta = poller
        .run("scopes-delta", Utc::now() + chrono::Duration::minutes(1))
        .await;
    let groups_delta = delta.iter().find(|o| o.stream == "groups").unwrap();
    assert_eq!(groups_delta.summary.sync, Some(SyncMode::Delta));
    assert_eq!(groups_delta.error, None);
    let captured = drainer.finish().await;
    let error = |stream: &str| {
        run.iter()
            .find(|o| o.stream == stream)
            .unwrap()
            .error
            .clone()
    };
    for ok in ["logs", "users", "groups"] {
        assert_eq!(error(ok), None, "{ok}");
    }
    assert!(
        error("custom_roles").is_some(),
        "a top-level stream fails alone"
    );
    let groups = run.iter().find(|o| o.stream == "groups").unwrap();
    assert_eq!(
        groups.summary.refused_children.len(),
        1,
        "{:?}",
        groups.summary.refused_children
    );
    let streams: BTreeSet<&str> = captured
        .iter()
        .map(|e| e["detail"]["relay"]["stream"].as_str().unwrap())
        .collect();
    assert_eq!(
        streams,
        ["group_members", "groups", "user_factors", "users"].into(),
        "everything the app may read"
    );
    // `status` shows each stream, the refused one as Okta's configuration error.
    let config = RelayConfig::from_json(&format!(
        r#"{{"orgs":[{{"name":"acme","secret_arn":"{arn}"{inventory}}}]}}"#
    ))
    .unwrap();
    let statuses = gather(&config, None, table.as_ref(), table.as_ref(), Utc::now())
        .await
        .unwrap();
    let state: BTreeMap<&str, (StreamState, Option<String>)> = statuses
        .iter()
        .map(|s| (s.stream.as_str(), (s.state, s.last_error.clone())))
        .collect();
    assert_eq!(
        state.keys().copied().collect::<Vec<_>>(),
        [
            "custom_roles",
            "group_members",
            "group_roles",
            "groups",
            "logs",
            "user_factors",
            "users"
        ]
    );
    for ok in ["users", "user_factors", "groups", "group_members"] {
        assert_eq!(state[ok].0, StreamState::CaughtUp, "{ok}: {:?}", state[ok]);
    }
    for refused in ["group_roles", "custom_roles"] {
        assert_eq!(state[refused].0, StreamState::Error, "{refused}");
        let message = state[refused].1.clone().unwrap_or_default();
        assert!(message.contains("403"), "{refused}: {message}");
    }
    let refused = statuses.iter().find(|s| s.stream == "group_roles").unwrap();
    assert_eq!(refused.fault, Some(okta_relay::Fault::OktaConfiguration));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_config_reads_every_stream_and_names_each_missing_scope() {
    let sim = small_org().await;
    let stack = LocalStack::provision(&[]).await;
    let full = stack.put_org_secret("acme", &sim.url, TOKEN).await;
    let key = crate::oauth::es256("validate");
    let granted = ["okta.logs.read", "okta.users.read", "okta.groups.read"];
    crate::oauth::register(
        &sim,
        json!({"client_id": "0oaValidate", "jwks": [key.jwk], "scopes": granted, "dpop": true}),
    )
    .await;
    let secret = json!({"org_url": sim.url, "oauth": {"client_id": "0oaValidate",
        "keys": [key.secret_entry()], "scopes": granted}});
    let narrow = stack.put_secret("beta-narrow", &secret.to_string()).await;
    let every: Value = serde_json::from_str(&format!("{{{}}}", &every_stream()[1..])).unwrap();
    let config = json!({
        "allow_loopback_http": true,
        "orgs": [
            {"name": "acme", "secret_arn": full, "inventory": every["inventory"]},
            {"name": "beta", "secret_arn": narrow,
             "inventory": {"users": {}, "groups": {}, "group_roles": {}, "custom_roles": {}}},
        ],
    });
    let ran = ctl(
        &function_env(&stack, &config),
        &["validate-config", "--json"],
    )
    .await;
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let checks: Vec<Value> = serde_json::from_str(&ran.stdout).unwrap();
    let of = |org: &str| -> Vec<(String, bool, String)> {
        checks
            .iter()
            .filter(|c| {
                c["subject"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("orgs[{org}]"))
            })
            .map(|c| {
                let subject = c["subject"].as_str().unwrap().to_string();
                let detail = c["detail"].as_str().unwrap_or_default().to_string();
                (subject, c["ok"].as_bool().unwrap(), detail)
            })
            .collect()
    };
    // Every top-level stream, the System Log and each child with a scope of its own is asked
    // for one item (the policies under their first required `type`, the /iam envelopes).
    let acme = of("acme");
    for (subject, ok, detail) in &acme {
        assert!(ok, "{subject}: {detail}");
    }
    let asked = acme.iter().filter(|(s, ..)| s.contains(" GET ")).count();
    let expected: usize = 1 + STREAMS
        .iter()
        .filter(|s| s.parent.is_none() || s.own_scope())
        .map(|s| s.sweep.map_or(1, |sweep| sweep.values.len()))
        .sum::<usize>();
    assert_eq!(asked, expected, "{acme:#?}");
    for policy_type in ["OKTA_SIGN_ON", "PROFILE_ENROLLMENT"] {
        let asked = format!("GET /api/v1/policies?type={policy_type}");
        assert!(acme.iter().any(|(s, ..)| s.ends_with(&asked)), "{asked}");
    }
    assert!(
        acme.iter()
            .any(|(s, ..)| s.ends_with("/roles") && s.contains("/groups/"))
    );
    // The narrow service app: each stream needing okta.roles.read is named, the others pass.
    let beta = of("beta");
    let failed = |needle: &str| {
        beta.iter()
            .find(|(s, ..)| s.ends_with(needle))
            .map(|(_, ok, detail)| (!ok, detail.clone()))
            .unwrap_or_else(|| panic!("no check {needle} in {beta:#?}"))
    };
    for stream in ["group_roles", "custom_roles"] {
        let (fails, detail) = failed(&format!("stream {stream}"));
        assert!(
            fails && detail.contains("okta.roles.read"),
            "{stream}: {detail}"
        );
    }
    let (fails, detail) = failed("GET /api/v1/iam/roles");
    assert!(fails && detail.contains("403"), "{detail}");
    for ok in [
        "GET /api/v1/users",
        "GET /api/v1/groups",
        "GET /api/v1/logs",
    ] {
        assert!(!failed(ok).0, "{ok}");
    }
}
