//! Hostile input: the parsers that read what Okta (or anyone who can reach the function) sends
//! must never panic, whatever the bytes, and must keep their promises on the way.
//!
//! Each property runs `OKTA_RELAY_FUZZ_CASES` cases: 20 000 in `make test` (a regression net
//! that fits CI), 1 000 000 in `make fuzz` (release build; the figures are in RELIABILITY.md).
//! Failing cases are persisted by proptest under `tests/hostile_input.proptest-regressions` and
//! replayed first: that file is the corpus.

#![allow(clippy::unwrap_used)]

use okta_relay::config::RelayConfig;
use okta_relay::okta::{OAuthErrorBody, OktaErrorBody, OrgUrl, links};
use okta_relay::push::PartnerEvent;
use proptest::prelude::*;
use serde_json::value::RawValue;
use url::Url;

fn cases() -> u32 {
    std::env::var("OKTA_RELAY_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        max_shrink_iters: 1000,
        ..ProptestConfig::default()
    }
}

fn org() -> OrgUrl {
    OrgUrl::parse("https://acme.okta.com", false).unwrap()
}

/// Link header values: well-formed ones with hostile parts, and arbitrary text.
fn link_value() -> impl Strategy<Value = String> {
    let host = prop_oneof![
        Just("acme.okta.com".to_string()),
        Just("acme.okta.com:443".to_string()),
        Just("acme.okta.com.evil.example".to_string()),
        Just("evil.example".to_string()),
        Just("ACME.OKTA.COM".to_string()),
        "[a-z0-9.:@%-]{0,30}",
    ];
    let scheme = prop_oneof![Just("https"), Just("http"), Just("javascript"), Just("")];
    let rel = prop_oneof![
        Just("next"),
        Just("self"),
        Just("NEXT"),
        Just("next self"),
        Just("\"next"),
        Just("")
    ];
    let structured = (scheme, host, "[ -~]{0,40}", rel, "[ -~]{0,10}").prop_map(
        |(scheme, host, path, rel, tail)| {
            format!("<{scheme}://{host}/{path}>; rel=\"{rel}\"{tail}")
        },
    );
    prop_oneof![
        structured.clone(),
        (structured.clone(), structured).prop_map(|(a, b)| format!("{a}, {b}")),
        "[ -~]{0,120}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Any Link header: no panic, and a `next` link is only ever on the org's own origin.
    #[test]
    fn link_parser_never_panics_and_never_leaves_the_org(values in proptest::collection::vec(link_value(), 0..3)) {
        let org = org();
        let requested = Url::parse("https://acme.okta.com/api/v1/logs?limit=10").unwrap();
        if let Ok(links) = links::parse(values.iter().map(String::as_str), &requested, &org)
            && let Some(next) = links.next
        {
            prop_assert!(org.ensure_same_origin(&next).is_ok(), "{next}");
        }
    }

    /// Any bytes as an Okta or OAuth error body: no panic, and bounded fields.
    #[test]
    fn error_parsers_never_panic_and_stay_bounded(body in prop_oneof![
        any::<Vec<u8>>(),
        ("[ -~]{0,20}", "[ -~]{0,400}", "[ -~]{0,100}").prop_map(|(code, summary, id)| format!(
            r#"{{"errorCode":"{code}","errorSummary":"{summary}","errorId":"{id}","errorCauses":[{{"errorSummary":"{summary}"}}],"error":"{code}","error_description":"{summary}"}}"#
        ).into_bytes()),
    ]) {
        // Cut texts end with "…" (3 bytes).
        let okta = OktaErrorBody::parse(&body);
        prop_assert!(okta.error_summary.map_or(0, |s| s.len()) <= 300 + 3);
        prop_assert!(okta.error_code.map_or(0, |s| s.len()) <= 16 + 3);
        prop_assert!(okta.error_causes.len() <= 5);
        let oauth = OAuthErrorBody::parse(&body);
        prop_assert!(oauth.error.len() <= 40 + 3 && oauth.description.len() <= 300 + 3);
    }
}

const SOURCE: &str = "aws.partner/okta.com/acme/relay";

fn relay_config() -> RelayConfig {
    RelayConfig::from_json(&format!(
        r#"{{"orgs":[{{"name":"acme","secret_arn":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf","partner_event_source":"{SOURCE}"}}]}}"#
    ))
    .unwrap()
}

/// JSON values of any shape, a few levels deep.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "[ -~]{0,30}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("2026-11-22T10:00:00.000Z")),
        Just(serde_json::Value::from(SOURCE)),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("uuid".to_string()),
                    Just("published".to_string()),
                    Just("eventType".to_string()),
                    Just("source".to_string()),
                    Just("detail".to_string()),
                    Just("detail-type".to_string()),
                    "[a-z-]{1,8}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Envelopes close to Okta's, with any field replaced by anything.
fn envelope() -> impl Strategy<Value = String> {
    let field = |good: serde_json::Value| prop_oneof![3 => Just(good), 1 => json_value()];
    let detail = (
        field("e0b6c2ce-1111-4a3e-9b1e-2f1d3c4b5a69".into()),
        field("2026-11-22T10:00:00.000Z".into()),
        field("user.session.start".into()),
        json_value(),
    )
        .prop_map(|(uuid, published, event_type, extra)| {
            serde_json::json!({"uuid": uuid, "published": published, "eventType": event_type, "extra": extra})
        });
    let structured = (
        field(SOURCE.into()),
        field("SystemLog".into()),
        prop_oneof![3 => detail, 1 => json_value()],
        field("0".into()),
    )
        .prop_map(|(source, detail_type, detail, version)| {
            serde_json::json!({"version": version, "id": "x", "detail-type": detail_type, "source": source,
                "account": "123456789012", "time": "2026-11-22T10:00:00Z", "region": "us-east-1",
                "resources": [], "detail": detail})
            .to_string()
        });
    prop_oneof![
        4 => structured,
        1 => json_value().prop_map(|v| v.to_string()),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Any JSON payload: no panic; accepted only from the configured source with the LogEvent's
    /// required fields.
    #[test]
    fn partner_envelope_parser_never_panics_and_accepts_only_valid_events(payload in envelope()) {
        let config = relay_config();
        let raw = RawValue::from_string(payload).unwrap();
        if let Ok(event) = PartnerEvent::parse(&raw, &config) {
            prop_assert_eq!(event.org.name.as_str(), "acme");
            prop_assert!(!event.header.uuid.is_empty());
            prop_assert!(!event.header.event_type.is_empty());
        }
    }
}
