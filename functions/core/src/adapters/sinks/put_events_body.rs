//! The PutEvents request body, written once.
//!
//! A record's `Detail` is JSON text that AWS's API carries as a JSON string, so every byte of it
//! is escaped on the way into the request. The SDK's serializer does that by copying the record
//! into its own entry, escaping it byte by byte into a new string and copying that into the
//! body: the largest share of the poller's CPU after HTTP (BENCHMARKS.md). Here each entry is
//! escaped once, straight into the body (`json_string`), and [`WrittenBody`] puts that body on the SDK's
//! request before the retry loop. Everything else stays the SDK's: the endpoint, the
//! credentials, SigV4 (which signs the body it finds, so ours), retries, timeouts and the
//! response's parsing. The body is the one the SDK's `awsJson1.1` serializer writes for the
//! same entries: the same members in the same order, `Time` in epoch seconds.

use super::json_string;
use crate::limits::PUT_EVENTS_ENTRY_FRAME_BYTES;
use crate::ports::SinkEntry;
use aws_sdk_eventbridge::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_eventbridge::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_eventbridge::primitives::{DateTime, DateTimeFormat};
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;

/// The JSON body of one PutEvents call putting `entries` on `bus`.
pub fn write(bus: &str, entries: &[&SinkEntry]) -> Bytes {
    let capacity = entries
        .iter()
        .map(|e| PUT_EVENTS_ENTRY_FRAME_BYTES + bus.len() + e.size() + e.detail.len() / 4)
        .sum::<usize>()
        + 16;
    let mut body = Vec::with_capacity(capacity);
    body.extend_from_slice(b"{\"Entries\":[");
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        write_entry(&mut body, bus, entry);
    }
    body.extend_from_slice(b"]}");
    Bytes::from(body)
}

/// One `PutEventsRequestEntry`, members in the SDK's order.
fn write_entry(body: &mut Vec<u8>, bus: &str, entry: &SinkEntry) {
    body.push(b'{');
    // Epoch seconds, as the SDK writes them (`1700000000.12`); formatting them cannot fail.
    let time = entry.time.and_then(|t| {
        DateTime::from_millis(t.timestamp_millis())
            .fmt(DateTimeFormat::EpochSeconds)
            .ok()
    });
    if let Some(seconds) = time {
        body.extend_from_slice(b"\"Time\":");
        body.extend_from_slice(seconds.as_bytes());
        body.push(b',');
    }
    member(body, "Source", &entry.source);
    if !entry.resources.is_empty() {
        body.extend_from_slice(b"\"Resources\":[");
        for (i, resource) in entry.resources.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            json_string::write(body, resource);
        }
        body.extend_from_slice(b"],");
    }
    member(body, "DetailType", &entry.detail_type);
    member(body, "Detail", &entry.detail);
    body.extend_from_slice(b"\"EventBusName\":");
    json_string::write(body, bus);
    body.push(b'}');
}

/// `"name":"value",`.
fn member(body: &mut Vec<u8>, name: &str, value: &str) {
    body.push(b'"');
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(b"\":");
    json_string::write(body, value);
    body.push(b',');
}

/// Puts a body written by [`write`] on the SDK's PutEvents request in place of the one its
/// serializer wrote (for no entries), with its `Content-Length`, before the request is signed.
pub struct WrittenBody(pub Bytes);

/// The length only: the body holds records, which have no place in a debug line.
impl std::fmt::Debug for WrittenBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WrittenBody({} bytes)", self.0.len())
    }
}

impl Intercept for WrittenBody {
    fn name(&self) -> &'static str {
        "WrittenBody"
    }

    fn modify_before_retry_loop(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let request = context.request_mut();
        request
            .headers_mut()
            .insert("content-length", self.0.len().to_string());
        *request.body_mut() = SdkBody::from(self.0.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::{Value, json};

    fn entry(detail: &str, resources: &[&str], millis: Option<i64>) -> SinkEntry {
        SinkEntry {
            source: "okta-relay.okta.example".into(),
            detail_type: "Okta System Log".into(),
            detail: detail.into(),
            time: millis.map(|m| chrono::Utc.timestamp_millis_opt(m).unwrap()),
            resources: resources.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn every_member_reads_back_as_it_was_given() {
        let hostile = "{\"a\":\"quote \\\" backslash \\\\ tab\\t\",\"b\":\"\u{1}\u{1f}\u{7f} é \u{2028} 🙂 </script>\"}";
        let with_all = entry(
            hostile,
            &["arn:aws:okta:::app/1", "x\"y"],
            Some(1_700_000_000_123),
        );
        let bare = entry("{}", &[], None);
        let whole_second = entry("{\"n\":1}", &[], Some(1_700_000_001_000));
        let body = write("okta-relay-delivery", &[&with_all, &bare, &whole_second]);
        let parsed: Value = serde_json::from_slice(&body).expect("the body is JSON");
        assert_eq!(
            parsed,
            json!({"Entries": [
                {"Time": 1_700_000_000.123, "Source": "okta-relay.okta.example",
                 "Resources": ["arn:aws:okta:::app/1", "x\"y"], "DetailType": "Okta System Log",
                 "Detail": hostile, "EventBusName": "okta-relay-delivery"},
                {"Source": "okta-relay.okta.example", "DetailType": "Okta System Log",
                 "Detail": "{}", "EventBusName": "okta-relay-delivery"},
                {"Time": 1_700_000_001, "Source": "okta-relay.okta.example",
                 "DetailType": "Okta System Log", "Detail": "{\"n\":1}",
                 "EventBusName": "okta-relay-delivery"},
            ]})
        );
    }

    #[test]
    fn the_members_come_in_the_sdks_order_and_time_as_its_epoch_seconds() {
        let e = entry("{\"k\":\"v\"}", &["r"], Some(1_700_000_000_120));
        let body = write("bus", &[&e]);
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"Entries":[{"Time":1700000000.12,"Source":"okta-relay.okta.example","Resources":["r"],"DetailType":"Okta System Log","Detail":"{\"k\":\"v\"}","EventBusName":"bus"}]}"#
        );
    }

    #[test]
    fn its_debug_line_has_the_length_not_the_records() {
        let e = entry(r#"{"displayMessage":"User login to Okta"}"#, &[], None);
        let body = write("bus", &[&e]);
        let line = format!("{:?}", WrittenBody(body.clone()));
        assert_eq!(line, format!("WrittenBody({} bytes)", body.len()));
    }

    #[test]
    fn no_entries_is_an_empty_list() {
        assert_eq!(&write("bus", &[])[..], br#"{"Entries":[]}"#);
    }
}
