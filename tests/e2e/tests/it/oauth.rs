//! OAuth 2.0 service apps against the simulator's token endpoint (which verifies signatures,
//! claims, `jti` reuse and DPoP), and the poller collecting with OAuth through moto.

use crate::pull::{all_events, distinct, okta, poller, sim_call};
use crate::support::LocalStack;
use aws_lc_rs::encoding::AsDer;
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use okta_relay::ErrorKind;
use okta_relay::okta::{ClientSettings, OktaClient, OktaCredentials, RateLimitPolicy, RateLimiter};
use okta_sim::RunningSim;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// A generated service-app key: its PKCS#8 PEM (for the secret) and public JWK (for Okta).
pub(crate) struct AppKey {
    kid: String,
    algorithm: &'static str,
    pem: String,
    pub(crate) jwk: Jwk,
}

fn pem(der: &[u8]) -> String {
    // The label is assembled so no key-shaped literal sits in the source.
    let label = format!("{} KEY", "PRIVATE");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

pub(crate) fn es256(kid: &str) -> AppKey {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let der = EcdsaKeyPair::generate_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .unwrap();
    key(kid, "ES256", pem(der.as_ref()))
}

fn rs256(kid: &str) -> AppKey {
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
    key(kid, "RS256", pem(der.as_ref()))
}

fn key(kid: &str, algorithm: &'static str, pem: String) -> AppKey {
    let (encoding, alg) = match algorithm {
        "ES256" => (
            EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
            Algorithm::ES256,
        ),
        _ => (
            EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
            Algorithm::RS256,
        ),
    };
    let mut jwk = Jwk::from_encoding_key(&encoding, alg).unwrap();
    jwk.common.key_id = Some(kid.into());
    AppKey {
        kid: kid.into(),
        algorithm,
        pem,
        jwk,
    }
}

impl AppKey {
    pub(crate) fn secret_entry(&self) -> Value {
        json!({"kid": self.kid, "algorithm": self.algorithm, "private_key": self.pem})
    }
}

pub(crate) async fn register(sim: &RunningSim, client: Value) {
    control(sim, "/oauth/clients", client).await;
}

/// A control call that answers with a status only.
async fn control(sim: &RunningSim, path: &str, body: Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/__sim{path}", sim.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

fn client_from(secret: &Value) -> OktaClient {
    let credentials = OktaCredentials::from_secret_json(&secret.to_string(), true)
        .unwrap()
        .with_default_scopes(&["okta.logs.read"]);
    let settings = ClientSettings::default();
    OktaClient::new(
        settings.build_http().unwrap(),
        credentials,
        RateLimiter::new(
            RateLimitPolicy::default(),
            Arc::new(okta_relay::clock::SystemClock),
        ),
        &settings,
    )
}

async fn tokens_issued(sim: &RunningSim) -> u64 {
    sim_call(sim, "/counters", None).await["tokens_issued"]
        .as_u64()
        .unwrap()
}

async fn page(client: &OktaClient, path: &str) -> Result<usize, okta_relay::okta::OktaError> {
    let url = client.org().join(path).unwrap();
    client.get_page::<Value>(&url).await.map(|p| p.items.len())
}

/// A bounded System Log request for the last day, five events.
fn logs() -> String {
    let since = (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ");
    format!("/api/v1/logs?since={since}&limit=5")
}

#[tokio::test]
async fn dpop_bound_private_key_jwt_tokens_are_reused_renewed_and_refreshed_on_401() {
    let sim = okta(20).await;
    let key = es256("k1");
    register(&sim, json!({"client_id": "0oaRelay", "jwks": [key.jwk], "scopes": ["okta.logs.read", "okta.users.read"], "dpop": true})).await;
    let client = client_from(&json!({"org_url": sim.url, "oauth": {
        "client_id": "0oaRelay", "keys": [key.secret_entry()],
        "scopes": ["okta.logs.read", "okta.users.read"]}}));

    // The first request gets a token (after Okta's use_dpop_nonce round); later ones reuse it.
    assert_eq!(page(&client, &logs()).await.unwrap(), 5);
    assert_eq!(page(&client, "/api/v1/users?limit=3").await.unwrap(), 3);
    assert_eq!(page(&client, &logs()).await.unwrap(), 5);
    assert_eq!(tokens_issued(&sim).await, 1, "one token for three requests");

    // Okta revokes the token: the next request gets a 401, a new token, and succeeds.
    control(&sim, "/tokens", json!({"revoke_access_tokens": true})).await;
    assert_eq!(page(&client, &logs()).await.unwrap(), 5);
    assert_eq!(tokens_issued(&sim).await, 2);

    // Tokens are renewed a minute before they expire.
    control(&sim, "/oauth/settings", json!({"token_ttl_seconds": 61})).await;
    control(&sim, "/tokens", json!({"revoke_access_tokens": true})).await;
    assert_eq!(page(&client, &logs()).await.unwrap(), 5);
    assert_eq!(tokens_issued(&sim).await, 3);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(page(&client, &logs()).await.unwrap(), 5);
    assert_eq!(
        tokens_issued(&sim).await,
        4,
        "renewed before expiry, without a 401"
    );
}

#[tokio::test]
async fn rs256_bearer_tokens_and_api_service_integration_secrets_work() {
    let sim = okta(10).await;
    let key = rs256("r1");
    register(&sim, json!({"client_id": "0oaBearer", "jwks": [key.jwk], "scopes": ["okta.logs.read"], "dpop": false})).await;
    let bearer = client_from(&json!({"org_url": sim.url, "oauth": {
        "client_id": "0oaBearer", "keys": [key.secret_entry()], "dpop": false}}));
    assert_eq!(page(&bearer, &logs()).await.unwrap(), 5);

    let client_secret = "s3cr3t-integration-value-never-logged";
    register(&sim, json!({"client_id": "0oaIntegration", "scopes": ["okta.logs.read"], "client_secret": client_secret})).await;
    let integration = client_from(&json!({"org_url": sim.url, "oauth": {
        "client_id": "0oaIntegration", "client_secret": client_secret}}));
    assert_eq!(page(&integration, &logs()).await.unwrap(), 5);
    assert_eq!(tokens_issued(&sim).await, 2);
}

#[tokio::test]
async fn a_wrong_key_is_a_configuration_error_and_rotation_tries_the_next_key() {
    let sim = okta(10).await;
    let registered = es256("new");
    let stale = es256("old");
    register(&sim, json!({"client_id": "0oaRotate", "jwks": [registered.jwk], "scopes": ["okta.logs.read"], "dpop": true})).await;

    let wrong = client_from(&json!({"org_url": sim.url, "oauth": {
        "client_id": "0oaRotate", "keys": [stale.secret_entry()]}}));
    let err = page(&wrong, &logs()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");
    assert!(err.to_string().contains("invalid_client"), "{err}");
    assert!(!err.to_string().contains("PRIVATE"), "{err}");

    // During rotation the secret holds both keys: the refused one is skipped.
    let rotating = client_from(&json!({"org_url": sim.url, "oauth": {
        "client_id": "0oaRotate", "keys": [stale.secret_entry(), registered.secret_entry()]}}));
    assert_eq!(page(&rotating, &logs()).await.unwrap(), 5);

    // A scope the app was not granted is a configuration error too.
    let greedy = client_from(&json!({"org_url": sim.url, "oauth": {
        "client_id": "0oaRotate", "keys": [registered.secret_entry()], "scopes": ["okta.users.manage"]}}));
    assert_eq!(
        page(&greedy, &logs()).await.unwrap_err().kind(),
        ErrorKind::Configuration
    );
}

#[tokio::test]
async fn the_poller_collects_with_oauth_as_with_ssws_and_picks_up_a_rotated_key_on_401() {
    let sim = okta(120).await;
    let stack = LocalStack::provision(&[]).await;
    let first = es256("first");
    register(&sim, json!({"client_id": "0oaPoller", "jwks": [first.jwk], "scopes": ["okta.logs.read"], "dpop": true})).await;
    let secret = |key: &AppKey| {
        json!({"org_url": sim.url, "oauth": {"client_id": "0oaPoller", "keys": [key.secret_entry()]}})
            .to_string()
    };
    let arn = stack.put_secret("acme-oauth", &secret(&first)).await;
    let (poller, _) = poller(&stack, &arn, 50).await;
    let deadline = || chrono::Utc::now() + chrono::Duration::minutes(2);

    let run = poller.run("oauth-1", deadline()).await;
    assert!(run[0].error.is_none(), "{:?}", run[0].error);
    assert_eq!(run[0].summary.forwarded, 120);

    // The app's key is rotated in Okta and in the secret; Okta revokes the old tokens. The
    // cached credentials fail with 401, the secret is re-read at once, and the run goes on.
    let second = es256("second");
    register(&sim, json!({"client_id": "0oaPoller", "jwks": [second.jwk], "scopes": ["okta.logs.read"], "dpop": true})).await;
    control(&sim, "/tokens", json!({"revoke_access_tokens": true})).await;
    stack.update_secret(&arn, &secret(&second)).await;
    sim_call(&sim, "/events", Some(json!({"count": 30}))).await;
    let rotated = poller.run("oauth-2", deadline()).await;
    assert!(rotated[0].error.is_none(), "{:?}", rotated[0].error);
    assert_eq!(rotated[0].summary.forwarded, 30);

    // A key Okta no longer accepts, and no newer secret: a configuration error.
    register(&sim, json!({"client_id": "0oaPoller", "jwks": [first.jwk], "scopes": ["okta.logs.read"], "dpop": true})).await;
    control(&sim, "/tokens", json!({"revoke_access_tokens": true})).await;
    let refused = poller.run("oauth-3", deadline()).await;
    assert_eq!(refused[0].error_kind, Some(ErrorKind::Configuration));
    let message = refused[0].error.clone().unwrap();
    assert!(message.contains("invalid_client"), "{message}");
    assert!(!message.contains("PRIVATE") && !message.contains(&second.pem[40..80]));

    let captured = stack.capture(200, Duration::from_secs(10)).await;
    assert_eq!(captured.len(), 150);
    assert_eq!(distinct(&captured), all_events(&sim).await);
}

#[tokio::test]
async fn the_poller_collects_the_system_log_and_users_with_scopes_derived_from_its_streams() {
    let sim = okta(40).await;
    let stack = LocalStack::provision(&[]).await;
    let key = rs256("users");
    register(
        &sim,
        json!({"client_id": "0oaInventory", "jwks": [key.jwk],
        "scopes": ["okta.logs.read", "okta.users.read"], "dpop": true}),
    )
    .await;
    // No scopes in the secret: the relay asks for what its streams need.
    let secret = json!({"org_url": sim.url, "oauth": {"client_id": "0oaInventory", "keys": [key.secret_entry()]}});
    let arn = stack
        .put_secret("acme-inventory", &secret.to_string())
        .await;
    let poller = crate::pull::poller_with(
        &stack,
        &arn,
        50,
        r#","inventory":{"users":{}}"#,
        crate::pull::table(&stack),
        Duration::from_secs(60),
    );
    let run = poller
        .run(
            "oauth-users",
            chrono::Utc::now() + chrono::Duration::minutes(2),
        )
        .await;
    let streams: Vec<(&str, u64)> = run
        .iter()
        .map(|o| {
            assert!(o.error.is_none(), "{}: {:?}", o.stream, o.error);
            (o.stream.as_str(), o.summary.forwarded)
        })
        .collect();
    let users = sim_call(&sim, "/directory", None).await["users"]
        .as_array()
        .unwrap()
        .len() as u64;
    assert_eq!(streams, [("logs", 40), ("users", users)]);
    assert_eq!(
        tokens_issued(&sim).await,
        1,
        "one token serves both streams"
    );
    let captured = stack
        .capture(40 + users as usize, Duration::from_secs(10))
        .await;
    let kinds: std::collections::BTreeSet<&str> = captured
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Okta System Log Event", "Okta User"].into());
    assert_eq!(captured.len() as u64, 40 + users);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_binary_logs_no_key_assertion_token_or_proof() {
    let sim = okta(30).await;
    let stack = LocalStack::provision(&[]).await;
    let key = rs256("logged");
    register(&sim, json!({"client_id": "0oaQuiet", "jwks": [key.jwk], "scopes": ["okta.logs.read"], "dpop": true})).await;
    let arn = stack
        .put_secret(
            "quiet",
            &json!({"org_url": sim.url, "oauth": {"client_id": "0oaQuiet", "keys": [key.secret_entry()]}})
                .to_string(),
        )
        .await;
    let config =
        json!({"allow_loopback_http": true, "orgs": [{"name": "acme", "secret_arn": arn}]});
    // Debug level: the most the function ever logs.
    let mut env = crate::lambda::function_env(&stack, &config);
    env.retain(|(k, _)| *k != "AWS_LAMBDA_LOG_LEVEL");
    env.push(("AWS_LAMBDA_LOG_LEVEL", "debug".into()));
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(crate::crash::ctl_binary());
        cmd.args(["run", "--seconds", "60"]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let outcome: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(outcome[0]["forwarded"], 30, "{outcome}");
    assert!(
        stderr.contains("obtained an Okta access token"),
        "logs captured"
    );
    let everything = format!("{stdout}{stderr}");
    // JWTs (assertions, proofs, Okta's access tokens) all start with a base64url `{"`.
    assert!(!everything.contains("eyJ"), "a JWT reached the output");
    let body: String = key.pem.lines().nth(3).unwrap().to_string();
    crate::lambda::assert_not_leaked(&everything, &body);
    assert!(!everything.contains("PRIVATE KEY"));
    // Nor in what reached the SIEM or the state table.
    let captured = stack.capture(30, Duration::from_secs(5)).await;
    assert!(!serde_json::to_string(&captured).unwrap().contains("eyJ"));
}
