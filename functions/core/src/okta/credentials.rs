//! An org's credentials, as stored in its Secrets Manager secret.
//!
//! The secret is JSON: `{"org_url": "https://acme.okta.com", "api_token": "…"}`. Parsing errors
//! name the field that is wrong and never quote the secret's content: serde's own messages can
//! echo values, so they are replaced by the error's category and position.

use super::org_url::{OrgUrl, OrgUrlError};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use thiserror::Error;

/// How requests to the org authenticate.
#[derive(Clone)]
pub enum OrgAuth {
    /// `Authorization: SSWS <token>`.
    ApiToken(SecretString),
}

impl std::fmt::Debug for OrgAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrgAuth::ApiToken(_) => f.write_str("ApiToken([REDACTED])"),
        }
    }
}

impl OrgAuth {
    /// The `Authorization` header value, marked sensitive so `http`'s `Debug` hides it.
    pub(crate) fn header_value(&self) -> Result<reqwest::header::HeaderValue, CredentialsError> {
        match self {
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

#[derive(Deserialize)]
struct SecretDocument {
    org_url: Option<String>,
    api_token: Option<SecretString>,
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
        let token = doc.api_token.ok_or(CredentialsError::Field {
            field: "api_token",
            problem: "is missing",
        })?;
        let value = token.expose_secret();
        if value.trim().is_empty() {
            return Err(CredentialsError::Field {
                field: "api_token",
                problem: "is empty",
            });
        }
        if !value.chars().all(|c| c.is_ascii_graphic()) {
            return Err(CredentialsError::Field {
                field: "api_token",
                problem: "must be printable ASCII without spaces or line breaks",
            });
        }
        Ok(Self {
            org_url,
            auth: OrgAuth::ApiToken(token),
        })
    }
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
}
