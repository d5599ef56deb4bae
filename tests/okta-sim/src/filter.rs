//! The subset of Okta's SCIM filter expressions the relay and its tests use:
//! `attr op "value"` (or `attr pr`) joined by `and` / `or` (`and` binds tighter), with the
//! operators `eq`, `ne`, `gt`, `ge`, `lt`, `le`, `sw`, `co`, `pr`. Attributes are dotted paths into
//! the object's JSON (`profile.login`, `lastUpdated`). Values that parse as RFC 3339 timestamps
//! compare as times; others as case-insensitive strings, like Okta.

use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Sw,
    Co,
    Pr,
}

#[derive(Debug, Clone, PartialEq)]
struct Clause {
    attr: String,
    op: Op,
    value: String,
}

/// A parsed filter: a disjunction of conjunctions.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    any_of: Vec<Vec<Clause>>,
}

fn tokens(input: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut s = String::from("\"");
            loop {
                match chars.next() {
                    Some('\\') => s.push(chars.next().ok_or("unterminated escape")?),
                    Some('"') => break,
                    Some(ch) => s.push(ch),
                    None => return Err("unterminated string".into()),
                }
            }
            out.push(s);
        } else {
            let mut s = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || ch == '"' {
                    break;
                }
                s.push(ch);
                chars.next();
            }
            out.push(s);
        }
    }
    Ok(out)
}

impl Filter {
    pub fn parse(input: &str) -> Result<Self, String> {
        let toks = tokens(input)?;
        let mut any_of = vec![Vec::new()];
        let mut i = 0;
        while i < toks.len() {
            let attr = toks[i].clone();
            if attr.starts_with('"') || attr.is_empty() {
                return Err(format!("expected an attribute at {attr:?}"));
            }
            let op = match toks.get(i + 1).map(|s| s.to_ascii_lowercase()).as_deref() {
                Some("eq") => Op::Eq,
                Some("ne") => Op::Ne,
                Some("gt") => Op::Gt,
                Some("ge") => Op::Ge,
                Some("lt") => Op::Lt,
                Some("le") => Op::Le,
                Some("sw") => Op::Sw,
                Some("co") => Op::Co,
                Some("pr") => Op::Pr,
                other => return Err(format!("unsupported operator {other:?}")),
            };
            let value = if op == Op::Pr {
                i += 2;
                String::new()
            } else {
                let v = toks.get(i + 2).ok_or("missing value")?;
                i += 3;
                match v.strip_prefix('"') {
                    Some(s) => s.to_string(),
                    None if v == "true" || v == "false" || v.parse::<f64>().is_ok() => v.clone(),
                    None => return Err(format!("value must be quoted: {v}")),
                }
            };
            if let Some(clauses) = any_of.last_mut() {
                clauses.push(Clause { attr, op, value });
            }
            match toks.get(i).map(|s| s.to_ascii_lowercase()).as_deref() {
                None => break,
                Some("and") => i += 1,
                Some("or") => {
                    any_of.push(Vec::new());
                    i += 1;
                }
                Some(other) => return Err(format!("expected and/or, found {other:?}")),
            }
            if i >= toks.len() {
                return Err("dangling and/or".into());
            }
        }
        if any_of.iter().any(Vec::is_empty) {
            return Err("empty filter".into());
        }
        Ok(Self { any_of })
    }

    /// The attributes the filter uses (for endpoints that allow only some).
    pub fn attributes(&self) -> impl Iterator<Item = &str> {
        self.any_of.iter().flatten().map(|c| c.attr.as_str())
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.any_of
            .iter()
            .any(|all| all.iter().all(|c| c.matches(object)))
    }
}

fn lookup<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(object, |v, key| v.get(key))
}

fn as_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Clause {
    fn matches(&self, object: &Value) -> bool {
        let found = lookup(object, &self.attr).filter(|v| !v.is_null());
        if self.op == Op::Pr {
            return found.is_some();
        }
        let Some(found) = found else {
            return self.op == Op::Ne;
        };
        let text = match found {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let ordering = match (as_time(&text), as_time(&self.value)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => text.to_lowercase().cmp(&self.value.to_lowercase()),
        };
        match self.op {
            Op::Eq => ordering.is_eq(),
            Op::Ne => ordering.is_ne(),
            Op::Gt => ordering.is_gt(),
            Op::Ge => ordering.is_ge(),
            Op::Lt => ordering.is_lt(),
            Op::Le => ordering.is_le(),
            Op::Sw => text.to_lowercase().starts_with(&self.value.to_lowercase()),
            Op::Co => text.to_lowercase().contains(&self.value.to_lowercase()),
            Op::Pr => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_evaluates_okta_filters() {
        let user = json!({"status": "ACTIVE", "lastUpdated": "2026-11-21T10:00:00.000Z", "profile": {"login": "a@example.com"}});
        let yes = [
            r#"lastUpdated gt "2026-11-21T09:59:59.999Z""#,
            r#"lastUpdated ge "2026-11-21T10:00:00Z""#,
            r#"status eq "active""#,
            r#"status eq "DEPROVISIONED" or lastUpdated lt "2027-01-01T00:00:00.000Z""#,
            r#"profile.login sw "a@" and status eq "ACTIVE""#,
            "profile.login pr",
        ];
        for f in yes {
            assert!(Filter::parse(f).unwrap().matches(&user), "{f}");
        }
        let no = [
            r#"lastUpdated gt "2026-11-21T10:00:00.000Z""#,
            r#"status eq "ACTIVE" and lastUpdated gt "2026-11-22T00:00:00Z""#,
            "profile.mobilePhone pr",
        ];
        for f in no {
            assert!(!Filter::parse(f).unwrap().matches(&user), "{f}");
        }
    }

    #[test]
    fn rejects_malformed_filters() {
        for f in [
            "",
            "status",
            "status eq",
            "status eq ACTIVE",
            r#"status xx "A""#,
            r#"status eq "A" and"#,
            r#"status eq "A"#,
        ] {
            assert!(Filter::parse(f).is_err(), "{f}");
        }
    }
}
