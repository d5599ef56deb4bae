//! Objects from buffered events: one per org, class and event day, rows in `time` order, named
//! by the partitions Security Lake reads and a hash of their content.
//!
//! **Content-addressed names.** The name hashes the org, class and day and every event's id
//! and OCSF line, in id order. Two objects share a name only when they hold the same events,
//! so a put that finds its name taken (`Stored::AlreadyThere`) lost nothing, and no put ever
//! replaces an object: not after a reset, not from a run whose lease ran out, not from a
//! retry that reads from another cursor. The price of never overwriting is a bounded second
//! copy when a retry's batch differs from the first (marks written between them): a
//! duplicate in the lake, never a loss.

use super::LakeEvent;
use crate::config::SecurityLakeConfig;
use chrono::DateTime;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use crate::limits::LAKE_NAME_HASH_BYTES as NAME_HASH_BYTES;

/// One object to write.
#[derive(Debug)]
pub struct LakeObject<'e> {
    pub class_uid: u32,
    pub key: String,
    /// Its events, in `time` order.
    pub events: Vec<&'e LakeEvent>,
}

/// The day partition of an event (UTC).
fn event_day(time_ms: i64) -> String {
    DateTime::from_timestamp_millis(time_ms)
        .unwrap_or_default()
        .format("%Y%m%d")
        .to_string()
}

/// `<prefix><source>/region=<r>/accountId=<a>/eventDay=<day>/<org>-<hash>.parquet`, the hash
/// over the org, class, day and the events' ids and lines in id order.
pub fn object_key(
    config: &SecurityLakeConfig,
    class_name: &str,
    org: &str,
    day: &str,
    events: &[&LakeEvent],
) -> String {
    let mut hash = Sha256::new();
    for part in [org, class_name, day] {
        hash.update(part.as_bytes());
        hash.update(b"\n");
    }
    let mut sorted: Vec<&LakeEvent> = events.to_vec();
    sorted.sort_unstable_by(|a, b| a.key.id.cmp(&b.key.id));
    for event in sorted {
        hash.update(event.key.id.as_bytes());
        hash.update(b"\n");
        hash.update(event.line.as_bytes());
        hash.update(b"\n");
    }
    let digest: String = hash.finalize()[..NAME_HASH_BYTES]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}{}/region={}/accountId={}/eventDay={day}/{org}-{digest}.parquet",
        config.prefix,
        config.source_for(class_name),
        config.region,
        config.account_id,
    )
}

/// The objects `events` make.
pub fn objects<'e>(config: &SecurityLakeConfig, events: &'e [LakeEvent]) -> Vec<LakeObject<'e>> {
    let mut groups: BTreeMap<(&str, u32, String), Vec<&LakeEvent>> = BTreeMap::new();
    for event in events {
        groups
            .entry((
                event.org.as_str(),
                event.class_uid,
                event_day(event.time_ms),
            ))
            .or_default()
            .push(event);
    }
    groups
        .into_iter()
        .map(|((org, class_uid, day), mut events)| {
            events.sort_by(|a, b| (a.time_ms, &a.key.id).cmp(&(b.time_ms, &b.key.id)));
            let class_name = events.first().map_or("", |e| e.class_name);
            let key = object_key(config, class_name, org, &day, &events);
            LakeObject {
                class_uid,
                key,
                events,
            }
        })
        .collect()
}
