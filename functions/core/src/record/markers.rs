//! Entries that stand in for a record that cannot go as it is: too large for one PutEvents
//! entry (oversize), or poison (quarantined). Each carries the record's `relay` block, so its
//! id, and says why; the SIEM knows the record exists and can fetch it from Okta.

use super::{RelayMetadata, SOURCE};
use crate::ports::SinkEntry;
use serde::Serialize;

/// `DetailType` of the marker sent in place of a record too large for one PutEvents entry.
pub const OVERSIZE_DETAIL_TYPE: &str = "Okta Relay Oversize Record";

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

/// The DetailType of a quarantined record: one the relay could not forward as it is (the bus
/// refused its entry for good, or Okta sent something the relay cannot read). It carries the
/// record's id, why, and the original text (cut to [`QUARANTINE_ORIGINAL_BYTES`]), so the SIEM
/// knows the record exists and the stream goes on.
pub const QUARANTINE_DETAIL_TYPE: &str = "Okta Relay Quarantined Record";

pub use crate::limits::QUARANTINE_ORIGINAL_BYTES;

/// Why a record was quarantined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineReason {
    /// The delivery bus refused the record's entry with a code a retry cannot fix.
    RejectedByBus,
    /// Okta sent an item the relay cannot read (not an object, or without its id).
    Unreadable,
}

/// What a quarantine marker says about its record.
#[derive(Debug, Clone, Copy)]
pub struct Quarantine<'a> {
    pub reason: QuarantineReason,
    /// The DetailType the record would have had.
    pub detail_type: &'a str,
    /// The bus's error code, or the relay's reading error.
    pub code: &'a str,
    pub message: &'a str,
    /// The record's original text (an entry's `Detail`, or Okta's item).
    pub original: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QuarantineBody<'a> {
    reason: QuarantineReason,
    detail_type: &'a str,
    code: &'a str,
    message: &'a str,
    original: &'a str,
    original_bytes: usize,
    truncated: bool,
}

#[derive(Serialize)]
struct QuarantineDetail<'a> {
    relay: &'a RelayMetadata,
    quarantine: QuarantineBody<'a>,
}

/// The entry that stands in for a quarantined record.
pub fn quarantine_marker(relay: &RelayMetadata, q: &Quarantine<'_>) -> SinkEntry {
    let mut cut = q.original.len().min(QUARANTINE_ORIGINAL_BYTES);
    while !q.original.is_char_boundary(cut) {
        cut -= 1;
    }
    let detail = serde_json::to_string(&QuarantineDetail {
        relay,
        quarantine: QuarantineBody {
            reason: q.reason,
            detail_type: q.detail_type,
            code: q.code,
            message: q.message,
            original: &q.original[..cut],
            original_bytes: q.original.len(),
            truncated: cut < q.original.len(),
        },
    })
    .unwrap_or_else(|_| String::from("{}"));
    SinkEntry {
        source: SOURCE.to_string(),
        detail_type: QUARANTINE_DETAIL_TYPE.to_string(),
        detail,
        time: None,
        resources: Vec::new(),
    }
}
