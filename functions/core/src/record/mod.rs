//! The forwarded record: one EventBridge entry per Okta object (docs/record.md).
//!
//! `Detail` is `{"okta": <the Okta object, byte for byte as Okta sent it>, "relay": {…}}`. The
//! object is carried as a [`RawValue`], so it is neither re-parsed into our types nor
//! re-serialised: what the SIEM receives is what Okta sent.
//!
//! [`markers`] are the entries that stand in for a record that cannot go as it is (too large,
//! or poison); [`change`] is the metadata of an inventory change record.

pub mod change;
pub mod markers;

pub use change::{ChangeAction, InventoryChange};
pub use markers::{
    OVERSIZE_DETAIL_TYPE, QUARANTINE_DETAIL_TYPE, QUARANTINE_ORIGINAL_BYTES, Quarantine,
    QuarantineReason, oversize_marker, quarantine_marker,
};

use crate::ports::SinkEntry;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

/// `Source` of every forwarded entry (`aws.*` sources are reserved by AWS).
pub const SOURCE: &str = "okta-relay";

/// `DetailType` of System Log events.
pub const SYSTEM_LOG_DETAIL_TYPE: &str = "Okta System Log Event";

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
    /// The operator's name of the org in this deployment.
    pub org: String,
    /// Okta's id of the org (`/.well-known/okta-organization`), once the relay has read it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub okta_org_id: Option<String>,
    pub stream: String,
    pub path: CollectionPath,
    #[serde(serialize_with = "rfc3339_millis")]
    pub collected_at: DateTime<Utc>,
    /// The stable id the SIEM can drop duplicates by (System Log `uuid`; `id@lastUpdated` for
    /// directory objects; `parent/id` for memberships and assignments).
    pub record_id: String,
    /// Memberships and assignments: the other side (the group or app the object belongs to).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentRef>,
    /// Directory objects: whether a full sync (a snapshot) or a delta run collected it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncMode>,
    /// Inventory change records: what changed, derived from a System Log event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<InventoryChange>,
    /// System Log events whose `published` was missing or unreadable: the entry's `Time` is
    /// the receipt time instead. Absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub malformed_published: bool,
}

impl RelayMetadata {
    /// Metadata of a plain record (no parent, sync mode or change).
    pub fn new(
        org: &str,
        stream: &str,
        path: CollectionPath,
        collected_at: DateTime<Utc>,
        record_id: String,
    ) -> Self {
        Self {
            org: org.to_string(),
            okta_org_id: None,
            stream: stream.to_string(),
            path,
            collected_at,
            record_id,
            parent: None,
            sync: None,
            change: None,
            malformed_published: false,
        }
    }
}

impl RelayMetadata {
    /// The same metadata with the org's Okta id.
    pub fn identified(mut self, okta_org_id: Option<&str>) -> Self {
        self.okta_org_id = okta_org_id.map(str::to_string);
        self
    }
}

/// The group or app a membership or assignment record belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParentRef {
    /// `group` or `app`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
}

/// How a directory listing ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// Everything re-listed: every object is emitted again.
    Full,
    /// Only what changed since the stream's high-water mark.
    Delta,
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
    // Written once into room for the object and the relay's metadata, rather than grown by
    // doubling from a small string. Serialising a RawValue and plain strings cannot fail.
    let mut text =
        Vec::with_capacity(object.get().len() + crate::limits::RECORD_METADATA_ROOM_BYTES);
    let detail = serde_json::to_writer(
        &mut text,
        &Detail {
            okta: object,
            relay,
        },
    )
    .ok()
    .and_then(|()| String::from_utf8(text).ok())
    .unwrap_or_else(|| String::from("{}"));
    SinkEntry {
        source: SOURCE.to_string(),
        detail_type: detail_type.to_string(),
        detail,
        time,
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
        let relay = RelayMetadata::new(
            "acme",
            "logs",
            CollectionPath::Pull,
            Utc.with_ymd_and_hms(2026, 11, 21, 10, 1, 0).unwrap(),
            "u-1".into(),
        );
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

    /// The DetailTypes whose `detail.okta` is an Okta object: the stacks route exactly these
    /// through `siemReceivesOktaObjectOnly`'s input path (infra/contract.json), every other
    /// record (OCSF, markers) whole.
    #[test]
    fn the_contract_lists_every_detail_type_that_carries_an_okta_object() {
        let contract: serde_json::Value =
            serde_json::from_str(include_str!("../../../../infra/contract.json")).unwrap();
        let listed: std::collections::BTreeSet<&str> = contract["okta_object_detail_types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut ours: std::collections::BTreeSet<&str> = crate::inventory::catalogue::STREAMS
            .iter()
            .map(|s| s.detail_type)
            .collect();
        ours.insert(SYSTEM_LOG_DETAIL_TYPE);
        ours.insert(crate::shape::inventory_change::INVENTORY_CHANGE_DETAIL_TYPE);
        assert_eq!(listed, ours);
        for marker in [OVERSIZE_DETAIL_TYPE, QUARANTINE_DETAIL_TYPE] {
            assert!(!listed.contains(marker), "{marker} has no Okta object");
        }
        // The rules' patterns carry the list: they must stay within EventBridge's default
        // event pattern size (2 048 characters).
        let pattern = serde_json::json!({"source": ["okta-relay"],
            "detail-type": [{"anything-but": contract["okta_object_detail_types"]}]});
        let size = pattern.to_string().len();
        assert!(
            size <= 2048,
            "the delivery rule's pattern is {size} characters"
        );
    }
}
