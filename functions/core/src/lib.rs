//! okta-relay core: everything the functions and the CLI do. `ARCHITECTURE.md` maps it; in
//! short:
//!
//! - [`handlers`]: the two Lambda handlers, plain functions the binaries wire to the runtime.
//! - [`poller`] (the pull path) runs each due stream through [`run`], the one stream-run loop,
//!   with a source from [`sources`]; [`push`] is the push path.
//! - [`pipeline`]: the per-event path both paths share, dedupe-aware forwarding, delivery.
//! - [`okta`]: the Okta HTTP client (org URL pinning, `Link` paging, error objects, rate limits).
//! - [`ports`] are the traits the core talks to; [`adapters`] their AWS implementations (the only
//!   place SDK types appear) and the wiring; `testing` their in-memory fakes.
//! - [`record`], [`summary`], [`stream`], [`config`], [`limits`]: the data everything shares.
//! - [`inventory`]: the directory streams as data, their cursors, and inventory change records.
//! - [`metrics`], [`telemetry`], [`operator`], [`stream_watch`]: what operators see.
//!
//! Errors are typed per module and say, through [`ErrorKind`], whether a retry can help, and,
//! through [`Fault`], whose fault they are; [`function_error`] gives a failed invocation its
//! stable error code.

pub mod adapters;
pub mod clock;
pub mod config;
mod error_kind;
mod fault;
pub mod function_error;
pub mod handlers;
pub mod inventory;
pub mod lake;
pub mod limits;
pub mod metrics;
pub mod ocsf;
pub mod okta;
pub mod operator;
pub mod pipeline;
pub mod poller;
pub mod ports;
pub mod push;
pub mod record;
pub mod run;
pub mod shape;
pub mod sources;
pub mod stream;
pub mod stream_watch;
pub mod summary;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error_kind::ErrorKind;
pub use fault::Fault;

/// The default `User-Agent` (Okta asks every integration to identify itself).
pub const DEFAULT_USER_AGENT: &str = concat!("okta-relay/", env!("CARGO_PKG_VERSION"));
