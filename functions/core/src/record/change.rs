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
    /// Identity providers and network zones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
}
