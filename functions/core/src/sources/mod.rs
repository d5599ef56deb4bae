//! The sources the stream-run loop ([`crate::run`]) reads from: each only fetches and parses
//! its pages.
//!
//! - [`system_log`]: the System Log, polled on the schedule.
//! - [`backfill`]: an operator's bounded System Log window.
//! - [`directory`]: every directory stream of the catalogue, with its parent/child fan-out.

pub mod backfill;
pub mod directory;
pub mod system_log;

pub use backfill::{BackfillJob, BackfillProgress, BackfillSource, eta as backfill_eta};
pub use directory::{DELTA_OVERLAP, DirectorySource};
pub use system_log::{LOGS_PATH, SystemLogSource};
