//! The forwarded record: one EventBridge entry per Okta object (`DESIGN.md` §4).
//!
//! `Detail` is `{"okta": <the Okta object, byte for byte as Okta sent it>, "relay": {…}}`. The
//! object is carried as a [`RawValue`], so it is neither re-parsed into our types nor
//! re-serialised: what the SIEM receives is what Okta sent.

use crate::ports::SinkEntry;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

/// `Source` of every forwarded entry (`aws.*` sources are reserved by AWS).
pub const SOURCE: &str = "okta-relay";

/// `DetailType` of System Log events.
pub const SYSTEM_LOG_DETAIL_TYPE: &str = "Okta System Log Event";

/// `DetailType` of the marker sent in place of a record too large for one PutEvents entry.
pub const OVERSIZE_DETAIL_TYPE: &str = "Okta Relay Oversize Record";

/// How the relay got the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CollectionPath {
    /// Okta Log Streaming through the partner event bus.
    Push,
    /// Polled from Okta's REST API.
    Pull,
}

/// The relay's metadata in every record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayMetadata {
    pub org: String,
    pub stream: String,
    pub path: CollectionPath,
    #[serde(serialize_with = "rfc3339_millis")]
    pub collected_at: DateTime<Utc>,
    /// The stable id the SIEM can drop duplicates by (System Log `uuid`; `id@lastUpdated` for
    /// directory objects).
    pub record_id: String,
}

#[derive(Serialize)]
struct Detail<'a> {
    okta: &'a RawValue,
    relay: &'a RelayMetadata,
}

fn rfc3339_millis<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Builds the entry for one Okta object.
pub fn shape(
    detail_type: &str,
    object: &RawValue,
    relay: &RelayMetadata,
    time: Option<DateTime<Utc>>,
) -> SinkEntry {
    let detail = serde_json::to_string(&Detail {
        okta: object,
        relay,
    })
    // Serialising a RawValue and plain strings cannot fail.
    .unwrap_or_else(|_| String::from("{}"));
    SinkEntry {
        source: SOURCE.to_string(),
        detail_type: detail_type.to_string(),
        detail,
        time,
        resources: Vec::new(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Oversize<'a> {
    detail_type: &'a str,
    bytes: usize,
}

#[derive(Serialize)]
struct OversizeDetail<'a> {
    relay: &'a RelayMetadata,
    oversize: Oversize<'a>,
}

/// The entry sent instead of `entry` when it is too large for PutEvents: the relay metadata
/// (with the record's id) and the original kind and size, so the SIEM can fetch it from Okta.
pub fn oversize_marker(relay: &RelayMetadata, entry: &SinkEntry) -> SinkEntry {
    let detail = serde_json::to_string(&OversizeDetail {
        relay,
        oversize: Oversize {
            detail_type: &entry.detail_type,
            bytes: entry.size(),
        },
    })
    .unwrap_or_else(|_| String::from("{}"));
    SinkEntry {
        source: SOURCE.to_string(),
        detail_type: OVERSIZE_DETAIL_TYPE.to_string(),
        detail,
        time: entry.time,
        resources: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn keeps_the_okta_object_unchanged_and_adds_metadata() {
        // Odd spacing, key order and number formats must survive untouched.
        let raw = r#"{"uuid":"u-1", "published":"2026-11-21T10:00:00.000Z","n":1.50,"z":null,"a":{"b":[1,2]}}"#;
        let object = RawValue::from_string(raw.to_string()).unwrap();
        let relay = RelayMetadata {
            org: "acme".into(),
            stream: "logs".into(),
            path: CollectionPath::Pull,
            collected_at: Utc.with_ymd_and_hms(2026, 11, 21, 10, 1, 0).unwrap(),
            record_id: "u-1".into(),
        };
        let entry = shape(SYSTEM_LOG_DETAIL_TYPE, &object, &relay, None);
        assert_eq!(entry.source, "okta-relay");
        assert_eq!(entry.detail_type, "Okta System Log Event");
        assert!(
            entry.detail.contains(raw),
            "object bytes kept: {}",
            entry.detail
        );
        let detail: serde_json::Value = serde_json::from_str(&entry.detail).unwrap();
        assert_eq!(
            detail["okta"],
            serde_json::from_str::<serde_json::Value>(raw).unwrap()
        );
        assert_eq!(detail["relay"]["org"], "acme");
        assert_eq!(detail["relay"]["path"], "pull");
        assert_eq!(detail["relay"]["collectedAt"], "2026-11-21T10:01:00.000Z");
        assert_eq!(detail["relay"]["recordId"], "u-1");
    }
}
