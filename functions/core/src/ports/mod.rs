//! Ports: the small traits the pipeline talks to, one job each.
//!
//! Domain types only; the AWS adapters in [`crate::adapters`] convert to and from SDK types, and
//! tests can put in-memory fakes behind the same traits.

mod config_store;
mod lake;
mod org_identity;
mod secrets;
mod sink;
mod state;

use crate::clock::Clock;
use std::sync::Arc;

pub use config_store::{ConfigDocument, ConfigStore, ConfigStoreError};
pub use lake::{LakeBucket, LakeError, LakeStore, Listed, ProviderRole, Stored};
pub use org_identity::{OrgIdentity, OrgIdentityStore};
pub use secrets::{SecretError, SecretSource};
pub use sink::{
    EntryFault, EntryOutcome, EventSink, OneSink, SinkChoice, SinkEntry, SinkError, SinkLimits,
    Sinks,
};
pub use state::{
    DedupeKey, DedupeStore, Failure, HealthNote, HealthReport, HealthStore, Lease, Phase,
    PhaseMark, RateLimitHeadroom, RunRecord, StateError, StreamKey, StreamSnapshot,
    StreamStateStore,
};

/// Every port, as the services use them: built in one place from AWS
/// ([`crate::adapters::AwsWiring::ports`]) or from the in-memory fakes (`testing`).
#[derive(Clone)]
pub struct Ports {
    pub secrets: Arc<dyn SecretSource>,
    pub streams: Arc<dyn StreamStateStore>,
    pub dedupe: Arc<dyn DedupeStore>,
    pub health: Arc<dyn HealthStore>,
    pub identities: Arc<dyn OrgIdentityStore>,
    /// Where records go, by the org's [`SinkChoice`].
    pub sinks: Arc<dyn Sinks>,
    /// Security Lake objects (used only with `security_lake` on).
    pub lake: Arc<dyn LakeStore>,
    pub clock: Arc<dyn Clock>,
}
