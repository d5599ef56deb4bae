//! OCSF output: Okta System Log events and directory objects as OCSF 1.3.0 events, for a SIEM
//! that wants OCSF on the delivery bus (`orgs[].output`) and for the Amazon Security Lake
//! custom sources (`crate::lake`).
//!
//! Why 1.3.0: Security Lake accepts custom-source data in OCSF 1.3 and earlier (`docs/ocsf.md`
//! cites the page), and 1.3 is the newest of those, with the Entity Management activities and
//! `Preauth` the mapping uses.
//!
//! The mapping is data ([`table`], `mapping.json`): event-type patterns to a class and an
//! activity, and per class the field groups that fill it. [`map`] applies it; `unmapped` keeps
//! every Okta field no copy took.

mod map;
pub mod path;
pub mod table;

pub use map::Mapped;
pub use table::{OCSF_VERSION, TABLE};

use crate::ports::SinkEntry;
use crate::record::{RelayMetadata, SOURCE};
use chrono::{DateTime, Utc};
use serde_json::Value;
use serde_json::value::RawValue;

/// The `DetailType` of an OCSF record starts with this and names the class.
pub const DETAIL_TYPE_PREFIX: &str = "OCSF ";

/// The dedupe mark of an OCSF record on the delivery bus (its own, so `output: both` delivers
/// the raw and the OCSF record of one event).
pub fn record_key(id: &str) -> String {
    format!("ocsf#{id}")
}

/// The `DetailType` of an OCSF record of `class_name`.
pub fn detail_type(class_name: &str) -> String {
    format!("{DETAIL_TYPE_PREFIX}{class_name}")
}

/// A System Log event as an OCSF event. `time` is `published` (or the receipt time).
pub fn system_log(raw: &RawValue, relay: &RelayMetadata, time: DateTime<Utc>) -> Mapped {
    let event: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
    let relay = serde_json::to_value(relay).unwrap_or(Value::Null);
    map::system_log(event, &relay, time.timestamp_millis())
}

/// A directory object as an OCSF inventory event, when the table maps its stream.
pub fn directory(
    stream: &str,
    raw: &RawValue,
    relay: &RelayMetadata,
    time: DateTime<Utc>,
) -> Option<Mapped> {
    let object: Value = serde_json::from_str(raw.get()).ok()?;
    let relay = serde_json::to_value(relay).unwrap_or(Value::Null);
    map::directory(stream, object, &relay, time.timestamp_millis())
}

/// Whether the table maps `stream`'s objects.
pub fn maps_stream(stream: &str) -> bool {
    TABLE.inventory.iter().any(|r| r.stream == stream)
}

/// The delivery-bus entry of an OCSF event: `Detail` is the event itself.
pub fn entry(mapped: &Mapped) -> SinkEntry {
    SinkEntry {
        source: SOURCE.to_string(),
        detail_type: detail_type(mapped.class_name),
        detail: mapped.event.to_string(),
        time: DateTime::from_timestamp_millis(mapped.time_ms),
        resources: Vec::new(),
    }
}

#[cfg(test)]
mod fidelity;
#[cfg(test)]
mod field_table;
#[cfg(test)]
mod tests;
