//! The Amazon Security Lake sink: OCSF events as Parquet objects in the custom sources' S3
//! locations (`ARCHITECTURE.md`, "Security Lake").
//!
//! - One class per custom source, one org, class and `eventDay` per object; rows in `time`
//!   order; the partitions Security Lake reads:
//!   `<prefix><source>/region=<r>/accountId=<a>/eventDay=<yyyymmdd>/`.
//! - **Content-addressed names, never overwritten.** An object is named by its org, class and
//!   day and a hash of its events (ids and lines), and put only where its name is free
//!   (`If-None-Match: *`, with the bucket's expected owner). The same events written again find
//!   their name taken and store nothing; different events never take a stored name. No run,
//!   reset, retry or stale lease holder can replace what the lake holds (`lake::object`).
//! - **Buffered by size and time** within an invocation ([`LakeBuffer`]): a pull run holds its
//!   pages' events until a class has enough or the oldest has waited long enough, and the
//!   cursor of those pages moves only after their objects are written.
//! - **Marks of its own** (`lake#<id>`): checked before buffering and written right after each
//!   object is stored, the same contract as the delivery bus's marks, so push and pull put one
//!   copy of an event in the lake in the normal case, and a failed write makes nothing skip.

mod buffer;
pub mod compactor;
mod object;
pub mod parquet;
pub mod schema;
pub mod staging;
mod writer;

pub use buffer::LakeBuffer;
pub use compactor::{CompactError, Compacted, Compactor};
pub use object::{LakeObject, object_key};
pub use writer::{LakeReport, LakeWriter, ParquetEncoder, encode_object};

use crate::ocsf::Mapped;
use crate::ports::DedupeKey;

/// One OCSF event on its way to the lake.
#[derive(Debug, Clone)]
pub struct LakeEvent {
    /// Its lake mark: `lake#<the record's dedupe id>` in its org.
    pub key: DedupeKey,
    pub org: String,
    pub class_uid: u32,
    pub class_name: &'static str,
    pub time_ms: i64,
    /// The event as one JSON line for the Parquet encoder: `unmapped` as JSON text.
    pub line: String,
}

impl LakeEvent {
    /// The lake form of `mapped`, an event of `org` whose record dedupes by `id`.
    pub fn new(org: &str, id: &str, mapped: &Mapped) -> Self {
        let mut event = mapped.event.clone();
        if let Some(unmapped) = event.get_mut("unmapped") {
            *unmapped = serde_json::Value::String(unmapped.to_string());
        }
        Self {
            key: DedupeKey::new(org, format!("lake#{id}")),
            org: org.to_string(),
            class_uid: mapped.class_uid,
            class_name: mapped.class_name,
            time_ms: mapped.time_ms,
            line: event.to_string(),
        }
    }
}

/// An event as its class header, its id and the whole OCSF event as `unmapped` text: what a
/// row holds when the event itself does not fit the class's Parquet schema.
fn degraded_line(event: &LakeEvent) -> String {
    let original: serde_json::Value = serde_json::from_str(&event.line).unwrap_or_default();
    let uid = original["metadata"]["uid"]
        .as_str()
        .unwrap_or(&event.key.id);
    let category = crate::ocsf::TABLE
        .class(event.class_uid)
        .map_or(0, |c| c.category_uid);
    serde_json::json!({
        "class_uid": event.class_uid,
        "class_name": event.class_name,
        "category_uid": category,
        "activity_id": 99,
        "activity_name": "Other",
        "type_uid": u64::from(event.class_uid) * 100 + 99,
        "time": event.time_ms,
        "severity_id": 0,
        "metadata": {"uid": uid, "version": crate::ocsf::OCSF_VERSION,
            "product": {"vendor_name": crate::ocsf::TABLE.product.vendor_name,
                        "name": crate::ocsf::TABLE.product.name}},
        "unmapped": event.line,
    })
    .to_string()
}

#[cfg(test)]
mod tests;
