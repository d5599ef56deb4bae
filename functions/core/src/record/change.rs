//! `relay.change` of an `Okta Inventory Change` record: what happened to a directory object, as
//! the System Log told it (see [`crate::shape::inventory_change`]).

use serde::Serialize;

/// What happened to a directory object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeAction {
    /// The object no longer exists.
    Deleted,
    /// A membership or assignment ended.
    Removed,
}

/// `relay.change` of an inventory change record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryChange {
    pub action: ChangeAction,
    /// The System Log event type it comes from.
    pub event_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The object that ended, when it is not a user, group or app (an IdP, a zone, a policy,
    /// a rule, a token, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// What that object belonged to (a rule's policy, a scope's authorization server, the
    /// device a user was removed from).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
}
