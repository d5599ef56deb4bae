//! The Okta client over real HTTP against stub servers: what it sends, where it refuses to go,
//! and how it retries. (The project's Okta simulator exercises the same client end to end.)

#![allow(clippy::unwrap_used)]

use okta_relay::ErrorKind;
use okta_relay::clock::SystemClock;
use okta_relay::okta::{
    ClientSettings, OktaClient, OktaCredentials, OktaError, RateLimitPolicy, RateLimiter,
    RetryPolicy,
};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "00SecretTestTokenNeverLogged_abcdef";

fn settings() -> ClientSettings {
    ClientSettings {
        user_agent: "okta-relay-test/1.0".into(),
        request_timeout: Duration::from_millis(500),
        retry: RetryPolicy {
            max_attempts: 3,
            base_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            max_wait: Duration::from_secs(5),
        },
        ..ClientSettings::default()
    }
}

fn client(server: &MockServer) -> OktaClient {
    let settings = settings();
    let creds = OktaCredentials::from_secret_json(
        &format!(r#"{{"org_url":"{}","api_token":"{TOKEN}"}}"#, server.uri()),
        true,
    )
    .unwrap();
    let limiter = RateLimiter::new(
        RateLimitPolicy {
            max_jitter: Duration::ZERO,
            concurrency_backoff: Duration::from_millis(20),
            ..RateLimitPolicy::default()
        },
        Arc::new(SystemClock),
    );
    OktaClient::new(settings.build_http().unwrap(), creds, limiter, &settings)
}

fn logs_url(server: &MockServer) -> Url {
    Url::parse(&format!(
        "{}/api/v1/logs?since=2026-11-20T00:00:00Z&sortOrder=ASCENDING",
        server.uri()
    ))
    .unwrap()
}

fn assert_no_token(text: &str) {
    assert!(
        !text.contains(TOKEN) && !text.contains("SecretTestToken"),
        "token leaked: {text}"
    );
}

#[tokio::test]
async fn sends_ssws_and_user_agent_and_follows_next_on_the_same_origin() {
    let server = MockServer::start().await;
    let next = format!("{}/api/v1/logs?after=abc", server.uri());
    Mock::given(method("GET"))
        .and(path("/api/v1/logs"))
        .and(header("authorization", format!("SSWS {TOKEN}").as_str()))
        .and(header("user-agent", "okta-relay-test/1.0"))
        .and(header("accept", "application/json"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    format!("<{}>; rel=\"self\"", logs_url(&server)).as_str(),
                )
                .append_header("link", format!("<{next}>; rel=\"next\"").as_str())
                .insert_header("x-rate-limit-limit", "120")
                .insert_header("x-rate-limit-remaining", "119")
                .insert_header("x-rate-limit-reset", "4102444800")
                .insert_header("x-okta-request-id", "req-1")
                .set_body_string(r#"[{"uuid":"a"},{"uuid":"b"}]"#),
        )
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server)
        .get_page::<Value>(&logs_url(&server))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.next.unwrap().as_str(), next);
    assert_eq!(page.rate_limit.remaining, Some(119));
    assert_eq!(page.request_id.as_deref(), Some("req-1"));
}

#[tokio::test]
async fn a_foreign_next_link_is_an_error_and_the_foreign_host_is_never_contacted() {
    let org = MockServer::start().await;
    let foreign = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .expect(0)
        .mount(&foreign)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/logs"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    format!("<{}/api/v1/logs?after=x>; rel=\"next\"", foreign.uri()).as_str(),
                )
                .set_body_string("[]"),
        )
        .expect(1)
        .mount(&org)
        .await;
    let client = client(&org);
    let err = client.get_page::<Value>(&logs_url(&org)).await.unwrap_err();
    assert!(matches!(err, OktaError::Link(_)), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Permanent);
    // Asking for the foreign URL directly is refused before any request.
    let direct = Url::parse(&format!("{}/api/v1/logs?after=x", foreign.uri())).unwrap();
    let err = client.get_page::<Value>(&direct).await.unwrap_err();
    assert!(matches!(err, OktaError::OrgUrl(_)), "{err:?}");
    assert_no_token(&format!("{err} {err:?}"));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let org = MockServer::start().await;
    let foreign = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .expect(0)
        .mount(&foreign)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/steal", foreign.uri()).as_str()),
        )
        .expect(1)
        .mount(&org)
        .await;
    let err = client(&org)
        .get_page::<Value>(&logs_url(&org))
        .await
        .unwrap_err();
    assert!(matches!(err, OktaError::Api { status: 302, .. }), "{err:?}");
}

#[tokio::test]
async fn invalid_token_is_a_configuration_error_without_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string(
            r#"{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorLink":"E0000011","errorId":"oae1","errorCauses":[]}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .get_page::<Value>(&logs_url(&server))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert_eq!(err.error_code(), Some("E0000011"));
    assert_no_token(&format!("{err} {err:?}"));
}

#[tokio::test]
async fn a_429_waits_for_the_reset_then_succeeds() {
    let server = MockServer::start().await;
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-rate-limit-limit", "120")
                .insert_header("x-rate-limit-remaining", "0")
                .insert_header("x-rate-limit-reset", reset.to_string().as_str())
                .insert_header("date", date.as_str())
                .set_body_string(r#"{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}"#),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"[{"uuid":"a"}]"#))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let page = client(&server)
        .get_page::<Value>(&logs_url(&server))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    // Reset − Date + 1 s: the retry did not come before a second had passed.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_429_whose_reset_is_beyond_the_budget_is_returned_not_slept() {
    let server = MockServer::start().await;
    let now = std::time::SystemTime::now();
    let reset = now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 60;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-rate-limit-limit", "120")
                .insert_header("x-rate-limit-remaining", "0")
                .insert_header("x-rate-limit-reset", reset.to_string().as_str())
                .insert_header("date", httpdate::fmt_http_date(now).as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let err = client
        .get_page::<Value>(&logs_url(&server))
        .await
        .unwrap_err();
    match &err {
        OktaError::RateLimited {
            retry_after,
            attempts,
            ..
        } => {
            assert_eq!(*attempts, 1);
            assert!(*retry_after >= Duration::from_secs(60));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(err.kind().is_retryable());
    // The next call on that bucket does not hit Okta either: the window is known to be spent.
    let again = client
        .get_page::<Value>(&logs_url(&server))
        .await
        .unwrap_err();
    assert!(
        matches!(again, OktaError::RateLimited { attempts: 0, .. }),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_wait_that_would_pass_the_runs_deadline_is_returned_not_slept() {
    let server = MockServer::start().await;
    let now = std::time::SystemTime::now();
    // Reset in 3 s: within the 5 s budget, but not within a run that must end in 1 s.
    let reset = now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-rate-limit-limit", "120")
                .insert_header("x-rate-limit-remaining", "0")
                .insert_header("x-rate-limit-reset", reset.to_string().as_str())
                .insert_header("date", httpdate::fmt_http_date(now).as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .with_deadline(chrono::Utc::now() + chrono::Duration::seconds(1))
        .get_page::<Value>(&logs_url(&server))
        .await
        .unwrap_err();
    // One request (the mock expects exactly one): the wait was handed back, not slept through
    // and retried.
    assert!(
        matches!(err, OktaError::RateLimited { attempts: 1, retry_after, .. }
            if retry_after >= Duration::from_secs(2)),
        "{err:?}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_succeed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(500).set_body_string(
                r#"{"errorCode":"E0000009","errorSummary":"Internal Server Error"}"#,
            ),
        )
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server)
        .get_page::<Value>(&logs_url(&server))
        .await
        .unwrap();
    assert!(page.items.is_empty());
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_max_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>unavailable</html>"))
        .expect(3)
        .mount(&server)
        .await;
    let err = client(&server)
        .get_page::<Value>(&logs_url(&server))
        .await
        .unwrap_err();
    assert!(matches!(err, OktaError::Api { status: 503, .. }));
    assert_eq!(err.kind(), ErrorKind::Transient);
}

#[tokio::test]
async fn timeouts_are_retried_and_reported_as_transient() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("[]")
                .set_delay(Duration::from_secs(2)),
        )
        .expect(3)
        .mount(&server)
        .await;
    let err = client(&server)
        .get_page::<Value>(&logs_url(&server))
        .await
        .unwrap_err();
    assert!(matches!(err, OktaError::Transport { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(err.to_string().contains("timeout"), "{err}");
}

#[tokio::test]
async fn truncated_json_is_retried_and_reported_without_echoing_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"[{"uuid":"a","secretish":"do-not-echo-me"#),
        )
        .expect(3)
        .mount(&server)
        .await;
    let err = client(&server)
        .get_page::<Value>(&logs_url(&server))
        .await
        .unwrap_err();
    assert!(matches!(err, OktaError::Decode { .. }), "{err:?}");
    assert!(!err.to_string().contains("do-not-echo-me"));
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(format!("[\"{}\"]", "x".repeat(4096))),
        )
        .mount(&server)
        .await;
    let mut settings = settings();
    settings.max_body_bytes = 1024;
    settings.retry.max_attempts = 1;
    let creds = OktaCredentials::from_secret_json(
        &format!(r#"{{"org_url":"{}","api_token":"{TOKEN}"}}"#, server.uri()),
        true,
    )
    .unwrap();
    let client = OktaClient::new(
        settings.build_http().unwrap(),
        creds,
        RateLimiter::new(RateLimitPolicy::default(), Arc::new(SystemClock)),
        &settings,
    );
    let err = client
        .get_page::<Value>(&logs_url(&server))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("exceeds 1024 bytes"), "{err}");
}

/// A client whose requests may take 20 s, for a run that must stop in 1 s.
fn client_near_its_deadline(secret: &str) -> OktaClient {
    let mut settings = settings();
    settings.request_timeout = Duration::from_secs(20);
    settings.retry.max_attempts = 1;
    let creds = OktaCredentials::from_secret_json(secret, true).unwrap();
    OktaClient::new(
        settings.build_http().unwrap(),
        creds,
        RateLimiter::new(RateLimitPolicy::default(), Arc::new(SystemClock)),
        &settings,
    )
    .with_deadline(chrono::Utc::now() + chrono::Duration::seconds(1))
}

#[tokio::test]
async fn a_slow_page_gets_only_the_time_left_before_the_deadline() {
    let server = MockServer::start().await;
    // Slower than the minimum budget, faster than the request timeout.
    Mock::given(method("GET"))
        .and(path("/api/v1/logs"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("[]")
                .set_delay(Duration::from_secs(8)),
        )
        .mount(&server)
        .await;
    let client = client_near_its_deadline(&format!(
        r#"{{"org_url":"{}","api_token":"{TOKEN}"}}"#,
        server.uri()
    ));
    let err = client
        .get_page::<Value>(&logs_url(&server))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn a_slow_token_request_gets_only_the_time_left_before_the_deadline() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/v1/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(
                    r#"{"token_type":"Bearer","access_token":"at","expires_in":3600,"scope":"okta.logs.read"}"#,
                )
                .set_delay(Duration::from_secs(8)),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/logs"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .mount(&server)
        .await;
    let client = client_near_its_deadline(&format!(
        r#"{{"org_url":"{}","oauth":{{"client_id":"0oa1","client_secret":"s3cr3t-client","dpop":false}}}}"#,
        server.uri()
    ));
    let err = client
        .get_page::<Value>(&logs_url(&server))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
}

/// The org's id comes from the public organization document, asked for without credentials;
/// a document too large, an id not of Okta's shape, a redirect or an error status is refused.
#[tokio::test]
async fn the_organization_id_is_read_without_credentials_and_hostile_answers_are_refused() {
    let server = MockServer::start().await;
    let well_known = "/.well-known/okta-organization";
    Mock::given(method("GET"))
        .and(path(well_known))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"id":"00o1a2b3c4d5e6f7g8h9","pipeline":"idx"}"#),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    assert_eq!(
        client(&server).organization_id().await.unwrap(),
        "00o1a2b3c4d5e6f7g8h9"
    );
    let sent = server.received_requests().await.unwrap();
    assert!(
        sent.iter()
            .all(|r| !r.headers.contains_key("authorization")),
        "a public document gets no token"
    );

    let answers = [
        ResponseTemplate::new(200).set_body_string(format!(
            r#"{{"id":"00o1a2b3c4d5e6f7g8h9","pad":"{}"}}"#,
            "x".repeat(200 * 1024)
        )),
        ResponseTemplate::new(200).set_body_string(r#"{"id":"<script>"}"#),
        ResponseTemplate::new(302).insert_header("location", "https://evil.example/"),
        ResponseTemplate::new(404).set_body_string("{}"),
    ];
    for answer in answers {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path(well_known))
            .respond_with(answer)
            .mount(&server)
            .await;
        let e = client(&server).organization_id().await.unwrap_err();
        assert!(!e.to_string().contains(TOKEN));
        assert!(
            matches!(e, OktaError::Decode { .. } | OktaError::Api { .. }),
            "{e}"
        );
    }
}
