//! Authentication as Okta does it: SSWS API tokens, and OAuth 2.0 service apps through
//! `POST /oauth2/v1/token` (client credentials with `private_key_jwt`, or client id + secret for
//! API Service Integrations), optionally DPoP-bound, then `Authorization: Bearer|DPoP` on the API.
//!
//! Verification uses `jsonwebtoken` (RS256/ES256 with the client's registered public JWKs); no
//! cryptography is written here.

use crate::errors::{OktaError, oauth_error};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap, HashSet};

/// A registered OAuth service app.
#[derive(Debug, Clone, Deserialize)]
pub struct OAuthClient {
    pub client_id: String,
    /// Public keys for `private_key_jwt` (several during rotation).
    #[serde(default)]
    pub jwks: Vec<Jwk>,
    pub scopes: BTreeSet<String>,
    /// Require DPoP-bound tokens.
    #[serde(default)]
    pub dpop: bool,
    /// For API Service Integrations (`client_secret_basic`).
    #[serde(default)]
    pub client_secret: Option<String>,
}

struct AccessToken {
    scopes: BTreeSet<String>,
    expires_at: DateTime<Utc>,
    /// DPoP key thumbprint the token is bound to.
    jkt: Option<String>,
}

/// Who may call the API.
pub struct AuthState {
    pub ssws_tokens: BTreeSet<String>,
    clients: HashMap<String, OAuthClient>,
    tokens: HashMap<String, AccessToken>,
    used_assertion_jti: HashSet<String>,
    used_proof_jti: HashSet<String>,
    pub dpop_nonce: String,
    /// Lifetime of issued access tokens (Okta: fixed at one hour).
    pub token_ttl_seconds: i64,
    pub tokens_issued: u64,
}

impl AuthState {
    pub fn new(ssws: impl IntoIterator<Item = String>) -> Self {
        Self {
            ssws_tokens: ssws.into_iter().collect(),
            clients: HashMap::new(),
            tokens: HashMap::new(),
            used_assertion_jti: HashSet::new(),
            used_proof_jti: HashSet::new(),
            dpop_nonce: crate::ids::random_suffix(32),
            token_ttl_seconds: 3600,
            tokens_issued: 0,
        }
    }

    pub fn register(&mut self, client: OAuthClient) {
        self.clients.insert(client.client_id.clone(), client);
    }

    /// Revokes every access token (and, with `ssws`, that API token).
    pub fn revoke(&mut self, ssws: Option<&str>) {
        self.tokens.clear();
        if let Some(t) = ssws {
            self.ssws_tokens.remove(t);
        }
    }

    /// Checks the `Authorization` (and `DPoP`) headers of an API request needing `scope`.
    pub fn authorize(
        &mut self,
        headers: &HeaderMap,
        method: &str,
        url_without_query: &str,
        scope: &str,
    ) -> Result<(), OktaError> {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Some(token) = auth.strip_prefix("SSWS ") {
            return if self.ssws_tokens.contains(token) {
                Ok(())
            } else {
                Err(OktaError::invalid_token())
            };
        }
        let (token, dpop) = if let Some(t) = auth.strip_prefix("Bearer ") {
            (t, false)
        } else if let Some(t) = auth.strip_prefix("DPoP ") {
            (t, true)
        } else {
            return Err(OktaError::invalid_token());
        };
        let now = Utc::now();
        let Some((jkt, scopes)) = self
            .tokens
            .get(token)
            .filter(|t| t.expires_at > now)
            .map(|t| (t.jkt.clone(), t.scopes.clone()))
        else {
            let mut e = OktaError::invalid_token();
            e.www_authenticate = Some(
                r#"Bearer error="invalid_token", error_description="The access token is invalid.""#
                    .into(),
            );
            return Err(e);
        };
        match (&jkt, dpop) {
            (Some(jkt), true) => {
                let proof = headers
                    .get("dpop")
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(dpop_invalid)?;
                let (proof_jkt, claims) = self
                    .verify_proof(proof, method, url_without_query)
                    .map_err(|_| dpop_invalid())?;
                let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
                if &proof_jkt != jkt || claims["ath"].as_str() != Some(ath.as_str()) {
                    return Err(dpop_invalid());
                }
            }
            (None, false) => {}
            _ => return Err(OktaError::invalid_token()),
        }
        if !scopes.contains(scope) {
            let mut e = OktaError::forbidden();
            e.www_authenticate = Some(format!(
                r#"Bearer error="insufficient_scope", scope="{scope}""#
            ));
            return Err(e);
        }
        Ok(())
    }

    /// `POST /oauth2/v1/token`.
    pub fn token(
        &mut self,
        headers: &HeaderMap,
        form: &HashMap<String, String>,
        token_url: &str,
    ) -> Response {
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            );
        }
        let client = match self.authenticate_client(headers, form, token_url) {
            Ok(c) => c,
            Err(response) => return *response,
        };
        let requested: BTreeSet<String> = form
            .get("scope")
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        if requested.is_empty() {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "The authorization server requires a scope.",
            );
        }
        if !requested.is_subset(&client.scopes) {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "One or more scopes are not configured for the authorization server resource.",
            );
        }
        let mut jkt = None;
        if client.dpop {
            let Some(proof) = headers.get("dpop").and_then(|v| v.to_str().ok()) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_dpop_proof",
                    "The DPoP proof JWT header is missing.",
                );
            };
            match self.verify_proof(proof, "POST", token_url) {
                Err(description) => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_dpop_proof",
                        &description,
                    );
                }
                Ok((thumbprint, claims)) => {
                    if claims["nonce"].as_str() != Some(self.dpop_nonce.as_str()) {
                        let mut r = oauth_error(
                            StatusCode::BAD_REQUEST,
                            "use_dpop_nonce",
                            "Authorization server requires nonce in DPoP proof.",
                        );
                        if let Ok(v) = self.dpop_nonce.parse() {
                            r.headers_mut().insert("dpop-nonce", v);
                        }
                        return r;
                    }
                    jkt = Some(thumbprint);
                }
            }
        }
        let token = crate::ids::random_suffix(48);
        let token_type = if jkt.is_some() { "DPoP" } else { "Bearer" };
        self.tokens.insert(
            token.clone(),
            AccessToken {
                scopes: requested.clone(),
                expires_at: Utc::now() + Duration::seconds(self.token_ttl_seconds),
                jkt,
            },
        );
        self.tokens_issued += 1;
        axum::Json(json!({
            "token_type": token_type,
            "expires_in": self.token_ttl_seconds,
            "access_token": token,
            "scope": requested.into_iter().collect::<Vec<_>>().join(" "),
        }))
        .into_response()
    }

    fn authenticate_client(
        &mut self,
        headers: &HeaderMap,
        form: &HashMap<String, String>,
        token_url: &str,
    ) -> Result<OAuthClient, Box<Response>> {
        let invalid =
            |d: &str| Box::new(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", d));
        if let Some(basic) = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
        {
            let decoded = STANDARD
                .decode(basic)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid("Client authentication failed."))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| invalid("Client authentication failed."))?;
            let client = self
                .clients
                .get(id)
                .ok_or_else(|| invalid("Client authentication failed."))?;
            return match &client.client_secret {
                Some(s) if s == secret => Ok(client.clone()),
                _ => Err(invalid(
                    "The client secret supplied for a confidential client is invalid.",
                )),
            };
        }
        if form.get("client_assertion_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return Err(invalid(
                "Client authentication failed. Either the client or the client credentials are invalid.",
            ));
        }
        let assertion = form
            .get("client_assertion")
            .ok_or_else(|| invalid("The client_assertion is missing."))?;
        let header = jsonwebtoken::decode_header(assertion)
            .map_err(|_| invalid("The client_assertion token is malformed."))?;
        let unverified: Value = jsonwebtoken::dangerous::insecure_decode_claims(assertion)
            .map_err(|_| invalid("The client_assertion token is malformed."))?;
        let client_id = unverified["iss"].as_str().unwrap_or_default();
        let client = self
            .clients
            .get(client_id)
            .cloned()
            .ok_or_else(|| invalid("The client_assertion token has an invalid issuer."))?;
        if !matches!(
            header.alg,
            Algorithm::RS256
                | Algorithm::ES256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::ES384
        ) {
            return Err(invalid(
                "The client_assertion signature algorithm is not supported.",
            ));
        }
        let keys: Vec<&Jwk> = client
            .jwks
            .iter()
            .filter(|k| header.kid.is_none() || k.common.key_id == header.kid)
            .collect();
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[token_url]);
        validation.set_issuer(&[client_id]);
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        validation.leeway = 5;
        let claims = keys
            .iter()
            .filter_map(|k| DecodingKey::from_jwk(k).ok())
            .find_map(|key| jsonwebtoken::decode::<Value>(assertion, &key, &validation).ok())
            .ok_or_else(|| invalid("The client_assertion signature is invalid or its claims (aud, iss, exp) are wrong."))?
            .claims;
        if claims["sub"].as_str() != Some(client_id) {
            return Err(invalid(
                "The client_assertion sub must equal the client id.",
            ));
        }
        let exp = claims["exp"].as_i64().unwrap_or(0);
        if exp - Utc::now().timestamp() > 3600 + 5 {
            return Err(invalid(
                "The client_assertion token has an expiration too far in the future.",
            ));
        }
        if let Some(jti) = claims["jti"].as_str()
            && !self.used_assertion_jti.insert(format!("{client_id}:{jti}"))
        {
            return Err(invalid("The client_assertion token has already been used."));
        }
        Ok(client)
    }

    /// Verifies a DPoP proof for `method` `url`; returns the key thumbprint and the claims.
    fn verify_proof(
        &mut self,
        proof: &str,
        method: &str,
        url: &str,
    ) -> Result<(String, Value), String> {
        let header = jsonwebtoken::decode_header(proof)
            .map_err(|_| "The DPoP proof is malformed.".to_string())?;
        if header.typ.as_deref() != Some("dpop+jwt") {
            return Err("The DPoP proof typ must be dpop+jwt.".into());
        }
        let jwk = header.jwk.ok_or("The DPoP proof has no jwk header.")?;
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|_| "The DPoP proof jwk is not usable.".to_string())?;
        let mut validation = Validation::new(header.alg);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Value>(proof, &key, &validation)
            .map_err(|_| "The DPoP proof signature is invalid.".to_string())?
            .claims;
        if claims["htm"].as_str() != Some(method) || claims["htu"].as_str() != Some(url) {
            return Err("The DPoP proof htm/htu do not match the request.".into());
        }
        let iat = claims["iat"].as_i64().ok_or("The DPoP proof has no iat.")?;
        if (Utc::now().timestamp() - iat).abs() > 60 {
            return Err("The DPoP proof iat is outside the allowed window.".into());
        }
        let jti = claims["jti"].as_str().ok_or("The DPoP proof has no jti.")?;
        if !self.used_proof_jti.insert(jti.to_string()) {
            return Err("The DPoP proof jti has already been used.".into());
        }
        let thumbprint = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|_| "The DPoP proof jwk is not usable.".to_string())?;
        Ok((thumbprint, claims))
    }
}

fn dpop_invalid() -> OktaError {
    let mut e = OktaError::invalid_token();
    e.www_authenticate = Some(
        r#"DPoP error="invalid_dpop_proof", error_description="'DPoP' proof JWT is invalid.""#
            .into(),
    );
    e
}
