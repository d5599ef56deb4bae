//! The org URL: where the token may be sent, and nowhere else.
//!
//! Okta answers with absolute `next` links. Following one blindly would send the org's token to
//! whatever host a compromised proxy or a hostile server names, so every URL the client is
//! about to request is checked against the org's origin (scheme, host, port) first.

use thiserror::Error;
use url::{Host, Url};

/// Why an org URL or a URL to request was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum OrgUrlError {
    #[error("org URL is not a valid absolute URL: {0}")]
    Invalid(String),
    #[error(
        "org URL must use https (plain http is allowed only for loopback hosts in test mode): {0}"
    )]
    NotHttps(String),
    #[error(
        "org URL must be just an origin such as https://example.okta.com, without path, query, credentials or fragment: {0}"
    )]
    NotAnOrigin(String),
    #[error("refusing to send credentials to {found}: it is not the org's origin {expected}")]
    ForeignOrigin { expected: String, found: String },
}

impl OrgUrlError {
    /// A malformed org URL is the secret's; a link off the org's origin is Okta (or something
    /// in between) breaking its contract, refused for good.
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            OrgUrlError::ForeignOrigin { .. } => crate::ErrorKind::Permanent,
            _ => crate::ErrorKind::Configuration,
        }
    }

    pub fn fault(&self) -> crate::Fault {
        match self {
            OrgUrlError::ForeignOrigin { .. } => crate::Fault::Relay,
            _ => crate::Fault::OktaConfiguration,
        }
    }
}

/// A validated Okta org URL (`https://<org>.okta.com`, or loopback `http` in test mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgUrl {
    base: Url,
}

impl OrgUrl {
    /// Parses and validates an org URL. `allow_loopback_http` admits `http://127.0.0.1:<port>`
    /// style URLs for the simulator and must stay off in production configuration.
    pub fn parse(raw: &str, allow_loopback_http: bool) -> Result<Self, OrgUrlError> {
        let trimmed = raw.trim();
        let url = Url::parse(trimmed).map_err(|e| OrgUrlError::Invalid(format!("{e}")))?;
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(OrgUrlError::Invalid(describe(&url)));
        }
        match url.scheme() {
            "https" => {}
            "http" if allow_loopback_http && is_loopback(&url) => {}
            _ => return Err(OrgUrlError::NotHttps(describe(&url))),
        }
        let path_ok = url.path().is_empty() || url.path() == "/";
        if !path_ok
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(OrgUrlError::NotAnOrigin(describe(&url)));
        }
        Ok(Self { base: url })
    }

    /// The org's origin as a URL ending in `/`.
    pub fn as_url(&self) -> &Url {
        &self.base
    }

    /// An absolute URL for an API path such as `/api/v1/logs`.
    pub fn join(&self, path_and_query: &str) -> Result<Url, OrgUrlError> {
        let url = self
            .base
            .join(path_and_query)
            .map_err(|e| OrgUrlError::Invalid(format!("{e}")))?;
        self.ensure_same_origin(&url)?;
        Ok(url)
    }

    /// Accepts `url` only if it has exactly the org's scheme, host and port.
    pub fn ensure_same_origin(&self, url: &Url) -> Result<(), OrgUrlError> {
        let same = url.scheme() == self.base.scheme()
            && url.host() == self.base.host()
            && url.port_or_known_default() == self.base.port_or_known_default()
            && url.username().is_empty()
            && url.password().is_none();
        if same {
            Ok(())
        } else {
            Err(OrgUrlError::ForeignOrigin {
                expected: self.base.origin().ascii_serialization(),
                found: describe(url),
            })
        }
    }
}

impl std::fmt::Display for OrgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.base.origin().ascii_serialization().as_str())
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The origin of a URL for messages: never its path, query or user info, which could carry
/// something we should not print.
fn describe(url: &Url) -> String {
    match url.host_str() {
        Some(_) => url.origin().ascii_serialization(),
        None => format!("{}:(no host)", url.scheme()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_origins_are_accepted_and_normalised() {
        let org = OrgUrl::parse("https://Example.okta.com/", false).unwrap();
        assert_eq!(org.to_string(), "https://example.okta.com");
        assert_eq!(
            org.join("/api/v1/logs?limit=5").unwrap().as_str(),
            "https://example.okta.com/api/v1/logs?limit=5"
        );
    }

    #[test]
    fn plain_http_is_refused_unless_loopback_in_test_mode() {
        assert!(matches!(
            OrgUrl::parse("http://example.okta.com", true),
            Err(OrgUrlError::NotHttps(_))
        ));
        assert!(matches!(
            OrgUrl::parse("http://127.0.0.1:8080", false),
            Err(OrgUrlError::NotHttps(_))
        ));
        assert!(OrgUrl::parse("http://127.0.0.1:8080", true).is_ok());
        assert!(OrgUrl::parse("http://[::1]:8080", true).is_ok());
        assert!(OrgUrl::parse("http://localhost:8080", true).is_ok());
        // A name that merely starts like loopback is not loopback.
        assert!(OrgUrl::parse("http://127.0.0.1.evil.example", true).is_err());
    }

    #[test]
    fn urls_that_are_not_origins_are_refused() {
        for raw in [
            "https://example.okta.com/api/v1",
            "https://example.okta.com/?x=1",
            "https://user:pw@example.okta.com",
            "https://example.okta.com/#frag",
            "example.okta.com",
            "ftp://example.okta.com",
            "",
        ] {
            assert!(OrgUrl::parse(raw, true).is_err(), "{raw} should be refused");
        }
    }

    #[test]
    fn origin_pinning_compares_scheme_host_and_port() {
        let org = OrgUrl::parse("https://example.okta.com", false).unwrap();
        let ok = Url::parse("https://example.okta.com:443/api/v1/logs?after=1").unwrap();
        assert!(org.ensure_same_origin(&ok).is_ok());
        for foreign in [
            "http://example.okta.com/api/v1/logs",
            "https://example.okta.com:8443/api/v1/logs",
            "https://evil.example/api/v1/logs",
            "https://example.okta.com.evil.example/api/v1/logs",
            "https://user@example.okta.com/api/v1/logs",
            "https://xn--exmple-cua.okta.com/api/v1/logs",
        ] {
            let url = Url::parse(foreign).unwrap();
            assert!(
                matches!(
                    org.ensure_same_origin(&url),
                    Err(OrgUrlError::ForeignOrigin { .. })
                ),
                "{foreign} must be foreign"
            );
        }
    }

    #[test]
    fn join_cannot_escape_the_origin() {
        let org = OrgUrl::parse("https://example.okta.com", false).unwrap();
        assert!(org.join("//evil.example/api/v1/logs").is_err());
        assert!(org.join("https://evil.example/").is_err());
    }

    #[test]
    fn messages_never_carry_path_or_query() {
        let org = OrgUrl::parse("https://example.okta.com", false).unwrap();
        let url = Url::parse("https://evil.example/steal?token=abc").unwrap();
        let msg = org.ensure_same_origin(&url).unwrap_err().to_string();
        assert!(msg.contains("https://evil.example"));
        assert!(!msg.contains("token=abc"));
    }
}
