use super::*;
use crate::clock::ManualClock;
use crate::ports::ConfigStoreError;
use crate::testing::MemoryConfigStore;
use std::sync::atomic::{AtomicUsize, Ordering};

fn document(orgs: &[&str], reload_seconds: u64) -> String {
    let orgs: Vec<_> = orgs
        .iter()
        .map(|name| {
            serde_json::json!({"name": name,
                "secret_arn": format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}")})
        })
        .collect();
    serde_json::json!({"orgs": orgs, "config_reload_seconds": reload_seconds}).to_string()
}

struct Fixture {
    store: Arc<MemoryConfigStore>,
    clock: Arc<ManualClock>,
    builds: Arc<AtomicUsize>,
    live: LiveConfig<Vec<String>>,
}

/// A live configuration whose "service" is its org names.
fn fixture(text: &str) -> Fixture {
    let store = Arc::new(MemoryConfigStore::holding(text));
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let builds = Arc::new(AtomicUsize::new(0));
    let counted = builds.clone();
    let build: Build<Vec<String>> = Box::new(move |config: Arc<RelayConfig>| {
        counted.fetch_add(1, Ordering::SeqCst);
        let names = config.orgs.iter().map(|o| o.name.clone()).collect();
        Box::pin(async move { Ok(names) })
    });
    let live = LiveConfig::stored(store.clone(), build, clock.clone());
    Fixture {
        store,
        clock,
        builds,
        live,
    }
}

#[tokio::test]
async fn a_stored_configuration_is_read_once_and_reloaded_after_its_interval() {
    let f = fixture(&document(&["a"], 60));
    assert_eq!(*f.live.current().await.unwrap(), vec!["a"]);
    f.store.put(&document(&["a", "b"], 60));
    f.clock.advance(Duration::from_secs(59));
    assert_eq!(*f.live.current().await.unwrap(), vec!["a"], "cached");
    assert_eq!(f.store.fetches(), 1);
    f.clock.advance(Duration::from_secs(1));
    assert_eq!(*f.live.current().await.unwrap(), vec!["a", "b"], "reloaded");
    f.clock.advance(Duration::from_secs(60));
    f.live.current().await.unwrap();
    assert_eq!(f.store.fetches(), 3);
    assert_eq!(
        f.builds.load(Ordering::SeqCst),
        2,
        "an unchanged document is not rebuilt"
    );
}

/// A recreated parameter starts again at version 1: the document's content decides, not the
/// store's version.
#[tokio::test]
async fn a_new_document_under_an_old_version_number_is_loaded() {
    let f = fixture(&document(&["a"], 60));
    f.live.current().await.unwrap();
    f.store.put_as_version(1, &document(&["a", "b"], 60));
    f.clock.advance(Duration::from_secs(60));
    assert_eq!(*f.live.current().await.unwrap(), vec!["a", "b"]);
}

#[tokio::test]
async fn an_invalid_or_unreachable_reload_keeps_the_last_good_configuration() {
    let f = fixture(&document(&["a"], 60));
    f.live.current().await.unwrap();
    f.store
        .put(r#"{"orgs": [{"name": "Bad Name", "secret_arn": "x"}]}"#);
    f.clock.advance(Duration::from_secs(60));
    assert_eq!(*f.live.current().await.unwrap(), vec!["a"]);
    f.store.fail_with(ConfigStoreError::Unavailable {
        location: "memory config".into(),
        detail: "throttled".into(),
    });
    f.clock.advance(Duration::from_secs(60));
    assert_eq!(*f.live.current().await.unwrap(), vec!["a"]);
    f.store.put(&document(&["c"], 60));
    f.clock.advance(Duration::from_secs(60));
    assert_eq!(*f.live.current().await.unwrap(), vec!["c"]);
}

#[tokio::test]
async fn without_a_good_configuration_each_invocation_says_why_and_the_store_is_retried() {
    let f = fixture("{not json");
    let invalid = f.live.current().await.unwrap_err();
    assert_eq!(invalid.code, ErrorCode::Configuration);
    assert!(invalid.message.contains("memory config"), "{invalid}");

    f.store.fail_with(ConfigStoreError::Unavailable {
        location: "memory config".into(),
        detail: "connection reset".into(),
    });
    f.clock.advance(CONFIG_RETRY_UNREADABLE);
    let unreachable = f.live.current().await.unwrap_err();
    assert_eq!(unreachable.code, ErrorCode::Transient);

    f.store.put(&document(&["a"], 60));
    f.clock.advance(CONFIG_RETRY_UNREADABLE / 2);
    assert!(
        f.live.current().await.is_err(),
        "not retried before the wait"
    );
    f.clock.advance(CONFIG_RETRY_UNREADABLE / 2);
    assert_eq!(*f.live.current().await.unwrap(), vec!["a"]);
}

#[tokio::test]
async fn a_missing_or_forbidden_store_is_a_configuration_error() {
    let f = fixture(&document(&["a"], 60));
    f.store.fail_with(ConfigStoreError::AccessDenied {
        location: "memory config".into(),
        detail: "AccessDeniedException".into(),
    });
    let e = f.live.current().await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Configuration);
    assert!(e.message.contains("not allowed"), "{e}");
}

#[tokio::test]
async fn a_fixed_configuration_never_reads_a_store() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let live = LiveConfig::fixed(7u8, clock.clone());
    clock.advance(Duration::from_secs(86_400));
    assert_eq!(*live.current().await.unwrap(), 7);
}

/// An invocation naming an org the configuration lacks reads the store at once (an operator
/// may just have added it), but not more than every CONFIG_RETRY_UNREADABLE.
#[tokio::test]
async fn a_refresh_reads_the_store_before_the_interval_but_not_in_a_loop() {
    let f = fixture(&document(&["a"], 900));
    f.live.current().await.unwrap();
    f.store.put(&document(&["a", "b"], 900));
    assert_eq!(
        *f.live.refresh().await.unwrap(),
        vec!["a"],
        "read a moment ago"
    );
    f.clock.advance(CONFIG_RETRY_UNREADABLE);
    assert_eq!(*f.live.refresh().await.unwrap(), vec!["a", "b"]);
    assert_eq!(f.store.fetches(), 2);
    assert_eq!(*f.live.current().await.unwrap(), vec!["a", "b"]);
    assert_eq!(
        f.store.fetches(),
        2,
        "the interval starts again from the refresh"
    );
}
