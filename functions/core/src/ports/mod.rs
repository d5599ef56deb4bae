//! Ports: the small traits the pipeline talks to, one job each.
//!
//! Domain types only; the AWS adapters in [`crate::adapters`] convert to and from SDK types, and
//! tests can put in-memory fakes behind the same traits.

mod secrets;
mod sink;
mod state;

pub use secrets::{SecretError, SecretSource};
pub use sink::{EntryOutcome, EventSink, SinkEntry, SinkError};
pub use state::{
    DedupeKey, DedupeStore, HealthNote, HealthReport, HealthStore, Lease, RateLimitHeadroom,
    RunRecord, StateError, StreamKey, StreamSnapshot, StreamStateStore,
};
