//! Where a function finds its configuration, named by exactly one environment variable:
//!
//! | variable | holds |
//! |---|---|
//! | `OKTA_RELAY_CONFIG` | the JSON itself: small setups (Lambda's 4 KB environment, ~15 orgs) |
//! | `OKTA_RELAY_CONFIG_FILE` | a path to the JSON (local runs, the CLI) |
//! | `OKTA_RELAY_CONFIG_PARAMETER` | an SSM parameter name (advanced tier: 8 KB, ~35 orgs) |
//! | `OKTA_RELAY_CONFIG_OBJECT` | `s3://bucket/key` (up to 1 MiB: hundreds of orgs) |
//!
//! Two of them at once is an error, not a precedence rule: a stale variable left beside a new
//! one would otherwise decide silently which orgs are polled.

use super::error::err;
use super::{ConfigError, RelayConfig};
use std::path::PathBuf;

pub const INLINE_VAR: &str = "OKTA_RELAY_CONFIG";
pub const FILE_VAR: &str = "OKTA_RELAY_CONFIG_FILE";
pub const PARAMETER_VAR: &str = "OKTA_RELAY_CONFIG_PARAMETER";
pub const OBJECT_VAR: &str = "OKTA_RELAY_CONFIG_OBJECT";
const VARS: [&str; 4] = [INLINE_VAR, FILE_VAR, PARAMETER_VAR, OBJECT_VAR];

/// The place the configuration is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    Inline(String),
    File(PathBuf),
    Parameter(String),
    Object { bucket: String, key: String },
}

impl ConfigSource {
    /// The one variable of [`VARS`] that is set (and not blank).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any lookup (tests).
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set: Vec<(&str, String)> = VARS
            .iter()
            .filter_map(|name| {
                lookup(name)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (*name, v))
            })
            .collect();
        match set.as_slice() {
            [] => Err(err(
                INLINE_VAR,
                format!("not set: set one of {}", VARS.join(", ")),
            )),
            [(name, value)] => Self::from_var(name, value),
            more => Err(err(
                more[0].0,
                format!(
                    "{} are all set: set exactly one",
                    more.iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            )),
        }
    }

    fn from_var(name: &str, value: &str) -> Result<Self, ConfigError> {
        Ok(match name {
            INLINE_VAR => ConfigSource::Inline(value.to_string()),
            FILE_VAR => ConfigSource::File(PathBuf::from(value)),
            PARAMETER_VAR => {
                if !value.starts_with('/') && value.contains('/') {
                    return Err(err(
                        PARAMETER_VAR,
                        "a parameter path must start with '/' (or be a plain name)",
                    ));
                }
                ConfigSource::Parameter(value.to_string())
            }
            _ => {
                let (bucket, key) = parse_s3_uri(value)?;
                ConfigSource::Object { bucket, key }
            }
        })
    }

    /// The configuration, when it needs no AWS call to read: inline or a file.
    pub fn read_local(&self) -> Option<Result<RelayConfig, ConfigError>> {
        match self {
            ConfigSource::Inline(text) => Some(RelayConfig::from_json(text)),
            ConfigSource::File(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| err(FILE_VAR, format!("cannot read {}: {e}", path.display())))
                    .and_then(|text| RelayConfig::from_json(&text)),
            ),
            ConfigSource::Parameter(_) | ConfigSource::Object { .. } => None,
        }
    }
}

/// `s3://bucket/key` into its bucket and key.
fn parse_s3_uri(value: &str) -> Result<(String, String), ConfigError> {
    let bad = || err(OBJECT_VAR, "must be s3://<bucket>/<key>");
    let rest = value.strip_prefix("s3://").ok_or_else(bad)?;
    let (bucket, key) = rest.split_once('/').ok_or_else(bad)?;
    if bucket.is_empty() || key.is_empty() || bucket.contains(char::is_whitespace) {
        return Err(bad());
    }
    Ok((bucket.to_string(), key.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<ConfigSource, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ConfigSource::from_vars(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn each_variable_names_its_source() {
        assert_eq!(
            from(&[(PARAMETER_VAR, "/okta-relay/prod/config")]).unwrap(),
            ConfigSource::Parameter("/okta-relay/prod/config".into())
        );
        assert_eq!(
            from(&[(OBJECT_VAR, "s3://cfg-bucket/okta-relay/config-1a2b.json")]).unwrap(),
            ConfigSource::Object {
                bucket: "cfg-bucket".into(),
                key: "okta-relay/config-1a2b.json".into()
            }
        );
        assert_eq!(
            from(&[(INLINE_VAR, "{}"), (FILE_VAR, " ")]).unwrap(),
            ConfigSource::Inline("{}".into())
        );
    }

    #[test]
    fn none_or_two_sources_are_refused_by_name() {
        let none = from(&[]).unwrap_err().to_string();
        assert!(none.contains("OKTA_RELAY_CONFIG_PARAMETER"), "{none}");
        let two = from(&[(INLINE_VAR, "{}"), (OBJECT_VAR, "s3://b/k")])
            .unwrap_err()
            .to_string();
        assert!(two.contains("set exactly one"), "{two}");
        assert!(two.contains(OBJECT_VAR), "{two}");
    }

    #[test]
    fn malformed_locations_are_refused() {
        for uri in ["b/k", "s3://bucket", "s3:///key", "s3://bucket/"] {
            let e = from(&[(OBJECT_VAR, uri)]).unwrap_err();
            assert_eq!(e.field, OBJECT_VAR, "{uri}");
        }
        assert!(from(&[(PARAMETER_VAR, "okta-relay/config")]).is_err());
    }
}
