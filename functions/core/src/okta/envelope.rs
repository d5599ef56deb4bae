//! Pages whose items sit in a JSON object rather than an array: Okta's `/api/v1/iam`
//! endpoints answer `{"roles": [...], "_links": {"next": {"href": "..."}}}` (the key differs per
//! endpoint) and send no `Link` header. The `next` link in the body is held to the same rule as
//! a header's: it must stay on the org's origin.

use super::links::LinkError;
use super::org_url::OrgUrl;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::HashMap;
use url::Url;

/// Where a list endpoint puts its items and its next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageLayout {
    /// A JSON array; the next page in a `Link` header (most of `/api/v1`).
    Array,
    /// A JSON object with the items under this key and the next page in `_links.next.href`.
    Envelope(&'static str),
}

#[derive(Deserialize)]
struct Href {
    href: String,
}

#[derive(Deserialize, Default)]
struct Links {
    #[serde(default)]
    next: Option<Href>,
}

/// An envelope's items (still raw) and its next page.
pub(super) struct Unwrapped {
    pub items: Box<RawValue>,
    pub next: Option<Url>,
}

/// Why an envelope cannot be read.
#[derive(Debug)]
pub(super) enum EnvelopeError {
    /// Not a JSON object, or without the items key (position and category only: serde's text
    /// could quote the payload).
    Shape(String),
    Link(LinkError),
}

/// Splits an envelope into its items and its checked `next` link (relative links resolve
/// against the requested URL).
pub(super) fn unwrap(
    body: &[u8],
    key: &str,
    requested: &Url,
    org: &OrgUrl,
) -> Result<Unwrapped, EnvelopeError> {
    let mut fields: HashMap<String, Box<RawValue>> = serde_json::from_slice(body).map_err(|e| {
        EnvelopeError::Shape(format!("{:?} error at column {}", e.classify(), e.column()))
    })?;
    let items = fields
        .remove(key)
        .ok_or_else(|| EnvelopeError::Shape(format!("the response has no `{key}` list")))?;
    let links: Links = match fields.get("_links") {
        Some(raw) => serde_json::from_str(raw.get())
            .map_err(|_| EnvelopeError::Shape("`_links` is not an object of links".into()))?,
        None => Links::default(),
    };
    let next = match links.next {
        None => None,
        Some(Href { href }) => {
            let url = requested
                .join(&href)
                .map_err(|e| EnvelopeError::Link(LinkError::Malformed(e.to_string())))?;
            org.ensure_same_origin(&url)
                .map_err(|e| EnvelopeError::Link(LinkError::ForeignNext(e)))?;
            Some(url)
        }
    };
    Ok(Unwrapped { items, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> OrgUrl {
        OrgUrl::parse("https://acme.okta.com", false).unwrap()
    }

    fn requested() -> Url {
        Url::parse("https://acme.okta.com/api/v1/iam/roles?limit=2").unwrap()
    }

    #[test]
    fn items_and_next_come_out_of_the_body() {
        let body = br#"{"roles":[{"id":"cr0a"},{"id":"cr0b"}],"_links":{"next":{"href":"https://acme.okta.com/api/v1/iam/roles?after=cr0b&limit=2"}}}"#;
        let page = unwrap(body, "roles", &requested(), &org()).unwrap();
        let items: Vec<Box<RawValue>> = serde_json::from_str(page.items.get()).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(page.next.unwrap().query(), Some("after=cr0b&limit=2"));
    }

    #[test]
    fn the_last_page_has_no_next_and_a_relative_next_resolves() {
        let last = br#"{"resource-sets":[],"_links":{"self":{"href":"/x"}}}"#;
        assert!(
            unwrap(last, "resource-sets", &requested(), &org())
                .unwrap()
                .next
                .is_none()
        );
        let relative =
            br#"{"value":[],"_links":{"next":{"href":"/api/v1/iam/assignees/users?after=1"}}}"#;
        let next = unwrap(relative, "value", &requested(), &org())
            .unwrap()
            .next
            .unwrap();
        assert_eq!(
            next.as_str(),
            "https://acme.okta.com/api/v1/iam/assignees/users?after=1"
        );
    }

    #[test]
    fn a_foreign_next_or_a_missing_key_is_refused() {
        let foreign =
            br#"{"roles":[],"_links":{"next":{"href":"https://evil.example/api/v1/iam/roles"}}}"#;
        assert!(matches!(
            unwrap(foreign, "roles", &requested(), &org()),
            Err(EnvelopeError::Link(LinkError::ForeignNext(_)))
        ));
        for bad in [&br#"[{"id":"x"}]"#[..], br#"{"other":[]}"#, b"not json"] {
            assert!(matches!(
                unwrap(bad, "roles", &requested(), &org()),
                Err(EnvelopeError::Shape(_))
            ));
        }
    }
}
