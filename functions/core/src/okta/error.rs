//! Okta's error objects and the client's typed errors.
//!
//! Okta documents that only `errorCode` may drive program flow (`errorSummary` is for humans and
//! may change), so classification branches on the HTTP status and `errorCode` alone.

use super::links::LinkError;
use super::org_url::OrgUrlError;
use crate::ErrorKind;
use serde::Deserialize;
use std::time::Duration;
use thiserror::Error;

/// Okta's error object: `{"errorCode","errorSummary","errorLink","errorId","errorCauses"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OktaErrorBody {
    pub error_code: Option<String>,
    pub error_summary: Option<String>,
    pub error_id: Option<String>,
    pub error_causes: Vec<OktaErrorCause>,
}

/// One entry of `errorCauses`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OktaErrorCause {
    pub error_summary: Option<String>,
}

use crate::limits::OKTA_ERROR_SUMMARY_CHARS as MAX_SUMMARY;

impl OktaErrorBody {
    /// Parses an error body. Anything that is not an Okta error object gives an empty body: the
    /// HTTP status still classifies the error.
    pub fn parse(body: &[u8]) -> Self {
        let mut parsed: Self = serde_json::from_slice(body).unwrap_or_default();
        for text in std::iter::once(&mut parsed.error_summary)
            .chain(parsed.error_causes.iter_mut().map(|c| &mut c.error_summary))
            .flatten()
        {
            truncate(text, MAX_SUMMARY);
        }
        parsed.error_causes.truncate(5);
        if let Some(code) = &mut parsed.error_code {
            truncate(code, 16);
        }
        if let Some(id) = &mut parsed.error_id {
            truncate(id, 64);
        }
        parsed
    }
}

fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
}

/// Everything that can go wrong asking Okta for a page.
///
/// Messages name the endpoint path and Okta's error fields, never a header, a token or a query
/// string (queries can carry search terms).
#[derive(Debug, Error)]
pub enum OktaError {
    #[error("invalid org URL: {0}")]
    OrgUrl(#[from] OrgUrlError),
    #[error("{0}")]
    Link(#[from] LinkError),
    #[error("Okta answered {status} on {path}: {code} {summary} (errorId {error_id})",
        code = .body.error_code.as_deref().unwrap_or("(no errorCode)"),
        summary = .body.error_summary.as_deref().unwrap_or(""),
        error_id = .body.error_id.as_deref().unwrap_or("-"))]
    Api {
        status: u16,
        path: String,
        body: Box<OktaErrorBody>,
    },
    #[error("rate limited on {path} after {attempts} attempts; next try in {retry_after:?}")]
    RateLimited {
        path: String,
        attempts: u32,
        retry_after: Duration,
    },
    #[error("{what} talking to Okta at {path}: {detail}")]
    Transport {
        what: TransportFailure,
        path: String,
        detail: String,
    },
    #[error("response from {path} is not the JSON we expect: {detail}")]
    Decode { path: String, detail: String },
    /// The token endpoint refused (status 0: refused before sending, e.g. an unusable key).
    #[error("Okta OAuth token request failed ({status}): {error} {description}")]
    OAuth {
        status: u16,
        error: String,
        description: String,
    },
}

/// An OAuth error response: `{"error","error_description"}` (RFC 6749 §5.2), bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct OAuthErrorBody {
    pub error: String,
    #[serde(rename = "error_description")]
    pub description: String,
}

impl OAuthErrorBody {
    pub fn parse(body: &[u8]) -> Self {
        let mut parsed: Self = serde_json::from_slice(body).unwrap_or_default();
        if parsed.error.is_empty() {
            parsed.error = "(no error code)".into();
        }
        truncate(&mut parsed.error, 40);
        truncate(&mut parsed.description, MAX_SUMMARY);
        parsed
    }
}

/// The kind of transport failure, for classification and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    Timeout,
    Connect,
    Body,
    Other,
}

impl std::fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportFailure::Timeout => "timeout",
            TransportFailure::Connect => "connection failure",
            TransportFailure::Body => "broken response body",
            TransportFailure::Other => "HTTP failure",
        })
    }
}

impl OktaError {
    /// A failure of the HTTP exchange itself, by what failed (the URL is left out: it carries
    /// the cursor and search terms; the path is enough).
    pub(crate) fn transport(e: &reqwest::Error, path: &str) -> OktaError {
        let what = if e.is_timeout() {
            TransportFailure::Timeout
        } else if e.is_connect() {
            TransportFailure::Connect
        } else if e.is_body() || e.is_decode() || e.is_request() {
            TransportFailure::Body
        } else {
            TransportFailure::Other
        };
        // `without_url`: the URL carries the cursor and search terms, the path is enough.
        let mut detail = std::error::Error::source(e)
            .map(|s| s.to_string())
            .unwrap_or_else(|| what.to_string());
        detail.truncate(200);
        OktaError::Transport {
            what,
            path: path.to_string(),
            detail,
        }
    }

    /// Classification (`ARCHITECTURE.md`, "Errors have kinds"): 401/403 and `E0000011` are configuration errors;
    /// 429, 5xx, timeouts and broken connections are transient; the rest is permanent.
    pub fn kind(&self) -> ErrorKind {
        match self {
            OktaError::OrgUrl(_) => ErrorKind::Configuration,
            OktaError::Link(LinkError::ForeignNext(_)) => ErrorKind::Permanent,
            OktaError::Link(_) => ErrorKind::Transient,
            OktaError::Api { status, body, .. } => classify_status(*status, body),
            OktaError::RateLimited { .. } | OktaError::Transport { .. } => ErrorKind::Transient,
            // A truncated or garbled body is most often a dropped connection: worth a retry.
            OktaError::Decode { .. } => ErrorKind::Transient,
            OktaError::OAuth { status, error, .. } => match (*status, error.as_str()) {
                (429 | 500..=599, _) | (_, "temporarily_unavailable" | "server_error") => {
                    ErrorKind::Transient
                }
                _ => ErrorKind::Configuration,
            },
        }
    }

    /// Whose fault: what Okta refuses is its configuration, what passes is Okta's weather,
    /// and a request Okta calls malformed (or a contract Okta broke) is for the relay to fix.
    pub fn fault(&self) -> crate::Fault {
        match self.kind() {
            ErrorKind::Configuration => crate::Fault::OktaConfiguration,
            ErrorKind::Transient => crate::Fault::OktaTransient,
            ErrorKind::Permanent => crate::Fault::Relay,
        }
    }

    /// Okta's `errorCode`, when the server sent one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            OktaError::Api { body, .. } => body.error_code.as_deref(),
            _ => None,
        }
    }
}

/// Status and `errorCode` to kind. Public within the crate so the client's retry loop and the
/// error agree by construction.
pub(crate) fn classify_status(status: u16, body: &OktaErrorBody) -> ErrorKind {
    match (status, body.error_code.as_deref()) {
        (_, Some("E0000011" | "E0000004" | "E0000005" | "E0000006" | "E0000015")) => {
            ErrorKind::Configuration
        }
        (_, Some("E0000047")) => ErrorKind::Transient,
        (401 | 403, _) => ErrorKind::Configuration,
        (408 | 429, _) => ErrorKind::Transient,
        (500..=599, _) => ErrorKind::Transient,
        _ => ErrorKind::Permanent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, body: &str) -> OktaError {
        OktaError::Api {
            status,
            path: "/api/v1/logs".into(),
            body: Box::new(OktaErrorBody::parse(body.as_bytes())),
        }
    }

    #[test]
    fn parses_okta_error_objects() {
        let body = OktaErrorBody::parse(
            br#"{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests.","errorLink":"E0000047","errorId":"oaeXyz","errorCauses":[{"errorSummary":"x"}]}"#,
        );
        assert_eq!(body.error_code.as_deref(), Some("E0000047"));
        assert_eq!(body.error_id.as_deref(), Some("oaeXyz"));
        assert_eq!(body.error_causes.len(), 1);
    }

    #[test]
    fn non_okta_bodies_give_an_empty_object() {
        for raw in [
            &b"<html>502</html>"[..],
            b"",
            b"[1,2]",
            b"{\"errorCode\":5}",
            b"\xff\xfe",
        ] {
            assert_eq!(OktaErrorBody::parse(raw), OktaErrorBody::default());
        }
    }

    #[test]
    fn hostile_sizes_are_truncated() {
        let long = "x".repeat(10_000);
        let body = OktaErrorBody::parse(
            format!(
                r#"{{"errorCode":"{long}","errorSummary":"{long}","errorCauses":[{}]}}"#,
                vec![r#"{"errorSummary":"c"}"#; 50].join(",")
            )
            .as_bytes(),
        );
        assert!(body.error_summary.unwrap().len() <= MAX_SUMMARY + 3);
        assert!(body.error_code.unwrap().len() <= 19);
        assert_eq!(body.error_causes.len(), 5);
    }

    #[test]
    fn classification_follows_status_and_error_code() {
        assert_eq!(
            api(401, r#"{"errorCode":"E0000011"}"#).kind(),
            ErrorKind::Configuration
        );
        assert_eq!(api(401, "").kind(), ErrorKind::Configuration);
        assert_eq!(
            api(403, r#"{"errorCode":"E0000006"}"#).kind(),
            ErrorKind::Configuration
        );
        // E0000011 decides even with an unusual status.
        assert_eq!(
            api(400, r#"{"errorCode":"E0000011"}"#).kind(),
            ErrorKind::Configuration
        );
        assert_eq!(
            api(429, r#"{"errorCode":"E0000047"}"#).kind(),
            ErrorKind::Transient
        );
        assert_eq!(
            api(500, r#"{"errorCode":"E0000009"}"#).kind(),
            ErrorKind::Transient
        );
        assert_eq!(api(503, "<html/>").kind(), ErrorKind::Transient);
        assert_eq!(
            api(400, r#"{"errorCode":"E0000053"}"#).kind(),
            ErrorKind::Permanent
        );
        assert_eq!(
            api(404, r#"{"errorCode":"E0000007"}"#).kind(),
            ErrorKind::Permanent
        );
    }

    #[test]
    fn classification_ignores_error_summary() {
        let a = api(
            400,
            r#"{"errorCode":"E0000001","errorSummary":"Invalid token provided"}"#,
        );
        assert_eq!(a.kind(), ErrorKind::Permanent);
        let b = api(500, r#"{"errorSummary":"Invalid token provided"}"#);
        assert_eq!(b.kind(), ErrorKind::Transient);
    }

    #[test]
    fn transport_and_link_errors_are_classified() {
        let t = OktaError::Transport {
            what: TransportFailure::Timeout,
            path: "/api/v1/logs".into(),
            detail: "timed out".into(),
        };
        assert!(t.kind().is_retryable());
        let foreign = OktaError::Link(LinkError::ForeignNext(OrgUrlError::ForeignOrigin {
            expected: "a".into(),
            found: "b".into(),
        }));
        assert_eq!(foreign.kind(), ErrorKind::Permanent);
        let url = OktaError::OrgUrl(OrgUrlError::NotHttps("http://x".into()));
        assert_eq!(url.kind(), ErrorKind::Configuration);
    }

    #[test]
    fn display_names_the_error_code_and_path() {
        let msg = api(
            401,
            r#"{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorId":"abc"}"#,
        )
        .to_string();
        assert!(msg.contains("401") && msg.contains("E0000011") && msg.contains("/api/v1/logs"));
        assert!(msg.contains("abc"));
    }
}
