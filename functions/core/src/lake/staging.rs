//! Staged lake events (`security_lake.staging`): the functions write each flush to the
//! relay's staging bucket instead of the lake, and the poller writes the lake from there at
//! Security Lake's cadence ([`super::compactor`]).
//!
//! A staged object is NDJSON, one [`LakeEvent`] a line, under
//! `<staging prefix><the lake object's directory>/<org>-<hash>.ndjson`: the lake directory
//! (`<source>/region=…/accountId=…/eventDay=…`) is the staged key's own path, so the poller
//! knows where each staged object goes without reading it, and the name is as content
//! addressed as a lake object's (the same hash), so staging never replaces anything either.

use super::LakeEvent;
use crate::config::security_lake::LakeStaging;
use crate::ports::{DedupeKey, LakeError};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Where compactions in progress are written down, under the staging prefix.
pub const COMPACTING: &str = "_compacting/";

/// One event as staged.
#[derive(Serialize, Deserialize)]
struct Staged<'a> {
    id: Cow<'a, str>,
    org: Cow<'a, str>,
    class_uid: u32,
    time_ms: i64,
    line: Cow<'a, str>,
}

/// The staged body of `events`: one JSON line each.
pub fn encode(events: &[&LakeEvent]) -> Vec<u8> {
    let mut body = Vec::new();
    for event in events {
        let staged = Staged {
            id: Cow::Borrowed(&event.key.id),
            org: Cow::Borrowed(&event.org),
            class_uid: event.class_uid,
            time_ms: event.time_ms,
            line: Cow::Borrowed(&event.line),
        };
        // A struct of strings and numbers always serialises.
        if serde_json::to_writer(&mut body, &staged).is_ok() {
            body.push(b'\n');
        }
    }
    body
}

/// The events of a staged body. A line that does not read is an error naming the key: the
/// relay wrote every staged object itself, so such a line is corruption, never skipped.
pub fn decode(key: &str, body: &[u8]) -> Result<Vec<LakeEvent>, LakeError> {
    let text = std::str::from_utf8(body).map_err(|e| corrupt(key, &e))?;
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let staged: Staged<'_> = serde_json::from_str(line).map_err(|e| corrupt(key, &e))?;
            let class = crate::ocsf::TABLE
                .class(staged.class_uid)
                .ok_or_else(|| corrupt(key, &format!("class {}", staged.class_uid)))?;
            Ok(LakeEvent {
                key: DedupeKey::new(staged.org.as_ref(), staged.id.into_owned()),
                org: staged.org.into_owned(),
                class_uid: staged.class_uid,
                class_name: class.name.as_str(),
                time_ms: staged.time_ms,
                line: staged.line.into_owned(),
            })
        })
        .collect()
}

/// A staged object that does not read: named by its key; serde's message is left out, since it
/// can quote the event's values.
fn corrupt(key: &str, e: &dyn std::fmt::Display) -> LakeError {
    let what = e.to_string();
    let detail = match what.rsplit_once(" at line ") {
        Some((_, at)) => format!("staged object {key} does not read (at line {at})"),
        None => format!("staged object {key} does not read"),
    };
    LakeError::Encode {
        class_uid: 0,
        detail,
    }
}

/// The staged key of the lake object `lake_key` would be.
pub fn staged_key(staging: &LakeStaging, lake_key: &str) -> String {
    let stem = lake_key.strip_suffix(".parquet").unwrap_or(lake_key);
    format!("{}{stem}.ndjson", staging.prefix)
}

/// The lake directory a staged object goes to: its key without the staging prefix and the
/// file name. `None` for what is not a staged object (a compaction's record).
pub fn lake_dir<'k>(staging: &LakeStaging, staged_key: &'k str) -> Option<&'k str> {
    let rest = staged_key.strip_prefix(&staging.prefix)?;
    if rest.starts_with(COMPACTING) || !rest.ends_with(".ndjson") {
        return None;
    }
    rest.rsplit_once('/').map(|(dir, _)| dir)
}
