//! Items Okta sent that the relay cannot read (not a JSON object, or without the id it needs)
//! are poison: they never stall a stream. Each becomes an `Okta Relay Quarantined Record` that
//! carries the item's text, why it was refused, and a stable id (a SHA-256 of the text, so the
//! same item read again is the same record), counted and logged, and the stream moves on.

use super::PendingRecord;
use crate::record::{self, CollectionPath, Quarantine, QuarantineReason, RelayMetadata};
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;

/// Where an unreadable item was found.
#[derive(Debug, Clone, Copy)]
pub struct FoundAt<'a> {
    pub org: &'a str,
    /// The org's Okta id, when known.
    pub okta_org_id: Option<&'a str>,
    pub stream: &'a str,
    /// The DetailType the item would have had.
    pub detail_type: &'a str,
    pub path: CollectionPath,
    pub collected_at: DateTime<Utc>,
}

/// The quarantine record of an item the relay cannot read; `problem` says why (it must not
/// quote the item).
pub fn unreadable(raw: &RawValue, problem: &str, at: &FoundAt<'_>) -> PendingRecord {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, raw.get().as_bytes());
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let id = format!("sha256:{hex}");
    tracing::error!(org = at.org, stream = at.stream, record_id = %id, problem,
        "Okta sent an item the relay cannot read; forwarding it as a quarantined record");
    let relay = RelayMetadata::new(at.org, at.stream, at.path, at.collected_at, id.clone())
        .identified(at.okta_org_id);
    let entry = record::quarantine_marker(
        &relay,
        &Quarantine {
            reason: QuarantineReason::Unreadable,
            detail_type: at.detail_type,
            code: "Unreadable",
            message: problem,
            original: raw.get(),
        },
    );
    PendingRecord {
        dedupe_key: format!("quarantine#{id}"),
        relay,
        entry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_item_is_the_same_record_and_keeps_its_text() {
        let raw = RawValue::from_string(r#"{"eventType":"x"}"#.into()).unwrap();
        let at = FoundAt {
            org: "acme",
            okta_org_id: None,
            stream: "logs",
            detail_type: record::SYSTEM_LOG_DETAIL_TYPE,
            path: CollectionPath::Pull,
            collected_at: Utc::now(),
        };
        let a = unreadable(&raw, "no uuid", &at);
        let b = unreadable(&raw, "no uuid", &at);
        assert_eq!(a.dedupe_key, b.dedupe_key);
        assert!(a.relay.record_id.starts_with("sha256:"));
        assert_eq!(a.entry.detail_type, record::QUARANTINE_DETAIL_TYPE);
        let detail: serde_json::Value = serde_json::from_str(&a.entry.detail).unwrap();
        assert_eq!(detail["quarantine"]["original"], raw.get());
        assert_eq!(detail["quarantine"]["reason"], "unreadable");
        assert_eq!(detail["quarantine"]["message"], "no uuid");
    }
}
