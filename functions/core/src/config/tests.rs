//! The configuration's validation: defaults, errors that name the field, limits.
use super::defaults::*;
use super::*;

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:okta/acme-AbCdEf";

fn valid() -> String {
    format!(
        r#"{{"orgs":[{{"name":"acme","secret_arn":"{ARN}","partner_event_source":"aws.partner/okta.com/acme/relay"}}]}}"#
    )
}

#[test]
fn defaults_follow_oktas_guidance() {
    let c = RelayConfig::from_json(&valid()).unwrap();
    assert_eq!(c.user_agent, crate::DEFAULT_USER_AGENT);
    assert_eq!(c.orgs[0].logs.page_size, 1000);
    assert_eq!(c.orgs[0].logs.initial_lookback_hours, 24);
    assert_eq!(c.max_request_bytes, 262_144);
    assert!(!c.allow_loopback_http);
    assert_eq!(c.lease_seconds, 120);
    assert_eq!(c.orgs[0].logs.interval_seconds, 0);
    assert_eq!(c.orgs[0].push, PushConfig::default());
    assert_eq!(c.orgs[0].push.old_events, OldEventPolicy::Forward);
    let drop =
        RelayConfig::from_json(&valid().replace("}]}", ",\"push\":{\"old_events\":\"drop\"}}]}"))
            .unwrap();
    assert_eq!(drop.orgs[0].push.old_events, OldEventPolicy::Drop);
    assert_eq!(
        c.org_for_partner_source("aws.partner/okta.com/acme/relay")
            .unwrap()
            .name,
        "acme"
    );
    assert!(
        c.org_for_partner_source("aws.partner/okta.com/other/relay")
            .is_none()
    );
}

#[test]
fn a_value_of_the_wrong_type_is_named_by_its_path() {
    let two = format!(
        r#"{{"orgs":[{{"name":"acme","secret_arn":"{ARN}"}},
            {{"name":"beta","secret_arn":"{ARN}-beta","logs":{{"page_size":"1000"}}}}]}}"#
    );
    let e = RelayConfig::from_json(&two).unwrap_err();
    assert_eq!(e.field, "orgs[1].logs.page_size", "{e}");
    assert!(e.problem.contains("invalid type"), "{e}");
    let typo = valid().replace("\"orgs\"", "\"orgz\"");
    let e = RelayConfig::from_json(&typo).unwrap_err();
    assert!(e.problem.contains("orgz"), "{e}");
    let e = RelayConfig::from_json(&format!("{} trailing", valid())).unwrap_err();
    assert_eq!(e.field, "(document)");
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (r#"{"orgs":[]}"#.to_string(), "orgs"),
        (valid().replace("\"acme\"", "\"Acme!\""), "orgs[0].name"),
        (valid().replace(ARN, "okta/acme"), "orgs[0].secret_arn"),
        (
            valid().replace("aws.partner/okta.com/acme/relay", "aws.partner/other/x"),
            "orgs[0].partner_event_source",
        ),
        (
            valid().replace("}]}", ",\"logs\":{\"page_size\":5000}}]}"),
            "orgs[0].logs.page_size",
        ),
        (
            valid().replace("}]}", ",\"logs\":{\"initial_lookback_hours\":5000}}]}"),
            "orgs[0].logs.initial_lookback_hours",
        ),
        (
            valid().replace("{\"orgs\"", "{\"max_request_bytes\":10,\"orgs\""),
            "max_request_bytes",
        ),
        (
            valid().replace("}]}", ",\"event_types\":{\"allow\":[\"user.*.x\"]}}]}"),
            "orgs[0].event_types",
        ),
        (
            valid().replace("{\"orgs\"", "{\"rate_limit_reserve\":1.5,\"orgs\""),
            "rate_limit_reserve",
        ),
        (
            valid().replace("{\"orgs\"", "{\"lease_seconds\":5,\"orgs\""),
            "lease_seconds",
        ),
        (
            valid().replace("}]}", ",\"logs\":{\"interval_seconds\":9999999}}]}"),
            "orgs[0].logs.interval_seconds",
        ),
        (
            valid().replace("}]}", ",\"push\":{\"max_event_age_seconds\":0}}]}"),
            "orgs[0].push.max_event_age_seconds",
        ),
        (
            valid().replace("}]}", ",\"inventory\":{\"users\":{\"page_size\":999}}}]}"),
            "orgs[0].inventory.users.page_size",
        ),
        (
            valid().replace(
                "}]}",
                ",\"sink\":{\"type\":\"firehose\",\"stream\":\"a b\"}}]}",
            ),
            "orgs[0].sink.stream",
        ),
    ];
    for (text, field) in cases {
        let e = RelayConfig::from_json(&text).unwrap_err();
        assert_eq!(e.field, field, "{text}: {e}");
    }
    let typo = RelayConfig::from_json(&valid().replace("secret_arn", "secert_arn")).unwrap_err();
    assert!(typo.to_string().contains("secert_arn"), "{typo}");
}

#[test]
fn an_org_chooses_its_sink() {
    use crate::ports::SinkChoice;
    let c = RelayConfig::from_json(&valid()).unwrap();
    assert_eq!(c.orgs[0].sink, SinkChoice::EventBus, "the bus by default");
    let firehose = valid().replace(
        "}]}",
        ",\"sink\":{\"type\":\"firehose\",\"stream\":\"okta-relay-siem\"}}]}",
    );
    let c = RelayConfig::from_json(&firehose).unwrap();
    assert_eq!(
        c.orgs[0].sink,
        SinkChoice::Firehose {
            stream: "okta-relay-siem".into()
        }
    );
    let unknown = valid().replace("}]}", ",\"sink\":{\"type\":\"kafka\"}}]}");
    let e = RelayConfig::from_json(&unknown).unwrap_err();
    assert!(e.to_string().contains("kafka"), "{e}");
}

#[test]
fn values_near_the_integer_limits_are_refused_and_never_panic() {
    for (text, field) in [
        (
            valid().replace(
                "{\"orgs\"",
                &format!("{{\"dedupe_ttl_hours\":{},\"orgs\"", u64::MAX),
            ),
            "dedupe_ttl_hours",
        ),
        (
            valid().replace(
                "}]}",
                &format!(",\"push\":{{\"silence_window_seconds\":{}}}}}]}}", u64::MAX),
            ),
            "orgs[0].push.silence_window_seconds",
        ),
        (
            valid().replace(
                "}]}",
                &format!(
                    ",\"push\":{{\"max_event_age_seconds\":{}}}}}]}}",
                    i64::MAX as u64 + 1
                ),
            ),
            "orgs[0].push.max_event_age_seconds",
        ),
        (
            valid().replace(
                "}]}",
                &format!(
                    ",\"push\":{{\"max_event_age_seconds\":{}}}}}]}}",
                    i64::MAX / 1000 + 1
                ),
            ),
            "orgs[0].push.max_event_age_seconds",
        ),
        (
            valid().replace(
                "{\"orgs\"",
                &format!("{{\"aws_call_timeout_seconds\":{},\"orgs\"", u64::MAX),
            ),
            "aws_call_timeout_seconds",
        ),
    ] {
        let e = RelayConfig::from_json(&text).unwrap_err();
        assert_eq!(e.field, field, "{text}: {e}");
    }
    // The largest accepted values are usable by everything that reads them.
    let most = RelayConfig::from_json(
        &valid()
            .replace("{\"orgs\"", &format!("{{\"dedupe_ttl_hours\":{MAX_DEDUPE_TTL_HOURS},\"orgs\""))
            .replace(
                "}]}",
                &format!(
                    ",\"push\":{{\"silence_window_seconds\":{MAX_SILENCE_WINDOW_SECONDS},\"max_event_age_seconds\":{MAX_EVENT_AGE_SECONDS}}}}}]}}"
                ),
            ),
    )
    .unwrap();
    assert_eq!(most.dedupe_ttl().as_secs(), MAX_DEDUPE_TTL_HOURS * 3600);
    let org = &most.orgs[0];
    let now = chrono::Utc::now();
    let health = crate::ports::HealthReport::default();
    let _ = crate::stream_watch::push_state(now, &org.push, true, Some(&health));
}

#[test]
fn duplicate_orgs_and_sources_are_refused() {
    let org = format!(
        r#"{{"name":"acme","secret_arn":"{ARN}","partner_event_source":"aws.partner/okta.com/acme/relay"}}"#
    );
    let twice = format!(r#"{{"orgs":[{org},{org}]}}"#);
    assert_eq!(
        RelayConfig::from_json(&twice).unwrap_err().field,
        "orgs[1].name"
    );
    let other = org.replace("\"acme\"", "\"beta\"");
    let same_source = format!(r#"{{"orgs":[{org},{other}]}}"#);
    assert_eq!(
        RelayConfig::from_json(&same_source).unwrap_err().field,
        "orgs[1].partner_event_source"
    );
    let beta = format!(r#"{{"name":"beta","secret_arn":"{ARN}"}}"#);
    let shared_secret = format!(r#"{{"orgs":[{org},{beta}]}}"#);
    let refused = RelayConfig::from_json(&shared_secret).unwrap_err();
    assert_eq!(refused.field, "orgs[1].secret_arn");
    assert!(refused.problem.contains("another org"), "{refused:?}");
}

#[test]
fn with_the_lake_the_lease_outlasts_a_write_and_the_owner_is_an_account() {
    let lake = r#"{"bucket":"aws-security-data-lake-us-east-1-abc","region":"us-east-1","account_id":"123456789012"}"#;
    let short = RelayConfig::from_json(&format!(
        r#"{{"lease_seconds":15,"aws_call_timeout_seconds":10,"orgs":[{{"name":"acme","secret_arn":"{ARN}"}}],"security_lake":{lake}}}"#
    ))
    .unwrap_err();
    assert_eq!(short.field, "lease_seconds");
    let off = lake.replace("}", ",\"enabled\":false}");
    assert!(
        RelayConfig::from_json(&format!(
            r#"{{"lease_seconds":15,"aws_call_timeout_seconds":10,"orgs":[{{"name":"acme","secret_arn":"{ARN}"}}],"security_lake":{off}}}"#
        ))
        .is_ok(),
        "the rule is for lake writes only"
    );
    let owner = with_lake(&lake.replace("}", ",\"bucket_owner\":\"lake\"}")).unwrap_err();
    assert_eq!(owner.field, "security_lake.bucket_owner");
    let owned = with_lake(&lake.replace("}", ",\"bucket_owner\":\"210987654321\"}")).unwrap();
    assert_eq!(owned.lake().unwrap().bucket_owner(), "210987654321");
    assert_eq!(
        with_lake(lake).unwrap().lake().unwrap().bucket_owner(),
        "123456789012",
        "default: the account_id"
    );
}

fn with_lake(lake: &str) -> Result<RelayConfig, ConfigError> {
    RelayConfig::from_json(&format!(
        r#"{{"orgs":[{{"name":"acme","secret_arn":"{ARN}","output":"both"}}],"security_lake":{lake}}}"#
    ))
}

#[test]
fn output_defaults_to_raw_and_the_lake_is_off_without_its_section() {
    let c = RelayConfig::from_json(&valid()).unwrap();
    assert_eq!(c.orgs[0].output, Output::Raw);
    assert!((c.orgs[0].output.raw(), c.orgs[0].output.ocsf()) == (true, false));
    assert!(c.lake().is_none() && !c.orgs[0].lake_delivery);
    let bad = RelayConfig::from_json(&valid().replace("}]}", ",\"output\":\"xml\"}]}"));
    assert!(bad.unwrap_err().problem.contains("unknown variant"));
}

#[test]
fn the_lake_section_turns_delivery_on_with_defaults_and_off_with_enabled_false() {
    let base = r#"{"bucket":"aws-security-data-lake-us-east-1-abc","region":"us-east-1","account_id":"123456789012""#;
    let c = with_lake(&format!("{base}}}")).unwrap();
    let lake = c.lake().unwrap();
    assert_eq!(lake.prefix, "ext/");
    assert_eq!(lake.source_for("Authentication"), "okta-authentication");
    assert_eq!(
        lake.source_for("User Inventory Info"),
        "okta-user-inventory"
    );
    assert_eq!(lake.max_buffer_events, security_lake::MAX_BUFFER_EVENTS);
    assert!(c.orgs[0].lake_delivery);
    let off = with_lake(&format!("{base},\"enabled\":false}}")).unwrap();
    assert!(off.lake().is_none() && !off.orgs[0].lake_delivery);
    let named = with_lake(&format!(
        "{base},\"sources\":{{\"authentication\":\"okta-auth\"}}}}"
    ))
    .unwrap();
    assert_eq!(
        named.lake().unwrap().source_for("Authentication"),
        "okta-auth"
    );
}

#[test]
fn a_bad_lake_section_names_its_field() {
    let base = |extra: &str| {
        format!(
            r#"{{"bucket":"aws-security-data-lake-us-east-1-abc","region":"us-east-1","account_id":"123456789012"{extra}}}"#
        )
    };
    let field = |lake: String| with_lake(&lake).unwrap_err().field;
    assert_eq!(
        field(
            base(",\"bucket\":\"Bad_Bucket\"")
                .replace(r#""bucket":"aws-security-data-lake-us-east-1-abc","#, "")
        ),
        "security_lake.bucket"
    );
    assert_eq!(field(base(",\"prefix\":\"/ext\"")), "security_lake.prefix");
    assert_eq!(
        field(base("").replace("123456789012", "12345")),
        "security_lake.account_id"
    );
    assert_eq!(
        field(base("").replace("us-east-1\"", "US East\"")),
        "security_lake.region"
    );
    assert_eq!(
        field(base(",\"sources\":{\"logons\":\"x\"}")),
        "security_lake.sources.logons"
    );
    for bad in [
        "a b",
        "okta-authentication-too-long",
        "../x",
        "x/..",
        "x//v",
        "x/1/2",
        "/x",
        "x/",
    ] {
        assert_eq!(
            field(base(&format!(
                ",\"sources\":{{\"authentication\":\"{bad}\"}}"
            ))),
            "security_lake.sources.authentication",
            "{bad}"
        );
    }
    assert!(
        with_lake(&base(
            ",\"sources\":{\"authentication\":\"okta-authn/1.0\"}"
        ))
        .is_ok()
    );
    assert_eq!(
        field(base(
            ",\"sources\":{\"authentication\":\"okta/1\",\"account_change\":\"okta/2\"}"
        )),
        "security_lake.sources",
        "two versions of one source are one source"
    );
    assert_eq!(
        field(base(
            ",\"sources\":{\"authentication\":\"okta\",\"account_change\":\"okta\"}"
        )),
        "security_lake.sources",
        "one class per custom source"
    );
    assert_eq!(
        field(base(",\"max_buffer_seconds\":0")),
        "security_lake.max_buffer_seconds"
    );
    assert_eq!(
        field(base(",\"max_buffer_bytes\":10")),
        "security_lake.max_buffer_bytes"
    );
    assert_eq!(
        field(base(",\"max_buffer_events\":0")),
        "security_lake.max_buffer_events"
    );
    assert!(
        with_lake(&base(",\"colour\":\"red\"")).is_err(),
        "unknown fields are refused"
    );
}

#[test]
fn staging_and_provider_roles_are_checked_and_name_their_fields() {
    let lake = |extra: &str| {
        format!(
            r#"{{"bucket":"aws-security-data-lake-us-east-1-abc","region":"us-east-1","account_id":"123456789012"{extra}}}"#
        )
    };
    let keys: Vec<String> = crate::ocsf::TABLE
        .classes
        .iter()
        .map(|c| security_lake::class_key(&c.name))
        .collect();
    let arns = |skip: usize, arn: &str| {
        keys.iter()
            .skip(skip)
            .map(|k| format!("\"{k}\":\"{arn}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    let role = "arn:aws:iam::210987654321:role/AmazonSecurityLake-Provider-x-us-east-1";
    let roles = |external: &str, arns: String| {
        format!(",\"provider_roles\":{{\"external_id\":\"{external}\",\"arns\":{{{arns}}}}}")
    };
    let good = with_lake(&lake(&roles("okta-relay-7", arns(0, role)))).unwrap();
    let config = good.security_lake.unwrap();
    let taken = config.provider_role("Authentication").unwrap();
    assert_eq!((taken.arn, taken.external_id), (role, "okta-relay-7"));
    let field = |extra: String| with_lake(&lake(&extra)).unwrap_err().field;
    assert_eq!(
        field(roles("okta-relay-7", arns(1, role))),
        format!("security_lake.provider_roles.arns.{}", keys[0]),
        "every class needs its role"
    );
    assert_eq!(
        field(roles("okta-relay-7", arns(0, "arn:aws:s3:::bucket"))),
        format!("security_lake.provider_roles.arns.{}", keys[0])
    );
    assert_eq!(
        field(roles("x", arns(0, role))),
        "security_lake.provider_roles.external_id"
    );
    assert_eq!(
        field(",\"staging\":{\"bucket\":\"Bad Bucket\"}".into()),
        "security_lake.staging.bucket"
    );
    assert_eq!(
        field(
            ",\"staging\":{\"bucket\":\"okta-relay-staging\",\"write_interval_seconds\":90000}"
                .into()
        ),
        "security_lake.staging.write_interval_seconds"
    );
    let staged = with_lake(&lake(",\"staging\":{\"bucket\":\"okta-relay-staging\"}")).unwrap();
    let staging = staged.security_lake.unwrap().staging.unwrap();
    assert_eq!(
        (staging.prefix.as_str(), staging.write_interval_seconds),
        ("lake-staging/", 300)
    );
}
