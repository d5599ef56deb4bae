//! The one pipeline both paths share: **source → (filter → dedupe → shape) → sink → acknowledge
//! → commit** (`ARCHITECTURE.md`). Only the sources differ.
//!
//! - [`delivery`] batches entries for PutEvents (≤ 10 per call, ≤ the request byte limit), retries
//!   only the entries that failed retryably, and reports which entries were acknowledged.
//! - [`forward`] wraps delivery in dedupe marks: skip what was delivered, deliver the rest, mark
//!   what the sink acknowledged.
//! - [`in_flight`] sizes how many PutEvents requests are in flight, from the bus's answers.

pub mod delivery;
pub mod event_filter;
pub mod forward;
pub mod in_flight;
pub mod quarantine;

pub use delivery::{
    Delivered, Delivery, DeliveryBatch, DeliveryError, DeliveryPolicy, Heartbeat, Rejection,
};
pub use event_filter::EventTypeFilter;
pub use forward::{ForwardError, ForwardReport, Forwarder, MarkPolicy, PendingRecord};
pub use in_flight::InFlightWindow;
