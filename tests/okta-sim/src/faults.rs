//! Switchable faults, set through the control API. Counted faults apply to the next N API
//! requests (not to `/__sim/`); `path_prefix` narrows them to matching paths.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Only requests whose path starts with this are affected (all when empty).
    pub path_prefix: String,
    /// Added to every matching request.
    pub latency_ms: u64,
    /// The next N matching requests answer 500 `E0000009`.
    pub server_errors: u32,
    /// The next N matching responses are cut off mid-body (the connection is dropped).
    pub connection_resets: u32,
    /// The next N matching responses have their JSON body truncated (a complete HTTP message).
    pub truncated_bodies: u32,
    /// The next N matching responses carry `next` links to this foreign origin.
    pub foreign_next: u32,
    pub foreign_origin: String,
    /// The next N matching responses carry a malformed `Link` header.
    pub malformed_links: u32,
    /// `Date` (and `X-Rate-Limit-Reset`) are this many seconds off real time.
    pub date_skew_seconds: i64,
}

/// What happens to one request.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    pub latency_ms: u64,
    pub server_error: bool,
    pub connection_reset: bool,
    pub truncate: bool,
    pub foreign_origin: Option<String>,
    pub malformed_link: bool,
    pub skew_seconds: i64,
}

fn take(counter: &mut u32) -> bool {
    if *counter > 0 {
        *counter -= 1;
        true
    } else {
        false
    }
}

impl Faults {
    pub fn decide(&mut self, path: &str) -> Decision {
        let mut d = Decision {
            skew_seconds: self.date_skew_seconds,
            ..Decision::default()
        };
        if !path.starts_with(&self.path_prefix) {
            return d;
        }
        d.latency_ms = self.latency_ms;
        d.server_error = take(&mut self.server_errors);
        if !d.server_error {
            d.connection_reset = take(&mut self.connection_resets);
            d.truncate = !d.connection_reset && take(&mut self.truncated_bodies);
            if take(&mut self.foreign_next) {
                let origin = if self.foreign_origin.is_empty() {
                    "https://evil.example".to_string()
                } else {
                    self.foreign_origin.clone()
                };
                d.foreign_origin = Some(origin);
            }
            d.malformed_link = take(&mut self.malformed_links);
        }
        d
    }
}
