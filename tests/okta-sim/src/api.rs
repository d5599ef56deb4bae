//! The Okta Management API endpoints the relay polls, with Okta's paging: `limit`, an opaque
//! `after` cursor, and `Link: <…>; rel="self"` / `rel="next"` headers (absolute URLs, one header
//! line each). A list ends when a page has no `next` link, except System Log polling requests,
//! which always have one.

use crate::SimState;
use crate::errors::OktaError;
use crate::filter::Filter;
use crate::shapes;
use crate::store::{LogRecord, Store};
use axum::Extension;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_TYPE, LINK};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;

type Params = Query<HashMap<String, String>>;

/// The origin `next` links are built on (the simulator's own, or a foreign one under a fault).
#[derive(Clone)]
pub struct LinkBase {
    pub origin: String,
    pub malformed: bool,
}

/// System Log uuids a response carries, for the served-events record.
#[derive(Clone)]
pub struct ServedEvents(pub Vec<String>);

fn parse_limit(raw: Option<&String>, default: usize, max: usize) -> Result<usize, OktaError> {
    match raw {
        None => Ok(default),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n >= 0 => Ok((n as usize).min(max)),
            _ => Err(OktaError::bad_param(format!(
                "limit: '{s}' is not a valid number between 0 and {max}"
            ))),
        },
    }
}

fn parse_time(name: &str, raw: Option<&String>) -> Result<Option<DateTime<Utc>>, OktaError> {
    raw.map(|s| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                OktaError::bad_param(format!("{name}: '{s}' is not a valid RFC 3339 timestamp"))
            })
    })
    .transpose()
}

fn url_with(origin: &str, path: &str, params: &[(&str, String)]) -> String {
    let mut url = url::Url::parse(&format!("{origin}{path}"))
        .unwrap_or_else(|_| url::Url::parse("http://127.0.0.1/").expect("static URL"));
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

/// A JSON array response with `self` and (optionally) `next` links.
pub(crate) fn page_response(
    body: String,
    self_url: &str,
    next: Option<String>,
    link: &LinkBase,
) -> Response {
    let mut response = ([(CONTENT_TYPE, "application/json")], body).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("<{self_url}>; rel=\"self\"")) {
        headers.append(LINK, v);
    }
    if let Some(next) = next {
        let value = if link.malformed {
            format!("<{next}; rel=next")
        } else {
            format!("<{next}>; rel=\"next\"")
        };
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.append(LINK, v);
        }
    }
    response
}

fn self_url(state: &SimState, uri: &OriginalUri) -> String {
    format!(
        "{}{}",
        state.base_url,
        uri.0.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    )
}

fn json_array<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut body = String::from("[");
    for (i, item) in items.enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(item);
    }
    body.push(']');
    body
}

// ---------------------------------------------------------------------------------------------
// System Log

fn log_matches(r: &LogRecord, filter: Option<&Filter>, keywords: &[String]) -> bool {
    if let Some(f) = filter {
        let only_cheap = f.attributes().all(|a| a == "eventType" || a == "uuid");
        let ok = if only_cheap {
            f.matches(&json!({"eventType": r.event_type, "uuid": r.uuid}))
        } else {
            serde_json::from_str::<Value>(&r.json).is_ok_and(|v| f.matches(&v))
        };
        if !ok {
            return false;
        }
    }
    if !keywords.is_empty() {
        let text = r.json.to_lowercase();
        return keywords.iter().all(|k| text.contains(k.as_str()));
    }
    true
}

/// `GET /api/v1/logs`.
pub async fn logs(
    State(state): State<Arc<SimState>>,
    Extension(link): Extension<LinkBase>,
    uri: OriginalUri,
    Query(q): Params,
) -> Result<Response, OktaError> {
    let limit = parse_limit(q.get("limit"), 100, 1000)?;
    let descending = match q.get("sortOrder").map(String::as_str) {
        None | Some("ASCENDING") => false,
        Some("DESCENDING") => true,
        Some(other) => {
            return Err(OktaError::bad_param(format!(
                "sortOrder: '{other}' must be ASCENDING or DESCENDING"
            )));
        }
    };
    let since = parse_time("since", q.get("since"))?;
    let until = parse_time("until", q.get("until"))?;
    let filter = q
        .get("filter")
        .map(|f| Filter::parse(f))
        .transpose()
        .map_err(OktaError::bad_search)?;
    if let Some(f) = &filter
        && f.attributes().any(|a| a == "published")
    {
        return Err(OktaError::bad_search(
            "published cannot be used in filter; use since and until",
        ));
    }
    let keywords: Vec<String> = q
        .get("q")
        .map(|s| s.split_whitespace().map(str::to_lowercase).collect())
        .unwrap_or_default();
    if keywords.len() > 10 || keywords.iter().any(|k| k.len() > 40) {
        return Err(OktaError::bad_param(
            "q: at most 10 keywords of at most 40 characters",
        ));
    }
    let now = Utc::now();
    if since.is_some_and(|s| s < now - Duration::days(180)) {
        let mut e = OktaError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "E0000053",
            "Invalid parameter: The since parameter is over 180 days prior to the current day.",
        );
        e.causes.push("since".into());
        return Err(e);
    }
    let mut carry: Vec<(&str, String)> = vec![("limit", limit.to_string())];
    for key in ["filter", "q"] {
        if let Some(v) = q.get(key) {
            carry.push((key, v.clone()));
        }
    }
    let store = state.store.lock().unwrap_or_else(|p| p.into_inner());
    let self_link = self_url(&state, &uri);
    let polling = until.is_none() && !descending;
    let (records, next): (Vec<&LogRecord>, Option<String>) = if polling {
        if since.is_some() && q.contains_key("after") {
            return Err(OktaError::bad_param(
                "since and after are mutually exclusive",
            ));
        }
        let start = match q.get("after") {
            Some(after) => after
                .strip_prefix('p')
                .and_then(|s| s.parse::<usize>().ok())
                .ok_or_else(|| OktaError::bad_param("after: not a cursor this endpoint issued"))?
                .min(store.log.len()),
            None => {
                let since = since.unwrap_or(now - Duration::days(7));
                store.log.partition_point(|r| r.persisted_at < since)
            }
        };
        let mut out = Vec::new();
        let mut scanned_to = start;
        for r in &store.log[start..] {
            if out.len() >= limit {
                break;
            }
            scanned_to = r.seq as usize;
            if log_matches(r, filter.as_ref(), &keywords) {
                out.push(r);
            }
        }
        carry.push(("sortOrder", "ASCENDING".into()));
        carry.push(("after", format!("p{scanned_to}")));
        (out, Some(url_with(&link.origin, "/api/v1/logs", &carry)))
    } else {
        let until = until.unwrap_or(now);
        let since = since.unwrap_or(until - Duration::days(7));
        let lo = (since.timestamp_millis(), 0u64);
        // `until` is inclusive at the millisecond precision `published` is stored with.
        let hi = (until.timestamp_millis(), u64::MAX);
        let position = match q.get("after") {
            None => None,
            Some(a) => Some(
                a.strip_prefix('b')
                    .and_then(|s| s.split_once('_'))
                    .and_then(|(ms, seq)| Some((ms.parse::<i64>().ok()?, seq.parse::<u64>().ok()?)))
                    .ok_or_else(|| {
                        OktaError::bad_param("after: not a cursor this endpoint issued")
                    })?,
            ),
        };
        let range: Box<dyn Iterator<Item = &(i64, u64)>> = match (descending, position) {
            (false, None) => Box::new(
                store
                    .by_published
                    .range((Bound::Included(lo), Bound::Included(hi))),
            ),
            (false, Some(p)) => Box::new(
                store
                    .by_published
                    .range((Bound::Excluded(p.max(lo)), Bound::Included(hi))),
            ),
            (true, None) => Box::new(
                store
                    .by_published
                    .range((Bound::Included(lo), Bound::Included(hi)))
                    .rev(),
            ),
            (true, Some(p)) => Box::new(
                store
                    .by_published
                    .range((Bound::Included(lo), Bound::Excluded(p.min(hi))))
                    .rev(),
            ),
        };
        let mut matching = range
            .map(|&(_, seq)| &store.log[seq as usize - 1])
            .filter(|r| log_matches(r, filter.as_ref(), &keywords));
        let out: Vec<&LogRecord> = matching.by_ref().take(limit).collect();
        let more = matching.next().is_some();
        let next = match (more, out.last()) {
            (true, Some(last)) => {
                carry.push(("since", shapes::ts(since)));
                carry.push(("until", shapes::ts(until)));
                carry.push((
                    "sortOrder",
                    if descending {
                        "DESCENDING"
                    } else {
                        "ASCENDING"
                    }
                    .into(),
                ));
                carry.push((
                    "after",
                    format!("b{}_{}", last.published.timestamp_millis(), last.seq),
                ));
                Some(url_with(&link.origin, "/api/v1/logs", &carry))
            }
            _ => None,
        };
        (out, next)
    };
    let served = ServedEvents(records.iter().map(|r| r.uuid.clone()).collect());
    let body = json_array(records.iter().map(|r| &*r.json));
    drop(store);
    let mut response = page_response(body, &self_link, next, &link);
    response.extensions_mut().insert(served);
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// Directory lists: ordered by id, `after` = the last id of the previous page.

struct ListSpec<'a> {
    path: String,
    default_limit: usize,
    max_limit: usize,
    /// `filter` may use only these attributes (Okta restricts them per endpoint).
    filter_attributes: &'a [&'a str],
    /// Extra query parameters to carry into `next` links.
    carry: &'a [&'a str],
}

fn list(
    state: &SimState,
    link: &LinkBase,
    uri: &OriginalUri,
    q: &HashMap<String, String>,
    spec: ListSpec<'_>,
    items: Vec<(String, Value)>,
) -> Result<Response, OktaError> {
    let limit = parse_limit(q.get("limit"), spec.default_limit, spec.max_limit)?;
    let mut filters = Vec::new();
    if let Some(f) = q.get("filter") {
        let f = Filter::parse(f).map_err(OktaError::bad_search)?;
        if let Some(bad) = f.attributes().find(|a| !spec.filter_attributes.contains(a)) {
            return Err(OktaError::bad_search(format!(
                "filter does not support the attribute {bad}; use search"
            )));
        }
        filters.push(f);
    }
    if let Some(s) = q.get("search") {
        filters.push(Filter::parse(s).map_err(OktaError::bad_search)?);
    }
    let after = q.get("after");
    let mut matching = items
        .into_iter()
        .filter(|(id, _)| after.is_none_or(|a| id.as_str() > a.as_str()))
        .filter(|(_, v)| filters.iter().all(|f| f.matches(v)));
    let page: Vec<(String, Value)> = matching.by_ref().take(limit.max(1)).collect();
    let more = matching.next().is_some() && limit > 0;
    let next = match (more, page.last()) {
        (true, Some((last, _))) => {
            let mut carry: Vec<(&str, String)> = vec![("limit", limit.to_string())];
            for key in spec.carry.iter().chain(["filter", "search"].iter()) {
                if let Some(v) = q.get(*key) {
                    carry.push((key, v.clone()));
                }
            }
            carry.push(("after", last.clone()));
            Some(url_with(&link.origin, &spec.path, &carry))
        }
        _ => None,
    };
    let page = if limit == 0 { Vec::new() } else { page };
    let body = serde_json::to_string(&page.into_iter().map(|(_, v)| v).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into());
    Ok(page_response(body, &self_url(state, uri), next, link))
}

fn lock(state: &SimState) -> std::sync::MutexGuard<'_, Store> {
    state.store.lock().unwrap_or_else(|p| p.into_inner())
}

const USER_FILTER: &[&str] = &[
    "status",
    "lastUpdated",
    "id",
    "profile.login",
    "profile.email",
    "profile.firstName",
    "profile.lastName",
    "type.id",
];

/// `GET /api/v1/users`: `DEPROVISIONED` users only with `search` or `filter`, as Okta does.
pub async fn users(
    State(state): State<Arc<SimState>>,
    Extension(link): Extension<LinkBase>,
    uri: OriginalUri,
    Query(q): Params,
) -> Result<Response, OktaError> {
    let include_deprovisioned = q.contains_key("search") || q.contains_key("filter");
    let items: Vec<(String, Value)> = lock(&state)
        .users
        .iter()
        .filter(|(_, u)| include_deprovisioned || u["status"] != "DEPROVISIONED")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let spec = ListSpec {
        path: "/api/v1/users".into(),
        default_limit: 200,
        max_limit: 200,
        filter_attributes: USER_FILTER,
        carry: &[],
    };
    list(&state, &link, &uri, &q, spec, items)
}

/// `GET /api/v1/users/{id}/groups`: every group of the user, unpaged.
pub async fn user_groups(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
) -> Result<Response, OktaError> {
    let store = lock(&state);
    if !store.users.contains_key(&id) {
        return Err(OktaError::not_found(&id));
    }
    let groups: Vec<&Value> = store
        .members
        .iter()
        .filter(|(_, m)| m.contains(&id))
        .filter_map(|(g, _)| store.groups.get(g))
        .collect();
    Ok(axum::Json(groups).into_response())
}

/// `GET /api/v1/groups` (with `expand=stats`).
pub async fn groups(
    State(state): State<Arc<SimState>>,
    Extension(link): Extension<LinkBase>,
    uri: OriginalUri,
    Query(q): Params,
) -> Result<Response, OktaError> {
    let stats = q
        .get("expand")
        .is_some_and(|e| e.split(',').any(|x| x == "stats"));
    let items: Vec<(String, Value)> = {
        let store = lock(&state);
        store
            .groups
            .iter()
            .map(|(id, g)| {
                let mut g = g.clone();
                if stats {
                    let count = store.members.get(id).map_or(0, |m| m.len());
                    let apps = store.app_groups.values().filter(|m| m.contains_key(id)).count();
                    g["_embedded"] = json!({"stats": {"usersCount": count, "appsCount": apps, "groupPushMappingsCount": 0, "hasAdminPrivilege": false}});
                }
                (id.clone(), g)
            })
            .collect()
    };
    let spec = ListSpec {
        path: "/api/v1/groups".into(),
        default_limit: 200,
        max_limit: 10_000,
        filter_attributes: &["id", "type", "lastUpdated", "lastMembershipUpdated"],
        carry: &["expand"],
    };
    list(&state, &link, &uri, &q, spec, items)
}

/// The directory lists that differ only in data: where their items live and Okta's paging rules.
#[derive(Debug, Clone, Copy)]
pub enum Collection {
    /// `GET /api/v1/groups/{id}/users`
    GroupUsers,
    /// `GET /api/v1/apps`
    Apps,
    /// `GET /api/v1/apps/{id}/users`
    AppUsers,
    /// `GET /api/v1/apps/{id}/groups`
    AppGroups,
    /// `GET /api/v1/idps`
    Idps,
    /// `GET /api/v1/zones`
    Zones,
    /// `GET /oauth2/v1/clients`
    Clients,
}

impl Collection {
    /// Path (with `{id}` for sub-resources), default and maximum `limit`, `filter` attributes,
    /// and parameters carried into `next` links.
    fn rules(
        self,
    ) -> (
        &'static str,
        usize,
        usize,
        &'static [&'static str],
        &'static [&'static str],
    ) {
        match self {
            Collection::GroupUsers => ("/api/v1/groups/{id}/users", 1000, 1000, &[], &[]),
            Collection::Apps => (
                "/api/v1/apps",
                20,
                200,
                &["id", "status", "name", "credentials.signing.kid"],
                &[],
            ),
            Collection::AppUsers => ("/api/v1/apps/{id}/users", 50, 500, &[], &[]),
            Collection::AppGroups => ("/api/v1/apps/{id}/groups", 20, 200, &[], &[]),
            Collection::Idps => ("/api/v1/idps", 20, 200, &[], &["type"]),
            Collection::Zones => ("/api/v1/zones", 200, 200, &["id", "usage", "system"], &[]),
            Collection::Clients => ("/oauth2/v1/clients", 20, 200, &[], &[]),
        }
    }

    /// The items, in id order; `None` when the parent `id` does not exist.
    fn items(self, store: &Store, id: &str) -> Option<Vec<(String, Value)>> {
        let cloned = |m: &std::collections::BTreeMap<String, Value>| {
            m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        Some(match self {
            Collection::GroupUsers => store
                .members
                .get(id)?
                .iter()
                .filter_map(|u| store.users.get(u).map(|v| (u.clone(), v.clone())))
                .collect(),
            Collection::Apps => cloned(&store.apps),
            Collection::AppUsers => cloned(store.app_users.get(id)?),
            Collection::AppGroups => cloned(store.app_groups.get(id)?),
            Collection::Idps => cloned(&store.idps),
            Collection::Zones => cloned(&store.zones),
            Collection::Clients => cloned(&store.clients),
        })
    }
}

/// Any [`Collection`]; `id` is the parent's id for sub-resources (empty otherwise).
pub async fn collection(
    state: Arc<SimState>,
    link: LinkBase,
    uri: OriginalUri,
    q: HashMap<String, String>,
    kind: Collection,
    id: String,
) -> Result<Response, OktaError> {
    let items = kind
        .items(&lock(&state), &id)
        .ok_or_else(|| OktaError::not_found(&id))?;
    let (path, default_limit, max_limit, filter_attributes, carry) = kind.rules();
    let spec = ListSpec {
        path: path.replace("{id}", &id),
        default_limit,
        max_limit,
        filter_attributes,
        carry,
    };
    list(&state, &link, &uri, &q, spec, items)
}

/// The OAuth scope an API path needs.
pub fn scope_for(path: &str) -> &'static str {
    if let Some(scope) = crate::context::scope_for(path) {
        return scope;
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["api", "v1", "logs", ..] => "okta.logs.read",
        ["api", "v1", "users", ..] => "okta.users.read",
        ["api", "v1", "groups", ..] => "okta.groups.read",
        ["api", "v1", "apps", ..] => "okta.apps.read",
        ["api", "v1", "idps", ..] => "okta.idps.read",
        ["api", "v1", "zones", ..] => "okta.networkZones.read",
        ["oauth2", "v1", "clients", ..] => "okta.clients.read",
        _ => "okta.unknown",
    }
}
