//! One System Log event on its way to the sink, the same steps on both paths: an inventory
//! change record if the event deletes or removes a directory object (the SIEM's inventory stays
//! true whatever the filters say), the org's event-type filter, then the event shaped into its
//! record. The push path adds its old-event policy through `keep`.

use super::log_header::LogEventHeader;
use crate::config::OrgConfig;
use crate::lake::LakeEvent;
use crate::ocsf;
use crate::pipeline::PendingRecord;
use crate::record::{self, CollectionPath, RelayMetadata};
use crate::shape::inventory_change;
use crate::stream;
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;

/// What one event becomes.
#[derive(Debug, Default)]
pub struct EventRecords {
    /// The records to forward: its inventory change record, then the event's raw and OCSF
    /// records as the org's `output` says (0–3).
    pub records: Vec<PendingRecord>,
    /// The event's OCSF form for Security Lake, when the deployment delivers there.
    pub lake: Option<LakeEvent>,
    /// The org's event-type list excluded the event.
    pub filtered: bool,
    /// The event produced an inventory change record.
    pub inventory_change: bool,
    /// The event goes on with the receipt time: its `published` was missing or unreadable.
    pub malformed_published: bool,
}

/// The per-event path both paths call. `keep = false` drops the event itself (the push path's
/// old-event policy), never its inventory change.
pub fn records_for(
    raw: &RawValue,
    header: &LogEventHeader,
    org: &OrgConfig,
    path: CollectionPath,
    collected_at: DateTime<Utc>,
    keep: bool,
) -> EventRecords {
    let mut out = EventRecords::default();
    if let Some(change) = inventory_change::change_record(raw, header, org, path, collected_at) {
        out.inventory_change = true;
        out.records.push(change);
    }
    if !org.event_types.allows(&header.event_type) {
        out.filtered = true;
    } else if keep {
        let record = to_record(raw, header, org_label(org), path, collected_at);
        if org.output.ocsf() || org.lake_delivery {
            let time = header.time_or(collected_at);
            let mapped = ocsf::system_log(raw, &record.relay, time);
            if org.lake_delivery {
                out.lake = Some(LakeEvent::new(&org.name, &header.uuid, &mapped));
            }
            if org.output.ocsf() {
                out.records.push(PendingRecord {
                    dedupe_key: ocsf::record_key(&header.uuid),
                    relay: record.relay.clone(),
                    entry: ocsf::entry(&mapped),
                });
            }
        }
        if org.output.raw() {
            out.records.insert(
                out.records.len().min(usize::from(out.inventory_change)),
                record,
            );
        }
        if header.published.is_none() {
            out.malformed_published = true;
            tracing::warn!(uuid = %header.uuid, event_type = %header.event_type,
                "System Log event without a readable published; forwarded with the receipt time");
        }
    }
    out
}

/// An org's name and Okta id, as records carry them.
pub fn org_label(org: &OrgConfig) -> (&str, Option<&str>) {
    (&org.name, org.okta_org_id.as_deref())
}

/// Shapes one System Log event into a pending record.
pub fn to_record(
    raw: &RawValue,
    header: &LogEventHeader,
    (org, okta_org_id): (&str, Option<&str>),
    path: CollectionPath,
    collected_at: DateTime<Utc>,
) -> PendingRecord {
    let mut relay = RelayMetadata::new(org, stream::LOGS, path, collected_at, header.uuid.clone())
        .identified(okta_org_id);
    relay.malformed_published = header.published.is_none();
    let entry = record::shape(
        record::SYSTEM_LOG_DETAIL_TYPE,
        raw,
        &relay,
        Some(header.time_or(collected_at)),
    );
    PendingRecord {
        dedupe_key: header.uuid.clone(),
        relay,
        entry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    #[test]
    fn reads_the_header_and_keeps_the_event() {
        let event = raw(
            r#"{"uuid":"8f7c","published":"2026-11-21T10:00:00.123Z","eventType":"user.session.start","actor":{"id":"00u1"}}"#,
        );
        let header = LogEventHeader::parse(&event).unwrap();
        assert_eq!(header.uuid, "8f7c");
        assert_eq!(header.event_type, "user.session.start");
        assert_eq!(header.published.unwrap().timestamp_subsec_millis(), 123);
        let record = to_record(
            &event,
            &header,
            ("acme", None),
            CollectionPath::Push,
            Utc::now(),
        );
        assert!(record.entry.detail.contains(event.get()));
        assert_eq!(record.relay.record_id, "8f7c");
        assert_eq!(record.entry.time, header.published);
        assert!(!record.entry.detail.contains("malformedPublished"));
    }

    #[test]
    fn an_event_without_a_readable_published_goes_on_with_the_receipt_time_and_a_mark() {
        let event =
            raw(r#"{"uuid":"8f7d","published":"redacted","eventType":"user.session.start"}"#);
        let header = LogEventHeader::parse(&event).unwrap();
        let now = Utc::now();
        let record = to_record(&event, &header, ("acme", None), CollectionPath::Pull, now);
        assert_eq!(record.entry.time, Some(now));
        assert!(record.entry.detail.contains(event.get()), "unchanged");
        let detail: serde_json::Value = serde_json::from_str(&record.entry.detail).unwrap();
        assert_eq!(detail["relay"]["malformedPublished"], true);
    }
}
