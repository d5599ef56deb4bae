//! Directory inventory: users, groups, memberships, apps, assignments, IdPs, zones and OAuth
//! clients, collected by the poller for enrichment in the SIEM.
//!
//! - [`catalogue`]: every stream as data (endpoint, page size, interval, delta rule, parent).
//! - [`cursor`]: a stream's resumable listing state and when it is due (full sync or delta).
//!
//! An org's `inventory` settings are configuration ([`crate::config::inventory`]); what a
//! directory object and a deletion become is shaping ([`crate::shape`]).
//!
//! The listing loop itself is [`crate::poller::InventoryRun`]: the same one for every stream.

pub mod catalogue;
pub mod cursor;

pub use cursor::{FanoutTask, InventoryCursor, InventoryDue, Listing};
