//! Which Okta org each configured org is: its Okta id, read from Okta once
//! (`okta::organization`) and kept in the state table, so the push path (which holds no
//! credentials) and later runs carry it in every record without asking Okta again.

use super::StateError;
use async_trait::async_trait;

#[async_trait]
pub trait OrgIdentityStore: Send + Sync {
    /// The Okta id kept for `org` (the configured name), if one was read.
    async fn okta_org_id(&self, org: &str) -> Result<Option<String>, StateError>;
    /// Keeps `okta_org_id` for `org`.
    async fn remember_okta_org_id(&self, org: &str, okta_org_id: &str) -> Result<(), StateError>;
}
