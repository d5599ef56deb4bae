//! Shared support: isolated local AWS resources per test, and reading the capture queue.

use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One isolated set of resources in moto, created by `tests/local/stack.py provision`: the
/// same definitions `make up` uses.
#[derive(Debug, Deserialize)]
pub struct LocalStack {
    pub state_table: String,
    pub delivery_bus: String,
    pub capture_queue_url: String,
    /// Where the template's partner rule lives locally (moto cannot put a rule on a bus whose
    /// name has a "/"), and its target, the push queue.
    pub partner_standin_bus: String,
    pub push_queue_url: String,
    pub delivery_dlq_url: String,
    /// A Firehose delivery stream (the `firehose` sink) writing to `archive_bucket`.
    pub firehose_stream: String,
    pub archive_bucket: String,
    pub org_secrets: HashMap<String, String>,
    #[serde(skip)]
    pub sdk: Option<aws_config::SdkConfig>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A workspace binary `make test` built (built here if missing).
pub fn workspace_binary(package: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let bin = target.join("debug").join(package);
    if !bin.exists() {
        let built = std::process::Command::new("cargo")
            .args(["build", "--locked", "-p", package])
            .current_dir(repo_root())
            .status()
            .unwrap();
        assert!(built.success(), "cargo build -p {package}");
    }
    bin
}

pub fn python() -> PathBuf {
    std::env::var_os("OKTA_RELAY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".local/venv/bin/python"))
}

impl LocalStack {
    /// Provisions fresh resources (and one secret per `(name, org_url)`).
    pub async fn provision(orgs: &[(&str, &str)]) -> Self {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").expect(
            "AWS_ENDPOINT_URL is not set: run the suites with `make test`, or `make up` and \
             `source .local/stack.env`",
        );
        let prefix = format!(
            "t{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            chrono::Utc::now().timestamp_subsec_micros()
        );
        let mut cmd = std::process::Command::new(python());
        cmd.arg(repo_root().join("tests/local/stack.py")).args([
            "provision",
            "--endpoint",
            &endpoint,
            "--prefix",
            &prefix,
        ]);
        for (name, url) in orgs {
            cmd.args(["--org", &format!("{name}={url}")]);
        }
        let out = cmd
            .output()
            .expect("run tests/local/stack.py (is the venv installed? `make up`)");
        assert!(
            out.status.success(),
            "stack.py provision failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut stack: LocalStack = serde_json::from_slice(&out.stdout).expect("stack.py JSON");
        // The harness's own clients wait as long as moto needs (a scan of a table with 50 000
        // marks under load); the relay's clients keep their own timeouts.
        let patient = okta_relay::adapters::AwsTimeouts {
            attempt: Duration::from_secs(120),
            call: Duration::from_secs(300),
            put_events_attempt: Duration::from_secs(120),
        };
        stack.sdk = Some(okta_relay::adapters::load_aws_config_with(patient).await);
        stack
    }

    /// Stores an org secret (`org_url` + `api_token`) and returns its ARN.
    pub async fn put_org_secret(&self, name: &str, org_url: &str, token: &str) -> String {
        let text = serde_json::json!({"org_url": org_url, "api_token": token}).to_string();
        self.put_secret(name, &text).await
    }

    /// Stores a secret with any JSON text and returns its ARN.
    pub async fn put_secret(&self, name: &str, text: &str) -> String {
        let client = aws_sdk_secretsmanager::Client::new(self.sdk());
        let out = client
            .create_secret()
            .name(format!(
                "{}/okta/{name}",
                self.state_table.trim_end_matches("-state")
            ))
            .secret_string(text)
            .send()
            .await
            .expect("create secret");
        out.arn().expect("secret ARN").to_string()
    }

    /// Replaces a secret's value (a rotation).
    pub async fn update_secret(&self, arn: &str, text: &str) {
        aws_sdk_secretsmanager::Client::new(self.sdk())
            .put_secret_value()
            .secret_id(arn)
            .secret_string(text)
            .send()
            .await
            .expect("put secret value");
    }

    /// Puts partner events on the partner bus (the local stand-in, whose rule targets the push
    /// queue), as Okta Log Streaming does.
    pub async fn put_partner_events(&self, source: &str, details: &[Value]) {
        let events = aws_sdk_eventbridge::Client::new(self.sdk());
        for chunk in details.chunks(10) {
            let entries: Vec<_> = chunk
                .iter()
                .map(|d| {
                    aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                        .event_bus_name(&self.partner_standin_bus)
                        .source(source)
                        .detail_type("SystemLog")
                        .detail(d.to_string())
                        .build()
                })
                .collect();
            let out = events
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .expect("put partner events");
            assert_eq!(out.failed_entry_count(), 0);
        }
    }

    /// What the push queue's event source mapping does: receives up to `max` messages and
    /// returns them as the SQS event Lambda would invoke the events function with, and the
    /// receipt handles by message id.
    pub async fn push_batch(&self, max: usize) -> (Value, HashMap<String, String>) {
        let sqs = aws_sdk_sqs::Client::new(self.sdk());
        let mut records = Vec::new();
        let mut receipts = HashMap::new();
        let mut empty = 0;
        while records.len() < max && empty < 3 {
            let got = sqs
                .receive_message()
                .queue_url(&self.push_queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive from the push queue");
            if got.messages().is_empty() {
                empty += 1;
                continue;
            }
            for m in got.messages() {
                let id = m.message_id().unwrap_or_default().to_string();
                receipts.insert(
                    id.clone(),
                    m.receipt_handle().unwrap_or_default().to_string(),
                );
                records.push(serde_json::json!({
                    "messageId": id, "eventSource": "aws:sqs",
                    "body": m.body().unwrap_or_default(),
                }));
            }
        }
        (serde_json::json!({ "Records": records }), receipts)
    }

    /// Deletes what the events function handled: every message of the batch but its failures
    /// (SQS's partial batch response, as the event source mapping applies it).
    pub async fn finish_push_batch(&self, receipts: &HashMap<String, String>, answer: &Value) {
        let failed: std::collections::HashSet<&str> = answer["batchItemFailures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["itemIdentifier"].as_str())
            .collect();
        let sqs = aws_sdk_sqs::Client::new(self.sdk());
        for (id, receipt) in receipts {
            if !failed.contains(id.as_str()) {
                sqs.delete_message()
                    .queue_url(&self.push_queue_url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .expect("delete from the push queue");
            }
        }
    }

    pub fn sdk(&self) -> &aws_config::SdkConfig {
        self.sdk.as_ref().expect("sdk config loaded")
    }

    /// Drains the capture queue in the background, as a SIEM consumes its feed (moto's
    /// EventBridge-to-SQS delivery slows down as a queue grows). `stop` and collect with
    /// [`Drainer::finish`].
    pub fn drain_in_background(&self) -> Drainer {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Several receivers: each of moto's SQS calls costs time proportional to the queue's
        // length, so the queue must stay short.
        let tasks = (0..4)
            .map(|_| {
                let sqs = aws_sdk_sqs::Client::new(self.sdk());
                let url = self.capture_queue_url.clone();
                let flag = stop.clone();
                tokio::spawn(async move {
                    let mut out = Vec::new();
                    let mut empty_after_stop = 0;
                    loop {
                        let got = receive_and_delete(&sqs, &url).await;
                        if got.is_empty() {
                            if flag.load(std::sync::atomic::Ordering::SeqCst) {
                                empty_after_stop += 1;
                                if empty_after_stop >= 3 {
                                    return out;
                                }
                            }
                            continue;
                        }
                        empty_after_stop = 0;
                        out.extend(got);
                    }
                })
            })
            .collect();
        Drainer { stop, tasks }
    }

    /// Drains the capture queue: receives until at least `expected` messages arrived and the
    /// queue stays empty, or nothing arrived for `idle`. Returns the EventBridge envelopes
    /// (parsed JSON bodies), duplicates included.
    pub async fn capture(&self, expected: usize, idle: Duration) -> Vec<Value> {
        let sqs = aws_sdk_sqs::Client::new(self.sdk());
        let mut out = Vec::new();
        let mut last_message = Instant::now();
        loop {
            let got = receive_and_delete(&sqs, &self.capture_queue_url).await;
            if got.is_empty() {
                if out.len() >= expected || last_message.elapsed() >= idle {
                    return once_per_event_id(out);
                }
                continue;
            }
            last_message = Instant::now();
            out.extend(got);
        }
    }
}

/// A background drain of the capture queue.
pub struct Drainer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<Value>>>,
}

impl Drainer {
    /// Stops once the queue has stayed empty for a few seconds; returns every envelope.
    pub async fn finish(self) -> Vec<Value> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut out = Vec::new();
        for task in self.tasks {
            out.extend(task.await.expect("drainer"));
        }
        once_per_event_id(out)
    }
}

/// Drops repeated deliveries of one EventBridge event (same envelope `id`). moto's SQS can hand
/// one message to two concurrent receivers; that is the harness's duplicate, not the relay's:
/// every entry the relay puts, a resend included, gets a fresh event id, so a relay duplicate
/// is never removed here. Every record is checked against its schema under `schemas/`.
fn once_per_event_id(envelopes: Vec<Value>) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    let total = envelopes.len();
    let out: Vec<Value> = envelopes
        .into_iter()
        .filter(|e| {
            e["id"]
                .as_str()
                .is_none_or(|id| seen.insert(id.to_string()))
        })
        .collect();
    if out.len() < total {
        eprintln!(
            "capture: {} repeated deliveries of the same EventBridge event dropped",
            total - out.len()
        );
    }
    super::schemas::assert_valid(&out);
    out
}

/// One receive from a queue; deletes and returns what it got (parsed JSON bodies).
async fn receive_and_delete(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Value> {
    let resp = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        // Not handed out again while a test runs, however slow moto gets under load.
        .visibility_timeout(900)
        .send()
        .await
        .expect("receive from capture queue");
    let messages = resp.messages();
    if messages.is_empty() {
        return Vec::new();
    }
    let mut delete = sqs.delete_message_batch().queue_url(url);
    let mut out = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        out.push(serde_json::from_str(m.body().unwrap_or("null")).expect("JSON body"));
        delete = delete.entries(
            aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .build()
                .expect("delete entry"),
        );
    }
    let deleted = delete.send().await.expect("delete from capture queue");
    assert!(
        deleted.failed().is_empty(),
        "capture queue deletes failed: {:?}",
        deleted.failed()
    );
    out
}

/// An EventBridge envelope as Okta Log Streaming delivers a System Log event (Okta's published
/// example): `detail-type` `SystemLog`, the partner `source`, the LogEvent as `detail`.
pub fn partner_envelope(source: &str, detail: &serde_json::Value) -> serde_json::Value {
    // EventBridge stamps `time` itself: the event's `published` when it reads as a time (what
    // the suites compare against), the moment of the put otherwise.
    let time = detail["published"]
        .as_str()
        .filter(|p| chrono::DateTime::parse_from_rfc3339(p).is_ok())
        .map(str::to_string)
        .unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string());
    serde_json::json!({
        "version": "0",
        "id": format!("eb-{}", detail["uuid"].as_str().unwrap_or("x")),
        "detail-type": "SystemLog",
        "source": source,
        "account": "123456789012",
        "time": time,
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    })
}

impl LocalStack {
    /// Writes `text` to the SSM parameter `name` (a new version each time), as the IaC does.
    pub async fn put_config_parameter(&self, name: &str, text: &str) {
        let tier = if text.len() > 4096 {
            aws_sdk_ssm::types::ParameterTier::Advanced
        } else {
            aws_sdk_ssm::types::ParameterTier::Standard
        };
        aws_sdk_ssm::Client::new(self.sdk())
            .put_parameter()
            .name(name)
            .value(text)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .tier(tier)
            .overwrite(true)
            .send()
            .await
            .expect("put the configuration parameter");
    }

    /// Writes `text` to `s3://<bucket>/<key>`, creating the bucket, and returns the URI.
    pub async fn put_config_object(&self, bucket: &str, key: &str, text: &str) -> String {
        let s3 = self.s3();
        let _ = s3.create_bucket().bucket(bucket).send().await;
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(text.as_bytes().to_vec().into())
            .send()
            .await
            .expect("put the configuration object");
        format!("s3://{bucket}/{key}")
    }

    /// Creates the Firehose stream `firehose_stream` to the bucket `archive_bucket` (moto writes
    /// each PutRecordBatch as one object at once; AWS buffers, then writes). Only the tests that
    /// use it make one: moto takes at most 50 streams.
    pub async fn create_firehose(&self) {
        self.s3()
            .create_bucket()
            .bucket(&self.archive_bucket)
            .send()
            .await
            .expect("create the archive bucket");
        let destination = aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
            .role_arn("arn:aws:iam::123456789012:role/okta-relay-firehose")
            .bucket_arn(format!("arn:aws:s3:::{}", self.archive_bucket))
            .prefix("okta-relay/")
            .compression_format(aws_sdk_firehose::types::CompressionFormat::Uncompressed)
            .build()
            .expect("destination");
        aws_sdk_firehose::Client::new(self.sdk())
            .create_delivery_stream()
            .delivery_stream_name(&self.firehose_stream)
            .delivery_stream_type(aws_sdk_firehose::types::DeliveryStreamType::DirectPut)
            .extended_s3_destination_configuration(destination)
            .send()
            .await
            .expect("create the Firehose stream");
    }

    /// Every record the Firehose stream wrote to the archive bucket, in object order, each
    /// checked against its schema: `{source, detail-type, time, org, detail}` (NDJSON, one
    /// record per line). Repeats are the relay's: moto writes each PutRecordBatch once.
    pub async fn archived(&self) -> Vec<Value> {
        let s3 = self.s3();
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let out = s3
                .list_objects_v2()
                .bucket(&self.archive_bucket)
                .set_continuation_token(token)
                .send()
                .await
                .expect("list the archive");
            keys.extend(
                out.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
            token = out.next_continuation_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let mut records = Vec::new();
        for key in keys {
            let object = s3
                .get_object()
                .bucket(&self.archive_bucket)
                .key(&key)
                .send()
                .await
                .expect("get an archive object");
            let bytes = object.body.collect().await.expect("read it").into_bytes();
            let text = std::str::from_utf8(&bytes).expect("UTF-8 NDJSON");
            assert!(text.ends_with('\n'), "{key}: every record ends its line");
            for line in text.lines() {
                records.push(serde_json::from_str::<Value>(line).expect("one JSON record a line"));
            }
        }
        super::schemas::assert_valid(&records);
        records
    }

    /// An S3 client on moto, as the relay builds it.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        okta_relay::adapters::s3_client(self.sdk())
    }
}
