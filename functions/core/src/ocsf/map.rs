//! Applies the mapping table to one Okta object: the first rule that matches the event type
//! and fills its class's required objects wins; its class's field groups fill the event; what
//! no copy took goes to `unmapped`, so nothing Okta sent is lost.

use super::path::{self, Step};
use super::table::{Class, Field, FieldType, Group, TABLE, Table};
use serde_json::{Value, json};

/// One OCSF event and the class it belongs to.
#[derive(Debug, Clone)]
pub struct Mapped {
    pub class_uid: u32,
    pub class_name: &'static str,
    pub activity_id: u32,
    /// `time`, epoch milliseconds.
    pub time_ms: i64,
    pub event: Value,
}

/// Maps a System Log event (taken: what no copy took becomes `unmapped` without a copy).
/// `relay` is the record's relay metadata as JSON.
pub fn system_log(event: Value, relay: &Value, time_ms: i64) -> Mapped {
    let table: &'static Table = &TABLE;
    let event_type = event.get("eventType").and_then(Value::as_str).unwrap_or("");
    let mut named = None;
    for rule in table.rules.iter().filter(|r| r.matches(event_type)) {
        let Some(class) = table.class(rule.class) else {
            continue;
        };
        let activity = match (&rule.activity_id, &rule.activity_verbs) {
            (Some(id), _) => *id,
            (None, Some(verbs)) => verb_activity(table, verbs, event_type),
            (None, None) => 99,
        };
        named.get_or_insert((class, activity));
        if let Some(filled) = fill(table, class, &event, relay) {
            return finish(table, class, activity, filled, event, time_ms);
        }
        if rule.is_final {
            return sparse(table, class, activity, event, relay, time_ms);
        }
    }
    match named {
        Some((class, activity)) => sparse(table, class, activity, event, relay, time_ms),
        // The last rule matches everything: this only runs if the table were broken.
        None => fallback(table, event, time_ms),
    }
}

/// An event too sparse (or too redacted) for any class its type matches: the class its type
/// names first, with every field that did come out (its id, type, time, message), and each
/// missing required object as OCSF's "Unknown", named in `metadata.labels`
/// (`okta-relay.missing=<object>`) so an analyst sees what was made up.
fn sparse(
    table: &'static Table,
    class: &'static Class,
    activity_id: u32,
    event: Value,
    relay: &Value,
    time_ms: i64,
) -> Mapped {
    let (mut out, taken) = fill_parts(table, class, &event, relay);
    let present = |out: &Value, name: &str| out.get(name).is_some();
    let mut missing: Vec<&str> = class
        .required
        .iter()
        .map(String::as_str)
        .filter(|name| !present(&out, name))
        .collect();
    for set in &class.required_any {
        if !set.iter().any(|name| present(&out, name))
            && let Some(first) = set.first()
        {
            missing.push(first);
        }
    }
    for name in &missing {
        out[*name] = unknown(name, &event);
        let labels = &mut out["metadata"]["labels"];
        if !labels.is_array() {
            *labels = json!([]);
        }
        if let Some(labels) = labels.as_array_mut() {
            labels.push(json!(format!("okta-relay.missing={name}")));
        }
    }
    finish(table, class, activity_id, (out, taken), event, time_ms)
}

/// OCSF's "Unknown" form of a required object the event did not fill.
fn unknown(object: &str, event: &Value) -> Value {
    let text = |key: &str| event.get(key).and_then(Value::as_str).unwrap_or("");
    match object {
        "user" => json!({"name": "Unknown", "type": "Unknown", "type_id": 0}),
        "privileges" => json!(["Unknown"]),
        "finding_info" => json!({"uid": text("uuid"), "title": text("eventType")}),
        "actor" => json!({"user": {"name": "Unknown", "type": "Unknown", "type_id": 0}}),
        "api" => json!({"operation": text("eventType"), "request": {"uid": ""}}),
        "src_endpoint" => json!({"svc_name": "Okta"}),
        _ => json!({"name": "Unknown"}),
    }
}

/// Maps a directory object of `stream`, if the table maps that stream.
pub fn directory(stream: &str, object: Value, relay: &Value, time_ms: i64) -> Option<Mapped> {
    let table: &'static Table = &TABLE;
    let rule = table.inventory.iter().find(|r| r.stream == stream)?;
    let class = table.class(rule.class)?;
    let filled = fill(table, class, &object, relay)?;
    Some(finish(
        table,
        class,
        rule.activity_id,
        filled,
        object,
        time_ms,
    ))
}

/// A class's fields of one event, and the Okta fields they copied.
type Filled = (Value, Vec<Vec<Step<'static>>>);

/// The activity named by the last segment of the event type that is a verb of the table.
fn verb_activity(table: &Table, verbs: &str, event_type: &str) -> u32 {
    let Some(verbs) = table.verbs.get(verbs) else {
        return 99;
    };
    event_type
        .rsplit('.')
        .find_map(|segment| verbs.get(segment).copied())
        .unwrap_or(99)
}

/// The class's fields out of `source`, if its required objects all came out.
fn fill(
    table: &'static Table,
    class: &'static Class,
    source: &Value,
    relay: &Value,
) -> Option<Filled> {
    let (out, taken) = fill_parts(table, class, source, relay);
    let present = |name: &String| out.get(name).is_some();
    if !class.required.iter().all(present)
        || !class.required_any.iter().all(|set| set.iter().any(present))
    {
        return None;
    }
    Some((out, taken))
}

/// Every field group of the class that applies, whatever is missing.
fn fill_parts(
    table: &'static Table,
    class: &'static Class,
    source: &Value,
    relay: &Value,
) -> Filled {
    let mut out = json!({});
    let mut taken: Vec<Vec<Step<'static>>> = Vec::new();
    for name in &class.groups {
        let Some(group) = table.groups.get(name) else {
            continue;
        };
        if !applies(group, &out, source) {
            continue;
        }
        let mut part = json!({});
        let mut part_taken = Vec::new();
        for field in &group.fields {
            apply(field, source, relay, &mut part, &mut part_taken);
        }
        // Positions stay: `resources[1]` of one group is the second resource, after the first
        // that another group wrote.
        path::prune_in_place(&mut part);
        let whole = group.requires.is_empty()
            || group
                .requires
                .iter()
                .any(|p| path::find(&part, p).is_some());
        if whole {
            path::merge(&mut out, part);
            taken.extend(part_taken);
        }
    }
    path::prune(&mut out);
    (out, taken)
}

/// The event: the class's fields, its header, and `unmapped` (the source less what was taken).
fn finish(
    table: &'static Table,
    class: &'static Class,
    activity_id: u32,
    (mut out, taken): Filled,
    mut source: Value,
    time_ms: i64,
) -> Mapped {
    let activity_name = class.activity_name(activity_id);
    let type_uid = u64::from(class.uid) * 100 + u64::from(activity_id);
    out["class_uid"] = json!(class.uid);
    out["class_name"] = json!(class.name);
    out["category_uid"] = json!(class.category_uid);
    out["category_name"] = json!(class.category_name);
    out["activity_id"] = json!(activity_id);
    out["activity_name"] = json!(activity_name);
    out["type_uid"] = json!(type_uid);
    out["type_name"] = json!(format!("{}: {activity_name}", class.name));
    out["time"] = json!(time_ms);
    let severity_id = out.get("severity_id").and_then(Value::as_u64).unwrap_or(0);
    out["severity_id"] = json!(severity_id);
    if out.get("severity").is_none() {
        out["severity"] = json!(severity_caption(severity_id));
    }
    if !class.profiles.is_empty() {
        out["metadata"]["profiles"] = json!(class.profiles);
    }
    product(table, &mut out);
    for steps in &taken {
        path::clear(&mut source, steps);
    }
    if path::prune_in_place(&mut source) {
        out["unmapped"] = source;
    }
    Mapped {
        class_uid: class.uid,
        class_name: &class.name,
        activity_id,
        time_ms,
        event: out,
    }
}

/// OCSF's caption of a `severity_id`.
fn severity_caption(id: u64) -> &'static str {
    match id {
        1 => "Informational",
        2 => "Low",
        3 => "Medium",
        4 => "High",
        5 => "Critical",
        6 => "Fatal",
        99 => "Other",
        _ => "Unknown",
    }
}

/// `metadata.version` and `metadata.product`.
fn product(table: &Table, out: &mut Value) {
    out["metadata"]["version"] = json!(table.version);
    out["metadata"]["product"]["vendor_name"] = json!(table.product.vendor_name);
    out["metadata"]["product"]["name"] = json!(table.product.name);
}

/// Whether the event so far has what the group needs, and the Okta object meets its condition.
fn applies(group: &Group, out: &Value, source: &Value) -> bool {
    let present = |p: &path::Path| path::find(out, p).is_some();
    group.needs_path.as_ref().is_none_or(present)
        && !group.needs_absent_path.as_ref().is_some_and(present)
        && group
            .when
            .as_ref()
            .is_none_or(|w| w.holds(path::find(source, &w.source)))
}

/// Writes one field, and notes the Okta field it copied.
fn apply(
    field: &'static Field,
    source: &Value,
    relay: &Value,
    out: &mut Value,
    taken: &mut Vec<Vec<Step<'static>>>,
) {
    if let Some(value) = &field.value {
        path::put(out, &field.target, value.clone());
        return;
    }
    // The first source present (and, for a checked field, of the right shape) wins.
    let found = field.sources.iter().find_map(|(from_relay, p)| {
        let (value, steps) = if *from_relay {
            (path::find(relay, p)?, None)
        } else {
            let (v, steps) = path::get(source, p)?;
            (v, Some(steps))
        };
        if field.lookup.is_some() {
            return Some((value.clone(), steps));
        }
        let converted = convert(value, field.kind)?;
        if let Some(check) = field.check
            && !converted.as_str().is_some_and(|text| check.accepts(text))
        {
            return None;
        }
        Some((converted, steps))
    });
    let Some((mut value, steps)) = found else {
        if let Some(default) = &field.default {
            path::put(out, &field.target, default.clone());
        }
        return;
    };
    if let Some(lookup) = &field.lookup {
        let key = value
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| value.to_string());
        match lookup.get(&key).or(field.default_lookup.as_ref()) {
            Some(v) => path::put(out, &field.target, v.clone()),
            // A word the lookup lacks is copied as it is, if it is one (not a list or object).
            None if field.keep_unlisted => {
                if let Some(word) = convert(&value, field.kind) {
                    path::put(out, &field.target, word);
                    if let Some(steps) = steps {
                        taken.push(steps);
                    }
                }
            }
            None => {}
        }
        return;
    }
    if let (Some(separator), Some(text)) = (&field.split, value.as_str()) {
        let items: Vec<Value> = text
            .split(separator.as_str())
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| Value::String(item.to_string()))
            .collect();
        if !items.is_empty() {
            path::put(out, &field.target, Value::Array(items));
        }
        return;
    }
    if let (Some(template), Some(text)) = (&field.format, value.as_str()) {
        value = Value::String(template.replace("{}", text));
    }
    path::put(out, &field.target, value);
    if let Some(steps) = steps {
        taken.push(steps);
    }
}

/// The value as the field's type, or `None` when it is not one (it then stays unmapped).
fn convert(value: &Value, kind: FieldType) -> Option<Value> {
    match kind {
        FieldType::String => match value {
            Value::String(_) => Some(value.clone()),
            Value::Number(n) => Some(Value::String(n.to_string())),
            Value::Bool(b) => Some(Value::String(b.to_string())),
            _ => None,
        },
        // An `int` is a 32-bit column in the lake's Parquet: a larger number (a 32-bit AS
        // number) stays in `unmapped` rather than failing the object.
        FieldType::Int => integer(value)
            .filter(|n| i32::try_from(*n).is_ok())
            .map(Value::from),
        FieldType::Long => integer(value).map(Value::from),
        FieldType::Float => match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|f| f.is_finite())
        .map(Value::from),
    }
}

fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
}

/// API Activity with only the constant fields and everything unmapped.
fn fallback(table: &'static Table, event: Value, time_ms: i64) -> Mapped {
    let event_type = event
        .get("eventType")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut out = json!({
        "class_uid": 6003, "class_name": "API Activity", "category_uid": 6,
        "category_name": "Application Activity", "activity_id": 99, "activity_name": "Other",
        "type_uid": 600399, "type_name": "API Activity: Other", "time": time_ms, "severity_id": 0,
        "severity": "Unknown",
        "actor": {"app_name": "Okta"}, "src_endpoint": {"svc_name": "Okta"},
        "api": {"operation": event_type, "request": {"uid": ""}},
    });
    product(table, &mut out);
    if let Some(uid) = event.get("uuid").and_then(Value::as_str) {
        out["metadata"]["uid"] = json!(uid);
    }
    out["metadata"]["event_code"] = json!(event_type);
    out["unmapped"] = event;
    Mapped {
        class_uid: 6003,
        class_name: "API Activity",
        activity_id: 99,
        time_ms,
        event: out,
    }
}
