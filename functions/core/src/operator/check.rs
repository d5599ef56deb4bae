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
use crate::inventory::catalogue::StreamSpec;
use crate::okta::{
    ClientSettings, OktaClient, OktaCredentials, OrgAuth, PageLayout, RateLimitBucket,
    RateLimitPolicy, RateLimiter,
};
use crate::poller::LOG_SCOPES;
use crate::ports::{
    HealthNote, HealthStore, LakeBucket, LakeError, LakeStore, SecretSource, StreamKey,
    StreamStateStore,
};
use crate::shape::directory_object::ObjectHeader;
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

/// The requests that ask each enabled stream's endpoint for one item (path and query);
/// fan-out streams are asked under their parent's first object ([`probe`]).
pub fn endpoints(org: &OrgConfig) -> Vec<String> {
    let mut paths = Vec::new();
    if org.logs.enabled {
        paths.push(format!("{}?limit=1", crate::poller::LOGS_PATH));
    }
    paths.extend(
        org.inventory_streams()
            .iter()
            .flat_map(|s| first_items(s.spec, s.spec.path)),
    );
    paths
}

/// `path` asking for one item: `limit=1` where the endpoint takes it; one request per value of
/// a required parameter the stream sweeps (an org that refuses one, a Classic Engine org asked
/// for an Identity Engine policy type, is named here rather than failing every run).
fn first_items(spec: &StreamSpec, path: &str) -> Vec<String> {
    let limit = spec.limit.then(|| "limit=1".to_string());
    let values: Vec<Option<String>> = match spec.sweep {
        Some(sweep) => sweep
            .values
            .iter()
            .map(|value| Some(format!("{}={value}", sweep.param)))
            .collect(),
        None => vec![None],
    };
    values
        .into_iter()
        .map(|value| {
            let query: Vec<String> = limit.iter().cloned().chain(value).collect();
            match query.is_empty() {
                true => path.to_string(),
                false => format!("{path}?{}", query.join("&")),
            }
        })
        .collect()
}

/// Each enabled stream whose OAuth scope the secret's own `scopes` leave out (a secret that
/// names none is given every scope the streams need).
fn missing_scopes(org: &OrgConfig, granted: &[String]) -> Vec<Check> {
    let has = |scope: &str| granted.iter().any(|g| g == scope);
    let mut checks = Vec::new();
    if org.logs.enabled
        && let Some(scope) = LOG_SCOPES.iter().find(|s| !has(s))
    {
        checks.push(scope_check(org, crate::stream::LOGS, scope));
    }
    for stream in org.inventory_streams() {
        let specs = std::iter::once(stream.spec).chain(stream.children.iter().map(|c| c.spec));
        for spec in specs.filter(|s| !has(s.scope)) {
            checks.push(scope_check(org, spec.name, spec.scope));
        }
    }
    checks
}

fn scope_check(org: &OrgConfig, stream: &str, scope: &str) -> Check {
    Check::fail(
        format!("orgs[{}] stream {stream}", org.name),
        format!(
            "needs the OAuth scope {scope}, which the secret's `scopes` leave out: add it there \
             and grant it to the service app (docs/deploy.md, step 1)"
        ),
    )
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
    if let OrgAuth::OAuth(session) = &credentials.auth {
        checks.extend(missing_scopes(org, session.scopes()));
    }
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

/// Asks each of the org's endpoints for one item: proves the token and its scopes. A fan-out
/// stream that needs a scope of its own is asked under its parent's first object.
async fn probe(client: &OktaClient, limiter: &RateLimiter, org: &OrgConfig) -> Vec<Check> {
    let mut checks = Vec::new();
    if org.logs.enabled {
        let path = format!("{}?limit=1", crate::poller::LOGS_PATH);
        checks.push(ask(client, limiter, org, &path, PageLayout::Array).await.0);
    }
    for stream in org.inventory_streams() {
        let spec = stream.spec;
        let (mut parent_ok, mut first) = (true, None);
        for path in first_items(spec, spec.path) {
            let (check, item) = ask(client, limiter, org, &path, spec.paging.layout()).await;
            parent_ok &= check.ok;
            first = first.or(item);
            checks.push(check);
        }
        for child in stream.children.iter().filter(|c| c.spec.own_scope()) {
            let parent = first
                .as_deref()
                .and_then(|raw| ObjectHeader::parse(raw, spec).ok());
            let Some(parent) = parent else {
                if parent_ok {
                    let what = format!("orgs[{}] stream {}", org.name, child.spec.name);
                    let why = format!("not asked: {} has no object to ask under", spec.name);
                    checks.push(Check::pass(what, why));
                }
                continue;
            };
            let path = child.spec.path.replace("{id}", &parent.id);
            let layout = child.spec.paging.layout();
            for path in first_items(child.spec, &path) {
                checks.push(ask(client, limiter, org, &path, layout).await.0);
            }
        }
    }
    checks
}

/// One request for one item: its check, and the item if there was one.
async fn ask(
    client: &OktaClient,
    limiter: &RateLimiter,
    org: &OrgConfig,
    path: &str,
    layout: PageLayout,
) -> (Check, Option<Box<RawValue>>) {
    // The path and the parameters that say what was asked (not `limit`).
    let shown = match path.split_once('?') {
        Some((bare, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| !pair.starts_with("limit="))
                .collect();
            match kept.is_empty() {
                true => bare.to_string(),
                false => format!("{bare}?{}", kept.join("&")),
            }
        }
        None => path.to_string(),
    };
    let what = format!("orgs[{}] GET {shown}", org.name);
    let url = match client.org().join(path) {
        Ok(url) => url,
        Err(e) => return (Check::fail(what, e.to_string()), None),
    };
    match client.get_page_in::<Box<RawValue>>(&url, layout).await {
        Ok(page) => {
            let headroom = limiter
                .headroom(&RateLimitBucket::for_path(url.path()))
                .filter(|(_, limit)| *limit > 0)
                .map(|(remaining, limit)| format!("; rate limit {remaining}/{limit} left"))
                .unwrap_or_default();
            let first = page.items.into_iter().next();
            (Check::pass(what, format!("ok{headroom}")), first)
        }
        Err(e) => (Check::fail(what, format!("{e} ({})", e.kind())), None),
    }
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
            [
                "/api/v1/logs?limit=1",
                "/api/v1/users?limit=1",
                "/api/v1/groups?limit=1"
            ]
        );
        let config = RelayConfig::from_json(
            r#"{"orgs":[{"name":"acme","secret_arn":"arn:aws:secretsmanager:us-east-1:1:secret:x",
                "logs":{"enabled":false},"inventory":{"policies":{},"authenticators":{},"custom_roles":{}}}]}"#,
        )
        .unwrap();
        assert_eq!(
            endpoints(&config.orgs[0]),
            [
                "/api/v1/iam/roles",
                "/api/v1/authenticators",
                "/api/v1/policies?type=OKTA_SIGN_ON",
                "/api/v1/policies?type=PASSWORD",
                "/api/v1/policies?type=MFA_ENROLL",
                "/api/v1/policies?type=IDP_DISCOVERY",
                "/api/v1/policies?type=ACCESS_POLICY",
                "/api/v1/policies?type=PROFILE_ENROLLMENT",
            ],
            "no limit where Okta takes none; each value of a required parameter"
        );
    }

    #[test]
    fn a_secret_whose_scopes_leave_a_stream_out_fails_that_stream_only() {
        let config = RelayConfig::from_json(
            r#"{"orgs":[{"name":"acme","secret_arn":"arn:aws:secretsmanager:us-east-1:1:secret:x",
                "inventory":{"users":{},"groups":{},"group_roles":{},"devices":{}}}]}"#,
        )
        .unwrap();
        let granted: Vec<String> = [
            "okta.logs.read",
            "okta.users.read",
            "okta.groups.read",
            "okta.devices.read",
        ]
        .map(String::from)
        .to_vec();
        let checks = missing_scopes(&config.orgs[0], &granted);
        assert_eq!(checks.len(), 1, "{checks:?}");
        assert_eq!(checks[0].subject, "orgs[acme] stream group_roles");
        assert!(
            checks[0].detail.contains("okta.roles.read"),
            "{}",
            checks[0].detail
        );
        assert!(!checks[0].ok);
    }
}
