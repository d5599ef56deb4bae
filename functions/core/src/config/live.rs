//! A function's configuration while it runs. From the environment or a file it is fixed for the
//! life of the execution environment. From a store (SSM, S3) it is read at the first
//! invocation, cached, and read again every `config_reload_seconds`: an operator's change
//! reaches warm functions without a redeploy.
//!
//! A reload that fails (the store unreachable, the new document invalid) keeps the last good
//! configuration and says so in the log: a typo never stops a running relay. A function that has
//! never read a good configuration answers each invocation with the reason (`OktaRelay.Transient`
//! or `.Configuration`), trying the store again at most every [`CONFIG_RETRY_UNREADABLE`].

use super::RelayConfig;
use crate::clock::Clock;
use crate::function_error::{ErrorCode, FunctionError};
use crate::limits::CONFIG_RETRY_UNREADABLE;
use crate::ports::ConfigStore;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// Builds the function's service from a configuration (its ports, then `PollerService::new`,
/// …); its error names what is wrong.
pub type Build<S> =
    Box<dyn Fn(Arc<RelayConfig>) -> BoxFuture<'static, Result<S, String>> + Send + Sync>;

/// The service on the current configuration.
pub struct LiveConfig<S> {
    store: Option<Arc<dyn ConfigStore>>,
    build: Build<S>,
    clock: Arc<dyn Clock>,
    state: Mutex<State<S>>,
}

struct State<S> {
    current: Option<Loaded<S>>,
    /// Why there is no current service, while there is none.
    unreadable: Option<FunctionError>,
    checked_at: Option<DateTime<Utc>>,
}

struct Loaded<S> {
    service: Arc<S>,
    /// The document's SHA-256: an unchanged document is not parsed again. (Not the store's
    /// version: a recreated SSM parameter starts again at version 1.)
    digest: Vec<u8>,
    reload_every: Duration,
}

fn digest(text: &str) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes())
        .as_ref()
        .to_vec()
}

impl<S> LiveConfig<S> {
    /// A configuration that never changes (environment, file).
    pub fn fixed(service: S, clock: Arc<dyn Clock>) -> Self {
        Self {
            store: None,
            build: Box::new(|_| {
                Box::pin(async { Err("a fixed configuration is never rebuilt".to_string()) })
            }),
            clock,
            state: Mutex::new(State {
                current: Some(Loaded {
                    service: Arc::new(service),
                    digest: Vec::new(),
                    reload_every: Duration::MAX,
                }),
                unreadable: None,
                checked_at: None,
            }),
        }
    }

    /// A configuration read from `store`, first at the first invocation.
    pub fn stored(store: Arc<dyn ConfigStore>, build: Build<S>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store: Some(store),
            build,
            clock,
            state: Mutex::new(State {
                current: None,
                unreadable: None,
                checked_at: None,
            }),
        }
    }

    /// The service to run this invocation with, after a reload if one is due.
    pub async fn current(&self) -> Result<Arc<S>, FunctionError> {
        self.read_after(|state| match &state.current {
            Some(loaded) => loaded.reload_every,
            None => CONFIG_RETRY_UNREADABLE,
        })
        .await
    }

    /// The service after reading a stored configuration now, unless it was read less than
    /// [`CONFIG_RETRY_UNREADABLE`] ago: an invocation names an org the current configuration
    /// lacks, so an operator may just have added it.
    pub async fn refresh(&self) -> Result<Arc<S>, FunctionError> {
        self.read_after(|_| CONFIG_RETRY_UNREADABLE).await
    }

    /// The service, after reading the store if it was last read at least `wait` ago.
    async fn read_after(
        &self,
        wait: impl Fn(&State<S>) -> Duration,
    ) -> Result<Arc<S>, FunctionError> {
        let mut state = self.state.lock().await;
        if let Some(store) = &self.store {
            let now = self.clock.now();
            let wait = wait(&state);
            let due = state
                .checked_at
                .is_none_or(|at| crate::clock::until(at, now) >= wait);
            if due {
                state.checked_at = Some(now);
                self.reload(store.as_ref(), &mut state).await;
            }
        }
        Self::answer(&state)
    }

    fn answer(state: &State<S>) -> Result<Arc<S>, FunctionError> {
        match (&state.current, &state.unreadable) {
            (Some(loaded), _) => Ok(loaded.service.clone()),
            (None, Some(why)) => Err(why.clone()),
            (None, None) => Err(FunctionError::configuration("no configuration")),
        }
    }

    async fn load(
        &self,
        location: &str,
        doc: crate::ports::ConfigDocument,
    ) -> Result<Loaded<S>, FunctionError> {
        let config = RelayConfig::from_json(&doc.text)
            .map_err(|e| FunctionError::configuration(format!("{location}: {e}")))?;
        let config = Arc::new(config);
        let reload_every = Duration::from_secs(config.config_reload_seconds);
        let orgs = config.orgs.len();
        let service = (self.build)(config)
            .await
            .map_err(FunctionError::configuration)?;
        tracing::info!(location = %location, version = %doc.version, orgs, "configuration loaded");
        Ok(Loaded {
            service: Arc::new(service),
            digest: digest(&doc.text),
            reload_every,
        })
    }

    async fn reload(&self, store: &dyn ConfigStore, state: &mut State<S>) {
        let location = store.location();
        let outcome = match store.fetch().await {
            Err(e) => Err(FunctionError::new(
                ErrorCode::for_kind(e.kind()),
                e.to_string(),
            )),
            Ok(doc)
                if state
                    .current
                    .as_ref()
                    .is_some_and(|c| c.digest == digest(&doc.text)) =>
            {
                return;
            }
            Ok(doc) => self.load(&location, doc).await,
        };
        match outcome {
            Ok(loaded) => {
                state.current = Some(loaded);
                state.unreadable = None;
            }
            Err(e) if state.current.is_some() => {
                tracing::warn!(code = %e.code, error = %e.message,
                    "the stored configuration could not be reloaded; running on the last good one");
            }
            Err(e) => {
                tracing::error!(code = %e.code, error = %e.message,
                    "the stored configuration could not be read; the function cannot run");
                state.unreadable = Some(e);
            }
        }
    }
}

#[cfg(test)]
mod tests;
