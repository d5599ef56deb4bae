//! Okta's `Link` response headers: which page comes next.
//!
//! Okta sends one or more `Link` header lines (`<…>; rel="self"`, `<…>; rel="next"`), sometimes
//! several links in one line. They are parsed with an RFC 8288 parser (`http-link`), resolved
//! against the URL that was requested, and the `next` link is accepted only if it points to the
//! org's own origin: a foreign `next` link is an error, never a request.

use super::org_url::{OrgUrl, OrgUrlError};
use thiserror::Error;
use url::Url;

/// The links of one page that the client cares about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageLinks {
    /// The page's own URL, as Okta states it.
    pub self_link: Option<Url>,
    /// The next page, already checked to be on the org's origin.
    pub next: Option<Url>,
}

/// A `Link` header that cannot be used.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LinkError {
    #[error("malformed Link header: {0}")]
    Malformed(String),
    #[error("the `next` link leaves the org: {0}")]
    ForeignNext(OrgUrlError),
    #[error("several different `next` links in one response")]
    AmbiguousNext,
}

impl LinkError {
    /// As [`crate::okta::OktaError`] classifies it: a `next` link off the org is refused for
    /// good; a garbled header is retried (most often a dropped connection or proxy).
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            LinkError::ForeignNext(_) => crate::ErrorKind::Permanent,
            _ => crate::ErrorKind::Transient,
        }
    }

    pub fn fault(&self) -> crate::Fault {
        match self {
            LinkError::ForeignNext(_) => crate::Fault::Relay,
            _ => crate::Fault::OktaTransient,
        }
    }
}

/// Parses every `Link` header value of a response.
///
/// `requested` is the URL the response answers (the base for relative links); `org` pins the
/// `next` link to the org's origin. Relations other than `self` and `next` are ignored.
pub fn parse<'a>(
    header_values: impl IntoIterator<Item = &'a str>,
    requested: &Url,
    org: &OrgUrl,
) -> Result<PageLinks, LinkError> {
    let mut links = PageLinks::default();
    for value in header_values {
        if value.trim().is_empty() {
            continue;
        }
        let parsed = http_link::parse_link_header(value, requested)
            .map_err(|e| LinkError::Malformed(e.to_string()))?;
        for link in parsed {
            // http-link splits space-separated relations and lower-cases them.
            match link.rel.as_str() {
                "next" => {
                    org.ensure_same_origin(&link.target)
                        .map_err(LinkError::ForeignNext)?;
                    match &links.next {
                        Some(existing) if existing != &link.target => {
                            return Err(LinkError::AmbiguousNext);
                        }
                        _ => links.next = Some(link.target),
                    }
                }
                "self" => links.self_link = Some(link.target),
                _ => {}
            }
        }
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> OrgUrl {
        OrgUrl::parse("https://acme.okta.com", false).unwrap()
    }

    fn requested() -> Url {
        Url::parse("https://acme.okta.com/api/v1/logs?since=2026-01-01T00:00:00Z&limit=2").unwrap()
    }

    #[test]
    fn okta_style_two_header_lines() {
        let links = parse(
            [
                r#"<https://acme.okta.com/api/v1/logs?since=2026-01-01T00:00:00Z&limit=2>; rel="self""#,
                r#"<https://acme.okta.com/api/v1/logs?limit=2&after=1700000000000_1>; rel="next""#,
            ],
            &requested(),
            &org(),
        )
        .unwrap();
        assert_eq!(
            links.next.unwrap().as_str(),
            "https://acme.okta.com/api/v1/logs?limit=2&after=1700000000000_1"
        );
        assert!(links.self_link.is_some());
    }

    #[test]
    fn several_relations_in_one_header_and_unquoted_params() {
        let links = parse(
            [
                r#"<https://acme.okta.com/api/v1/users?after=00u1>; rel=next; title="page 2", <https://acme.okta.com/api/v1/users>; rel=self"#,
            ],
            &requested(),
            &org(),
        )
        .unwrap();
        assert_eq!(links.next.unwrap().query(), Some("after=00u1"));
        assert_eq!(links.self_link.unwrap().path(), "/api/v1/users");
    }

    #[test]
    fn one_link_with_two_relations() {
        let links = parse(
            [r#"<https://acme.okta.com/api/v1/logs?after=x>; rel="self next""#],
            &requested(),
            &org(),
        )
        .unwrap();
        assert_eq!(links.next, links.self_link);
        assert!(links.next.is_some());
    }

    #[test]
    fn relative_links_resolve_against_the_requested_url() {
        let links = parse(
            [r#"</api/v1/logs?after=abc&limit=2>; rel="next""#],
            &requested(),
            &org(),
        )
        .unwrap();
        assert_eq!(
            links.next.unwrap().as_str(),
            "https://acme.okta.com/api/v1/logs?after=abc&limit=2"
        );
    }

    #[test]
    fn quoted_params_with_commas_and_semicolons_do_not_split_links() {
        let links = parse(
            [
                r#"<https://acme.okta.com/api/v1/logs?after=q>; title="a, b; c"; rel="next", <https://acme.okta.com/x>; rel="prev""#,
            ],
            &requested(),
            &org(),
        )
        .unwrap();
        assert_eq!(links.next.unwrap().query(), Some("after=q"));
    }

    #[test]
    fn relation_names_are_case_insensitive() {
        let links = parse(
            [r#"<https://acme.okta.com/api/v1/logs?after=z>; REL="Next""#],
            &requested(),
            &org(),
        )
        .unwrap();
        assert!(links.next.is_some());
    }

    #[test]
    fn no_next_means_last_page() {
        let links = parse(
            [r#"<https://acme.okta.com/api/v1/users>; rel="self""#],
            &requested(),
            &org(),
        )
        .unwrap();
        assert_eq!(links.next, None);
        assert_eq!(
            parse([], &requested(), &org()).unwrap(),
            PageLinks::default()
        );
    }

    #[test]
    fn hostile_next_hosts_are_refused() {
        for hostile in [
            "https://evil.example/api/v1/logs?after=1",
            "https://acme.okta.com.evil.example/api/v1/logs",
            "https://acme.okta.com@evil.example/api/v1/logs",
            "http://acme.okta.com/api/v1/logs",
            "https://acme.okta.com:444/api/v1/logs",
            "//evil.example/api/v1/logs",
            "https://evil.example%2F@acme.okta.com/api/v1/logs",
        ] {
            let header = format!("<{hostile}>; rel=\"next\"");
            let result = parse([header.as_str()], &requested(), &org());
            assert!(
                matches!(result, Err(LinkError::ForeignNext(_))),
                "{hostile} gave {result:?}"
            );
        }
    }

    #[test]
    fn a_foreign_self_or_other_relation_is_harmless() {
        let links = parse(
            [r#"<https://evil.example/x>; rel="self", <https://evil.example/help>; rel="help""#],
            &requested(),
            &org(),
        )
        .unwrap();
        assert_eq!(links.next, None);
    }

    #[test]
    fn two_different_next_links_are_ambiguous() {
        let result = parse(
            [
                r#"<https://acme.okta.com/api/v1/logs?after=1>; rel="next""#,
                r#"<https://acme.okta.com/api/v1/logs?after=2>; rel="next""#,
            ],
            &requested(),
            &org(),
        );
        assert_eq!(result, Err(LinkError::AmbiguousNext));
    }

    #[test]
    fn malformed_headers_are_errors_not_panics() {
        for bad in [
            "https://acme.okta.com/api/v1/logs; rel=next",
            "<https://acme.okta.com/api/v1/logs",
            r#"<https://acme.okta.com/>; rel="next"#,
            "<>; rel=next <x>",
            "<http://[::1>; rel=next",
            "<\u{e9}>; rel*=x'y",
            "<a>; rel=\"\\",
        ] {
            let result = parse([bad], &requested(), &org());
            assert!(
                matches!(
                    result,
                    Err(LinkError::Malformed(_)) | Err(LinkError::ForeignNext(_)) | Ok(_)
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            parse(["garbage"], &requested(), &org()),
            Err(LinkError::Malformed(_))
        ));
    }
}
