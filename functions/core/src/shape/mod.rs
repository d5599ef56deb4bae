//! Shaping: what an Okta item becomes before it is forwarded. A System Log event becomes its
//! record, its OCSF event, its inventory change records and its lake event; a directory object
//! becomes its record, its OCSF inventory event and its lake event.
//!
//! Shaping is a floor of its own, above what it reads (the org's configuration, the stream
//! catalogue, the OCSF mapping, the lake's event type) and below what drives it (the sources,
//! the push path): so the pipeline, the records and the ports under it never import
//! configuration, the lake or stream ids.
//!
//! - [`log_header`]: the few fields of a System Log event the relay reads.
//! - [`log_event`]: what one System Log event becomes.
//! - [`inventory_change`]: deletions and removals, from System Log events (Okta lists no
//!   tombstones).
//! - [`directory_object`]: reading and shaping one directory object.

pub mod directory_object;
pub mod inventory_change;
pub mod log_event;
pub mod log_header;

pub use inventory_change::{INVENTORY_CHANGE_DETAIL_TYPE, change_record};
