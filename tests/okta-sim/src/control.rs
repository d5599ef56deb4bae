//! The control API under `/__sim/`: test-only, unauthenticated, never part of Okta's API.
//! See the README for every call.

use crate::limits::LimitConfig;
use crate::oauth::OAuthClient;
use crate::store::ChangeRequest;
use crate::{Faults, LiveConfig, SimState, lock};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

type S = State<Arc<SimState>>;

pub fn router() -> Router<Arc<SimState>> {
    Router::new()
        .route("/health", get(|| async { Json(json!({"ok": true})) }))
        .route("/counters", get(counters))
        .route("/served-events", get(served_events))
        .route("/events", get(all_events).post(append_events))
        .route("/directory", get(directory).post(change_directory))
        .route(
            "/faults",
            put(set_faults).get(get_faults).delete(clear_faults),
        )
        .route("/limits", put(set_limits))
        .route("/limits/spend", post(spend))
        .route("/live", post(set_live))
        .route("/oauth/clients", post(register_client))
        .route("/oauth/settings", post(oauth_settings))
        .route("/tokens", post(tokens))
}

async fn counters(State(state): S) -> Json<Value> {
    let served = lock(&state.served);
    let auth = lock(&state.auth);
    Json(json!({
        "buckets": lock(&state.limits).counters,
        "served_events": served.order.len(),
        "served_deliveries": served.deliveries,
        "log_events": lock(&state.store).log.len(),
        "tokens_issued": auth.tokens_issued,
    }))
}

async fn served_events(State(state): S) -> Json<Value> {
    Json(json!({"uuids": lock(&state.served).order}))
}

async fn all_events(State(state): S) -> Json<Value> {
    let store = lock(&state.store);
    Json(json!({"uuids": store.log.iter().map(|r| &r.uuid).collect::<Vec<_>>()}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AppendEvents {
    /// Generated user-activity events.
    count: usize,
    late_share: f64,
    max_late_seconds: u32,
    /// Caller-supplied LogEvent objects (uuid/published filled in when absent).
    events: Vec<Value>,
}

async fn append_events(State(state): S, Json(req): Json<AppendEvents>) -> Response {
    let mut store = lock(&state.store);
    let now = Utc::now();
    let mut uuids: Vec<String> = (0..req.count)
        .map(|_| store.append_activity(now, req.late_share, req.max_late_seconds.max(2)))
        .collect();
    for event in req.events {
        match store.append_raw(event, now) {
            Ok(u) => uuids.push(u),
            Err(e) => return (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
        }
    }
    Json(json!({"uuids": uuids})).into_response()
}

async fn directory(State(state): S) -> Json<Value> {
    let store = lock(&state.store);
    Json(json!({
        "users": store.users.keys().collect::<Vec<_>>(),
        "deprovisioned_users": store.users.iter().filter(|(_, u)| u["status"] == "DEPROVISIONED").map(|(k, _)| k).collect::<Vec<_>>(),
        "groups": store.groups.keys().collect::<Vec<_>>(),
        "memberships": store.members.iter().flat_map(|(g, m)| m.iter().map(move |u| [g, u])).collect::<Vec<_>>(),
        "apps": store.apps.keys().collect::<Vec<_>>(),
        "app_users": store.app_users.iter().flat_map(|(a, m)| m.keys().map(move |u| [a, u])).collect::<Vec<_>>(),
        "app_groups": store.app_groups.iter().flat_map(|(a, m)| m.keys().map(move |g| [a, g])).collect::<Vec<_>>(),
        "idps": store.idps.keys().collect::<Vec<_>>(),
        "zones": store.zones.keys().collect::<Vec<_>>(),
        "clients": store.clients.keys().collect::<Vec<_>>(),
        "context": crate::context::inventory(&store),
    }))
}

async fn change_directory(State(state): S, Json(req): Json<ChangeRequest>) -> Json<Value> {
    let report = lock(&state.store).apply_changes(&req, Utc::now());
    Json(serde_json::to_value(report).unwrap_or_default())
}

async fn set_faults(State(state): S, Json(faults): Json<Faults>) -> StatusCode {
    *lock(&state.faults) = faults;
    StatusCode::NO_CONTENT
}

async fn get_faults(State(state): S) -> Json<Faults> {
    Json(lock(&state.faults).clone())
}

async fn clear_faults(State(state): S) -> StatusCode {
    *lock(&state.faults) = Faults::default();
    StatusCode::NO_CONTENT
}

async fn set_limits(State(state): S, Json(config): Json<LimitConfig>) -> StatusCode {
    *lock(&state.limits) = crate::limits::Limits::new(config);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Spend {
    bucket: String,
    requests: u32,
}

async fn spend(State(state): S, Json(req): Json<Spend>) -> StatusCode {
    lock(&state.limits).spend(&req.bucket, req.requests, Utc::now());
    StatusCode::NO_CONTENT
}

async fn set_live(State(state): S, Json(live): Json<LiveConfig>) -> StatusCode {
    *lock(&state.live) = live;
    StatusCode::NO_CONTENT
}

async fn register_client(State(state): S, Json(client): Json<OAuthClient>) -> StatusCode {
    lock(&state.auth).register(client);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OAuthSettings {
    token_ttl_seconds: Option<i64>,
    rotate_dpop_nonce: bool,
}

async fn oauth_settings(State(state): S, Json(req): Json<OAuthSettings>) -> StatusCode {
    let mut auth = lock(&state.auth);
    if let Some(ttl) = req.token_ttl_seconds {
        auth.token_ttl_seconds = ttl;
    }
    if req.rotate_dpop_nonce {
        auth.dpop_nonce = crate::ids::random_suffix(32);
    }
    StatusCode::NO_CONTENT
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Tokens {
    add: Vec<String>,
    revoke: Vec<String>,
    revoke_access_tokens: bool,
}

async fn tokens(State(state): S, Json(req): Json<Tokens>) -> StatusCode {
    let mut auth = lock(&state.auth);
    auth.ssws_tokens.extend(req.add);
    for t in &req.revoke {
        auth.revoke(Some(t));
    }
    if req.revoke_access_tokens {
        auth.revoke(None);
    }
    StatusCode::NO_CONTENT
}

/// Produces live activity while `events_per_second` > 0.
pub async fn live_loop(state: Arc<SimState>) {
    let tick = std::time::Duration::from_millis(100);
    let mut owed = 0.0;
    loop {
        tokio::time::sleep(tick).await;
        let live = lock(&state.live).clone();
        if live.events_per_second <= 0.0 {
            owed = 0.0;
            continue;
        }
        owed += live.events_per_second * tick.as_secs_f64();
        let n = owed.floor() as usize;
        owed -= n as f64;
        if n > 0 {
            let mut store = lock(&state.store);
            let now = Utc::now();
            for _ in 0..n {
                store.append_activity(now, live.late_share, live.max_late_seconds.max(2));
            }
        }
    }
}
