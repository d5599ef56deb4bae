//! In-memory fakes of every port, for unit and service tests that need no AWS (built with the
//! `testing` feature, and in the crate's own tests). [`MemoryPorts`] puts a service on all of
//! them at once.
//!
//! They keep the ports' contracts (expired marks count as absent, one outcome per entry) and can
//! be told to fail, so a test drives a service through an AWS fault in milliseconds. moto stays
//! for the adapters and the end-to-end suites.

use crate::clock::{Clock, SystemClock};
use crate::ports::{
    DedupeKey, DedupeStore, EntryOutcome, EventSink, Failure, HealthNote, HealthReport,
    HealthStore, Lease, Phase, PhaseMark, Ports, RunRecord, SecretError, SecretSource, SinkChoice,
    SinkEntry, SinkError, SinkLimits, Sinks, StateError, StreamKey, StreamSnapshot,
    StreamStateStore,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every port on a fake, sharing `clock`: the services run in memory. The fakes stay
/// reachable through the returned handles, to inspect them or make them fail.
pub struct MemoryPorts {
    pub secrets: Arc<MemorySecrets>,
    pub streams: Arc<MemoryStreams>,
    pub dedupe: Arc<MemoryDedupe>,
    pub health: Arc<MemoryHealth>,
    pub identities: Arc<MemoryIdentities>,
    /// The delivery bus.
    pub sink: Arc<MemorySink>,
    /// Every other sink an org chooses, made on first use.
    pub other_sinks: Arc<MemorySinkSet>,
    pub lake: Arc<MemoryLake>,
    pub clock: Arc<dyn Clock>,
}

impl MemoryPorts {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            secrets: Arc::new(MemorySecrets::default()),
            streams: Arc::new(MemoryStreams::with_clock(clock.clone())),
            dedupe: Arc::new(MemoryDedupe::with_clock(clock.clone())),
            health: Arc::new(MemoryHealth::default()),
            identities: Arc::new(MemoryIdentities::default()),
            sink: Arc::new(MemorySink::default()),
            other_sinks: Arc::new(MemorySinkSet::default()),
            lake: Arc::new(MemoryLake::with_clock(clock.clone())),
            clock,
        }
    }

    /// The ports, as the services take them.
    pub fn ports(&self) -> Ports {
        Ports {
            secrets: self.secrets.clone(),
            streams: self.streams.clone(),
            dedupe: self.dedupe.clone(),
            health: self.health.clone(),
            identities: self.identities.clone(),
            sinks: Arc::new(MemorySinks {
                bus: self.sink.clone(),
                others: self.other_sinks.clone(),
            }),
            lake: self.lake.clone(),
            clock: self.clock.clone(),
        }
    }
}

/// Secrets in memory, by id.
#[derive(Debug, Default)]
pub struct MemorySecrets(Mutex<HashMap<String, String>>);

impl MemorySecrets {
    pub fn put(&self, id: &str, value: &str) {
        lock(&self.0).insert(id.to_string(), value.to_string());
    }
}

#[async_trait]
impl SecretSource for MemorySecrets {
    async fn read(&self, id: &str) -> Result<SecretString, SecretError> {
        lock(&self.0)
            .get(id)
            .map(|v| SecretString::from(v.clone()))
            .ok_or_else(|| SecretError::NotFound { id: id.to_string() })
    }
}

/// One stream's record: lease and cursor together, as in the state table.
#[derive(Debug, Clone, Default)]
struct StreamRecord {
    owner: Option<String>,
    fence: u64,
    expires_at: Option<DateTime<Utc>>,
    cursor: Option<String>,
    version: u64,
    cursor_updated: Option<DateTime<Utc>>,
}

/// Leases and cursors in memory, with the state table's conditions: a lease is taken when free,
/// expired or already the caller's; a renewal or a cursor write needs the lease, unexpired, and
/// (for a write) the cursor version the lease last saw.
#[derive(Debug)]
pub struct MemoryStreams {
    records: Mutex<HashMap<StreamKey, StreamRecord>>,
    clock: Arc<dyn Clock>,
    failing_commits: AtomicUsize,
}

impl MemoryStreams {
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            records: Mutex::new(HashMap::new()),
            clock,
            failing_commits: AtomicUsize::new(0),
        }
    }

    /// Someone else takes `key`'s lease now (a run that outlived its lease meets its thief).
    pub fn steal(&self, key: &StreamKey, thief: &str) {
        let now = self.clock.now();
        let mut records = lock(&self.records);
        let r = records.entry(key.clone()).or_default();
        r.owner = Some(thief.to_string());
        r.fence += 1;
        r.expires_at = Some(now + chrono::Duration::minutes(10));
    }

    /// `key`'s lease runs out now (its holder went away).
    pub fn expire(&self, key: &StreamKey) {
        if let Some(r) = lock(&self.records).get_mut(key) {
            r.expires_at = Some(DateTime::<Utc>::default());
        }
    }

    /// The next `n` cursor commits fail as [`StateError::Unavailable`] (after the delivery,
    /// before the commit: a crash at the worst moment, without the crash).
    pub fn fail_commits(&self, n: usize) {
        self.failing_commits.store(n, Ordering::SeqCst);
    }

    /// The stream's cursor now.
    pub fn cursor(&self, key: &StreamKey) -> Option<String> {
        lock(&self.records).get(key).and_then(|r| r.cursor.clone())
    }

    fn held(&self, lease: &Lease, r: &StreamRecord, now: DateTime<Utc>) -> bool {
        r.owner.as_deref() == Some(lease.owner.as_str())
            && r.fence == lease.fence
            && r.expires_at.is_some_and(|t| t > now)
    }

    fn lease_of(key: &StreamKey, r: &StreamRecord) -> Lease {
        Lease {
            key: key.clone(),
            owner: r.owner.clone().unwrap_or_default(),
            fence: r.fence,
            expires_at: r.expires_at.unwrap_or_default(),
            cursor: r.cursor.clone(),
            version: r.version,
        }
    }

    fn lost(lease: &Lease) -> StateError {
        StateError::LeaseLost {
            key: lease.key.to_string(),
        }
    }

    fn write(&self, lease: &Lease, cursor: Option<&str>) -> Result<Lease, StateError> {
        let now = self.clock.now();
        let mut records = lock(&self.records);
        let r = records.entry(lease.key.clone()).or_default();
        if !self.held(lease, r, now) || r.version != lease.version {
            return Err(Self::lost(lease));
        }
        r.cursor = cursor.map(str::to_string);
        r.version += 1;
        r.cursor_updated = Some(now);
        Ok(Self::lease_of(&lease.key, r))
    }
}

#[async_trait]
impl StreamStateStore for MemoryStreams {
    async fn acquire(
        &self,
        key: &StreamKey,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, StateError> {
        let now = self.clock.now();
        let mut records = lock(&self.records);
        let r = records.entry(key.clone()).or_default();
        let free = r.owner.is_none()
            || r.expires_at.is_none_or(|t| t < now)
            || r.owner.as_deref() == Some(owner);
        if !free {
            return Ok(None);
        }
        r.owner = Some(owner.to_string());
        r.fence += 1;
        r.expires_at = Some(now + chrono::Duration::from_std(ttl).unwrap_or_default());
        Ok(Some(Self::lease_of(key, r)))
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<Lease, StateError> {
        let now = self.clock.now();
        let mut records = lock(&self.records);
        let r = records.entry(lease.key.clone()).or_default();
        if !self.held(lease, r, now) {
            return Err(Self::lost(lease));
        }
        r.expires_at = Some(now + chrono::Duration::from_std(ttl).unwrap_or_default());
        Ok(Self::lease_of(&lease.key, r))
    }

    async fn commit_cursor(&self, lease: &Lease, cursor: &str) -> Result<Lease, StateError> {
        if take_failure(&self.failing_commits) {
            return Err(StateError::Unavailable(
                "injected: the commit failed".into(),
            ));
        }
        self.write(lease, Some(cursor))
    }

    async fn release_lease(&self, lease: &Lease) -> Result<(), StateError> {
        let mut records = lock(&self.records);
        if let Some(r) = records.get_mut(&lease.key)
            && r.owner.as_deref() == Some(lease.owner.as_str())
            && r.fence == lease.fence
        {
            r.expires_at = Some(DateTime::<Utc>::default());
        }
        Ok(())
    }

    async fn snapshot(&self, key: &StreamKey) -> Result<Option<StreamSnapshot>, StateError> {
        Ok(lock(&self.records).get(key).map(|r| StreamSnapshot {
            key: key.clone(),
            cursor: r.cursor.clone(),
            version: r.version,
            lease_owner: r.owner.clone(),
            lease_expires_at: r.expires_at,
            cursor_updated_at: r.cursor_updated,
        }))
    }

    async fn clear_cursor(&self, lease: &Lease) -> Result<Lease, StateError> {
        self.write(lease, None)
    }
}

/// Stream health in memory, as the state table keeps it.
#[derive(Debug, Default)]
pub struct MemoryHealth(Mutex<HashMap<StreamKey, HealthReport>>);

#[async_trait]
impl HealthStore for MemoryHealth {
    async fn record_success(
        &self,
        key: &StreamKey,
        at: DateTime<Utc>,
        run: &RunRecord,
    ) -> Result<(), StateError> {
        let mut all = lock(&self.0);
        let h = all.entry(key.clone()).or_default();
        h.last_success_at = Some(at);
        h.consecutive_failures = 0;
        for (name, value) in &run.counters {
            *h.counters.entry(name.clone()).or_default() += value;
        }
        h.newest_event_at = run.newest_event_at.or(h.newest_event_at);
        h.rate_limit = run.rate_limit.or(h.rate_limit);
        if let Some(phase) = run.phase {
            enter(h, phase, at);
        }
        Ok(())
    }

    async fn record_failure(
        &self,
        key: &StreamKey,
        at: DateTime<Utc>,
        failure: &Failure<'_>,
    ) -> Result<(), StateError> {
        let mut all = lock(&self.0);
        let h = all.entry(key.clone()).or_default();
        h.last_error_at = Some(at);
        h.last_error = Some(failure.message.to_string());
        h.last_error_kind = Some(failure.kind);
        h.last_error_fault = Some(failure.fault);
        h.consecutive_failures += 1;
        enter(h, Phase::Error, at);
        Ok(())
    }

    async fn note(
        &self,
        key: &StreamKey,
        at: DateTime<Utc>,
        note: HealthNote<'_>,
    ) -> Result<(), StateError> {
        let mut all = lock(&self.0);
        let h = all.entry(key.clone()).or_default();
        match note {
            HealthNote::CaughtUp => h.caught_up_at = Some(at),
            HealthNote::CatchUpRequested { reason } => {
                h.catch_up_requested_at = Some(at);
                h.catch_up_reason = Some(reason.to_string());
            }
            HealthNote::Lifecycle { event_type } => {
                h.lifecycle_event = Some(event_type.to_string());
                h.lifecycle_at = Some(at);
            }
            HealthNote::Authenticated => {
                if h.phase.is_none() && h.last_success_at.is_none() && h.last_error_at.is_none() {
                    enter(h, Phase::Authenticated, at);
                }
            }
        }
        Ok(())
    }

    async fn read(&self, key: &StreamKey) -> Result<Option<HealthReport>, StateError> {
        Ok(lock(&self.0).get(key).cloned())
    }
}

/// The state table's rule: a phase keeps its `since` while the stream stays in it.
fn enter(h: &mut HealthReport, phase: Phase, at: DateTime<Utc>) {
    if h.phase.is_none_or(|p| p.phase != phase) {
        h.phase = Some(PhaseMark { phase, since: at });
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Dedupe marks in memory: key → expiry.
#[derive(Debug)]
pub struct MemoryDedupe {
    marks: Mutex<HashMap<DedupeKey, DateTime<Utc>>>,
    clock: Arc<dyn Clock>,
    failing_checks: AtomicUsize,
    failing_marks: AtomicUsize,
}

impl Default for MemoryDedupe {
    fn default() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }
}

impl MemoryDedupe {
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            marks: Mutex::new(HashMap::new()),
            clock,
            failing_checks: AtomicUsize::new(0),
            failing_marks: AtomicUsize::new(0),
        }
    }

    /// The next `n` checks fail as [`StateError::Unavailable`].
    pub fn fail_checks(&self, n: usize) {
        self.failing_checks.store(n, Ordering::SeqCst);
    }

    /// The next `n` mark writes fail as [`StateError::Unavailable`].
    pub fn fail_marks(&self, n: usize) {
        self.failing_marks.store(n, Ordering::SeqCst);
    }

    /// Whether `key` holds an unexpired mark now.
    pub fn is_marked(&self, key: &DedupeKey) -> bool {
        let now = self.clock.now();
        lock(&self.marks).get(key).is_some_and(|exp| *exp > now)
    }

    pub fn len(&self) -> usize {
        lock(&self.marks).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Takes one from `counter` if it is positive: whether this call fails.
fn take_failure(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

#[async_trait]
impl DedupeStore for MemoryDedupe {
    async fn delivered(&self, keys: &[DedupeKey]) -> Result<Vec<bool>, StateError> {
        if take_failure(&self.failing_checks) {
            return Err(StateError::Unavailable("injected: checks fail".into()));
        }
        Ok(keys.iter().map(|k| self.is_marked(k)).collect())
    }

    async fn mark_delivered(&self, keys: &[DedupeKey], ttl: Duration) -> Result<(), StateError> {
        if take_failure(&self.failing_marks) {
            return Err(StateError::Unavailable("injected: marks fail".into()));
        }
        let expires = self.clock.now() + chrono::Duration::from_std(ttl).unwrap_or_default();
        let mut marks = lock(&self.marks);
        for key in keys {
            marks.insert(key.clone(), expires);
        }
        Ok(())
    }
}

/// Sinks other than the delivery bus, in memory: one [`MemorySink`] per choice, made on first
/// use with the limits its service has (a Firehose stream takes 500 records a call).
#[derive(Default)]
pub struct MemorySinkSet(Mutex<HashMap<SinkChoice, Arc<MemorySink>>>);

impl MemorySinkSet {
    /// The sink for `choice`.
    pub fn get(&self, choice: &SinkChoice) -> Arc<MemorySink> {
        lock(&self.0)
            .entry(choice.clone())
            .or_insert_with(|| {
                Arc::new(MemorySink {
                    limits: match choice {
                        SinkChoice::EventBus => SinkLimits::Configured,
                        SinkChoice::Firehose { .. } => crate::adapters::firehose::FIREHOSE_LIMITS,
                    },
                    ..MemorySink::default()
                })
            })
            .clone()
    }
}

/// [`Sinks`] on the fakes: the bus, and the others by choice.
struct MemorySinks {
    bus: Arc<MemorySink>,
    others: Arc<MemorySinkSet>,
}

impl Sinks for MemorySinks {
    fn sink(&self, _org: &str, choice: &SinkChoice) -> Arc<dyn EventSink> {
        match choice {
            SinkChoice::EventBus => self.bus.clone(),
            other => self.others.get(other),
        }
    }
}

/// What [`MemorySink`] answers for one entry.
pub type EntryRule = dyn Fn(&SinkEntry) -> Option<EntryOutcome> + Send + Sync;

/// A delivery bus in memory: keeps every accepted entry, in order. A rule may answer some
/// entries with a failure instead; calls can be made to fail whole.
#[derive(Default)]
pub struct MemorySink {
    accepted: Mutex<Vec<SinkEntry>>,
    calls: AtomicUsize,
    failing_calls: AtomicUsize,
    rule: Option<Box<EntryRule>>,
    limits: SinkLimits,
}

impl MemorySink {
    /// A sink that answers an entry with `rule`'s outcome when it gives one, else accepts it.
    pub fn with_rule(
        rule: impl Fn(&SinkEntry) -> Option<EntryOutcome> + Send + Sync + 'static,
    ) -> Self {
        Self {
            rule: Some(Box::new(rule)),
            ..Self::default()
        }
    }

    /// The next `n` calls fail whole, as a transient error (a 500 or a timeout).
    pub fn fail_calls(&self, n: usize) {
        self.failing_calls.store(n, Ordering::SeqCst);
    }

    /// Every entry accepted so far.
    pub fn accepted(&self) -> Vec<SinkEntry> {
        lock(&self.accepted).clone()
    }

    /// The `okta.uuid` of every accepted record that has one (System Log events), in order.
    pub fn accepted_uuids(&self) -> Vec<String> {
        lock(&self.accepted)
            .iter()
            .filter_map(|e| {
                let detail: serde_json::Value = serde_json::from_str(&e.detail).ok()?;
                Some(detail["okta"]["uuid"].as_str()?.to_string())
            })
            .collect()
    }

    /// PutEvents calls made so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for MemorySink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MemorySink({} accepted)", lock(&self.accepted).len())
    }
}

#[async_trait]
impl EventSink for MemorySink {
    async fn put(&self, entries: &[&SinkEntry]) -> Result<Vec<EntryOutcome>, SinkError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if take_failure(&self.failing_calls) {
            return Err(SinkError::Transient("injected: the call failed".into()));
        }
        let mut accepted = lock(&self.accepted);
        Ok(entries
            .iter()
            .map(|e| match self.rule.as_ref().and_then(|rule| rule(e)) {
                Some(outcome) => outcome,
                None => {
                    accepted.push((*e).clone());
                    EntryOutcome::Accepted
                }
            })
            .collect())
    }

    fn limits(&self) -> SinkLimits {
        self.limits
    }
}

/// A [`ConfigStore`](crate::ports::ConfigStore) in memory: a document whose version goes up on
/// each [`put`](Self::put), or a failure.
pub struct MemoryConfigStore {
    state: Mutex<(u64, Result<String, crate::ports::ConfigStoreError>)>,
    fetches: AtomicUsize,
}

impl MemoryConfigStore {
    pub fn holding(text: &str) -> Self {
        Self {
            state: Mutex::new((1, Ok(text.to_string()))),
            fetches: AtomicUsize::new(0),
        }
    }

    /// A new version of the document.
    pub fn put(&self, text: &str) {
        let mut state = self.state.lock().expect("config store lock");
        state.0 += 1;
        state.1 = Ok(text.to_string());
    }

    /// A document under a version number of the caller's choice (a recreated parameter).
    pub fn put_as_version(&self, version: u64, text: &str) {
        *self.state.lock().expect("config store lock") = (version, Ok(text.to_string()));
    }

    /// Fetches fail with `error` until the next [`put`](Self::put).
    pub fn fail_with(&self, error: crate::ports::ConfigStoreError) {
        self.state.lock().expect("config store lock").1 = Err(error);
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl crate::ports::ConfigStore for MemoryConfigStore {
    fn location(&self) -> String {
        "memory config".to_string()
    }

    async fn fetch(&self) -> Result<crate::ports::ConfigDocument, crate::ports::ConfigStoreError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let state = self.state.lock().expect("config store lock");
        state.1.clone().map(|text| crate::ports::ConfigDocument {
            text,
            version: state.0.to_string(),
        })
    }
}

/// Org identities in memory; [`fail`](Self::fail) makes every call fail as the table would.
#[derive(Debug, Default)]
pub struct MemoryIdentities {
    ids: Mutex<HashMap<String, crate::ports::OrgIdentity>>,
    failing: std::sync::atomic::AtomicBool,
}

impl MemoryIdentities {
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StateError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StateError::Unavailable("injected".to_string()));
        }
        Ok(())
    }
}

#[async_trait]
impl crate::ports::OrgIdentityStore for MemoryIdentities {
    async fn identity(&self, org: &str) -> Result<Option<crate::ports::OrgIdentity>, StateError> {
        self.check()?;
        Ok(lock(&self.ids).get(org).cloned())
    }

    async fn remember(
        &self,
        org: &str,
        identity: &crate::ports::OrgIdentity,
    ) -> Result<(), StateError> {
        self.check()?;
        lock(&self.ids).insert(org.to_string(), identity.clone());
        Ok(())
    }
}

/// An in-memory Security Lake bucket: objects by bucket and key, a put replacing the key.
/// The `metadata.uid` of every row of a lake object (Parquet).
pub fn lake_object_ids(body: &[u8]) -> Vec<String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;
    let reader = SerializedFileReader::new(bytes::Bytes::from(body.to_vec()))
        .expect("a lake object is Parquet");
    let rows = reader.get_row_iter(None).expect("its rows");
    let mut ids = Vec::new();
    for row in rows {
        let row = row.expect("a row");
        for (name, field) in row.get_column_iter() {
            let Field::Group(metadata) = field else {
                continue;
            };
            if name != "metadata" {
                continue;
            }
            for (name, field) in metadata.get_column_iter() {
                if let (Field::Str(uid), "uid") = (field, name.as_str()) {
                    ids.push(uid.clone());
                }
            }
        }
    }
    ids
}

/// A bucket that, like S3 with `If-None-Match: *`, never replaces an object: a put whose name
/// is taken stores nothing and answers `AlreadyThere`. It also counts a taken name whose new
/// body differs (two different batches under one name: the loss the lake's names must rule
/// out) and checks the expected owner.
#[derive(Default)]
pub struct MemoryLake {
    objects: Mutex<std::collections::BTreeMap<(String, String), Vec<u8>>>,
    /// When each object was stored, by the lake's clock (the system clock by default).
    modified: Mutex<HashMap<(String, String), DateTime<Utc>>>,
    clock: Option<Arc<dyn Clock>>,
    failing_deletes: AtomicUsize,
    failures: Mutex<u32>,
    owner: Mutex<Option<String>>,
    puts: std::sync::atomic::AtomicUsize,
    taken: std::sync::atomic::AtomicUsize,
    collisions: std::sync::atomic::AtomicUsize,
}

impl MemoryLake {
    /// A lake whose objects are stamped with `clock`'s time.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock: Some(clock),
            ..Self::default()
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.as_ref().map_or_else(Utc::now, |c| c.now())
    }

    /// The next `n` delete calls fail as a transient S3 error (a crash between a write and
    /// its cleanup, as far as the objects can tell).
    pub fn fail_deletes(&self, n: usize) {
        self.failing_deletes.store(n, Ordering::SeqCst);
    }

    /// The next `n` puts fail as a transient S3 error.
    pub fn fail_puts(&self, n: u32) {
        *self.failures.lock().unwrap_or_else(|p| p.into_inner()) = n;
    }

    /// The bucket belongs to `account`: puts expecting another owner are refused, as S3 does.
    pub fn owned_by(&self, account: &str) {
        *self.owner.lock().unwrap_or_else(|p| p.into_inner()) = Some(account.to_string());
    }

    /// `(bucket, key)` of every stored object, in key order.
    pub fn keys(&self) -> Vec<(String, String)> {
        let objects = self.objects.lock().unwrap_or_else(|p| p.into_inner());
        objects.keys().cloned().collect()
    }

    pub fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let objects = self.objects.lock().unwrap_or_else(|p| p.into_inner());
        objects.get(&(bucket.to_string(), key.to_string())).cloned()
    }

    /// S3's expected-owner check: a request naming another owner is refused.
    fn check_owner(
        &self,
        bucket: crate::ports::LakeBucket<'_>,
        key: &str,
    ) -> Result<(), crate::ports::LakeError> {
        let owner = self.owner.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if owner.is_some_and(|o| o != bucket.owner) {
            return Err(crate::ports::LakeError::AccessDenied {
                bucket: bucket.name.to_string(),
                key: key.to_string(),
                owner: bucket.owner.to_string(),
                detail: "AccessDenied".into(),
            });
        }
        Ok(())
    }

    /// Puts that stored a new object.
    pub fn puts(&self) -> usize {
        self.puts.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Puts that found their name taken.
    pub fn taken(&self) -> usize {
        self.taken.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Puts that found their name taken by a different body: what would have been an
    /// overwrite, and a loss, on a bucket that replaces objects.
    pub fn collisions(&self) -> usize {
        self.collisions.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait]
impl crate::ports::LakeStore for MemoryLake {
    async fn put_new(
        &self,
        bucket: crate::ports::LakeBucket<'_>,
        key: &str,
        body: Vec<u8>,
    ) -> Result<crate::ports::Stored, crate::ports::LakeError> {
        use std::sync::atomic::Ordering::SeqCst;
        {
            let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
            if *failures > 0 {
                *failures -= 1;
                return Err(crate::ports::LakeError::Unavailable {
                    bucket: bucket.name.to_string(),
                    key: key.to_string(),
                    detail: "injected".into(),
                });
            }
        }
        self.check_owner(bucket, key)?;
        let mut objects = self.objects.lock().unwrap_or_else(|p| p.into_inner());
        let name = (bucket.name.to_string(), key.to_string());
        if let Some(stored) = objects.get(&name) {
            self.taken.fetch_add(1, SeqCst);
            if *stored != body {
                self.collisions.fetch_add(1, SeqCst);
            }
            return Ok(crate::ports::Stored::AlreadyThere);
        }
        lock(&self.modified).insert(name.clone(), self.now());
        objects.insert(name, body);
        self.puts.fetch_add(1, SeqCst);
        Ok(crate::ports::Stored::Created)
    }

    async fn list(
        &self,
        bucket: crate::ports::LakeBucket<'_>,
        prefix: &str,
    ) -> Result<Vec<crate::ports::Listed>, crate::ports::LakeError> {
        self.check_owner(bucket, prefix)?;
        let objects = lock(&self.objects);
        let modified = lock(&self.modified);
        Ok(objects
            .iter()
            .filter(|((b, k), _)| b == bucket.name && k.starts_with(prefix))
            .map(|((b, k), body)| crate::ports::Listed {
                key: k.clone(),
                bytes: body.len() as u64,
                modified: modified
                    .get(&(b.clone(), k.clone()))
                    .copied()
                    .unwrap_or_default(),
            })
            .collect())
    }

    async fn get(
        &self,
        bucket: crate::ports::LakeBucket<'_>,
        key: &str,
    ) -> Result<Option<Vec<u8>>, crate::ports::LakeError> {
        self.check_owner(bucket, key)?;
        Ok(self.object(bucket.name, key))
    }

    async fn delete(
        &self,
        bucket: crate::ports::LakeBucket<'_>,
        keys: &[String],
    ) -> Result<(), crate::ports::LakeError> {
        if take_failure(&self.failing_deletes) {
            return Err(crate::ports::LakeError::Unavailable {
                bucket: bucket.name.to_string(),
                key: keys.first().cloned().unwrap_or_default(),
                detail: "injected".into(),
            });
        }
        let mut objects = lock(&self.objects);
        for key in keys {
            objects.remove(&(bucket.name.to_string(), key.clone()));
        }
        Ok(())
    }

    async fn probe_write(
        &self,
        bucket: crate::ports::LakeBucket<'_>,
        key: &str,
    ) -> Result<(), crate::ports::LakeError> {
        self.check_owner(bucket, key)
    }
}
