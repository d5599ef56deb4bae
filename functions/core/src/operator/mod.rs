//! What the operator CLI (`okta-relay-ctl`) does, without the CLI: reading stream status,
//! resetting a cursor under its lease, and checking a deployment's configuration. Backfill is
//! a poller run ([`crate::poller::PollerService::backfill`]).
//!
//! Everything here talks to the same ports as the functions, so it works against real AWS or
//! any `AWS_ENDPOINT_URL`, and is tested with the same fakes and moto.

pub mod check;
pub mod reset;
pub mod status;

pub use check::{Check, check_lake, check_org, check_state_table, record_authenticated};
pub use reset::{ResetDone, ResetError, Skipped, reset_cursor, resettable, skipped_by_reset};
pub use status::{StreamState, StreamStatus, configured_streams, derive, gather};
