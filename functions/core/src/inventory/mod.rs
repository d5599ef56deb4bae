//! Directory inventory: users, groups, memberships, apps, assignments, IdPs, zones and OAuth
//! clients, collected by the poller for enrichment in the SIEM.
//!
//! - [`catalogue`]: every stream as data (endpoint, page size, interval, delta rule, parent).
//! - [`settings`]: an org's `inventory` configuration, resolved against the catalogue.
//! - [`cursor`]: a stream's resumable listing state and when it is due (full sync or delta).
//! - [`object`]: reading and shaping one directory object.
//! - [`changes`]: deletions and removals, from System Log events (Okta lists no tombstones).
//!
//! The listing loop itself is [`crate::poller::InventoryRun`]: the same one for every stream.

pub mod catalogue;
pub mod changes;
pub mod cursor;
pub mod object;
pub mod settings;

pub use changes::{INVENTORY_CHANGE_DETAIL_TYPE, change_record};
pub use cursor::{FanoutTask, InventoryCursor, InventoryDue, Listing};
pub use settings::{InventoryConfig, InventoryStream, InventoryStreamConfig};
