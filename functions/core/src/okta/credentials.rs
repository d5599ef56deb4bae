//! An org's credentials, as stored in its Secrets Manager secret.
//!
//! The secret is JSON with the org URL and exactly one of:
//! - `"api_token": "…"` (SSWS), or
//! - `"oauth": {"client_id", "keys": [{"kid", "algorithm": "RS256"|"ES256", "private_key"}],
//!   "scopes": [...], "dpop": true}` (a service app with `private_key_jwt`; several keys during
//!   rotation, tried in order), or `"oauth": {"client_id", "client_secret", ...}` (an API Service
//!   Integration).
//!
//! Parsing errors name the field that is wrong and never quote the secret's content: serde's own
//! messages can echo values, so they are replaced by the error's category and position.

use super::oauth::{ClientCredential, ClientKey, OAuthConfig, OAuthSession};
use super::org_url::{OrgUrl, OrgUrlError};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::sync::Arc;
use thiserror::Error;

/// How requests to the org authenticate.
#[derive(Clone)]
pub enum OrgAuth {
    /// `Authorization: SSWS <token>`.
    ApiToken(SecretString),
    /// OAuth 2.0 access tokens from the org's token endpoint.
    OAuth(Arc<OAuthSession>),
}

impl std::fmt::Debug for OrgAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrgAuth::ApiToken(_) => f.write_str("ApiToken([REDACTED])"),
            OrgAuth::OAuth(session) => write!(f, "OAuth({session:?})"),
        }
    }
}

impl OrgAuth {
    /// The SSWS `Authorization` header value, marked sensitive so `http`'s `Debug` hides it.
    pub(crate) fn header_value(&self) -> Result<reqwest::header::HeaderValue, CredentialsError> {
        match self {
            OrgAuth::OAuth(_) => Err(CredentialsError::Field {
                field: "oauth",
                problem: "needs a token request, not a static header",
            }),
            OrgAuth::ApiToken(token) => {
                let mut value = reqwest::header::HeaderValue::from_str(&format!(
                    "SSWS {}",
                    token.expose_secret()
                ))
                .map_err(|_| CredentialsError::Field {
                    field: "api_token",
                    problem: "contains characters that cannot be sent in an HTTP header",
                })?;
                value.set_sensitive(true);
                Ok(value)
            }
        }
    }
}

/// One org's credentials.
#[derive(Debug, Clone)]
pub struct OktaCredentials {
    pub org_url: OrgUrl,
    pub auth: OrgAuth,
}

/// Why a secret could not be used. Never carries the secret's value.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CredentialsError {
    #[error(
        "secret is not a JSON object of the documented shape ({category} error at line {line}, column {column})"
    )]
    NotJson {
        category: &'static str,
        line: usize,
        column: usize,
    },
    #[error("secret field `{field}` {problem}")]
    Field {
        field: &'static str,
        problem: &'static str,
    },
    #[error("secret field `org_url`: {0}")]
    OrgUrl(OrgUrlError),
}

impl CredentialsError {
    /// What the org's secret says about Okta is wrong: fix the secret.
    pub fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::Configuration
    }

    pub fn fault(&self) -> crate::Fault {
        crate::Fault::OktaConfiguration
    }
}

#[derive(Deserialize)]
struct SecretDocument {
    org_url: Option<String>,
    api_token: Option<SecretString>,
    oauth: Option<OAuthDocument>,
}

#[derive(Deserialize)]
struct OAuthDocument {
    client_id: Option<String>,
    #[serde(default)]
    keys: Vec<ClientKey>,
    client_secret: Option<SecretString>,
    #[serde(default)]
    scopes: Vec<String>,
    dpop: Option<bool>,
}

fn field(field: &'static str, problem: &'static str) -> CredentialsError {
    CredentialsError::Field { field, problem }
}

impl OAuthDocument {
    fn into_config(self) -> Result<OAuthConfig, CredentialsError> {
        let client_id = self
            .client_id
            .filter(|c| !c.trim().is_empty())
            .ok_or(field("oauth.client_id", "is missing"))?;
        if !client_id.chars().all(|c| c.is_ascii_alphanumeric()) || client_id.len() > 64 {
            return Err(field(
                "oauth.client_id",
                "must be an Okta client id (letters and digits)",
            ));
        }
        let credential = match (self.keys.is_empty(), self.client_secret) {
            (false, None) => {
                for key in &self.keys {
                    key.validate()
                        .map_err(|problem| field("oauth.keys[].private_key", problem))?;
                }
                ClientCredential::Keys(self.keys)
            }
            (true, Some(secret)) if !secret.expose_secret().trim().is_empty() => {
                ClientCredential::Secret(secret)
            }
            (true, Some(_)) => return Err(field("oauth.client_secret", "is empty")),
            (true, None) => {
                return Err(field(
                    "oauth",
                    "needs `keys` (private_key_jwt) or `client_secret`",
                ));
            }
            (false, Some(_)) => {
                return Err(field(
                    "oauth",
                    "has both `keys` and `client_secret`; keep one",
                ));
            }
        };
        // An API Service Integration's client secret gets bearer tokens; service apps default to
        // DPoP as Okta does for new apps.
        let dpop = self
            .dpop
            .unwrap_or(matches!(credential, ClientCredential::Keys(_)));
        Ok(OAuthConfig {
            client_id,
            credential,
            scopes: self.scopes,
            dpop,
        })
    }
}

impl OktaCredentials {
    /// Parses the secret's JSON text.
    pub fn from_secret_json(
        raw: &str,
        allow_loopback_http: bool,
    ) -> Result<Self, CredentialsError> {
        let doc: SecretDocument =
            serde_json::from_str(raw).map_err(|e| CredentialsError::NotJson {
                category: match e.classify() {
                    serde_json::error::Category::Io => "io",
                    serde_json::error::Category::Syntax => "syntax",
                    serde_json::error::Category::Data => "type",
                    serde_json::error::Category::Eof => "truncated",
                },
                line: e.line(),
                column: e.column(),
            })?;
        let org_url = doc.org_url.ok_or(CredentialsError::Field {
            field: "org_url",
            problem: "is missing",
        })?;
        let org_url =
            OrgUrl::parse(&org_url, allow_loopback_http).map_err(CredentialsError::OrgUrl)?;
        let auth = match (doc.api_token, doc.oauth) {
            (Some(token), None) => OrgAuth::ApiToken(checked_token(token)?),
            (None, Some(oauth)) => {
                let token_url = org_url
                    .join(OAuthSession::token_path())
                    .map_err(CredentialsError::OrgUrl)?;
                OrgAuth::OAuth(Arc::new(OAuthSession::new(oauth.into_config()?, token_url)))
            }
            (Some(_), Some(_)) => {
                return Err(field("api_token", "and `oauth` are both set; keep one"));
            }
            (None, None) => return Err(field("api_token", "is missing (or set `oauth`)")),
        };
        Ok(Self { org_url, auth })
    }

    /// Requests `defaults` when the secret names no OAuth scopes.
    pub fn with_default_scopes(self, defaults: &[&str]) -> Self {
        match self.auth {
            OrgAuth::OAuth(session) => {
                let session = Arc::try_unwrap(session)
                    .map(|s| Arc::new(s.with_default_scopes(defaults)))
                    .unwrap_or_else(|shared| shared);
                Self {
                    auth: OrgAuth::OAuth(session),
                    ..self
                }
            }
            other => Self {
                auth: other,
                ..self
            },
        }
    }
}

fn checked_token(token: SecretString) -> Result<SecretString, CredentialsError> {
    let value = token.expose_secret();
    if value.trim().is_empty() {
        return Err(field("api_token", "is empty"));
    }
    if !value.chars().all(|c| c.is_ascii_graphic()) {
        return Err(field(
            "api_token",
            "must be printable ASCII without spaces or line breaks",
        ));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "00TESTtokenValueThatMustNeverBePrinted";

    #[test]
    fn parses_an_api_token_secret() {
        let raw = format!(r#"{{"org_url":"https://acme.okta.com","api_token":"{TOKEN}"}}"#);
        let creds = OktaCredentials::from_secret_json(&raw, false).unwrap();
        assert_eq!(creds.org_url.to_string(), "https://acme.okta.com");
        let header = creds.auth.header_value().unwrap();
        assert!(header.is_sensitive());
        assert_eq!(header.to_str().unwrap(), format!("SSWS {TOKEN}"));
        assert!(!format!("{creds:?}").contains(TOKEN));
        assert!(!format!("{header:?}").contains(TOKEN));
    }

    #[test]
    fn errors_name_the_field_and_never_the_value() {
        let cases = [
            format!(r#"{{"api_token":"{TOKEN}"}}"#),
            format!(r#"{{"org_url":"http://acme.okta.com","api_token":"{TOKEN}"}}"#),
            r#"{"org_url":"https://acme.okta.com"}"#.to_string(),
            r#"{"org_url":"https://acme.okta.com","api_token":"  "}"#.to_string(),
            format!(r#"{{"org_url":"https://acme.okta.com","api_token":{{"x":"{TOKEN}"}}}}"#),
            format!(r#"{{"org_url":5,"api_token":"{TOKEN}"}}"#),
            format!(r#"["{TOKEN}"]"#),
            format!(r#"{{"org_url":"https://acme.okta.com","api_token":"{TOKEN}"#),
            TOKEN.to_string(),
            format!(r#"{{"org_url":"https://acme.okta.com","api_token":"{TOKEN}\n"}}"#),
        ];
        for raw in cases {
            let err = OktaCredentials::from_secret_json(&raw, false).unwrap_err();
            let msg = format!("{err} {err:?}");
            assert!(!msg.contains(TOKEN), "leaked in: {msg}");
            assert!(!msg.contains("00TEST"), "leaked in: {msg}");
        }
        let err = OktaCredentials::from_secret_json(r#"{"org_url":"https://a.okta.com"}"#, false)
            .unwrap_err();
        assert!(err.to_string().contains("api_token"));
    }

    #[test]
    fn oauth_secrets_are_checked_field_by_field_without_echoing_values() {
        let org = r#""org_url":"https://acme.okta.com""#;
        let secret = "clientSecretValueNeverPrinted";
        let cases = [
            (
                format!(r#"{{{org},"oauth":{{"client_secret":"{secret}"}}}}"#),
                "oauth.client_id",
            ),
            (
                format!(r#"{{{org},"oauth":{{"client_id":"0oa1"}}}}"#),
                "oauth",
            ),
            (
                format!(r#"{{{org},"oauth":{{"client_id":"0oa1","client_secret":" "}}}}"#),
                "oauth.client_secret",
            ),
            (
                format!(
                    r#"{{{org},"oauth":{{"client_id":"0oa1","keys":[{{"kid":"k","algorithm":"RS256","private_key":"{secret}"}}]}}}}"#
                ),
                "oauth.keys[].private_key",
            ),
            (
                format!(
                    r#"{{{org},"api_token":"{TOKEN}","oauth":{{"client_id":"0oa1","client_secret":"{secret}"}}}}"#
                ),
                "api_token",
            ),
            (
                format!(
                    r#"{{{org},"oauth":{{"client_id":"bad id!","client_secret":"{secret}"}}}}"#
                ),
                "oauth.client_id",
            ),
        ];
        for (raw, expected) in cases {
            let err = OktaCredentials::from_secret_json(&raw, false).unwrap_err();
            let msg = format!("{err} {err:?}");
            assert!(msg.contains(expected), "{expected}: {msg}");
            assert!(
                !msg.contains(secret) && !msg.contains(TOKEN),
                "leaked in: {msg}"
            );
        }
        let ok = OktaCredentials::from_secret_json(
            &format!(r#"{{{org},"oauth":{{"client_id":"0oa1","client_secret":"{secret}"}}}}"#),
            false,
        )
        .unwrap();
        assert!(matches!(ok.auth, OrgAuth::OAuth(_)));
        assert!(!format!("{ok:?}").contains(secret));
    }
}
