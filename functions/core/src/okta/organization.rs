//! The org's identity in Okta: its id from `/.well-known/okta-organization`, a public
//! document (`{"id": "00o…", "pipeline": "idx", "_links": …}`). The operator's `name` labels an
//! org in this deployment; the id says which Okta org it is, the same in every deployment and
//! in Okta's own records. It is read once per org and kept in the state table.

use serde::Deserialize;

pub const WELL_KNOWN_PATH: &str = "/.well-known/okta-organization";
/// How long the organization document may take: a slow answer must not eat a run's time.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
pub use crate::limits::OKTA_ORG_DOCUMENT_MAX_BYTES as MAX_DOCUMENT_BYTES;
use crate::limits::OKTA_ORG_ID_LEN as ID_LEN;

#[derive(Deserialize)]
struct Document {
    id: String,
}

/// The id in the document, if it has Okta's shape.
pub fn parse_id(body: &[u8]) -> Result<String, String> {
    let doc: Document =
        serde_json::from_slice(body).map_err(|e| format!("not an organization document: {e}"))?;
    if is_org_id(&doc.id) {
        Ok(doc.id)
    } else {
        Err("the organization id is not an Okta org id".to_string())
    }
}

pub fn is_org_id(id: &str) -> bool {
    id.len() == ID_LEN && id.starts_with("00o") && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_okta_shaped_id_is_taken() {
        let doc = br#"{"id":"00o1a2b3c4d5e6f7g8h9","pipeline":"idx","_links":{}}"#;
        assert_eq!(parse_id(doc).unwrap(), "00o1a2b3c4d5e6f7g8h9");
        for bad in [
            r#"{"id":"00o1a2b3"}"#,
            r#"{"id":"00u1a2b3c4d5e6f7g8h9"}"#,
            r#"{"id":"00o1a2b3c4d5e6f7g<h>"}"#,
            r#"{"pipeline":"idx"}"#,
            "<html>",
        ] {
            assert!(parse_id(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
