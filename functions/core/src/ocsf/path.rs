//! The small path language of the mapping table: `a.b`, `target[User].id` (the first element of
//! `target` whose `type` is `User`), `target[0].id`, and `$relay.*` for the relay's metadata.
//! Sources are read with the concrete path they resolved to, so the mapper knows which Okta
//! field a copy took; targets are written, creating objects and arrays on the way.

use serde_json::{Map, Value};

/// A path, parsed once (the table compiles its paths when it is read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Path {
    segs: Vec<Seg>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
    /// `[User]`: the first element whose `type` is `User` (sources only).
    Typed(String),
}

impl Path {
    pub fn parse(text: &str) -> Self {
        let mut segs = Vec::new();
        for part in text.split('.') {
            match part.split_once('[') {
                Some((key, rest)) => {
                    segs.push(Seg::Key(key.to_string()));
                    let selector = rest.trim_end_matches(']');
                    segs.push(match selector.parse::<usize>() {
                        Ok(i) => Seg::Index(i),
                        Err(_) => Seg::Typed(selector.to_string()),
                    });
                }
                None => segs.push(Seg::Key(part.to_string())),
            }
        }
        Self { segs }
    }
}

/// One step of a concrete path into the Okta object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'p> {
    Key(&'p str),
    Index(usize),
}

/// A source path's root: the Okta object or the relay's metadata.
pub const RELAY_ROOT: &str = "$relay.";

/// Reads `path` in `root`: the value and the concrete path it resolved to, or `None` when
/// absent or null.
pub fn get<'v, 'p>(root: &'v Value, path: &'p Path) -> Option<(&'v Value, Vec<Step<'p>>)> {
    let mut steps = Vec::with_capacity(path.segs.len());
    let at = walk(root, path, |step| steps.push(step))?;
    Some((at, steps))
}

/// The value at `path`, or `None` when absent or null.
pub fn find<'v>(root: &'v Value, path: &Path) -> Option<&'v Value> {
    walk(root, path, |_| {})
}

/// [`find`] with a path's text.
pub fn read<'v>(root: &'v Value, text: &str) -> Option<&'v Value> {
    find(root, &Path::parse(text))
}

fn walk<'v, 'p>(
    root: &'v Value,
    path: &'p Path,
    mut step: impl FnMut(Step<'p>),
) -> Option<&'v Value> {
    let mut at = root;
    for seg in &path.segs {
        match seg {
            Seg::Key(key) => {
                at = at.as_object()?.get(key)?;
                step(Step::Key(key));
            }
            Seg::Index(i) => {
                at = at.as_array()?.get(*i)?;
                step(Step::Index(*i));
            }
            Seg::Typed(kind) => {
                let items = at.as_array()?;
                let i = items.iter().position(|item| {
                    item.get("type").and_then(Value::as_str) == Some(kind.as_str())
                })?;
                at = &items[i];
                step(Step::Index(i));
            }
        }
    }
    (!at.is_null()).then_some(at)
}

/// Writes `value` at the target `path` (`a.b`, `list[0].c`) in `root`, creating objects and
/// arrays on the way.
pub fn put(root: &mut Value, path: &Path, value: Value) {
    let mut at = root;
    let last = path.segs.len().saturating_sub(1);
    for (n, seg) in path.segs.iter().enumerate() {
        match seg {
            Seg::Key(key) => {
                let Some(object) = ensure_object(at) else {
                    return;
                };
                if n == last {
                    object.insert(key.clone(), value);
                    return;
                }
                if !object.contains_key(key.as_str()) {
                    object.insert(key.clone(), Value::Null);
                }
                match object.get_mut(key.as_str()) {
                    Some(next) => at = next,
                    None => return,
                }
            }
            Seg::Index(i) => {
                if at.is_null() {
                    *at = Value::Array(Vec::new());
                }
                let Some(items) = at.as_array_mut() else {
                    return;
                };
                while items.len() <= *i {
                    items.push(Value::Null);
                }
                if n == last {
                    items[*i] = value;
                    return;
                }
                at = &mut items[*i];
            }
            Seg::Typed(_) => return,
        }
    }
}

/// [`put`] with a path's text.
pub fn write(root: &mut Value, text: &str, value: Value) {
    put(root, &Path::parse(text), value);
}

fn ensure_object(at: &mut Value) -> Option<&mut Map<String, Value>> {
    if at.is_null() {
        *at = Value::Object(Map::new());
    }
    at.as_object_mut()
}

/// Sets the value at a concrete path to null (a field a copy took).
pub fn clear(root: &mut Value, steps: &[Step<'_>]) {
    let mut at = root;
    for step in steps {
        let next = match step {
            Step::Key(k) => at.as_object_mut().and_then(|o| o.get_mut(*k)),
            Step::Index(i) => at.as_array_mut().and_then(|a| a.get_mut(*i)),
        };
        match next {
            Some(next) => at = next,
            None => return,
        }
    }
    *at = Value::Null;
}

/// Drops nulls, and objects and arrays that end up empty. Returns whether anything is left.
pub fn prune(value: &mut Value) -> bool {
    match value {
        Value::Null => false,
        Value::Object(map) => {
            map.retain(|_, v| prune(v));
            !map.is_empty()
        }
        Value::Array(items) => {
            items.retain_mut(prune);
            !items.is_empty()
        }
        _ => true,
    }
}

/// [`prune`] that keeps array positions: an emptied element becomes `null` while any element
/// of its array is left (`unmapped`'s `target[1]` stays the second target).
pub fn prune_in_place(value: &mut Value) -> bool {
    match value {
        Value::Null => false,
        Value::Object(map) => {
            map.retain(|_, v| prune_in_place(v));
            !map.is_empty()
        }
        Value::Array(items) => {
            let mut any = false;
            for item in items.iter_mut() {
                if prune_in_place(item) {
                    any = true;
                } else {
                    *item = Value::Null;
                }
            }
            any
        }
        _ => true,
    }
}

/// Merges `part` into `into`: objects key by key, arrays element by element, anything else
/// replaced. A null in `part` (a position another group fills) replaces nothing.
pub fn merge(into: &mut Value, part: Value) {
    match (into, part) {
        (_, Value::Null) => {}
        (Value::Object(into), Value::Object(part)) => {
            for (k, v) in part {
                match into.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        into.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(into), Value::Array(part)) => {
            for (i, v) in part.into_iter().enumerate() {
                match into.get_mut(i) {
                    Some(existing) => merge(existing, v),
                    None => into.push(v),
                }
            }
        }
        (into, part) => *into = part,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_keys_typed_selectors_and_indexes() {
        let v = json!({"a": {"b": 1}, "target": [{"type": "AppInstance", "id": "0oa"},
            {"type": "User", "id": "00u"}], "n": null});
        assert_eq!(read(&v, "a.b").unwrap(), &json!(1));
        let path = Path::parse("target[User].id");
        let (id, steps) = get(&v, &path).unwrap();
        assert_eq!(id, "00u");
        assert_eq!(steps[1], Step::Index(1));
        assert_eq!(read(&v, "target[0].id").unwrap(), "0oa");
        assert!(read(&v, "target[UserGroup].id").is_none());
        assert!(read(&v, "n").is_none(), "null is absent");
        assert!(read(&v, "a.b.c").is_none());
    }

    #[test]
    fn writes_nested_objects_and_lists() {
        let mut v = json!({});
        write(&mut v, "a.b", json!("x"));
        write(&mut v, "list[1].c", json!(2));
        write(&mut v, "types[0]", json!("t"));
        assert_eq!(
            v,
            json!({"a": {"b": "x"}, "list": [null, {"c": 2}], "types": ["t"]})
        );
    }

    #[test]
    fn merge_joins_objects_and_array_elements() {
        let mut v = json!({"a": {"b": 1}, "l": [{"x": 1}]});
        merge(&mut v, json!({"a": {"c": 2}, "l": [{"y": 2}], "z": 3}));
        assert_eq!(
            v,
            json!({"a": {"b": 1, "c": 2}, "l": [{"x": 1, "y": 2}], "z": 3})
        );
    }

    #[test]
    fn prune_in_place_keeps_array_positions() {
        let mut v = json!({"t": [{"id": null}, {"id": 2}], "e": [null, {}]});
        assert!(prune_in_place(&mut v));
        assert_eq!(v, json!({"t": [null, {"id": 2}]}));
    }

    #[test]
    fn clear_then_prune_leaves_only_what_was_not_taken() {
        let mut v = json!({"a": {"b": 1, "c": 2}, "t": [{"id": 1}, {"id": 2, "x": 3}], "z": null});
        let path = Path::parse("a.b");
        let (_, steps) = get(&v.clone(), &path).unwrap();
        clear(&mut v, &steps);
        clear(&mut v, &[Step::Key("t"), Step::Index(0), Step::Key("id")]);
        assert!(prune(&mut v));
        assert_eq!(v, json!({"a": {"c": 2}, "t": [{"id": 2, "x": 3}]}));
    }
}
