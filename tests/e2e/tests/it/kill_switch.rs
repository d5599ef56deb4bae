//! A pass-through proxy in front of moto that SIGKILLs a process at a chosen AWS call.
//!
//! The poller runs as a real process with `AWS_ENDPOINT_URL` pointing here. Every request goes
//! on to moto unchanged, except the one the [`KillAt`] rule picks: then the process is killed
//! with `SIGKILL` before moto sees the request, which is exactly a crash at that point of the
//! run (after everything before it, before it and everything after).

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// Where to crash: the `n`th request (counting from 1) whose `X-Amz-Target` is `target` and
/// whose body contains `body_contains`.
#[derive(Debug, Clone)]
pub struct KillAt {
    pub target: &'static str,
    pub body_contains: &'static str,
    pub nth: usize,
}

/// The DynamoDB call that moves a stream cursor.
pub fn cursor_commit(nth: usize) -> KillAt {
    KillAt {
        target: "DynamoDB_20120810.UpdateItem",
        body_contains: "SET #cursor = :cursor",
        nth,
    }
}

/// The DynamoDB call that claims one dedupe mark before delivery.
pub fn dedupe_claim(nth: usize) -> KillAt {
    KillAt {
        target: "DynamoDB_20120810.PutItem",
        body_contains: "claimed_by",
        nth,
    }
}

/// The EventBridge call that delivers records.
pub fn put_events(nth: usize) -> KillAt {
    KillAt {
        target: "AWSEvents.PutEvents",
        body_contains: "okta-relay",
        nth,
    }
}

/// The DynamoDB call that confirms dedupe marks after delivery.
pub fn dedupe_confirm(nth: usize) -> KillAt {
    KillAt {
        target: "DynamoDB_20120810.BatchWriteItem",
        body_contains: "confirmed",
        nth,
    }
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    rule: Mutex<Option<KillAt>>,
    seen: AtomicUsize,
    pid: AtomicU32,
    kills: AtomicUsize,
}

pub struct KillSwitch {
    pub url: String,
    shared: Arc<Shared>,
}

impl KillSwitch {
    /// Starts the proxy in front of `upstream` (moto's endpoint).
    pub async fn start(upstream: &str) -> Self {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            rule: Mutex::new(None),
            seen: AtomicUsize::new(0),
            pid: AtomicU32::new(0),
            kills: AtomicUsize::new(0),
        });
        let app = Router::new().fallback(forward).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, shared }
    }

    /// Kill `pid` at `rule` (counting starts again), or never with `None`.
    pub fn arm(&self, pid: u32, rule: Option<KillAt>) {
        self.shared.seen.store(0, Ordering::SeqCst);
        self.shared.pid.store(pid, Ordering::SeqCst);
        *self.shared.rule.lock().unwrap() = rule;
    }

    pub fn kills(&self) -> usize {
        self.shared.kills.load(Ordering::SeqCst)
    }
}

async fn forward(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let rule = shared.rule.lock().unwrap().clone();
    if let Some(rule) = rule
        && target == rule.target
        && String::from_utf8_lossy(&body).contains(rule.body_contains)
        && shared.seen.fetch_add(1, Ordering::SeqCst) + 1 == rule.nth
    {
        // Counted first: the test sees the process die as soon as the signal lands.
        shared.kills.fetch_add(1, Ordering::SeqCst);
        let pid = shared.pid.load(Ordering::SeqCst);
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
        return Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .body(Body::empty())
            .unwrap();
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = shared
        .http
        .request(method, format!("{}{path}", shared.upstream))
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(upstream) => {
            let mut response = Response::builder().status(upstream.status());
            for (name, value) in upstream.headers() {
                if name != "content-length" && name != "transfer-encoding" {
                    response = response.header(name, value);
                }
            }
            let bytes = upstream.bytes().await.unwrap_or_default();
            response.body(Body::from(bytes)).unwrap()
        }
        Err(_) => Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::empty())
            .unwrap(),
    }
}
