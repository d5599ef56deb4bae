//! OAuth 2.0 for Okta service apps: client credentials with `private_key_jwt` or a client
//! secret (API Service Integrations), DPoP-bound tokens, and the token cache.
//!
//! A session belongs to one org and lives as long as the warm Lambda container: its access token
//! is reused until a minute before it expires, and dropped (so the next request gets a new one)
//! when Okta answers 401. Token requests follow Okta's DPoP dance: the first proof has no nonce,
//! Okta answers 400 `use_dpop_nonce` with a `DPoP-Nonce` header, and the request is repeated
//! with it. During key rotation the secret may hold several keys: they are tried in order, the
//! next one only when Okta says `invalid_client`.

mod assertion;
mod dpop;

pub use assertion::{ClientKey, KeyAlgorithm};
pub use dpop::DpopKey;

use super::OktaError;
use super::error::OAuthErrorBody;
use chrono::{DateTime, Utc};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// How the service app proves who it is.
#[derive(Debug, Clone)]
pub enum ClientCredential {
    /// `private_key_jwt`: signing keys, tried in order.
    Keys(Vec<ClientKey>),
    /// `client_secret_basic` (API Service Integrations).
    Secret(SecretString),
}

/// A service app's settings, from the org's secret.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    pub client_id: String,
    pub credential: ClientCredential,
    /// Scopes to request; the streams' defaults when empty.
    pub scopes: Vec<String>,
    /// Request DPoP-bound tokens (on by default for new Okta service apps).
    pub dpop: bool,
}

/// The headers that authorize one request.
pub struct Authorization {
    pub authorization: HeaderValue,
    pub dpop: Option<HeaderValue>,
}

struct AccessToken {
    value: SecretString,
    bound: bool,
    expires_at: DateTime<Utc>,
}

#[derive(Default)]
struct SessionState {
    token: Option<AccessToken>,
    token_nonce: Option<String>,
    resource_nonce: Option<String>,
    tokens_issued: u64,
}

/// One org's OAuth session.
pub struct OAuthSession {
    config: OAuthConfig,
    token_url: Url,
    state: tokio::sync::Mutex<SessionState>,
}

impl std::fmt::Debug for OAuthSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "OAuthSession({}, {})",
            self.config.client_id, self.token_url
        )
    }
}

const TOKEN_PATH: &str = "/oauth2/v1/token";
use crate::limits::OAUTH_TOKEN_EXPIRY_MARGIN_SECONDS as EXPIRY_MARGIN_SECONDS;

/// A random id for `jti` claims.
fn unique_id() -> String {
    use rand::RngExt;
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sensitive(value: &str) -> Result<HeaderValue, OktaError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| OktaError::OAuth {
        status: 0,
        error: "invalid_token".into(),
        description: "Okta returned a token that cannot be sent in a header".into(),
    })?;
    v.set_sensitive(true);
    Ok(v)
}

fn local(error: &'static str, description: &'static str) -> OktaError {
    OktaError::OAuth {
        status: 0,
        error: error.into(),
        description: description.into(),
    }
}

impl OAuthSession {
    pub fn new(config: OAuthConfig, token_url: Url) -> Self {
        Self {
            config,
            token_url,
            state: tokio::sync::Mutex::new(SessionState::default()),
        }
    }

    /// The token endpoint of an org.
    pub fn token_path() -> &'static str {
        TOKEN_PATH
    }

    /// Scopes requested: the configured ones, or `defaults`.
    pub fn with_default_scopes(mut self, defaults: &[&str]) -> Self {
        if self.config.scopes.is_empty() {
            self.config.scopes = defaults.iter().map(|s| s.to_string()).collect();
        }
        self
    }

    /// The scopes its tokens are requested with.
    pub fn scopes(&self) -> &[String] {
        &self.config.scopes
    }

    /// Access tokens obtained so far (for tests and logs).
    pub async fn tokens_issued(&self) -> u64 {
        self.state.lock().await.tokens_issued
    }

    /// Headers for a `method` request to `url`, fetching a token first if needed. A token
    /// request takes at most `timeout` (the caller's run decides how much time is left).
    pub async fn authorize(
        &self,
        http: &reqwest::Client,
        method: &str,
        url: &Url,
        now: DateTime<Utc>,
        timeout: std::time::Duration,
    ) -> Result<Authorization, OktaError> {
        let mut state = self.state.lock().await;
        let fresh = state
            .token
            .as_ref()
            .is_some_and(|t| t.expires_at - chrono::Duration::seconds(EXPIRY_MARGIN_SECONDS) > now);
        if !fresh {
            let token = self.request_token(http, &mut state, now, timeout).await?;
            state.tokens_issued += 1;
            tracing::info!(client_id = %self.config.client_id, bound = token.bound,
                expires_at = %token.expires_at, "obtained an Okta access token");
            state.token = Some(token);
        }
        let Some(token) = state.token.as_ref() else {
            return Err(local("invalid_token", "no access token"));
        };
        let secret = token.value.expose_secret();
        if !token.bound {
            return Ok(Authorization {
                authorization: sensitive(&format!("Bearer {secret}"))?,
                dpop: None,
            });
        }
        let key = DpopKey::process().map_err(|_| local("dpop", "no DPoP key"))?;
        let proof = key
            .proof(
                method,
                url,
                state.resource_nonce.as_deref(),
                Some(secret),
                now,
            )
            .map_err(|_| local("dpop", "could not sign a DPoP proof"))?;
        Ok(Authorization {
            authorization: sensitive(&format!("DPoP {secret}"))?,
            dpop: Some(sensitive(&proof)?),
        })
    }

    /// After a 401 from a resource server: remember its DPoP nonce if it sent one (then the
    /// token is fine), else drop the token so the next request gets a new one.
    pub async fn on_unauthorized(&self, headers: &HeaderMap) {
        let mut state = self.state.lock().await;
        match headers.get("dpop-nonce").and_then(|v| v.to_str().ok()) {
            Some(nonce) if nonce.len() <= 512 => state.resource_nonce = Some(nonce.to_string()),
            _ => state.token = None,
        }
    }

    async fn request_token(
        &self,
        http: &reqwest::Client,
        state: &mut SessionState,
        now: DateTime<Utc>,
        timeout: std::time::Duration,
    ) -> Result<AccessToken, OktaError> {
        let credentials: Vec<Option<&ClientKey>> = match &self.config.credential {
            ClientCredential::Keys(keys) => keys.iter().map(Some).collect(),
            ClientCredential::Secret(_) => vec![None],
        };
        let mut last = local("invalid_client", "no client credential");
        for (i, key) in credentials.iter().enumerate() {
            match self.request_with(http, state, *key, now, timeout).await {
                Err(OktaError::OAuth { ref error, .. })
                    if error == "invalid_client" && i + 1 < credentials.len() =>
                {
                    tracing::warn!(client_id = %self.config.client_id,
                        kid = key.map_or("", |k| k.kid.as_str()),
                        "Okta refused this client key; trying the next one (key rotation)");
                    last = local("invalid_client", "every configured key was refused");
                }
                other => return other,
            }
        }
        Err(last)
    }

    /// One token request, repeated once with a DPoP nonce if Okta asks for one.
    async fn request_with(
        &self,
        http: &reqwest::Client,
        state: &mut SessionState,
        key: Option<&ClientKey>,
        now: DateTime<Utc>,
        timeout: std::time::Duration,
    ) -> Result<AccessToken, OktaError> {
        for _ in 0..2 {
            let request = self.token_request(http, state, key, now)?.timeout(timeout);
            let response = request
                .send()
                .await
                .map_err(|e| OktaError::transport(&e, TOKEN_PATH))?;
            let status = response.status();
            let nonce = response
                .headers()
                .get("dpop-nonce")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let bytes = response
                .bytes()
                .await
                .map_err(|e| OktaError::transport(&e, TOKEN_PATH))?;
            if status.is_success() {
                return self.parse_token(&bytes, now);
            }
            let error = OAuthErrorBody::parse(&bytes);
            if error.error == "use_dpop_nonce"
                && let Some(nonce) = nonce
                && self.config.dpop
            {
                state.token_nonce = Some(nonce);
                continue;
            }
            return Err(OktaError::OAuth {
                status: status.as_u16(),
                error: error.error,
                description: error.description,
            });
        }
        Err(local(
            "use_dpop_nonce",
            "Okta kept asking for a new DPoP nonce",
        ))
    }

    /// The token request: the client-credentials form, signed with `key` (`private_key_jwt`)
    /// or the client secret (HTTP Basic), with a DPoP proof when the app wants bound tokens.
    fn token_request(
        &self,
        http: &reqwest::Client,
        state: &SessionState,
        key: Option<&ClientKey>,
        now: DateTime<Utc>,
    ) -> Result<reqwest::RequestBuilder, OktaError> {
        let body = self.token_form(key, now)?;
        let mut request = http
            .post(self.token_url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body.expose_secret().to_string());
        if let ClientCredential::Secret(secret) = &self.config.credential {
            use base64::Engine;
            let basic = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                self.config.client_id,
                secret.expose_secret()
            ));
            request = request.header(AUTHORIZATION, sensitive(&format!("Basic {basic}"))?);
        }
        if self.config.dpop {
            let nonce = state.token_nonce.as_deref();
            let proof = DpopKey::process()
                .and_then(|k| k.proof("POST", &self.token_url, nonce, None, now))
                .map_err(|_| local("dpop", "could not sign a DPoP proof"))?;
            request = request.header("dpop", sensitive(&proof)?);
        }
        Ok(request)
    }

    /// The form body: grant type, scopes, and the client assertion when a key signs.
    fn token_form(
        &self,
        key: Option<&ClientKey>,
        now: DateTime<Utc>,
    ) -> Result<SecretString, OktaError> {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials")
            .append_pair("scope", &self.config.scopes.join(" "));
        if let Some(key) = key {
            let assertion = key
                .assertion(&self.config.client_id, self.token_url.as_str(), now)
                .map_err(|problem| OktaError::OAuth {
                    status: 0,
                    error: "invalid_client".into(),
                    description: format!("client key {}: {problem}", key.kid),
                })?;
            form.append_pair(
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            )
            .append_pair("client_assertion", assertion.expose_secret());
        }
        Ok(SecretString::from(form.finish()))
    }

    fn parse_token(&self, bytes: &[u8], now: DateTime<Utc>) -> Result<AccessToken, OktaError> {
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            access_token: SecretString,
            token_type: String,
            expires_in: i64,
        }
        let parsed: TokenResponse =
            serde_json::from_slice(bytes).map_err(|e| OktaError::Decode {
                path: TOKEN_PATH.into(),
                detail: format!("{:?} error at column {}", e.classify(), e.column()),
            })?;
        let bound = parsed.token_type.eq_ignore_ascii_case("DPoP");
        if self.config.dpop && !bound {
            return Err(local(
                "invalid_token",
                "asked for a DPoP-bound token but Okta issued a bearer token",
            ));
        }
        Ok(AccessToken {
            value: parsed.access_token,
            bound,
            expires_at: now + chrono::Duration::seconds(parsed.expires_in.clamp(60, 24 * 3600)),
        })
    }
}
