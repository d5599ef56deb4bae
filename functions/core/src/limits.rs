//! Every limit the relay works within, named once: AWS's and Okta's published limits, and the
//! bounds the relay sets itself. Configuration defaults live in [`crate::config`]; code reads
//! limits from here, never as bare literals.

use std::time::Duration;

// ---- EventBridge PutEvents ----

/// Entries per PutEvents call (AWS).
pub const PUT_EVENTS_MAX_ENTRIES: usize = 10;
/// The classic PutEvents request size limit, the default of `max_request_bytes` (AWS).
pub const PUT_EVENTS_DEFAULT_REQUEST_BYTES: usize = 256 * 1024;
/// The raised PutEvents request size limit (AWS, 2026).
pub const PUT_EVENTS_MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// What an entry's `Time` adds to its size in AWS's entry-size formula.
pub const PUT_EVENTS_TIME_BYTES: usize = 14;
/// The most PutEvents requests a delivery keeps in flight at once (the default of
/// `put_events_in_flight`; the window adapts below it): a page of 1 000 events is 100 requests, and one at a time caps a
/// poller at ~400 events/s on EventBridge's ~25 ms answers.
pub const PUT_EVENTS_IN_FLIGHT: usize = 16;
/// The most a configuration may ask for (EventBridge's PutEvents quota is thousands a second).
pub const PUT_EVENTS_MAX_IN_FLIGHT: usize = 64;
/// Where the adaptive in-flight window starts before it has seen an answer
/// ([`crate::pipeline::InFlightWindow`]).
pub const PUT_EVENTS_IN_FLIGHT_START: usize = 4;

/// Bytes a PutEvents body adds around one entry's strings (member names, quotes, separators),
/// for reserving the body once (`adapters/sinks/put_events_body.rs`).
pub const PUT_EVENTS_ENTRY_FRAME_BYTES: usize = 96;
/// Bytes reserved for a record's `relay` object and the wrapping around its Okta object (a
/// System Log record's metadata is ≈ 250 bytes), for writing the record once
/// (`record/mod.rs`).
pub const RECORD_METADATA_ROOM_BYTES: usize = 384;

// ---- Amazon Data Firehose PutRecordBatch ----

/// Records per PutRecordBatch call (AWS).
pub const FIREHOSE_MAX_RECORDS_PER_CALL: usize = 500;
/// One PutRecordBatch request, all records together: AWS allows 4 MiB and does not say whether
/// before or after base64, so the relay plans 3 MiB of records, 4 MiB once base64-encoded.
pub const FIREHOSE_MAX_REQUEST_BYTES: usize = 3 * 1024 * 1024;
/// The longest delivery stream name (AWS).
pub const FIREHOSE_STREAM_NAME_MAX: usize = 64;
/// One Firehose record before base64 (AWS: 1,000 KiB).
pub const FIREHOSE_MAX_RECORD_BYTES: usize = 1000 * 1024;
/// What a Firehose record's envelope adds to its entry's PutEvents size at most: the keys, the
/// time as text, and an org name of up to 64 characters ([`crate::adapters::firehose`]).
pub const FIREHOSE_RECORD_OVERHEAD: usize = 160;

// ---- DynamoDB ----

/// Keys per `BatchGetItem` call (AWS).
pub const DYNAMODB_BATCH_GET_KEYS: usize = 100;
/// Puts and deletes per `BatchWriteItem` call (AWS).
pub const DYNAMODB_BATCH_WRITE_ITEMS: usize = 25;
/// The largest item DynamoDB stores (AWS: 400 KB, attribute names included).
pub const DYNAMODB_MAX_ITEM_BYTES: usize = 400 * 1024;
/// The largest stream cursor the relay writes: the item also holds the lease and its
/// attribute names, and a cursor anywhere near the item limit is a bug, not data.
pub const MAX_CURSOR_BYTES: usize = 64 * 1024;
/// Batch calls on dedupe marks in flight at once (a page of 1 000 records is 10 reads and 40
/// writes).
pub const MARK_BATCH_CONCURRENCY: usize = 8;
/// How often keys DynamoDB left unprocessed (throttling) are sent again before the call fails.
pub const UNPROCESSED_RETRIES: u32 = 5;
/// The first wait before resending unprocessed keys; it grows linearly.
pub const UNPROCESSED_RETRY_BACKOFF: Duration = Duration::from_millis(50);

// ---- Every AWS SDK call ----

/// How long one attempt of an AWS call may take before it is abandoned and retried.
pub const AWS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long an AWS call may take in all, retries included: a stalled call ends well inside the
/// poller's deadline margin (45 s by default).
pub const AWS_CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// With Security Lake on, `lease_seconds` covers at least this many `aws_call_timeout_seconds`:
/// a lake object's put, fenced by a lease confirmed just before it, ends while that lease holds.
pub const LAKE_LEASE_PER_CALL: u64 = 2;
/// A Security Lake object write (tens of MB of Parquet at most) gets at least this long an
/// attempt and a call: a whole object is sent per attempt, unlike the state table's small items.
/// Both stay under the poller's deadline margin, so the last flush of a run ends inside it.
pub const LAKE_PUT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
pub const LAKE_PUT_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting to an AWS endpoint may take.
pub const AWS_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts per AWS call, the first included (the SDK's standard retry mode).
pub const AWS_MAX_ATTEMPTS: u32 = 3;

// ---- Lambda ----

/// Lambda's longest invocation.
pub const LAMBDA_MAX_RUN: Duration = Duration::from_secs(15 * 60);

// ---- Okta ----

/// How long Okta keeps System Log events (90 days; the API accepts a `since` up to 180 days
/// back, [`OKTA_LOG_RETENTION`], but finds nothing older than this).
pub const OKTA_LOG_KEPT_DAYS: i64 = 90;
/// How far back the System Log API reaches (Okta: 180 days).
pub const OKTA_LOG_RETENTION: chrono::Duration = chrono::Duration::days(180);
/// How far inside that window a first `since` stays, so clock skew and the time the request
/// takes never push it past Okta's edge (which answers 400 `E0000053`).
pub const OKTA_LOG_RETENTION_MARGIN: chrono::Duration = chrono::Duration::hours(1);
/// System Log events per page (Okta's maximum).
pub const OKTA_MAX_LOG_PAGE: u32 = 1000;
/// Okta's default page size of the System Log when a URL names none.
pub const OKTA_DEFAULT_LOG_PAGE: usize = 100;

/// The largest configuration document a store may hold: far above what thousands of orgs need,
/// low enough that a wrong object cannot exhaust the function's memory.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// How often a function that could not read its stored configuration tries again (at most once
/// per invocation): soon enough that a fixed grant takes effect without a redeploy.
pub const CONFIG_RETRY_UNREADABLE: Duration = Duration::from_secs(10);

// ---- Moved here from the modules that use them (each re-exported there) ----

// Used by poller/backoff.rs.
/// The first wait of a stream that backs off after configuration or permanent errors.
pub const FIRST_BACKOFF_MINUTES: u64 = 5;

// Used by poller/backoff.rs.
/// The longest a stream backs off after configuration or permanent errors.
pub const LONGEST_BACKOFF_MINUTES: u64 = 6 * 60;

// Used by poller/mod.rs.
/// How long a poller (and the events function) waits before it looks again for an org's Okta
/// id it could not find, and how long the events function trusts one it found.
pub const OKTA_ORG_ID_RECHECK: Duration = Duration::from_secs(300);

// Used by lake/object.rs.
/// How many bytes of the SHA-256 name an object (32 hex digits).
pub const LAKE_NAME_HASH_BYTES: usize = 16;
/// The most staged bytes (NDJSON) one lake object is made from: the poller holds them and the
/// object in memory (512 MB), and Security Lake wants objects well under 256 MB.
pub const LAKE_OBJECT_MAX_STAGED_BYTES: usize = 48 * 1024 * 1024;
/// The lease the poller holds while it writes the lake from staging: `stream#_lake#compaction`
/// (no org is named `_lake`: org names start with a letter or digit).
pub const LAKE_COMPACTION_STREAM: (&str, &str) = ("_lake", "compaction");
/// Keys per S3 `DeleteObjects` call (AWS).
pub const S3_DELETE_OBJECTS_KEYS: usize = 1000;
/// S3 bucket names: 3 to 63 characters (AWS).
pub const S3_BUCKET_NAME_MIN: usize = 3;
pub const S3_BUCKET_NAME_MAX: usize = 63;

// Used by lake/parquet.rs.
/// Rows per row group: about 64–128 MB of OCSF events before compression.
pub const LAKE_ROW_GROUP_ROWS: usize = 50_000;

// Used by lake/parquet.rs.
/// Security Lake's data page limit.
pub const LAKE_DATA_PAGE_BYTES: usize = 1024 * 1024;

// Used by lake/parquet.rs.
/// Rows decoded from JSON at a time.
pub const LAKE_DECODE_BATCH_ROWS: usize = 8_192;

// Used by okta/oauth/assertion.rs.
/// How long an assertion is valid.
pub const OAUTH_ASSERTION_SECONDS: i64 = 300;

// Used by okta/oauth/mod.rs.
/// A token is renewed this long before it expires.
pub const OAUTH_TOKEN_EXPIRY_MARGIN_SECONDS: i64 = 60;

// Used by okta/client.rs.
/// The least time a request gets, however close the run is to its deadline.
pub const OKTA_MIN_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

// Used by okta/body_buffer.rs.
/// The largest response buffer an org's client keeps for its next page (a System Log page of
/// 1 000 events is ≈ 1.5 MB); a larger one, from an unusually large page, is freed.
pub const OKTA_KEPT_BODY_BYTES: usize = 8 * 1024 * 1024;

// Used by okta/organization.rs.
/// The largest organization document read (Okta's is a few hundred bytes).
pub const OKTA_ORG_DOCUMENT_MAX_BYTES: usize = 64 * 1024;

// Used by okta/organization.rs.
/// Okta org ids: `00o` and 17 letters or digits. Anything else is refused.
pub const OKTA_ORG_ID_LEN: usize = 20;

// Used by okta/error.rs.
/// The longest `errorSummary` we keep; a hostile server should not fill our logs.
pub const OKTA_ERROR_SUMMARY_CHARS: usize = 300;

// Used by record/markers.rs.
/// How much of a quarantined record's original text the marker keeps.
pub const QUARANTINE_ORIGINAL_BYTES: usize = 16 * 1024;

// Used by shape/directory_object.rs and shape/inventory_change.
/// The longest object id the relay keeps (Okta's are 20 characters); a hostile server should
/// not fill record ids and dedupe marks.
pub const MAX_OBJECT_ID_CHARS: usize = 256;

// Used by inventory/catalogue.
/// A day, for the directory streams' default intervals.
pub const DAY_SECONDS: u64 = 86_400;

// Used by config/security_lake.rs.
/// CreateCustomLogSource's limit on a source name (its provider role's name holds it).
pub const MAX_SOURCE_NAME: usize = 20;

/// What the events function keeps of its deadline for answering the batch (the failed
/// messages, the health and metric lines) after the last org's forwarding: an org whose events
/// are not delivered by then has its messages delivered again, and the other orgs' stand.
pub const PUSH_DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_secs(3);

/// One PutEvents attempt: twice a slow bus's answer (5 s), so an attempt is abandoned, and
/// its records possibly sent twice, only when the bus has stopped answering.
pub const PUT_EVENTS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// A PutEvents call: two attempts and what the retry's backoff takes.
pub const PUT_EVENTS_ATTEMPTS_PER_CALL: u32 = 2;
pub const PUT_EVENTS_CALL_SLACK: Duration = Duration::from_secs(1);

/// What a page's delivery leaves of the run's deadline: the PutEvents requests in flight when
/// it stops starting new ones (a call takes at most 21 s) and the commit after it (the lease
/// renewal and the cursor's write). At most two thirds of the deadline margin, for runs whose
/// margin is short (local runs, tests).
pub const DELIVERY_COMMIT_RESERVE: Duration = Duration::from_secs(30);
