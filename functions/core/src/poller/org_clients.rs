//! One Okta client per org, built from the org's secret and kept while the container is warm.
//!
//! The secret is read at most once per `SECRET_TTL` (Secrets Manager calls cost money and
//! latency), and the credentials built from it — with an OAuth session's cached access token —
//! are reused as long as the secret's text is unchanged. After an authentication failure the
//! poller asks for a fresh read: a rotated secret then takes effect at once instead of after the
//! TTL, and an unchanged one means the failure is real.

use super::PollError;
use crate::clock::Clock;
use crate::config::RelayConfig;
use crate::okta::{ClientSettings, OktaClient, OktaCredentials, RateLimitPolicy, RateLimiter};
use crate::ports::SecretSource;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

/// How long a secret read is reused.
pub const SECRET_TTL: chrono::Duration = chrono::Duration::minutes(5);

/// OAuth scopes the System Log stream needs (an org's default scopes add those of its
/// directory streams: [`crate::config::OrgConfig::scopes`]).
pub const LOG_SCOPES: &[&str] = &["okta.logs.read"];

struct Cached {
    read_at: DateTime<Utc>,
    /// A hash of the secret's text (change detection only; the text is not kept).
    fingerprint: u64,
    credentials: OktaCredentials,
}

/// The per-org clients.
pub struct OrgClients {
    http: reqwest::Client,
    settings: ClientSettings,
    allow_loopback_http: bool,
    secrets: Arc<dyn SecretSource>,
    clock: Arc<dyn Clock>,
    /// Per-org limiters survive between invocations of a warm container. One per org, shared
    /// by all its streams: the org's rate budget is one budget.
    limiters: HashMap<String, RateLimiter>,
    /// The OAuth scopes each org's enabled streams need (used when its secret names none).
    scopes: HashMap<String, Vec<&'static str>>,
    cache: Mutex<HashMap<String, Cached>>,
}

/// A client, and whether the secret behind it changed since the last one.
pub struct OrgClient {
    pub client: OktaClient,
    pub secret_changed: bool,
}

impl OrgClients {
    pub fn new(
        config: &RelayConfig,
        http: reqwest::Client,
        settings: ClientSettings,
        secrets: Arc<dyn SecretSource>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let policy = RateLimitPolicy {
            reserve_fraction: config.rate_limit_reserve,
            ..RateLimitPolicy::default()
        };
        let limiters = config
            .orgs
            .iter()
            .map(|o| {
                (
                    o.name.clone(),
                    RateLimiter::new(policy.clone(), clock.clone()),
                )
            })
            .collect();
        let scopes = config
            .orgs
            .iter()
            .map(|o| (o.name.clone(), o.scopes()))
            .collect();
        Self {
            http,
            scopes,
            settings,
            allow_loopback_http: config.allow_loopback_http,
            secrets,
            clock,
            limiters,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The org's client; `fresh` reads the secret again whatever its age.
    pub async fn client(
        &self,
        org: &str,
        secret_arn: &str,
        fresh: bool,
    ) -> Result<OrgClient, PollError> {
        let now = self.clock.now();
        let cached = self.cached(org, now, fresh);
        let (credentials, secret_changed) = match cached {
            Some(credentials) => (credentials, false),
            None => self.read(org, secret_arn, now).await?,
        };
        let limiter =
            self.limiters.get(org).cloned().unwrap_or_else(|| {
                RateLimiter::new(RateLimitPolicy::default(), self.clock.clone())
            });
        Ok(OrgClient {
            client: OktaClient::new(self.http.clone(), credentials, limiter, &self.settings),
            secret_changed,
        })
    }

    fn cached(&self, org: &str, now: DateTime<Utc>, fresh: bool) -> Option<OktaCredentials> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(org)
            .filter(|c| !fresh && now - c.read_at < SECRET_TTL)
            .map(|c| c.credentials.clone())
    }

    async fn read(
        &self,
        org: &str,
        secret_arn: &str,
        now: DateTime<Utc>,
    ) -> Result<(OktaCredentials, bool), PollError> {
        let secret = self.secrets.read(secret_arn).await?;
        let mut hasher = DefaultHasher::new();
        secret.expose_secret().hash(&mut hasher);
        let fingerprint = hasher.finish();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get_mut(org)
            && c.fingerprint == fingerprint
        {
            // Unchanged: keep the credentials (and the OAuth session's token).
            c.read_at = now;
            return Ok((c.credentials.clone(), false));
        }
        let credentials =
            OktaCredentials::from_secret_json(secret.expose_secret(), self.allow_loopback_http)?
                .with_default_scopes(
                    self.scopes
                        .get(org)
                        .map(Vec::as_slice)
                        .unwrap_or(LOG_SCOPES),
                );
        let changed = cache.contains_key(org);
        cache.insert(
            org.to_string(),
            Cached {
                read_at: now,
                fingerprint,
                credentials: credentials.clone(),
            },
        );
        Ok((credentials, changed))
    }
}
