//! The per-class field tables in `docs/ocsf.md`, generated from the mapping table so the
//! document cannot drift from what the relay does: a test rewrites them under
//! `OKTA_RELAY_BLESS=1` and fails when the committed text differs.

use super::table::{Check, Field, Group, Sources, TABLE};
use std::fmt::Write;

const START: &str = "<!-- field tables: generated from mapping.json, do not edit -->";
const END: &str = "<!-- end of field tables -->";

/// Where a field's value comes from, in words.
fn source(field: &Field) -> String {
    if let Some(value) = &field.value {
        return format!("always `{value}`");
    }
    let paths: Vec<String> = match &field.from {
        Sources::None => Vec::new(),
        Sources::One(p) => vec![format!("`{p}`")],
        Sources::Any(ps) => ps.iter().map(|p| format!("`{p}`")).collect(),
    };
    let mut text = paths.join(", else ");
    if let Some(lookup) = &field.lookup {
        let pairs: Vec<String> = lookup.iter().map(|(k, v)| format!("{k} → {v}")).collect();
        let _ = write!(text, ": {}", pairs.join(", "));
        if let Some(other) = &field.default_lookup {
            let _ = write!(text, ", other → {other}");
        }
        if field.keep_unlisted {
            text.push_str(", other as it is");
        }
    }
    if let Some(default) = &field.default {
        let _ = write!(text, "; none → {default}");
    }
    if let Some(separator) = &field.split {
        let _ = write!(text, ", a list split at `{separator}`");
    }
    if let Some(format) = &field.format {
        let _ = write!(text, " as `{format}`");
    }
    if let Some(check) = field.check {
        text.push_str(match check {
            Check::Email => " (only an e-mail address)",
            Check::Ip => " (only an IP address)",
            Check::Known => " (not Okta's `unknown` or `null`)",
        });
    }
    text
}

/// When a group applies, in words.
fn condition(group: &Group) -> String {
    let mut parts = Vec::new();
    if let Some(when) = &group.when {
        if !when.is.is_empty() {
            parts.push(format!("`{}` is {}", when.path, when.is.join(", ")));
        }
        if !when.is_not.is_empty() {
            parts.push(format!("`{}` is not {}", when.path, when.is_not.join(", ")));
        }
    }
    if let Some(needs) = &group.needs {
        parts.push(format!("with `{needs}`"));
    }
    if let Some(absent) = &group.needs_absent {
        parts.push(format!("without `{absent}` from the rows above"));
    }
    if !group.requires_any.is_empty() {
        parts.push(format!(
            "kept if it fills {}",
            group.requires_any.join(" or ")
        ));
    }
    parts.join("; ")
}

fn tables() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{START}");
    for class in &TABLE.classes {
        let _ = writeln!(out, "\n#### {} {}\n", class.uid, class.name);
        if !class.profiles.is_empty() {
            let _ = writeln!(out, "Profiles: {}.\n", class.profiles.join(", "));
        }
        let _ = writeln!(out, "| OCSF field | from | group (when) |");
        let _ = writeln!(out, "|---|---|---|");
        for name in &class.groups {
            let Some(group) = TABLE.groups.get(name) else {
                continue;
            };
            let when = condition(group);
            let label = if when.is_empty() {
                format!("`{name}`")
            } else {
                format!("`{name}` ({when})")
            };
            for field in &group.fields {
                let _ = writeln!(out, "| `{}` | {} | {label} |", field.to, source(field));
            }
        }
    }
    let _ = writeln!(out, "\n{END}");
    out
}

#[test]
fn the_field_tables_in_ocsf_md_match_the_mapping_table() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ocsf.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (Some(start), Some(end)) = (doc.find(START), doc.find(END)) else {
        panic!("docs/ocsf.md has no field tables section ({START} … {END})");
    };
    let fresh = format!(
        "{}{}{}",
        &doc[..start],
        tables().trim_end(),
        &doc[end + END.len()..]
    );
    if std::env::var_os("OKTA_RELAY_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    assert!(
        std::fs::read_to_string(&path).unwrap() == fresh,
        "docs/ocsf.md's field tables are stale: run OKTA_RELAY_BLESS=1 cargo test -p okta-relay field_tables"
    );
}
