//! The org's event-type allow/deny list, applied the same way on the push and pull paths.
//!
//! An entry matches an event type exactly, or as a prefix when it ends in `*`
//! (`user.session.*`). With a non-empty `allow`, only matching types pass; `deny` then removes
//! types from what is left. Filtered events are counted, never silently lost: the counters say
//! how many, and the configuration says which.

use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EventTypeFilter {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

fn matches(pattern: &str, event_type: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => event_type.starts_with(prefix),
        None => pattern == event_type,
    }
}

impl EventTypeFilter {
    pub fn allows(&self, event_type: &str) -> bool {
        (self.allow.is_empty() || self.allow.iter().any(|p| matches(p, event_type)))
            && !self.deny.iter().any(|p| matches(p, event_type))
    }

    /// The first entry that cannot match anything sensible, for configuration errors.
    pub fn invalid_entry(&self) -> Option<&str> {
        self.allow
            .iter()
            .chain(&self.deny)
            .map(String::as_str)
            .find(|p| {
                p.trim().is_empty()
                    || p.trim() != *p
                    || p.strip_suffix('*').unwrap_or(p).contains('*')
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_text_is_judged_without_panicking() {
        // A multi-byte last character once panicked the check (a byte slice mid-character).
        for entry in ["é", "user.é", "é*", "*é", "a*é", "\u{1F984}"] {
            let f = EventTypeFilter {
                allow: vec![],
                deny: vec![entry.to_string()],
            };
            let invalid = f.invalid_entry().is_some();
            assert_eq!(invalid, entry.starts_with('*') || entry == "a*é", "{entry}");
            assert!(f.allows("user.session.start"));
        }
    }

    #[test]
    fn allow_then_deny_with_prefixes() {
        let f = EventTypeFilter {
            allow: vec![
                "user.session.*".into(),
                "user.lifecycle.delete.initiated".into(),
            ],
            deny: vec!["user.session.end".into()],
        };
        assert!(f.allows("user.session.start"));
        assert!(f.allows("user.lifecycle.delete.initiated"));
        assert!(!f.allows("user.session.end"));
        assert!(!f.allows("policy.evaluate_sign_on"));
        let deny_only = EventTypeFilter {
            allow: vec![],
            deny: vec!["policy.*".into()],
        };
        assert!(deny_only.allows("user.session.start"));
        assert!(!deny_only.allows("policy.evaluate_sign_on"));
        assert!(EventTypeFilter::default().allows("anything"));
    }

    #[test]
    fn malformed_entries_are_reported() {
        for bad in ["", " user.session.start", "user.*.start"] {
            let f = EventTypeFilter {
                allow: vec![bad.into()],
                deny: vec![],
            };
            assert_eq!(f.invalid_entry(), Some(bad));
        }
        assert_eq!(
            EventTypeFilter {
                allow: vec!["a.*".into()],
                deny: vec!["b".into()]
            }
            .invalid_entry(),
            None
        );
    }
}
