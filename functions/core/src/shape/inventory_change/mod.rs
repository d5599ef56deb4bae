//! Deletions and removals: Okta lists no tombstones, so a deleted user or a removed membership
//! simply stops appearing. The System Log says so, though: while the System Log runs (either
//! path), each such event also becomes an `Okta Inventory Change` record for the directory
//! stream it affects, so the SIEM's inventory stays true between full syncs.
//!
//! The record's `okta` is the System Log event unchanged; `relay.change` names the action and
//! both sides (`userId` + `groupId`, `appId` + `userId`, …). Its dedupe mark (`change#<uuid>`)
//! is shared by both paths, so an event seen on push and pull yields one change record.

use crate::config::OrgConfig;
use crate::pipeline::PendingRecord;
use crate::record::{self, CollectionPath, InventoryChange, RelayMetadata};
use crate::shape::log_header::LogEventHeader;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// `DetailType` of inventory change records.
pub const INVENTORY_CHANGE_DETAIL_TYPE: &str = "Okta Inventory Change";

mod rules;

use crate::limits::MAX_OBJECT_ID_CHARS;

use rules::{ChangeRule, RULES, Side};

#[derive(Deserialize)]
struct Target<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Targets<'a> {
    #[serde(borrow, default)]
    target: Option<Vec<Target<'a>>>,
}

/// What `rule` reads from the event's targets: both sides of the change.
fn read_change(
    rule: &ChangeRule,
    raw: &RawValue,
    header: &LogEventHeader,
) -> Option<InventoryChange> {
    let targets = serde_json::from_str::<Targets<'_>>(raw.get())
        .ok()
        .and_then(|t| t.target)
        .unwrap_or_default();
    let mut change = InventoryChange {
        action: rule.action,
        event_type: header.event_type.clone(),
        user_id: None,
        group_id: None,
        app_id: None,
        object_id: None,
        parent_id: None,
    };
    let mut used = vec![false; targets.len()];
    let mut pick = |kind: &str| {
        let found = targets
            .iter()
            .enumerate()
            .position(|(i, t)| !used[i] && (kind == "*" || t.kind.eq_ignore_ascii_case(kind)));
        found.map(|i| {
            used[i] = true;
            targets[i]
                .id
                .chars()
                .take(MAX_OBJECT_ID_CHARS)
                .collect::<String>()
        })
    };
    // Named target types first, so a wildcard takes a target none of them claims.
    let mut sides: Vec<(&str, Side, bool)> = rule
        .sides
        .iter()
        .map(|(k, s)| (*k, *s, true))
        .chain(rule.optional.iter().map(|(k, s)| (*k, *s, false)))
        .collect();
    sides.sort_by_key(|(kind, _, _)| *kind == "*");
    for (kind, side, required) in sides {
        let Some(id) = pick(kind) else {
            if !required {
                continue;
            }
            tracing::warn!(uuid = %header.uuid, event_type = %header.event_type, target_type = kind,
                "System Log event lacks the target an inventory change needs; no change record");
            return None;
        };
        let id = Some(id);
        match side {
            Side::User => change.user_id = id,
            Side::Group => change.group_id = id,
            Side::App => change.app_id = id,
            Side::Object => change.object_id = id,
            Side::Parent => change.parent_id = id,
        }
    }
    Some(change)
}

/// The System Log event types that become inventory changes of `stream` (for the docs).
pub fn deletion_events(stream: &str) -> Vec<&'static str> {
    RULES
        .iter()
        .filter(|r| r.stream == stream)
        .flat_map(|r| r.event_types.iter().copied())
        .collect()
}

/// The inventory change record a System Log event implies for `org`, if any. Cheap for every
/// other event: only the event type is compared.
pub fn change_record(
    raw: &RawValue,
    header: &LogEventHeader,
    org: &OrgConfig,
    path: CollectionPath,
    collected_at: DateTime<Utc>,
) -> Option<PendingRecord> {
    let rule = RULES
        .iter()
        .find(|r| r.event_types.contains(&header.event_type.as_str()))?;
    if !org.inventory.contains_key(rule.stream) {
        return None;
    }
    let change = read_change(rule, raw, header)?;
    let mut relay = RelayMetadata::new(
        &org.name,
        rule.stream,
        path,
        collected_at,
        format!("change:{}", header.uuid),
    )
    .identified(org.okta_org_id.as_deref());
    relay.change = Some(change);
    relay.malformed_published = header.published.is_none();
    let entry = record::shape(
        INVENTORY_CHANGE_DETAIL_TYPE,
        raw,
        &relay,
        Some(header.time_or(collected_at)),
    );
    Some(PendingRecord {
        dedupe_key: format!("change#{}", header.uuid),
        relay,
        entry,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RelayConfig;

    fn org(inventory: &str) -> OrgConfig {
        RelayConfig::from_json(&format!(
            r#"{{"orgs":[{{"name":"acme","secret_arn":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf","inventory":{inventory}}}]}}"#
        ))
        .unwrap()
        .orgs
        .remove(0)
    }

    fn event(event_type: &str, targets: &str) -> (Box<RawValue>, LogEventHeader) {
        let raw = RawValue::from_string(format!(
            r#"{{"uuid":"e-1","published":"2026-11-21T10:00:00.000Z","eventType":"{event_type}","target":{targets}}}"#
        ))
        .unwrap();
        let header = LogEventHeader::parse(&raw).unwrap();
        (raw, header)
    }

    #[test]
    fn a_membership_removal_names_both_sides() {
        let (raw, header) = event(
            "group.user_membership.remove",
            r#"[{"id":"00u1","type":"User"},{"id":"00g2","type":"UserGroup"}]"#,
        );
        let org = org(r#"{"groups":{},"group_members":{}}"#);
        let record = change_record(&raw, &header, &org, CollectionPath::Pull, Utc::now()).unwrap();
        assert_eq!(record.entry.detail_type, "Okta Inventory Change");
        assert_eq!(record.dedupe_key, "change#e-1");
        assert!(
            record.entry.detail.contains(raw.get()),
            "the event unchanged"
        );
        let detail: serde_json::Value = serde_json::from_str(&record.entry.detail).unwrap();
        assert_eq!(detail["relay"]["stream"], "group_members");
        assert_eq!(detail["relay"]["recordId"], "change:e-1");
        assert_eq!(
            detail["relay"]["change"],
            serde_json::json!({"action": "removed", "eventType": "group.user_membership.remove",
                "userId": "00u1", "groupId": "00g2"})
        );
    }

    #[test]
    fn only_for_collected_streams_and_complete_events() {
        let (raw, header) = event(
            "user.lifecycle.delete.initiated",
            r#"[{"id":"00u1","type":"User"}]"#,
        );
        let at = Utc::now();
        assert!(change_record(&raw, &header, &org("{}"), CollectionPath::Push, at).is_none());
        let users = org(r#"{"users":{}}"#);
        let record = change_record(&raw, &header, &users, CollectionPath::Push, at).unwrap();
        assert_eq!(
            record.relay.change.unwrap().user_id.as_deref(),
            Some("00u1")
        );
        let (raw, header) = event("user.lifecycle.delete.initiated", "null");
        assert!(change_record(&raw, &header, &users, CollectionPath::Push, at).is_none());
        let (raw, header) = event("user.session.start", r#"[{"id":"00u1","type":"User"}]"#);
        assert!(change_record(&raw, &header, &users, CollectionPath::Push, at).is_none());
        let (raw, header) = event("zone.delete", r#"[{"id":"nzo1","type":"Zone"}]"#);
        let zones = org(r#"{"zones":{}}"#);
        let record = change_record(&raw, &header, &zones, CollectionPath::Pull, at).unwrap();
        assert_eq!(
            record.relay.change.unwrap().object_id.as_deref(),
            Some("nzo1")
        );
    }
}
