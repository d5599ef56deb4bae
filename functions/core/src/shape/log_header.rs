//! The few fields of a System Log event the relay reads: `uuid` (the dedupe key), `eventType`
//! and `published`. The event itself stays a [`RawValue`] and is forwarded byte for byte.
//!
//! Only `uuid` and `eventType` are required. `published` feeds lag, age and the entry's `Time`,
//! none of which is a reason to withhold an event from the SIEM: a missing, redacted or
//! malformed one is `None`, and the event goes on with the receipt time (counted as
//! `MalformedPublished` and marked in its `relay` block).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use thiserror::Error;

/// A System Log event that lacks what the relay needs.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum InvalidLogEvent {
    #[error("System Log event is not a JSON object with uuid and eventType ({0})")]
    Shape(String),
    #[error("System Log event field `{0}` is empty or invalid")]
    Field(&'static str),
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    uuid: std::borrow::Cow<'a, str>,
    #[serde(rename = "eventType", borrow)]
    event_type: std::borrow::Cow<'a, str>,
    /// Any JSON at all: read as a timestamp if it is one.
    #[serde(default, borrow)]
    published: Option<&'a RawValue>,
}

/// The fields the relay reads from a System Log event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEventHeader {
    pub uuid: String,
    /// `None` when the event has no `published`, or one that is not an RFC 3339 time.
    pub published: Option<DateTime<Utc>>,
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
        let published = header
            .published
            .and_then(|raw| serde_json::from_str::<std::borrow::Cow<'_, str>>(raw.get()).ok())
            // chrono also takes a space for the `T`; JSON Schema's date-time (and SIEMs) do not.
            .filter(|text| text.as_bytes().get(10) == Some(&b'T'))
            .and_then(|text| DateTime::parse_from_rfc3339(&text).ok())
            .map(|t| t.with_timezone(&Utc));
        Ok(Self {
            uuid: header.uuid.into_owned(),
            published,
            event_type: header.event_type.into_owned(),
        })
    }

    /// `published`, or `fallback` (the receipt time) when it is missing or unreadable.
    pub fn time_or(&self, fallback: DateTime<Utc>) -> DateTime<Utc> {
        self.published.unwrap_or(fallback)
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

    #[test]
    fn an_unreadable_published_is_none_and_the_event_stays_valid() {
        for published in [
            "",
            r#","published":"redacted""#,
            r#","published":"2025-08-19T19: 49: 51.342Z""#,
            r#","published":"2026-11-21 10:00:00Z""#,
            r#","published":null"#,
            r#","published":1700000000"#,
            r#","published":{"at":"2026-11-21T10:00:00Z"}"#,
        ] {
            let text = format!(r#"{{"uuid":"a","eventType":"x"{published}}}"#);
            let header = LogEventHeader::parse(&raw(&text)).expect(&text);
            assert_eq!(header.published, None, "{text}");
            let now = Utc::now();
            assert_eq!(header.time_or(now), now);
        }
        let header = LogEventHeader::parse(&raw(
            r#"{"uuid":"a","published":"2026-11-21T10:00:00.5Z","eventType":"x"}"#,
        ))
        .unwrap();
        assert_eq!(
            header.published.map(|t| t.timestamp_millis()),
            Some(1_795_255_200_500)
        );
    }
}
