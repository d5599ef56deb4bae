//! The few fields of a System Log event the relay reads: `uuid` (the dedupe key), `published`
//! and `eventType`. The event itself stays a [`RawValue`] and is forwarded byte for byte.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use thiserror::Error;

/// A System Log event that lacks what the relay needs.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum InvalidLogEvent {
    #[error("System Log event is not a JSON object with uuid, published and eventType ({0})")]
    Shape(String),
    #[error("System Log event field `{0}` is empty or invalid")]
    Field(&'static str),
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    uuid: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    published: std::borrow::Cow<'a, str>,
    #[serde(rename = "eventType", borrow)]
    event_type: std::borrow::Cow<'a, str>,
}

/// The fields the relay reads from a System Log event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEventHeader {
    pub uuid: String,
    pub published: DateTime<Utc>,
    pub event_type: String,
}

impl LogEventHeader {
    pub fn parse(raw: &RawValue) -> Result<Self, InvalidLogEvent> {
        let header: Header<'_> = serde_json::from_str(raw.get()).map_err(|e| {
            let what = e.to_string();
            // Keep serde's "missing field `uuid`" but not any quoted value.
            let what = what
                .split(':')
                .next()
                .unwrap_or("invalid")
                .chars()
                .take(80)
                .collect();
            InvalidLogEvent::Shape(what)
        })?;
        if header.uuid.trim().is_empty() || header.uuid.len() > 128 {
            return Err(InvalidLogEvent::Field("uuid"));
        }
        if header.event_type.trim().is_empty() || header.event_type.len() > 256 {
            return Err(InvalidLogEvent::Field("eventType"));
        }
        let published = DateTime::parse_from_rfc3339(&header.published)
            .map_err(|_| InvalidLogEvent::Field("published"))?
            .with_timezone(&Utc);
        Ok(Self {
            uuid: header.uuid.into_owned(),
            published,
            event_type: header.event_type.into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    #[test]
    fn names_what_is_missing_or_invalid() {
        let cases = [
            (
                r#"{"published":"2026-11-21T10:00:00Z","eventType":"x"}"#,
                "uuid",
            ),
            (
                r#"{"uuid":"a","published":"yesterday","eventType":"x"}"#,
                "published",
            ),
            (
                r#"{"uuid":"","published":"2026-11-21T10:00:00Z","eventType":"x"}"#,
                "uuid",
            ),
            (
                r#"{"uuid":"a","published":"2026-11-21T10:00:00Z","eventType":""}"#,
                "eventType",
            ),
            (
                r#"{"uuid":"a","published":"2026-11-21T10:00:00Z"}"#,
                "eventType",
            ),
            (r#"[1]"#, "invalid"),
            (
                r#"{"uuid":5,"published":"2026-11-21T10:00:00Z","eventType":"x"}"#,
                "invalid type",
            ),
        ];
        for (text, what) in cases {
            let e = LogEventHeader::parse(&raw(text)).unwrap_err();
            assert!(e.to_string().contains(what), "{text}: {e}");
        }
    }
}
