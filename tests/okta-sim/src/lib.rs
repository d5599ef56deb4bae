//! okta-sim: a local Okta Management API for okta-relay's tests and demo.
//!
//! It behaves like Okta as documented, not as our client would like: cursor paging with `Link`
//! headers, System Log polling vs bounded semantics with late-persisted events, `search`/`filter`
//! on `lastUpdated`, per-bucket rate limits with Okta's headers and 429 body, SSWS and OAuth
//! (private_key_jwt, DPoP) authentication, Okta's error objects, deterministic seeded data, and
//! switchable faults. A control API under `/__sim/` drives it from tests (see README.md).
//!
//! Start it in-process with [`start`], or run the `okta-sim` binary.

pub mod api;
pub mod context;
pub mod control;
pub mod errors;
pub mod faults;
pub mod filter;
pub mod ids;
pub mod limits;
pub mod oauth;
pub mod shapes;
pub mod store;

use api::Collection;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::{Duration, Utc};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

pub use faults::Faults;
pub use limits::LimitConfig;
pub use oauth::OAuthClient;
pub use store::{ChangeReport, ChangeRequest, SeedConfig};

/// Everything that configures a simulator at start.
#[derive(Debug, Clone, Default)]
pub struct SimConfig {
    pub listen: Option<SocketAddr>,
    /// Valid SSWS API tokens.
    pub tokens: Vec<String>,
    pub seed: SeedConfig,
    pub limits: LimitConfig,
}

/// Events the simulator has handed out in complete responses.
#[derive(Debug, Default)]
pub struct Served {
    seen: HashSet<String>,
    pub order: Vec<String>,
    pub deliveries: u64,
}

impl Served {
    fn record(&mut self, uuids: Vec<String>) {
        for u in uuids {
            self.deliveries += 1;
            if self.seen.insert(u.clone()) {
                self.order.push(u);
            }
        }
    }
}

/// Live activity settings.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LiveConfig {
    pub events_per_second: f64,
    pub late_share: f64,
    pub max_late_seconds: u32,
}

/// The simulator's shared state.
pub struct SimState {
    pub base_url: String,
    /// The org's Okta id (`00o…`), served at `/.well-known/okta-organization`.
    pub org_id: String,
    pub store: Mutex<store::Store>,
    pub limits: Mutex<limits::Limits>,
    pub faults: Mutex<Faults>,
    pub auth: Mutex<oauth::AuthState>,
    pub served: Mutex<Served>,
    pub live: Mutex<LiveConfig>,
    in_flight: AtomicU32,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct InFlight(Arc<SimState>);
impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn set_rate_headers(headers: &mut HeaderMap, h: limits::RateHeaders) {
    for (name, value) in [
        ("x-rate-limit-limit", h.limit.to_string()),
        ("x-rate-limit-remaining", h.remaining.to_string()),
        ("x-rate-limit-reset", h.reset.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
}

/// Faults, concurrency and rate limits, authentication, and the headers every Okta response has.
async fn okta_edge(State(state): State<Arc<SimState>>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let decision = lock(&state.faults).decide(&path);
    let skew = Duration::seconds(decision.skew_seconds);
    let in_flight = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let _guard = InFlight(state.clone());
    if decision.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(decision.latency_ms)).await;
    }
    let now = Utc::now();
    let bucket = limits::bucket_for(&path);
    let admission = {
        let mut limits = lock(&state.limits);
        if limits.config.concurrency.is_some_and(|l| in_flight > l) {
            limits.record_concurrency_throttle(bucket);
            None
        } else {
            Some(limits.admit(bucket, now, skew))
        }
    };
    let mut response = match admission {
        None => {
            let mut r = errors::OktaError::rate_limited().into_response();
            let reset = (now + skew).timestamp() + 1;
            set_rate_headers(
                r.headers_mut(),
                limits::RateHeaders {
                    limit: 0,
                    remaining: 0,
                    reset,
                },
            );
            r
        }
        Some(limits::Admission::Throttled(h)) => {
            let mut r = errors::OktaError::rate_limited().into_response();
            set_rate_headers(r.headers_mut(), h);
            r
        }
        Some(limits::Admission::Allowed(h)) => {
            let mut r = if decision.server_error {
                errors::OktaError::internal().into_response()
            } else if path == "/oauth2/v1/token" || path == WELL_KNOWN_ORGANIZATION {
                // Public endpoints: no credentials.
                next.run(req).await
            } else {
                let url = format!("{}{}", state.base_url, path);
                let method = req.method().as_str().to_string();
                let authorized = lock(&state.auth).authorize(
                    req.headers(),
                    &method,
                    &url,
                    api::scope_for(&path),
                );
                match authorized {
                    Err(e) => e.into_response(),
                    Ok(()) => {
                        let origin = decision
                            .foreign_origin
                            .clone()
                            .unwrap_or_else(|| state.base_url.clone());
                        req.extensions_mut().insert(api::LinkBase {
                            origin,
                            malformed: decision.malformed_link,
                        });
                        next.run(req).await
                    }
                }
            };
            set_rate_headers(r.headers_mut(), h);
            r
        }
    };
    let headers = response.headers_mut();
    let date = httpdate::fmt_http_date((now + skew).into());
    if let Ok(v) = HeaderValue::from_str(&date) {
        headers.insert("date", v);
    }
    if let Ok(v) = HeaderValue::from_str(&ids::random_suffix(27)) {
        headers.insert("x-okta-request-id", v);
    }
    let served = response.extensions_mut().remove::<api::ServedEvents>();
    if decision.connection_reset || decision.truncate {
        let (mut parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        let half = bytes.slice(0..bytes.len() / 2);
        parts.headers.remove("content-length");
        let body = if decision.connection_reset {
            let chunks: Vec<Result<axum::body::Bytes, std::io::Error>> = vec![
                Ok(half),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "simulated connection reset",
                )),
            ];
            Body::from_stream(futures::stream::iter(chunks))
        } else {
            Body::from(half)
        };
        return Response::from_parts(parts, body);
    }
    if let Some(api::ServedEvents(uuids)) = served {
        lock(&state.served).record(uuids);
    }
    response
}

async fn token(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let url = format!("{}/oauth2/v1/token", state.base_url);
    lock(&state.auth).token(&headers, &form, &url)
}

type ListResult = Result<Response, errors::OktaError>;
type ListFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ListResult> + Send>>;
type Q = axum::extract::Query<HashMap<String, String>>;

/// A handler for a top-level [`Collection`].
fn top_collection(
    kind: Collection,
) -> impl Fn(State<Arc<SimState>>, Extension<api::LinkBase>, axum::extract::OriginalUri, Q) -> ListFuture
+ Clone {
    move |State(s), Extension(l), uri, axum::extract::Query(q)| {
        Box::pin(api::collection(s, l, uri, q, kind, String::new()))
    }
}

/// A handler for a [`Collection`] under a parent id.
fn sub_collection(
    kind: Collection,
) -> impl Fn(
    State<Arc<SimState>>,
    Extension<api::LinkBase>,
    axum::extract::OriginalUri,
    axum::extract::Path<String>,
    Q,
) -> ListFuture
+ Clone {
    move |State(s), Extension(l), uri, axum::extract::Path(id), axum::extract::Query(q)| {
        Box::pin(api::collection(s, l, uri, q, kind, id))
    }
}

/// A handler for an identity-context [`context::Endpoint`]; the parent id, if its route has
/// one, is read from the path.
fn context_list(
    endpoint: &'static context::Endpoint,
) -> impl Fn(State<Arc<SimState>>, Extension<api::LinkBase>, axum::extract::OriginalUri, Q) -> ListFuture
+ Clone {
    move |State(s), Extension(l), uri, axum::extract::Query(q)| {
        Box::pin(async move {
            let parent = endpoint
                .route
                .split('/')
                .zip(uri.0.path().split('/'))
                .find(|(r, _)| *r == "{id}")
                .map(|(_, p)| p.to_string())
                .unwrap_or_default();
            let store = lock(&s.store);
            context::list(&store, endpoint, &parent, &q, &l, &uri, &s.base_url)
        })
    }
}

/// Okta's public document about the org (its id), served without credentials.
const WELL_KNOWN_ORGANIZATION: &str = "/.well-known/okta-organization";

fn router(state: Arc<SimState>) -> Router {
    let mut okta = Router::new();
    for endpoint in context::ENDPOINTS {
        okta = okta.route(endpoint.route, get(context_list(endpoint)));
    }
    let okta = okta
        .route("/api/v1/logs", get(api::logs))
        .route("/api/v1/users", get(api::users))
        .route("/api/v1/users/{id}/groups", get(api::user_groups))
        .route("/api/v1/groups", get(api::groups))
        .route(
            "/api/v1/groups/{id}/users",
            get(sub_collection(Collection::GroupUsers)),
        )
        .route("/api/v1/apps", get(top_collection(Collection::Apps)))
        .route(
            "/api/v1/apps/{id}/users",
            get(sub_collection(Collection::AppUsers)),
        )
        .route(
            "/api/v1/apps/{id}/groups",
            get(sub_collection(Collection::AppGroups)),
        )
        .route("/api/v1/idps", get(top_collection(Collection::Idps)))
        .route("/api/v1/zones", get(top_collection(Collection::Zones)))
        .route(
            "/oauth2/v1/clients",
            get(top_collection(Collection::Clients)),
        )
        .route("/oauth2/v1/token", post(token))
        // Public, as in Okta: the org's id and pipeline, no credentials needed.
        .route(
            WELL_KNOWN_ORGANIZATION,
            get(|State(s): State<Arc<SimState>>| async move {
                axum::Json(serde_json::json!({
                    "id": s.org_id,
                    "pipeline": "idx",
                    "_links": {"organization": {"href": s.base_url}},
                    "settings": {"analyticsCollectionEnabled": false, "bugReportingEnabled": true, "omEnabled": false}
                }))
            }),
        )
        .fallback(|| async {
            errors::OktaError::not_found("no such endpoint in okta-sim").into_response()
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            okta_edge,
        ));
    Router::new()
        .nest("/__sim", control::router())
        .merge(okta)
        .layer(Extension(api::LinkBase {
            origin: state.base_url.clone(),
            malformed: false,
        }))
        .with_state(state)
}

/// A running simulator; dropping it stops the server.
pub struct RunningSim {
    pub url: String,
    pub state: Arc<SimState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningSim {
    /// Waits until the server stops (for the binary).
    pub async fn wait(mut self) {
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        let _ = task.await;
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts a simulator on `config.listen` (default `127.0.0.1:0`).
pub async fn start(config: SimConfig) -> std::io::Result<RunningSim> {
    let listen = config
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let seed = config.seed.clone();
    let url = base_url.clone();
    let store = tokio::task::spawn_blocking(move || store::Store::seeded(&url, &seed, Utc::now()))
        .await
        .map_err(std::io::Error::other)?;
    let state = Arc::new(SimState {
        base_url: base_url.clone(),
        org_id: format!("00o{}", ids::random_suffix(17)),
        store: Mutex::new(store),
        limits: Mutex::new(limits::Limits::new(config.limits)),
        faults: Mutex::new(Faults::default()),
        auth: Mutex::new(oauth::AuthState::new(config.tokens)),
        served: Mutex::new(Served::default()),
        live: Mutex::new(LiveConfig::default()),
        in_flight: AtomicU32::new(0),
    });
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(state.clone());
    let live_state = state.clone();
    let task = tokio::spawn(async move {
        let live = tokio::spawn(control::live_loop(live_state));
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        live.abort();
    });
    Ok(RunningSim {
        url: base_url,
        state,
        shutdown: Some(tx),
        task,
    })
}
