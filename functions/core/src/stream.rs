//! Which stream a run, a lease, a cursor or a health record belongs to, as a type: code decides
//! by matching on [`StreamId`], never by looking at a name's spelling. The name is only how a
//! stream is written in state keys, records, metrics and logs.

use crate::inventory::catalogue;
use crate::ports::StreamKey;
use chrono::{DateTime, Utc};

/// The System Log stream's name.
pub const LOGS: &str = "logs";
/// The push path's name (its health record and metrics).
pub const PUSH: &str = "push";
const BACKFILL_PREFIX: &str = "backfill-";

/// A System Log window `[since, until)` an operator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BackfillWindow {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl BackfillWindow {
    /// Share of the window before `reached` (0.0–1.0).
    pub fn fraction(&self, reached: DateTime<Utc>) -> f64 {
        let total = (self.until - self.since).num_milliseconds();
        if total <= 0 {
            return 1.0;
        }
        let done = (reached - self.since).num_milliseconds();
        (done as f64 / total as f64).clamp(0.0, 1.0)
    }
}

/// One of an org's streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamId {
    /// The System Log, polled on the schedule.
    Logs,
    /// A top-level directory stream of the catalogue (`users`, `groups`, …).
    Directory(&'static str),
    /// An operator's bounded System Log window: a stream of its own, so the same window resumes
    /// from its own cursor.
    Backfill(BackfillWindow),
    /// The push path (Okta Log Streaming): it has health, never a lease or a cursor.
    Push,
}

impl StreamId {
    /// How the stream is written in state keys, records, metrics and logs.
    pub fn name(&self) -> String {
        match self {
            StreamId::Logs => LOGS.to_string(),
            StreamId::Directory(name) => (*name).to_string(),
            StreamId::Backfill(w) => format!(
                "{BACKFILL_PREFIX}{}-{}",
                w.since.timestamp(),
                w.until.timestamp()
            ),
            StreamId::Push => PUSH.to_string(),
        }
    }

    /// The stream a name stands for: any catalogue stream (fan-out ones included), a backfill
    /// window, `logs` or `push`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            LOGS => return Some(StreamId::Logs),
            PUSH => return Some(StreamId::Push),
            _ => {}
        }
        if let Some(window) = name.strip_prefix(BACKFILL_PREFIX) {
            let (since, until) = window.split_once('-')?;
            let at = |s: &str| DateTime::from_timestamp(s.parse().ok()?, 0);
            return Some(StreamId::Backfill(BackfillWindow {
                since: at(since)?,
                until: at(until)?,
            }));
        }
        catalogue::spec(name).map(|spec| StreamId::Directory(spec.name))
    }

    /// Its state key in `org`.
    pub fn key(&self, org: &str) -> StreamKey {
        StreamKey::new(org, self.name())
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let window = BackfillWindow {
            since: DateTime::from_timestamp(1_793_491_200, 0).unwrap(),
            until: DateTime::from_timestamp(1_794_355_200, 0).unwrap(),
        };
        for id in [
            StreamId::Logs,
            StreamId::Push,
            StreamId::Directory("users"),
            StreamId::Directory("group_members"),
            StreamId::Backfill(window),
        ] {
            assert_eq!(StreamId::parse(&id.name()), Some(id), "{id}");
        }
        assert_eq!(
            StreamId::Backfill(window).name(),
            "backfill-1793491200-1794355200"
        );
        for bad in [
            "",
            "log",
            "backfill-",
            "backfill-x-1",
            "backfill-1",
            "widgets",
        ] {
            assert_eq!(StreamId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_window_knows_how_far_a_time_is_into_it() {
        let t = |s| DateTime::from_timestamp(s, 0).unwrap();
        let w = BackfillWindow {
            since: t(0),
            until: t(100),
        };
        assert_eq!(w.fraction(t(25)), 0.25);
        assert_eq!(w.fraction(t(-5)), 0.0);
        assert_eq!(w.fraction(t(500)), 1.0);
    }
}
