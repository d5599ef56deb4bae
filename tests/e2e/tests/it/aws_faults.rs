//! Deterministic and random AWS faults: a pass-through HTTP proxy in front of moto.
//!
//! The code under test (the real poller process, or the library in-process) gets this proxy as
//! `AWS_ENDPOINT_URL`. Every request goes on to moto unchanged, except those a [`Rule`] or the
//! [`Chaos`] setting picks. Those are answered with a fault instead:
//!
//! - [`Fault::Kill`]: `SIGKILL` the armed process before moto sees the request: a crash exactly
//!   there (after everything before it, before it and everything after).
//! - [`Fault::ServerError`]: HTTP 500 with the service's own error shape (DynamoDB
//!   `InternalServerError`, EventBridge `InternalException`, Secrets Manager
//!   `InternalServiceError`).
//! - [`Fault::Throttle`]: HTTP 400 `ThrottlingException`.
//! - [`Fault::Stall`]: the request reaches moto only after the stall, and its answer comes after
//!   that: a client that gave up meanwhile sees a timeout, and the request may still take effect
//!   later (the nastiest kind of slow).
//! - [`Fault::RejectEntry`]: PutEvents refuses the entries whose `Detail` contains a string, with
//!   a per-entry error code, and delivers the rest (EventBridge's answer is 200 either way).
//! - [`Fault::Unprocessed`]: `BatchGetItem` / `BatchWriteItem` do the first half of their keys
//!   and hand the rest back as `UnprocessedKeys` / `UnprocessedItems`, as DynamoDB does when a
//!   partition is throttled (a single key is handed back whole). Firehose's `PutRecordBatch`
//!   delivers the first half of its records and answers the rest `ServiceUnavailableException`.
//!
//! Rules count the requests they match from 1 (SDK retries are requests too) and fire on the
//! `from..=to` of them. Chaos gives every request a seeded chance of a random fault.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use rand::{RngExt, SeedableRng};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

/// Which requests a rule matches: the `X-Amz-Target` (empty: any; a trailing `*`: a prefix)
/// and a piece of the body (empty: any).
#[derive(Debug, Clone, Copy)]
pub struct Calls {
    pub target: &'static str,
    pub body_contains: &'static str,
}

impl Calls {
    fn matches(&self, target: &str, body: &str) -> bool {
        let target_ok = match self.target.strip_suffix('*') {
            Some(prefix) => target.starts_with(prefix),
            None => self.target.is_empty() || target == self.target,
        };
        target_ok && (self.body_contains.is_empty() || body.contains(self.body_contains))
    }
}

/// The DynamoDB call that moves a stream cursor.
pub fn cursor_commit() -> Calls {
    Calls {
        target: "DynamoDB_20120810.UpdateItem",
        body_contains: "SET #cursor = :cursor",
    }
}

/// Any DynamoDB call on dedupe marks (checks and writes, whichever protocol).
pub fn dedupe_marks() -> Calls {
    Calls {
        target: "",
        body_contains: "dedupe#",
    }
}

/// The DynamoDB call that checks dedupe marks before delivery.
pub fn dedupe_check() -> Calls {
    Calls {
        target: "DynamoDB_20120810.BatchGetItem",
        body_contains: "dedupe#",
    }
}

/// The DynamoDB call that writes delivered marks after the sink acknowledged.
pub fn dedupe_mark_write() -> Calls {
    Calls {
        target: "DynamoDB_20120810.BatchWriteItem",
        body_contains: "dedupe#",
    }
}

/// The EventBridge call that delivers records.
pub fn put_events() -> Calls {
    Calls {
        target: "AWSEvents.PutEvents",
        body_contains: "okta-relay",
    }
}

const PUT_RECORD_BATCH: &str = "Firehose_20150804.PutRecordBatch";

/// The Firehose call that delivers records (its records are base64: no body filter).
pub fn put_record_batch() -> Calls {
    Calls {
        target: PUT_RECORD_BATCH,
        body_contains: "",
    }
}

/// Every DynamoDB call.
pub fn dynamodb() -> Calls {
    Calls {
        target: "DynamoDB_20120810.*",
        body_contains: "",
    }
}

/// What a matched request gets instead of moto's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Kill,
    ServerError,
    Throttle,
    Stall(Duration),
    RejectEntry {
        containing: &'static str,
        code: &'static str,
    },
    Unprocessed,
}

/// A fault for the `from..=to`th requests (counting from 1) that match `calls`.
#[derive(Debug, Clone)]
pub struct Rule {
    pub calls: Calls,
    pub from: usize,
    pub to: usize,
    pub fault: Fault,
}

impl Rule {
    pub fn nth(calls: Calls, n: usize, fault: Fault) -> Self {
        Self {
            calls,
            from: n,
            to: n,
            fault,
        }
    }

    pub fn range(calls: Calls, from: usize, to: usize, fault: Fault) -> Self {
        Self {
            calls,
            from,
            to,
            fault,
        }
    }
}

/// Random faults on every request: each gets a fault with `probability`, its kind drawn
/// evenly from 500, throttling and a stall of `stall`.
#[derive(Debug, Clone, Copy)]
pub struct Chaos {
    pub seed: u64,
    pub probability: f64,
    pub stall: Duration,
}

/// Faults injected so far, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub kills: usize,
    pub server_errors: usize,
    pub throttles: usize,
    pub stalls: usize,
    pub unprocessed: usize,
}

struct Armed {
    rules: Vec<(Rule, usize)>,
    chaos: Option<(Chaos, rand_chacha::ChaCha8Rng)>,
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    armed: Mutex<Armed>,
    pid: AtomicU32,
    kills: AtomicUsize,
    server_errors: AtomicUsize,
    throttles: AtomicUsize,
    stalls: AtomicUsize,
    unprocessed: AtomicUsize,
    /// The `x-amz-expected-bucket-owner` and `if-none-match` headers of every lake put.
    lake_puts: Mutex<Vec<(String, String)>>,
    /// Every lake put's path and the access key id that signed it.
    signed_puts: Mutex<Vec<(String, String)>>,
    /// The body of every STS `AssumeRole` request.
    assume_role: Mutex<Vec<String>>,
    /// The account that owns every bucket, when set: S3's owner check, which moto lacks.
    bucket_owner: Mutex<Option<String>>,
}

pub struct FaultProxy {
    pub url: String,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Starts the proxy in front of `upstream` (moto's endpoint), with no fault armed.
    pub async fn start(upstream: &str) -> Self {
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            armed: Mutex::new(Armed {
                rules: Vec::new(),
                chaos: None,
            }),
            pid: AtomicU32::new(0),
            kills: AtomicUsize::new(0),
            server_errors: AtomicUsize::new(0),
            throttles: AtomicUsize::new(0),
            stalls: AtomicUsize::new(0),
            unprocessed: AtomicUsize::new(0),
            lake_puts: Mutex::new(Vec::new()),
            signed_puts: Mutex::new(Vec::new()),
            assume_role: Mutex::new(Vec::new()),
            bucket_owner: Mutex::new(None),
        });
        // S3 takes objects far larger than axum's default 2 MiB body limit (a staged flush of
        // a few thousand OCSF events passes it).
        let app = Router::new()
            .fallback(forward)
            .layer(axum::extract::DefaultBodyLimit::max(256 * 1024 * 1024))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, shared }
    }

    /// Replaces the rules (their counts start again); `pid` is the process a kill hits.
    pub fn arm(&self, pid: u32, rules: Vec<Rule>) {
        self.shared.pid.store(pid, Ordering::SeqCst);
        self.shared.armed.lock().unwrap().rules = rules.into_iter().map(|r| (r, 0)).collect();
    }

    /// Random faults from now on (`None`: none).
    pub fn chaos(&self, chaos: Option<Chaos>) {
        self.shared.armed.lock().unwrap().chaos =
            chaos.map(|c| (c, rand_chacha::ChaCha8Rng::seed_from_u64(c.seed)));
    }

    pub fn kills(&self) -> usize {
        self.shared.kills.load(Ordering::SeqCst)
    }

    /// The expected bucket owner and `If-None-Match` of every lake put seen (moto checks
    /// neither owner nor account, so the proxy records what S3 would check).
    pub fn lake_puts(&self) -> Vec<(String, String)> {
        self.shared.lake_puts.lock().unwrap().clone()
    }

    /// `(path, access key id)` of every lake put (staging and lake alike).
    pub fn signed_puts(&self) -> Vec<(String, String)> {
        self.shared.signed_puts.lock().unwrap().clone()
    }

    /// The form bodies of the STS `AssumeRole` requests that went through.
    pub fn assume_role_requests(&self) -> Vec<String> {
        self.shared.assume_role.lock().unwrap().clone()
    }

    /// Every bucket belongs to `account` from now on: an S3 request expecting another owner
    /// (`x-amz-expected-bucket-owner`) is refused with 403 `AccessDenied`, as S3 refuses it.
    pub fn buckets_owned_by(&self, account: &str) {
        *self.shared.bucket_owner.lock().unwrap() = Some(account.to_string());
    }

    pub fn counts(&self) -> FaultCounts {
        FaultCounts {
            kills: self.kills(),
            server_errors: self.shared.server_errors.load(Ordering::SeqCst),
            throttles: self.shared.throttles.load(Ordering::SeqCst),
            stalls: self.shared.stalls.load(Ordering::SeqCst),
            unprocessed: self.shared.unprocessed.load(Ordering::SeqCst),
        }
    }
}

/// The fault (if any) for this request; counts rule matches.
fn pick(shared: &Shared, target: &str, body: &str) -> Option<Fault> {
    let mut armed = shared.armed.lock().unwrap();
    let mut fault = None;
    for (rule, seen) in &mut armed.rules {
        if rule.calls.matches(target, body) {
            *seen += 1;
            if fault.is_none() && (rule.from..=rule.to).contains(seen) {
                fault = Some(rule.fault);
            }
        }
    }
    if fault.is_none()
        && let Some((chaos, rng)) = &mut armed.chaos
        && rng.random_bool(chaos.probability.clamp(0.0, 1.0))
    {
        fault = Some(match rng.random_range(0..3) {
            0 => Fault::ServerError,
            1 => Fault::Throttle,
            _ => Fault::Stall(chaos.stall),
        });
    }
    fault
}

/// Sends `body` to moto at the request's path with the request's headers (a rewritten JSON
/// request), and returns moto's JSON answer, or the 502 to answer with.
async fn post_upstream(
    shared: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    body: String,
) -> Result<serde_json::Value, Response> {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut forward = shared
        .http
        .post(format!("{}{path}", shared.upstream))
        .body(body);
    for (name, value) in headers {
        if name != "host" && name != "content-length" {
            forward = forward.header(name, value);
        }
    }
    match forward.send().await {
        Ok(r) => Ok(r.json().await.unwrap_or_default()),
        Err(_) => Err(Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::empty())
            .unwrap()),
    }
}

/// PutEvents with the entries whose `Detail` contains `containing` refused with `code`: the
/// others go on to moto, and the answer has one result per entry, in order, as EventBridge's.
async fn reject_entries(
    shared: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    containing: &str,
    code: &str,
) -> Response {
    let mut request: serde_json::Value = serde_json::from_slice(body).unwrap();
    let entries = request["Entries"].as_array().cloned().unwrap_or_default();
    let refused: Vec<bool> = entries
        .iter()
        .map(|e| e["Detail"].as_str().is_some_and(|d| d.contains(containing)))
        .collect();
    request["Entries"] = serde_json::Value::Array(
        entries
            .into_iter()
            .zip(&refused)
            .filter(|(_, r)| !**r)
            .map(|(e, _)| e)
            .collect(),
    );
    let answer = match post_upstream(shared, uri, headers, request.to_string()).await {
        Ok(answer) => answer,
        Err(bad_gateway) => return bad_gateway,
    };
    let mut accepted = answer["Entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter();
    let mut failed = answer["FailedEntryCount"].as_u64().unwrap_or(0);
    let results: Vec<serde_json::Value> = refused
        .iter()
        .map(|r| {
            if *r {
                failed += 1;
                serde_json::json!({"ErrorCode": code, "ErrorMessage": "injected: refused for good"})
            } else {
                accepted.next().unwrap_or_default()
            }
        })
        .collect();
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Body::from(
            serde_json::json!({"FailedEntryCount": failed, "Entries": results}).to_string(),
        ))
        .unwrap()
}

/// PutRecordBatch that delivers the first half of its records and answers the rest failed with
/// `ServiceUnavailableException`, as Firehose does under load (HTTP 200, `FailedPutCount`).
async fn half_records(shared: &Shared, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Response {
    let mut request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let records = request["Records"].as_array().cloned().unwrap_or_default();
    let keep = records.len() / 2;
    let mut results = Vec::with_capacity(records.len());
    if keep > 0 {
        request["Records"] = serde_json::Value::Array(records[..keep].to_vec());
        match post_upstream(shared, uri, headers, request.to_string()).await {
            Ok(answer) => results.extend(
                answer["RequestResponses"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            ),
            Err(bad_gateway) => return bad_gateway,
        }
    }
    let failed = records.len() - keep;
    results.extend((0..failed).map(|_| {
        serde_json::json!({"ErrorCode": "ServiceUnavailableException",
            "ErrorMessage": "injected: slow down"})
    }));
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Body::from(
            serde_json::json!({"FailedPutCount": failed, "Encrypted": false,
                "RequestResponses": results})
            .to_string(),
        ))
        .unwrap()
}

/// A DynamoDB batch call that does the first half of its work: the rest comes back
/// unprocessed, in the shape of the call (`Keys` with the request's other attributes for
/// `BatchGetItem`, the write requests for `BatchWriteItem`).
async fn half_processed(
    shared: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    target: &str,
) -> Response {
    let mut request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let gets = target.ends_with("BatchGetItem");
    let mut left = serde_json::Map::new();
    let mut any_kept = false;
    if let Some(tables) = request["RequestItems"].as_object_mut() {
        for (table, work) in tables.iter_mut() {
            let items = if gets { &mut work["Keys"] } else { &mut *work };
            let all = items.as_array().cloned().unwrap_or_default();
            let keep = all.len() / 2;
            any_kept |= keep > 0;
            *items = serde_json::Value::Array(all[..keep].to_vec());
            let rest = serde_json::Value::Array(all[keep..].to_vec());
            left.insert(
                table.clone(),
                if gets {
                    let mut unprocessed = work.clone();
                    unprocessed["Keys"] = rest;
                    unprocessed
                } else {
                    rest
                },
            );
        }
    }
    let mut answer = if any_kept {
        match post_upstream(shared, uri, headers, request.to_string()).await {
            Ok(answer) => answer,
            Err(bad_gateway) => return bad_gateway,
        }
    } else {
        serde_json::json!({})
    };
    let field = if gets {
        "UnprocessedKeys"
    } else {
        "UnprocessedItems"
    };
    answer[field] = serde_json::Value::Object(left);
    if gets && answer.get("Responses").is_none() {
        answer["Responses"] = serde_json::json!({});
    }
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/x-amz-json-1.0")
        .body(Body::from(answer.to_string()))
        .unwrap()
}

/// S3's REST calls have no `X-Amz-Target`: a PUT of a Security Lake object is `S3.PutObject`.
fn s3_target(method: &Method, uri: &Uri) -> String {
    let path = uri.path();
    if *method == Method::PUT && (path.contains("/region=") || path.contains("/region%3D")) {
        "S3.PutObject".to_string()
    } else {
        String::new()
    }
}

/// Security Lake object writes.
pub fn lake_put() -> Calls {
    Calls {
        target: "S3.PutObject",
        body_contains: "",
    }
}

/// The DynamoDB call that writes lake marks after an object is stored.
pub fn lake_mark_write() -> Calls {
    Calls {
        target: "DynamoDB_20120810.BatchWriteItem",
        body_contains: "lake#",
    }
}

/// S3's answer to a request whose expected bucket owner is not the bucket's.
fn s3_access_denied() -> Response {
    Response::builder()
        .status(StatusCode::FORBIDDEN)
        .header("content-type", "application/xml")
        .header("x-amz-request-id", "owner-check")
        .body(Body::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>owner-check</RequestId></Error>"#,
        ))
        .unwrap()
}

/// S3's XML error answer.
fn s3_error_response(fault: Fault) -> Response {
    let (status, code) = match fault {
        Fault::Throttle => (StatusCode::SERVICE_UNAVAILABLE, "SlowDown"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .header("x-amz-request-id", "injected-fault")
        .body(Body::from(format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>injected fault</Message><RequestId>injected-fault</RequestId></Error>"#
        )))
        .unwrap()
}

/// The service's own error answer for `target`.
fn error_response(target: &str, fault: Fault) -> Response {
    if target.starts_with("S3.") {
        return s3_error_response(fault);
    }
    let (status, code) = match (target.split('.').next().unwrap_or(""), fault) {
        ("DynamoDB_20120810", Fault::Throttle) => (
            StatusCode::BAD_REQUEST,
            "com.amazonaws.dynamodb.v20120810#ThrottlingException",
        ),
        ("DynamoDB_20120810", _) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "com.amazonaws.dynamodb.v20120810#InternalServerError",
        ),
        // Firehose throttles with ServiceUnavailableException (HTTP 503).
        ("Firehose_20150804", Fault::Throttle) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
        ),
        ("secretsmanager", Fault::Throttle) | (_, Fault::Throttle) => {
            (StatusCode::BAD_REQUEST, "ThrottlingException")
        }
        ("secretsmanager", _) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServiceError"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "InternalException"),
    };
    let content_type = if target.starts_with("DynamoDB") {
        "application/x-amz-json-1.0"
    } else {
        "application/x-amz-json-1.1"
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-requestid", "injected-fault")
        .body(Body::from(format!(
            r#"{{"__type":"{code}","message":"injected fault"}}"#
        )))
        .unwrap()
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
        .map(str::to_string)
        .unwrap_or_else(|| s3_target(&method, &uri));
    if target == "S3.PutObject" {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        shared.lake_puts.lock().unwrap().push((
            header("x-amz-expected-bucket-owner"),
            header("if-none-match"),
        ));
        let key_id = header("authorization")
            .split("Credential=")
            .nth(1)
            .and_then(|c| c.split('/').next())
            .unwrap_or_default()
            .to_string();
        shared
            .signed_puts
            .lock()
            .unwrap()
            .push((uri.path().to_string(), key_id));
    }
    let form = String::from_utf8_lossy(&body);
    if form.contains("Action=AssumeRole") {
        shared.assume_role.lock().unwrap().push(form.to_string());
    }
    let expected = headers
        .get("x-amz-expected-bucket-owner")
        .and_then(|v| v.to_str().ok());
    let owner = shared.bucket_owner.lock().unwrap().clone();
    if let (Some(expected), Some(owner)) = (expected, owner)
        && expected != owner
    {
        return s3_access_denied();
    }
    let fault = pick(&shared, &target, &String::from_utf8_lossy(&body));
    let mut stall = None;
    match fault {
        Some(Fault::Kill) => {
            // Counted first: the test sees the process die as soon as the signal lands.
            shared.kills.fetch_add(1, Ordering::SeqCst);
            let pid = shared.pid.load(Ordering::SeqCst);
            if pid != 0 {
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid.to_string()])
                    .status();
            }
            return Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .body(Body::empty())
                .unwrap();
        }
        Some(f @ Fault::ServerError) => {
            shared.server_errors.fetch_add(1, Ordering::SeqCst);
            return error_response(&target, f);
        }
        Some(f @ Fault::Throttle) => {
            shared.throttles.fetch_add(1, Ordering::SeqCst);
            return error_response(&target, f);
        }
        Some(Fault::Stall(d)) => {
            shared.stalls.fetch_add(1, Ordering::SeqCst);
            stall = Some(d);
        }
        Some(Fault::RejectEntry { containing, code }) => {
            return reject_entries(&shared, &uri, &headers, &body, containing, code).await;
        }
        Some(Fault::Unprocessed) if target == PUT_RECORD_BATCH => {
            shared.unprocessed.fetch_add(1, Ordering::SeqCst);
            return half_records(&shared, &uri, &headers, &body).await;
        }
        Some(Fault::Unprocessed) => {
            shared.unprocessed.fetch_add(1, Ordering::SeqCst);
            return half_processed(&shared, &uri, &headers, &body, &target).await;
        }
        None => {}
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let mut request = shared
        .http
        .request(method, format!("{}{path}", shared.upstream))
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    // A task of its own: a stalled request still reaches moto after its client gave up.
    let task = tokio::spawn(async move {
        if let Some(d) = stall {
            tokio::time::sleep(d).await;
        }
        let upstream = request.send().await?;
        let status = upstream.status();
        let headers = upstream.headers().clone();
        let bytes = upstream.bytes().await?;
        Ok::<_, reqwest::Error>((status, headers, bytes))
    });
    match task.await {
        Ok(Ok((status, upstream_headers, bytes))) => {
            let mut response = Response::builder().status(status);
            for (name, value) in &upstream_headers {
                if name != "content-length" && name != "transfer-encoding" {
                    response = response.header(name, value);
                }
            }
            response.body(Body::from(bytes)).unwrap()
        }
        _ => Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::empty())
            .unwrap(),
    }
}

/// AWS clients whose calls go through a proxy, with short timeouts (so a stall is abandoned
/// quickly) and the relay's retry settings. (Each client's own endpoint: it wins over the
/// `AWS_ENDPOINT_URL` the suites run with.)
pub struct ClientsThrough {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub s3: aws_sdk_s3::Client,
    pub firehose: aws_sdk_firehose::Client,
}

pub async fn sdk_through(proxy: &FaultProxy, attempt: Duration, call: Duration) -> ClientsThrough {
    let sdk = okta_relay::adapters::load_aws_config_with(okta_relay::adapters::AwsTimeouts {
        attempt,
        call,
        put_events_attempt: attempt,
    })
    .await;
    // The per-event clients as the functions build them (fixed user agent, no stalled-stream
    // watch), so the faults below test what ships; only their endpoint is the proxy.
    use okta_relay::adapters::per_event_clients;
    ClientsThrough {
        dynamodb: aws_sdk_dynamodb::Client::from_conf(
            per_event_clients::dynamodb_config(&sdk)
                .endpoint_url(&proxy.url)
                .build(),
        ),
        eventbridge: aws_sdk_eventbridge::Client::from_conf(
            per_event_clients::eventbridge_config(&sdk)
                .endpoint_url(&proxy.url)
                .build(),
        ),
        secrets: aws_sdk_secretsmanager::Client::from_conf(
            aws_sdk_secretsmanager::config::Builder::from(&sdk)
                .endpoint_url(&proxy.url)
                .build(),
        ),
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .endpoint_url(&proxy.url)
                .force_path_style(true)
                .build(),
        ),
        firehose: aws_sdk_firehose::Client::from_conf(
            per_event_clients::firehose_config(&sdk)
                .endpoint_url(&proxy.url)
                .build(),
        ),
    }
}
