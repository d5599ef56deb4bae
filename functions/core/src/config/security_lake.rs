//! The Amazon Security Lake delivery (`security_lake`): per deployment, beside the delivery bus.
//! Every org's System Log events and mapped directory objects go to the lake as OCSF, one
//! custom source per class (Security Lake takes one class per source), whatever each org's
//! `output` says about the bus.

use super::error::{ConfigError, err};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// Where Security Lake objects go: `s3://<bucket>/<prefix><source>/region=<region>/accountId=<account_id>/eventDay=<yyyymmdd>/`.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityLakeConfig {
    /// S3 delivery on or off; off keeps the section for later.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// The lake's bucket (`aws-security-data-lake-<region>-<id>`).
    pub bucket: String,
    /// Where custom sources live in the bucket. Default `ext/`.
    #[serde(default = "prefix")]
    pub prefix: String,
    /// The `region=` and `accountId=` partitions: the Region and account the data is from.
    pub region: String,
    pub account_id: String,
    /// The account that owns `bucket` (the lake's account, often a delegated administrator or
    /// log archive account). Every put names it, so a wrong or re-created bucket name in
    /// another account is refused instead of receiving the events. Default `account_id`.
    #[serde(default)]
    pub bucket_owner: Option<String>,
    /// The custom source location of each class, by the class's key (`authentication`,
    /// `account_change`, …, `user_inventory_info`): the source's name, or `<name>/<version>`
    /// when the custom source was created with a version. A class not named goes to its
    /// default source (`okta-authentication`, …: `mapping.json`, `infra/contract.json`).
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    /// An object is written when its class has buffered this many events,
    #[serde(default = "max_buffer_events")]
    pub max_buffer_events: usize,
    /// or this many bytes of OCSF JSON,
    #[serde(default = "max_buffer_bytes")]
    pub max_buffer_bytes: usize,
    /// or its oldest event has waited this long; and whatever is buffered at the end of a run.
    #[serde(default = "max_buffer_seconds")]
    pub max_buffer_seconds: u64,
    /// Stage the functions' objects in the relay's own bucket and write the lake at its own
    /// cadence: one object per class and day packing every org and invocation, at most every
    /// `write_interval_seconds` (Security Lake's custom-source guidance). Without it every
    /// flush writes to the lake directly (small objects).
    #[serde(default)]
    pub staging: Option<LakeStaging>,
    /// Write the lake through each custom source's provider role (`sts:AssumeRole` with the
    /// external id): for a lake in another account (a delegated administrator or log archive
    /// account), whose bucket policy the relay then never needs to edit.
    #[serde(default)]
    pub provider_roles: Option<ProviderRoles>,
}

/// Each custom source's provider role, by class key, and the external id their trust names.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderRoles {
    /// The external id given when the custom sources were created.
    pub external_id: String,
    /// The provider role ARN of each class's custom source (CreateCustomLogSource answers it),
    /// by class key; every class the relay writes needs one.
    pub arns: BTreeMap<String, String>,
}

/// Where the functions stage their lake objects, and how often the poller writes the lake.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LakeStaging {
    /// The relay's staging bucket (its own account's).
    pub bucket: String,
    /// Where staged objects go in it. Default `lake-staging/`.
    #[serde(default = "staging_prefix")]
    pub prefix: String,
    /// A class's staged events are written to the lake once the oldest has waited this long
    /// (at most a day; default 300; 0 writes at every poller run), or at once when they reach
    /// a full object.
    #[serde(default = "write_interval_seconds")]
    pub write_interval_seconds: u64,
}

pub use crate::config::defaults::MAX_BUFFER_BYTES;
pub use crate::config::defaults::MAX_BUFFER_BYTES_RANGE;
pub use crate::config::defaults::MAX_BUFFER_EVENTS;
pub use crate::config::defaults::MAX_BUFFER_RANGE;
pub use crate::config::defaults::MAX_BUFFER_SECONDS;
pub use crate::limits::MAX_SOURCE_NAME;

fn enabled() -> bool {
    true
}
fn prefix() -> String {
    "ext/".into()
}
fn max_buffer_events() -> usize {
    MAX_BUFFER_EVENTS
}
fn max_buffer_bytes() -> usize {
    MAX_BUFFER_BYTES
}
fn max_buffer_seconds() -> u64 {
    MAX_BUFFER_SECONDS
}
fn staging_prefix() -> String {
    "lake-staging/".into()
}
fn write_interval_seconds() -> u64 {
    crate::config::defaults::LAKE_WRITE_INTERVAL_SECONDS
}

/// The key a class goes by in `sources`: its name in snake case.
pub fn class_key(class_name: &str) -> String {
    class_name.to_lowercase().replace([' ', '&'], "_")
}

impl SecurityLakeConfig {
    /// The custom source location that takes `class_name`.
    pub fn source_for(&self, class_name: &str) -> String {
        let key = class_key(class_name);
        self.sources.get(&key).cloned().unwrap_or_else(|| {
            crate::ocsf::TABLE
                .classes
                .iter()
                .find(|c| c.name == class_name)
                .map_or_else(|| format!("okta-{key}"), |c| c.lake_source.clone())
        })
    }

    /// The provider role that writes `class_name`'s objects, with `provider_roles`.
    pub fn provider_role(&self, class_name: &str) -> Option<crate::ports::ProviderRole<'_>> {
        let roles = self.provider_roles.as_ref()?;
        roles
            .arns
            .get(&class_key(class_name))
            .map(|arn| crate::ports::ProviderRole {
                arn,
                external_id: &roles.external_id,
            })
    }

    /// The account every put expects to own the bucket.
    pub fn bucket_owner(&self) -> &str {
        self.bucket_owner.as_deref().unwrap_or(&self.account_id)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let at = |f: &str| format!("security_lake.{f}");
        if !bucket_name_ok(&self.bucket) {
            return Err(err(at("bucket"), "an S3 bucket name (3–63 of a-z 0-9 . -)"));
        }
        if self.prefix.starts_with('/') || !(self.prefix.is_empty() || self.prefix.ends_with('/')) {
            return Err(err(
                at("prefix"),
                "no leading `/`, and a trailing `/` (e.g. `ext/`)",
            ));
        }
        let account = |id: &str| id.len() == 12 && id.chars().all(|c| c.is_ascii_digit());
        if !account(&self.account_id) {
            return Err(err(at("account_id"), "12 digits"));
        }
        if !self.bucket_owner.as_deref().is_none_or(account) {
            return Err(err(at("bucket_owner"), "12 digits"));
        }
        if self.region.is_empty()
            || !self
                .region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(err(at("region"), "an AWS Region such as us-east-1"));
        }
        let known: BTreeSet<String> = crate::ocsf::TABLE
            .classes
            .iter()
            .map(|c| class_key(&c.name))
            .collect();
        for (key, location) in &self.sources {
            if !known.contains(key) {
                return Err(err(
                    at(&format!("sources.{key}")),
                    format!("not a class the relay emits ({})", join(&known)),
                ));
            }
            if !location_ok(location) {
                return Err(err(
                    at(&format!("sources.{key}")),
                    format!(
                        "a custom source location: its name (1–{MAX_SOURCE_NAME} of A-Z a-z 0-9 - _ : .), or <name>/<version>"
                    ),
                ));
            }
        }
        // One class per custom source: no two classes share a source name, whatever versions
        // they name.
        let mut names = BTreeSet::new();
        for class in &crate::ocsf::TABLE.classes {
            let location = self.source_for(&class.name);
            let name = location.split('/').next().unwrap_or_default().to_string();
            if !names.insert(name) {
                return Err(err(
                    at("sources"),
                    "one custom source per class: Security Lake takes one OCSF class per source",
                ));
            }
        }
        if self.max_buffer_events == 0 {
            return Err(err(at("max_buffer_events"), "at least 1"));
        }
        let (lo, hi) = MAX_BUFFER_BYTES_RANGE;
        if !(lo..=hi).contains(&self.max_buffer_bytes) {
            return Err(err(at("max_buffer_bytes"), format!("{lo}–{hi}")));
        }
        let (lo, hi) = MAX_BUFFER_RANGE;
        if !(lo..=hi).contains(&self.max_buffer_seconds) {
            return Err(err(at("max_buffer_seconds"), format!("{lo}–{hi}")));
        }
        if let Some(roles) = &self.provider_roles {
            let id_ok = (2..=1224).contains(&roles.external_id.len())
                && roles
                    .external_id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c));
            if !id_ok {
                return Err(err(
                    at("provider_roles.external_id"),
                    "2–1224 of A-Z a-z 0-9 + = , . @ : / - _",
                ));
            }
            for key in &known {
                let Some(arn) = roles.arns.get(key) else {
                    return Err(err(
                        at(&format!("provider_roles.arns.{key}")),
                        "missing: every class the relay writes needs its source's provider role",
                    ));
                };
                let parts: Vec<&str> = arn.split(':').collect();
                let role_ok = parts.len() == 6
                    && parts[0] == "arn"
                    && parts[2] == "iam"
                    && account(parts[4])
                    && parts[5].starts_with("role/");
                if !role_ok {
                    return Err(err(
                        at(&format!("provider_roles.arns.{key}")),
                        "an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
                    ));
                }
            }
            if let Some(extra) = roles.arns.keys().find(|k| !known.contains(*k)) {
                return Err(err(
                    at(&format!("provider_roles.arns.{extra}")),
                    format!("not a class the relay emits ({})", join(&known)),
                ));
            }
        }
        if let Some(staging) = &self.staging {
            if !bucket_name_ok(&staging.bucket) {
                return Err(err(
                    at("staging.bucket"),
                    "an S3 bucket name (3–63 of a-z 0-9 . -)",
                ));
            }
            if staging.prefix.starts_with('/') || !staging.prefix.ends_with('/') {
                return Err(err(
                    at("staging.prefix"),
                    "no leading `/`, and a trailing `/`",
                ));
            }
            let (lo, hi) = crate::config::defaults::LAKE_WRITE_INTERVAL_RANGE;
            if !(lo..=hi).contains(&staging.write_interval_seconds) {
                return Err(err(
                    at("staging.write_interval_seconds"),
                    format!("{lo}–{hi}"),
                ));
            }
        }
        Ok(())
    }
}

/// An S3 bucket name: 3–63 of a-z 0-9 . -.
fn bucket_name_ok(name: &str) -> bool {
    (crate::limits::S3_BUCKET_NAME_MIN..=crate::limits::S3_BUCKET_NAME_MAX).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

/// `<name>` or `<name>/<version>`: a name Security Lake takes, then one plain path segment.
fn location_ok(location: &str) -> bool {
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_:.".contains(c))
    };
    let mut parts = location.split('/');
    let name = parts.next().unwrap_or_default();
    let version = parts.next();
    name.len() <= MAX_SOURCE_NAME
        && segment_ok(name)
        && version.is_none_or(|v| v.len() <= 64 && segment_ok(v))
        && parts.next().is_none()
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}
