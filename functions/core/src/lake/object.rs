//! Objects from buffered events: one per org, class and event day, rows in `time` order, named
//! by the partitions Security Lake reads and a hash of their batch (`Batch`).

use super::{Batch, LakeEvent};
use crate::config::SecurityLakeConfig;
use chrono::DateTime;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

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

/// `<prefix><source>/region=<r>/accountId=<a>/eventDay=<day>/<org>-<hash>.parquet`: the hash
/// over where the batch began (a pull run's stream and cursor) and the object's class and day,
/// or over the sorted ids of the object's events (a push batch). The same batch gives the
/// same key.
pub fn object_key(
    config: &SecurityLakeConfig,
    class_name: &str,
    org: &str,
    day: &str,
    events: &[&LakeEvent],
    batch: Batch<'_>,
) -> String {
    let mut hash = Sha256::new();
    match batch {
        Batch::From {
            org: _,
            stream,
            cursor,
        } => {
            for part in [stream, cursor.unwrap_or(""), class_name, day] {
                hash.update(part.as_bytes());
                hash.update(b"\n");
            }
        }
        Batch::Events => {
            let mut ids: Vec<&str> = events.iter().map(|e| e.key.id.as_str()).collect();
            ids.sort_unstable();
            for id in ids {
                hash.update(id.as_bytes());
                hash.update(b"\n");
            }
        }
    }
    let digest: String = hash.finalize()[..16]
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
pub fn objects<'e>(
    config: &SecurityLakeConfig,
    events: &'e [LakeEvent],
    batch: Batch<'_>,
) -> Vec<LakeObject<'e>> {
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
            let key = object_key(config, class_name, org, &day, &events, batch);
            LakeObject {
                class_uid,
                key,
                events,
            }
        })
        .collect()
}
