//! The System Log, polled on the schedule.
//!
//! The cursor is the `next` link of a *polling request* (`since` on the first run, no `until`,
//! `sortOrder=ASCENDING`), never a timestamp built from `published`: polling results are ordered
//! by persistence time, so late-persisted events arrive after the cursor instead of behind it.
//! An empty page still has a `next` link: it is stored and the run ends caught up. So does a
//! page shorter than the requested `limit`: Okta had nothing more at that moment.
//!
//! [`read_events`] and [`start_url`] are shared with the backfill source: the two differ only in
//! the request (bounded or polling) and in when they end.

use crate::config::OrgConfig;
use crate::limits::{OKTA_DEFAULT_LOG_PAGE, OKTA_LOG_RETENTION, OKTA_LOG_RETENTION_MARGIN};
use crate::okta::OrgUrl;
use crate::pipeline::{MarkPolicy, PendingRecord, quarantine};
use crate::record::{CollectionPath, SYSTEM_LOG_DETAIL_TYPE};
use crate::run::{CursorError, LifecycleSeen, Next, Okta, Opened, PollError, Source, SourcePage};
use crate::shape::log_event;
use crate::shape::log_header::LogEventHeader;
use crate::stream;
use crate::stream_watch;
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::value::RawValue;
use url::Url;

/// The System Log endpoint.
pub const LOGS_PATH: &str = "/api/v1/logs";

/// The scheduled System Log stream of one org.
pub struct SystemLogSource<'a> {
    org: &'a OrgConfig,
    url: Option<Url>,
}

impl<'a> SystemLogSource<'a> {
    pub fn new(org: &'a OrgConfig) -> Self {
        Self { org, url: None }
    }
}

#[async_trait]
impl Source for SystemLogSource<'_> {
    fn open(&mut self, cursor: Option<&str>, okta: &Okta<'_>) -> Result<Opened, PollError> {
        let url = match stored_cursor(cursor, okta.org())? {
            Some(url) => url,
            None => {
                let since = first_since(okta.now(), self.org.logs.initial_lookback_hours);
                start_url(okta.org(), self.org.logs.page_size, &[("since", since)])?
            }
        };
        self.url = Some(url);
        Ok(Opened::Ready)
    }

    async fn next_page(&mut self, okta: &Okta<'_>) -> Result<SourcePage, PollError> {
        let Some(url) = self.url.clone() else {
            return Ok(SourcePage::empty(None, Next::Stop));
        };
        let (mut out, next) = fetch_events(okta, &url, self.org).await?;
        let Some(next) = next else {
            tracing::warn!("Okta sent no next link for a polling request; the cursor stays");
            out.next = Next::Stop;
            return Ok(out);
        };
        // Okta had no more than this page at the time of the request: the stream is at the
        // head of the log. An empty page is the documented end; a short page saves the extra
        // request that would find it (the next run resumes from `next` either way).
        let short = out.items < requested_limit(&url);
        out.next = if short { Next::CaughtUp } else { Next::More };
        out.cursor = Some(next.to_string());
        self.url = Some(next);
        Ok(out)
    }
}

/// Fetches the page at `url` and reads its events; its `next` link comes back for the caller
/// to say what it means (the cursor, the end of a window, …).
pub async fn fetch_events(
    okta: &Okta<'_>,
    url: &Url,
    org: &OrgConfig,
) -> Result<(SourcePage, Option<Url>), PollError> {
    let page = okta.page(url).await?;
    let mut out = read_events(&page.items, org, okta.now());
    out.fetched = 1;
    out.request_id = page.request_id;
    Ok((out, page.next))
}

/// One page of System Log events as records: each through the per-event path, an item that
/// cannot be read as a quarantine record. The caller sets the cursor and what comes next.
fn read_events(
    items: &[Box<RawValue>],
    org: &OrgConfig,
    collected_at: DateTime<Utc>,
) -> SourcePage {
    let mut out = SourcePage::empty(None, Next::More);
    out.items = items.len();
    out.marks = MarkPolicy::Check;
    out.records = Vec::with_capacity(items.len());
    for raw in items {
        let header = match LogEventHeader::parse(raw) {
            Ok(header) => header,
            Err(e) => {
                out.records
                    .push(unreadable(raw, &e.to_string(), org, collected_at));
                continue;
            }
        };
        out.newest = out.newest.max(header.published);
        // A lifecycle event is ordered by its `published`; one without cannot be placed.
        if stream_watch::is_lifecycle_event(&header.event_type)
            && let Some(at) = header.published
        {
            out.lifecycle.push(LifecycleSeen {
                event_type: header.event_type.clone(),
                at,
            });
        }
        let event =
            log_event::records_for(raw, &header, org, CollectionPath::Pull, collected_at, true);
        out.filtered += u64::from(event.filtered);
        out.inventory_changes += u64::from(event.inventory_change);
        out.malformed_published += u64::from(event.malformed_published);
        out.records.extend(event.records);
        out.lake.extend(event.lake);
    }
    out
}

fn unreadable(
    raw: &RawValue,
    problem: &str,
    org: &OrgConfig,
    collected_at: DateTime<Utc>,
) -> PendingRecord {
    quarantine::unreadable(
        raw,
        problem,
        &quarantine::FoundAt {
            org: &org.name,
            okta_org_id: org.okta_org_id.as_deref(),
            stream: stream::LOGS,
            detail_type: SYSTEM_LOG_DETAIL_TYPE,
            path: CollectionPath::Pull,
            collected_at,
        },
    )
}

/// A stored `next` link, which must be on the org's URL. One that is not, or is not a URL,
/// stops the stream: starting over silently would skip or repeat a window.
pub fn stored_cursor(cursor: Option<&str>, org: &OrgUrl) -> Result<Option<Url>, PollError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let url = Url::parse(cursor).map_err(|_| CursorError::NotAUrl)?;
    if org.ensure_same_origin(&url).is_err() {
        return Err(CursorError::ForeignOrigin {
            stored: url.origin().ascii_serialization(),
            org: org.as_url().origin().ascii_serialization(),
        }
        .into());
    }
    Ok(Some(url))
}

/// A first System Log request: `times` (`since`, and `until` for a bounded request), ascending,
/// `page_size` a page.
pub fn start_url(
    org: &OrgUrl,
    page_size: u32,
    times: &[(&str, DateTime<Utc>)],
) -> Result<Url, PollError> {
    let mut url = org.join(LOGS_PATH).map_err(crate::okta::OktaError::from)?;
    {
        let mut query = url.query_pairs_mut();
        for (name, at) in times {
            query.append_pair(name, &at.to_rfc3339_opts(SecondsFormat::Millis, true));
        }
        query
            .append_pair("sortOrder", "ASCENDING")
            .append_pair("limit", &page_size.to_string());
    }
    Ok(url)
}

/// The `limit` a polling URL asks for (Okta's default when absent or unreadable).
pub fn requested_limit(url: &Url) -> usize {
    url.query_pairs()
        .find(|(k, _)| k == "limit")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(OKTA_DEFAULT_LOG_PAGE)
}

/// A first polling request's `since`: `lookback_hours` ago, but never outside Okta's 180-day
/// window (less a margin), where Okta answers 400 `E0000053` on every run.
fn first_since(now: DateTime<Utc>, lookback_hours: u32) -> DateTime<Utc> {
    let wanted = now - chrono::Duration::hours(i64::from(lookback_hours));
    let oldest = now - OKTA_LOG_RETENTION + OKTA_LOG_RETENTION_MARGIN;
    wanted.max(oldest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_without_a_readable_published_are_forwarded_counted_and_marked() {
        let config = crate::config::RelayConfig::from_json(
            r#"{"orgs":[{"name":"acme","secret_arn":"arn:aws:secretsmanager:us-east-1:1:secret:x"}]}"#,
        )
        .unwrap();
        let items: Vec<Box<RawValue>> = [
            r#"{"uuid":"a","published":"2026-11-21T10:00:00.000Z","eventType":"user.session.start"}"#,
            r#"{"uuid":"b","eventType":"user.session.start"}"#,
            r#"{"uuid":"c","published":"redacted","eventType":"user.session.end"}"#,
            r#"{"uuid":"d","published":"2025-08-19T19: 49: 51.342Z","eventType":"user.session.end"}"#,
            r#"{"published":"2026-11-21T10:00:00.000Z","eventType":"user.session.end"}"#,
        ]
        .iter()
        .map(|t| RawValue::from_string(t.to_string()).unwrap())
        .collect();
        let now = Utc::now();
        let page = read_events(&items, &config.orgs[0], now);
        assert_eq!(page.malformed_published, 3);
        // All four events with a uuid and an eventType go on; the one without a uuid is
        // quarantined (it cannot be deduplicated), not dropped.
        let ids: Vec<&str> = page.records.iter().map(|r| r.dedupe_key.as_str()).collect();
        assert_eq!(&ids[..4], ["a", "b", "c", "d"]);
        assert_eq!(page.records.len(), 5);
        for (record, raw) in page.records[1..4].iter().zip(&items[1..4]) {
            assert_eq!(record.entry.time, Some(now), "receipt time");
            assert!(record.relay.malformed_published);
            assert!(record.entry.detail.contains(raw.get()), "unchanged");
        }
        assert!(!page.records[0].relay.malformed_published);
        // The lag comes from the one readable `published` only.
        assert_eq!(
            page.newest.map(|t| t.to_rfc3339()),
            Some("2026-11-21T10:00:00+00:00".into())
        );
    }

    #[test]
    fn a_first_since_stays_inside_oktas_180_days() {
        let now = Utc::now();
        assert_eq!(first_since(now, 24), now - chrono::Duration::hours(24));
        let oldest = first_since(now, 180 * 24);
        assert!(oldest > now - chrono::Duration::days(180), "{oldest}");
        assert_eq!(
            oldest,
            now - chrono::Duration::days(180) + chrono::Duration::hours(1)
        );
    }

    #[test]
    fn the_limit_comes_from_the_polling_url() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            requested_limit(&url("https://a.okta.com/api/v1/logs?after=x&limit=1000")),
            1000
        );
        assert_eq!(
            requested_limit(&url("https://a.okta.com/api/v1/logs?after=x")),
            100
        );
        assert_eq!(
            requested_limit(&url("https://a.okta.com/api/v1/logs?limit=lots")),
            100
        );
    }

    #[test]
    fn a_stored_cursor_must_be_a_url_on_the_orgs_origin() {
        let org = OrgUrl::parse("https://acme.okta.com", false).unwrap();
        assert_eq!(stored_cursor(None, &org).unwrap(), None);
        assert!(
            stored_cursor(Some("https://acme.okta.com/api/v1/logs?after=1"), &org)
                .unwrap()
                .is_some()
        );
        for bad in ["https://acme.oktapreview.com/api/v1/logs?after=1", "nope"] {
            let err = stored_cursor(Some(bad), &org).unwrap_err();
            assert!(
                err.to_string().contains("okta-relay-ctl reset-cursor"),
                "{err}"
            );
        }
    }
}
