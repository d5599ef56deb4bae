//! okta-relay core: everything the Lambda functions do, with no Lambda in it.
//!
//! The binaries in `functions/poller` and `functions/events` only wire configuration and
//! clients; the logic lives here so it can be tested without AWS or Lambda:
//!
//! - [`okta`]: the Okta HTTP client (org URL pinning, `Link` paging, error objects, rate limits).
//! - [`ports`]: the small traits the pipeline talks to (state, secrets, sink) and their errors.
//! - [`adapters`]: the AWS implementations of those ports (DynamoDB, Secrets Manager, EventBridge).
//! - [`pipeline`]: delivery (batching, partial-failure retries) and dedupe-aware forwarding.
//! - [`record`]: the forwarded record contract of `DESIGN.md` §4.
//! - [`inventory`]: the directory streams (users, groups, apps, …) as data, their cursors, and
//!   the inventory change records derived from the System Log.
//! - [`metrics`]: CloudWatch Embedded Metric Format lines the infra alarms watch.
//! - [`push`] and [`poller`]: the two paths; [`stream_watch`]: how the poller notices that the
//!   push path stopped delivering.
//! - [`operator`]: status, cursor reset and configuration checks for the operator CLI.
//!
//! Errors are typed per module and say, through [`ErrorKind`], whether a retry can help.

pub mod adapters;
pub mod clock;
pub mod config;
mod error_kind;
pub mod inventory;
pub mod limits;
pub mod metrics;
pub mod okta;
pub mod operator;
pub mod pipeline;
pub mod poller;
pub mod ports;
pub mod push;
pub mod record;
pub mod stream_watch;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error_kind::ErrorKind;

/// The default `User-Agent` (Okta asks every integration to identify itself).
pub const DEFAULT_USER_AGENT: &str = concat!("okta-relay/", env!("CARGO_PKG_VERSION"));
