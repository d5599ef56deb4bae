//! A directory object on its way through the pipeline: the few attributes the relay reads (id,
//! `lastUpdated`, `lastMembershipUpdated`) and the untouched original.
//!
//! Record ids are what a SIEM can drop duplicates by: `id@lastUpdated` for objects (a new
//! version is a new record), `parent/id[@lastUpdated]` for memberships and assignments. Dedupe
//! marks are scoped by org and stream, so two orgs or two streams never suppress each other.

use crate::inventory::catalogue::StreamSpec;
use crate::limits::MAX_OBJECT_ID_CHARS;
use crate::pipeline::PendingRecord;
use crate::record::{self, CollectionPath, ParentRef, RelayMetadata, SyncMode};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use thiserror::Error;

/// A directory object that lacks what the relay needs.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum InvalidObject {
    #[error("{stream} object is not a JSON object with `{field}` ({detail})")]
    Shape {
        stream: &'static str,
        field: &'static str,
        detail: String,
    },
    #[error("{stream} object field `{field}` is empty or invalid")]
    Field {
        stream: &'static str,
        field: &'static str,
    },
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    client_id: Option<Cow<'a, str>>,
    #[serde(rename = "lastUpdated", borrow, default)]
    last_updated: Option<Cow<'a, str>>,
    #[serde(rename = "lastMembershipUpdated", borrow, default)]
    last_membership_updated: Option<Cow<'a, str>>,
    /// A device's users are `{"user": {"id": ...}, ...}` entries.
    #[serde(borrow, default)]
    user: Option<Nested<'a>>,
}

#[derive(Deserialize)]
struct Nested<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
}

/// What the relay reads from a directory object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHeader {
    pub id: String,
    /// `lastUpdated` exactly as Okta wrote it (part of the record id), and parsed.
    pub last_updated_text: Option<String>,
    pub last_updated: Option<DateTime<Utc>>,
    pub last_membership_updated: Option<DateTime<Utc>>,
    /// `lastMembershipUpdated` exactly as Okta wrote it (a group's version of its members).
    pub last_membership_updated_text: Option<String>,
}

impl ObjectHeader {
    pub fn parse(raw: &RawValue, spec: &StreamSpec) -> Result<Self, InvalidObject> {
        let header: Header<'_> =
            serde_json::from_str(raw.get()).map_err(|e| InvalidObject::Shape {
                stream: spec.name,
                field: spec.id_field,
                // Category and position only: serde's text could quote the object.
                detail: format!("{:?} error at column {}", e.classify(), e.column()),
            })?;
        let id = match spec.id_field {
            "client_id" => header.client_id,
            "user.id" => header.user.and_then(|u| u.id),
            _ => header.id,
        };
        let id = id.filter(|id| {
            !id.trim().is_empty() && id.len() <= MAX_OBJECT_ID_CHARS && !id.contains('/')
        });
        let Some(id) = id else {
            return Err(InvalidObject::Field {
                stream: spec.name,
                field: spec.id_field,
            });
        };
        let time = |field: &'static str, text: &Option<Cow<'_, str>>| match text {
            None => Ok(None),
            Some(t) => DateTime::parse_from_rfc3339(t)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|_| InvalidObject::Field {
                    stream: spec.name,
                    field,
                }),
        };
        Ok(Self {
            id: id.into_owned(),
            last_updated: time("lastUpdated", &header.last_updated)?,
            last_membership_updated: time(
                "lastMembershipUpdated",
                &header.last_membership_updated,
            )?,
            last_updated_text: header.last_updated.map(Cow::into_owned),
            last_membership_updated_text: header.last_membership_updated.map(Cow::into_owned),
        })
    }
}

/// Where an object was found.
#[derive(Debug, Clone, Copy)]
pub struct Found<'a> {
    pub org: &'a str,
    /// The org's Okta id, when known.
    pub okta_org_id: Option<&'a str>,
    pub spec: &'static StreamSpec,
    /// The parent's id, for fan-out streams.
    pub parent: Option<&'a str>,
    /// The parent's version of its children (a group's `lastMembershipUpdated`): part of the
    /// dedupe mark of child records that have no version of their own, so a membership removed
    /// and added again is forwarded again.
    pub parent_version: Option<&'a str>,
    pub sync: SyncMode,
    pub collected_at: DateTime<Utc>,
    /// What the org's delivery bus gets, and whether the lake gets the OCSF form.
    pub output: crate::config::Output,
    pub lake: bool,
}

/// What one directory object becomes: its records for the bus (the raw record, its OCSF
/// inventory event when the org's `output` asks and the table maps the stream) and its lake
/// event. A stream the table does not map goes raw whatever `output` says: OCSF 1.3 has no
/// inventory class for groups, apps, IdPs, zones or OAuth clients (`docs/ocsf.md`).
pub fn records(
    raw: &RawValue,
    header: &ObjectHeader,
    found: &Found<'_>,
) -> (Vec<PendingRecord>, Option<crate::lake::LakeEvent>) {
    let record = to_record(raw, header, found);
    let mapped = (found.output.ocsf() || found.lake)
        .then(|| crate::ocsf::directory(found.spec.name, raw, &record.relay, found.collected_at))
        .flatten();
    let Some(mapped) = mapped else {
        return (vec![record], None);
    };
    let lake = found
        .lake
        .then(|| crate::lake::LakeEvent::new(found.org, &record.dedupe_key, &mapped));
    let mut records = Vec::with_capacity(2);
    if found.output.ocsf() {
        records.push(PendingRecord {
            dedupe_key: crate::ocsf::record_key(&record.dedupe_key),
            relay: record.relay.clone(),
            entry: crate::ocsf::entry(&mapped),
        });
    }
    if found.output.raw() {
        records.insert(0, record);
    }
    (records, lake)
}

/// Shapes one directory object into a pending record.
pub fn to_record(raw: &RawValue, header: &ObjectHeader, found: &Found<'_>) -> PendingRecord {
    let mut record_id = match found.parent {
        Some(parent) => format!("{parent}/{}", header.id),
        None => header.id.clone(),
    };
    if found.spec.versioned
        && let Some(at) = &header.last_updated_text
    {
        record_id.push('@');
        record_id.push_str(at);
    }
    let mut relay = RelayMetadata::new(
        found.org,
        found.spec.name,
        CollectionPath::Pull,
        found.collected_at,
        record_id,
    )
    .identified(found.okta_org_id);
    relay.sync = Some(found.sync);
    relay.parent = found
        .spec
        .parent
        .zip(found.parent)
        .map(|((_, kind), id)| ParentRef {
            kind,
            id: id.to_string(),
        });
    let entry = record::shape(found.spec.detail_type, raw, &relay, header.last_updated);
    let mut dedupe_key = dedupe_key(found.spec.name, &relay.record_id);
    if !found.spec.versioned
        && let Some(version) = found.parent_version
    {
        dedupe_key.push('@');
        dedupe_key.push_str(version);
    }
    PendingRecord {
        dedupe_key,
        relay,
        entry,
    }
}

/// The dedupe mark of a directory record, within its org.
pub fn dedupe_key(stream: &str, record_id: &str) -> String {
    format!("inv#{stream}#{record_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::catalogue::spec;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    fn found(stream: &str, parent: Option<&'static str>) -> Found<'static> {
        Found {
            org: "acme",
            okta_org_id: None,
            spec: spec(stream).unwrap(),
            parent,
            parent_version: parent.map(|_| "2026-11-20T08:00:00.000Z"),
            sync: SyncMode::Delta,
            collected_at: Utc::now(),
            output: crate::config::Output::Raw,
            lake: false,
        }
    }

    #[test]
    fn objects_are_versioned_memberships_name_both_sides() {
        let user = raw(
            r#"{"id":"00u1","status":"ACTIVE","lastUpdated":"2026-11-21T10:00:00.000Z","profile":{"login":"a@b"}}"#,
        );
        let users = spec("users").unwrap();
        let header = ObjectHeader::parse(&user, users).unwrap();
        let record = to_record(&user, &header, &found("users", None));
        assert_eq!(record.relay.record_id, "00u1@2026-11-21T10:00:00.000Z");
        assert_eq!(record.dedupe_key, "inv#users#00u1@2026-11-21T10:00:00.000Z");
        assert_eq!(record.entry.detail_type, "Okta User");
        assert!(record.entry.detail.contains(user.get()), "object unchanged");
        let detail: serde_json::Value = serde_json::from_str(&record.entry.detail).unwrap();
        assert_eq!(detail["relay"]["sync"], "delta");
        assert!(detail["relay"].get("parent").is_none());

        let member = to_record(
            &user,
            &ObjectHeader::parse(&user, spec("group_members").unwrap()).unwrap(),
            &found("group_members", Some("00g9")),
        );
        assert_eq!(
            member.relay.record_id, "00g9/00u1",
            "memberships are not versioned"
        );
        assert_eq!(
            member.dedupe_key, "inv#group_members#00g9/00u1@2026-11-20T08:00:00.000Z",
            "their marks carry the group's membership version: a re-added member comes again"
        );
        let detail: serde_json::Value = serde_json::from_str(&member.entry.detail).unwrap();
        assert_eq!(
            detail["relay"]["parent"],
            serde_json::json!({"type": "group", "id": "00g9"})
        );
        assert_eq!(member.entry.detail_type, "Okta Group Membership");
    }

    #[test]
    fn oauth_clients_use_client_id_and_bad_objects_name_the_field() {
        let clients = spec("clients").unwrap();
        let client = raw(r#"{"client_id":"0oa5","client_name":"x"}"#);
        let header = ObjectHeader::parse(&client, clients).unwrap();
        assert_eq!(header.id, "0oa5");
        assert_eq!(
            to_record(&client, &header, &found("clients", None))
                .relay
                .record_id,
            "0oa5"
        );
        let users = spec("users").unwrap();
        for (text, field) in [
            (r#"{"status":"ACTIVE"}"#, "id"),
            (r#"{"id":""}"#, "id"),
            (r#"{"id":"a/b"}"#, "id"),
            (r#"{"id":"00u1","lastUpdated":"yesterday"}"#, "lastUpdated"),
            (r#"[1]"#, "id"),
        ] {
            let e = ObjectHeader::parse(&raw(text), users).unwrap_err();
            assert!(e.to_string().contains(field), "{text}: {e}");
            assert!(!e.to_string().contains("yesterday"), "no values quoted");
        }
    }
}
