//! Which Okta org each configured org is: its Okta id, read from Okta
//! (`okta::organization`) and kept in the state table with the org URL it was read from, so the
//! push path (which holds no credentials) and later runs carry it in every record without asking
//! Okta again, and a secret pointed at another org reads it again.

use super::StateError;
use async_trait::async_trait;

/// An org's Okta id and the org URL it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgIdentity {
    pub okta_org_id: String,
    pub org_url: String,
}

#[async_trait]
pub trait OrgIdentityStore: Send + Sync {
    /// The identity kept for `org` (the configured name), if one was read.
    async fn identity(&self, org: &str) -> Result<Option<OrgIdentity>, StateError>;
    /// Keeps `identity` for `org`.
    async fn remember(&self, org: &str, identity: &OrgIdentity) -> Result<(), StateError>;
}
