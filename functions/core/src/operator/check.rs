//! `validate-config`: what a deployment needs, checked from outside before the functions find
//! out at 3 a.m. The configuration is parsed first (errors name the field); then, for each org,
//! its secret is read and parsed and one single-item request per enabled endpoint proves that the
//! credentials work and carry the scopes the streams need; then the state table is read.
//!
//! A check's detail never carries a secret: secret and Okta errors are typed and their messages
//! name fields, ids and Okta error codes only.

use crate::clock::Clock;
use crate::config::SecurityLakeConfig;
use crate::config::{OrgConfig, RelayConfig};
use crate::okta::{
    ClientSettings, OktaClient, OktaCredentials, OrgAuth, RateLimitBucket, RateLimitPolicy,
    RateLimiter,
};
use crate::poller::LOG_SCOPES;
use crate::ports::{
    HealthNote, HealthStore, LakeBucket, LakeError, LakeStore, SecretSource, StreamKey,
    StreamStateStore,
};
use crate::stream::StreamId;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::value::RawValue;
use std::sync::Arc;

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked: `orgs[acme] secret`, `orgs[acme] GET /api/v1/users`, `state table`.
    pub subject: String,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    fn pass(subject: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            ok: true,
            detail: detail.into(),
        }
    }

    fn fail(subject: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            ok: false,
            detail: detail.into(),
        }
    }
}

/// The endpoints an org's enabled streams read first (fan-out streams use their parent's).
pub fn endpoints(org: &OrgConfig) -> Vec<&'static str> {
    let mut paths = Vec::new();
    if org.logs.enabled {
        paths.push(crate::poller::LOGS_PATH);
    }
    paths.extend(org.inventory_streams().iter().map(|s| s.spec.path));
    paths
}

/// Reads and parses the org's secret, then asks each endpoint for one item.
pub async fn check_org(
    config: &RelayConfig,
    org: &OrgConfig,
    secrets: &dyn SecretSource,
    clock: Arc<dyn Clock>,
) -> Vec<Check> {
    let subject = |what: &str| format!("orgs[{}] {what}", org.name);
    let secret = match secrets.read(&org.secret_arn).await {
        Ok(secret) => secret,
        Err(e) => return vec![Check::fail(subject("secret"), e.to_string())],
    };
    let credentials =
        match OktaCredentials::from_secret_json(secret.expose_secret(), config.allow_loopback_http)
        {
            Ok(c) => c.with_default_scopes(&scopes(org)),
            Err(e) => return vec![Check::fail(subject("secret"), e.to_string())],
        };
    let kind = match &credentials.auth {
        OrgAuth::ApiToken(_) => "API token (SSWS)".to_string(),
        OrgAuth::OAuth(_) => format!("OAuth 2.0 service app, scopes {}", scopes(org).join(" ")),
    };
    let mut checks = vec![Check::pass(
        subject("secret"),
        format!("readable; {} for {}", kind, credentials.org_url),
    )];
    let settings = ClientSettings {
        user_agent: config.user_agent.clone(),
        ..ClientSettings::default()
    };
    let http = match settings.build_http() {
        Ok(http) => http,
        Err(e) => {
            checks.push(Check::fail(subject("HTTP client"), e.to_string()));
            return checks;
        }
    };
    let limiter = RateLimiter::new(
        RateLimitPolicy {
            reserve_fraction: config.rate_limit_reserve,
            ..RateLimitPolicy::default()
        },
        clock,
    );
    let client = OktaClient::new(http, credentials, limiter.clone(), &settings);
    checks.extend(probe(&client, &limiter, org).await);
    checks
}

/// Asks each of the org's endpoints for one item: proves the token and its scopes.
async fn probe(client: &OktaClient, limiter: &RateLimiter, org: &OrgConfig) -> Vec<Check> {
    let subject = |what: &str| format!("orgs[{}] {what}", org.name);
    let mut checks = Vec::new();
    for path in endpoints(org) {
        let what = subject(&format!("GET {path}"));
        let url = match client.org().join(&format!("{path}?limit=1")) {
            Ok(url) => url,
            Err(e) => {
                checks.push(Check::fail(what, e.to_string()));
                continue;
            }
        };
        checks.push(match client.get_page::<Box<RawValue>>(&url).await {
            Ok(_) => {
                let headroom = limiter
                    .headroom(&RateLimitBucket::for_path(path))
                    .filter(|(_, limit)| *limit > 0)
                    .map(|(remaining, limit)| format!("; rate limit {remaining}/{limit} left"))
                    .unwrap_or_default();
                Check::pass(what, format!("ok{headroom}"))
            }
            Err(e) => Check::fail(what, format!("{e} ({})", e.kind())),
        });
    }
    checks
}

/// After an org's checks all passed (its secret and every endpoint): each of its pull streams
/// that has recorded nothing yet becomes `authenticated` in `status`. Best effort: the state
/// table's own check reports a table that cannot be written.
pub async fn record_authenticated(
    org: &OrgConfig,
    checks: &[Check],
    health: &dyn HealthStore,
    now: chrono::DateTime<chrono::Utc>,
) {
    let passed = checks.iter().all(|c| c.ok) && checks.len() > 1;
    if !passed {
        return;
    }
    for id in super::configured_streams(org)
        .into_iter()
        .filter(|id| *id != StreamId::Push)
    {
        let key = id.key(&org.name);
        if let Err(e) = health.note(&key, now, HealthNote::Authenticated).await {
            tracing::warn!(stream = %key, error = %e, "could not record that the credentials work");
        }
    }
}

fn scopes(org: &OrgConfig) -> Vec<&'static str> {
    let scopes = org.scopes();
    if scopes.is_empty() {
        LOG_SCOPES.to_vec()
    } else {
        scopes
    }
}

/// Reads one record of the state table (a missing table or a denied read fails here).
pub async fn check_state_table(streams: &dyn StreamStateStore, table: &str) -> Check {
    let subject = format!("state table {table}");
    match streams
        .snapshot(&StreamKey::new("okta-relay", "validate-config"))
        .await
    {
        Ok(_) => Check::pass(subject, "readable"),
        Err(e) => Check::fail(subject, format!("{e} ({})", e.kind())),
    }
}

/// The name a write probe asks about under each custom source location: never written.
pub const LAKE_PROBE_OBJECT: &str = "okta-relay-validate-config.probe";

/// The lake's bucket, its owner and write access under each custom source location the
/// relay writes to, probed without writing (`LakeStore::probe_write`). The probe runs with the
/// caller's identity: it proves the bucket, its owner and that identity's access; the
/// functions' own grant shows in their first put, which fails the run naming the bucket, key
/// and owner if it is refused.
pub async fn check_lake(lake: &SecurityLakeConfig, store: &dyn LakeStore) -> Vec<Check> {
    // One probe per custom source, as the role that writes it (the provider role, when the
    // lake is written through provider roles).
    let mut locations: Vec<(String, &str)> = crate::ocsf::TABLE
        .classes
        .iter()
        .map(|c| (lake.source_for(&c.name), c.name.as_str()))
        .collect();
    locations.sort();
    locations.dedup_by(|a, b| a.0 == b.0);
    let mut checks = Vec::new();
    for (location, class_name) in locations {
        let bucket = LakeBucket {
            name: &lake.bucket,
            owner: lake.bucket_owner(),
            role: lake.provider_role(class_name),
        };
        let prefix = format!("{}{location}/", lake.prefix);
        let subject = format!("security_lake s3://{}/{prefix}", lake.bucket);
        match store
            .probe_write(bucket, &format!("{prefix}{LAKE_PROBE_OBJECT}"))
            .await
        {
            Ok(()) => checks.push(Check::pass(
                subject,
                format!(
                    "writable, bucket owned by {} (probed, nothing written)",
                    bucket.owner
                ),
            )),
            // A missing bucket fails every location alike: once is enough.
            Err(e @ LakeError::NoBucket { .. }) => {
                checks.push(Check::fail(subject, format!("{e} ({})", e.kind())));
                break;
            }
            Err(e) => checks.push(Check::fail(subject, format!("{e} ({})", e.kind()))),
        }
    }
    if let Some(staging) = &lake.staging {
        let bucket = LakeBucket {
            name: &staging.bucket,
            owner: &lake.account_id,
            role: None,
        };
        let subject = format!(
            "security_lake.staging s3://{}/{}",
            staging.bucket, staging.prefix
        );
        let probe = format!("{}{LAKE_PROBE_OBJECT}", staging.prefix);
        checks.push(match store.probe_write(bucket, &probe).await {
            Ok(()) => Check::pass(subject, "writable (probed, nothing written)"),
            Err(e) => Check::fail(subject, format!("{e} ({})", e.kind())),
        });
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lake(owner: Option<&str>) -> SecurityLakeConfig {
        let mut json = serde_json::json!({"bucket": "aws-security-data-lake-us-east-1-abc",
            "region": "us-east-1", "account_id": "111122223333"});
        if let Some(owner) = owner {
            json["bucket_owner"] = owner.into();
        }
        serde_json::from_value(json).unwrap()
    }

    #[tokio::test]
    async fn the_lake_is_probed_under_each_source_location_and_a_wrong_owner_named() {
        let store = crate::testing::MemoryLake::default();
        store.owned_by("111122223333");
        let checks = check_lake(&lake(None), &store).await;
        assert!(
            checks.len() > 1 && checks.iter().all(|c| c.ok),
            "{checks:?}"
        );
        assert!(checks.iter().all(|c| {
            c.subject
                .contains("s3://aws-security-data-lake-us-east-1-abc/ext/okta-")
        }));
        assert!(store.keys().is_empty(), "a probe writes nothing");
        let wrong = check_lake(&lake(Some("444455556666")), &store).await;
        assert!(
            !wrong.is_empty() && wrong.iter().all(|c| !c.ok),
            "{wrong:?}"
        );
        assert!(
            wrong[0].detail.contains("444455556666"),
            "{}",
            wrong[0].detail
        );
    }

    #[test]
    fn each_enabled_stream_family_is_asked_once() {
        let config = RelayConfig::from_json(
            r#"{"orgs":[{"name":"acme","secret_arn":"arn:aws:secretsmanager:us-east-1:1:secret:x",
                "inventory":{"users":{},"groups":{},"group_members":{}}}]}"#,
        )
        .unwrap();
        assert_eq!(
            endpoints(&config.orgs[0]),
            ["/api/v1/logs", "/api/v1/users", "/api/v1/groups"]
        );
    }
}
