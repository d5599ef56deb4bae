//! An org's directory streams as configured: `orgs[].inventory`, a map from stream name to its
//! settings. A stream is collected when it is named; everything not given takes the
//! catalogue's default.
//!
//! ```json
//! "inventory": { "users": {}, "groups": { "delta_interval_seconds": 600 }, "group_members": {},
//!                "apps": {}, "app_users": { "page_size": 200 } }
//! ```

use crate::config::error::ConfigError;
use crate::inventory::catalogue::{self, StreamSpec};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// One stream's settings; every field is optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct InventoryStreamConfig {
    /// Objects per page (each endpoint has its own maximum).
    pub page_size: Option<u32>,
    /// Seconds between full syncs (default 86 400). Not for fan-out streams.
    pub interval_seconds: Option<u64>,
    /// Seconds between delta runs for `users` and `groups` (default 900); `0` turns deltas off.
    pub delta_interval_seconds: Option<u64>,
}

/// `orgs[].inventory`.
pub type InventoryConfig = BTreeMap<String, InventoryStreamConfig>;

/// A fan-out stream as it runs with its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildStream {
    pub spec: &'static StreamSpec,
    pub page_size: u32,
}

/// A top-level directory stream, resolved against the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryStream {
    pub spec: &'static StreamSpec,
    pub page_size: u32,
    pub interval: Duration,
    /// `None` when the stream has no delta rule or deltas are turned off.
    pub delta_interval: Option<Duration>,
    pub children: Vec<ChildStream>,
}

use crate::config::defaults::MAX_DIRECTORY_INTERVAL_SECONDS as MAX_INTERVAL;
use crate::config::defaults::MIN_DIRECTORY_INTERVAL_SECONDS as MIN_INTERVAL;

/// Checks `inventory`; `at` names a field (`orgs[0].inventory.users.page_size`).
pub fn validate(
    inventory: &InventoryConfig,
    at: impl Fn(&str) -> String,
) -> Result<(), ConfigError> {
    for (name, settings) in inventory {
        let Some(spec) = catalogue::spec(name) else {
            let known = catalogue::names();
            return Err(problem(
                at(name),
                format!("unknown stream (known: {known})"),
            ));
        };
        if settings.page_size.is_some() && !spec.limit {
            let why = "this endpoint returns every object in one response (it takes no limit)";
            return Err(problem(at(&format!("{name}.page_size")), why.into()));
        }
        if let Some(size) = settings.page_size
            && !(1..=spec.max_page_size).contains(&size)
        {
            let bound = format!("must be between 1 and {}", spec.max_page_size);
            return Err(problem(at(&format!("{name}.page_size")), bound));
        }
        if let Some((parent, _)) = spec.parent {
            if !inventory.contains_key(parent) {
                let fix = format!("is listed with its parent stream: add \"{parent}\"");
                return Err(problem(at(name), fix));
            }
            if settings.interval_seconds.is_some() || settings.delta_interval_seconds.is_some() {
                let fix = format!("runs with \"{parent}\": set the intervals there");
                return Err(problem(at(name), fix));
            }
        }
        intervals(name, spec, settings, &at)?;
    }
    Ok(())
}

fn problem(field: String, problem: String) -> ConfigError {
    ConfigError { field, problem }
}

/// A stream's full-sync and delta intervals.
fn intervals(
    name: &str,
    spec: &StreamSpec,
    settings: &InventoryStreamConfig,
    at: &impl Fn(&str) -> String,
) -> Result<(), ConfigError> {
    if let Some(interval) = settings.interval_seconds
        && !(MIN_INTERVAL..=MAX_INTERVAL).contains(&interval)
    {
        let bound = format!("must be between {MIN_INTERVAL} and {MAX_INTERVAL}");
        return Err(problem(at(&format!("{name}.interval_seconds")), bound));
    }
    let Some(delta) = settings.delta_interval_seconds else {
        return Ok(());
    };
    let field = at(&format!("{name}.delta_interval_seconds"));
    if spec.delta.is_none() {
        let why = "this stream has no delta (Okta offers none): it is re-listed on its interval";
        return Err(problem(field, why.into()));
    }
    // A delta is one cheap query: any period is allowed (one shorter than the schedule's runs
    // at every schedule).
    if delta > MAX_INTERVAL {
        let bound = format!("must be at most {MAX_INTERVAL} (0 turns deltas off)");
        return Err(problem(field, bound));
    }
    Ok(())
}

/// The top-level streams to run, in catalogue order, each with its enabled children.
pub fn resolve(inventory: &InventoryConfig) -> Vec<InventoryStream> {
    let page = |spec: &StreamSpec| {
        inventory
            .get(spec.name)
            .and_then(|s| s.page_size)
            .unwrap_or(spec.default_page_size)
    };
    catalogue::STREAMS
        .iter()
        .filter(|spec| spec.parent.is_none())
        .filter_map(|spec| {
            let settings = inventory.get(spec.name)?;
            let delta_interval = spec.delta.and_then(|rule| {
                match settings
                    .delta_interval_seconds
                    .unwrap_or(rule.interval_seconds)
                {
                    0 => None,
                    s => Some(Duration::from_secs(s)),
                }
            });
            let children = catalogue::STREAMS
                .iter()
                .filter(|c| c.parent.map(|(p, _)| p) == Some(spec.name))
                .filter(|c| inventory.contains_key(c.name))
                .map(|c| ChildStream {
                    spec: c,
                    page_size: page(c),
                })
                .collect();
            Some(InventoryStream {
                spec,
                page_size: page(spec),
                interval: Duration::from_secs(
                    settings.interval_seconds.unwrap_or(spec.interval_seconds),
                ),
                delta_interval,
                children,
            })
        })
        .collect()
}

/// The OAuth scopes the configured streams need.
pub fn scopes(inventory: &InventoryConfig) -> Vec<&'static str> {
    let mut scopes: Vec<&'static str> = inventory
        .keys()
        .filter_map(|name| catalogue::spec(name))
        .map(|s| s.scope)
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> InventoryConfig {
        serde_json::from_str(text).unwrap()
    }

    fn check(text: &str) -> Result<(), ConfigError> {
        validate(&parse(text), |f| format!("inventory.{f}"))
    }

    #[test]
    fn named_streams_take_the_catalogue_defaults() {
        let streams = resolve(&parse(
            r#"{"users":{},"groups":{"delta_interval_seconds":0},"group_members":{},"apps":{"page_size":50},"app_users":{"page_size":500}}"#,
        ));
        let names: Vec<&str> = streams.iter().map(|s| s.spec.name).collect();
        assert_eq!(names, ["users", "groups", "apps"]);
        assert_eq!(streams[0].page_size, 200);
        assert_eq!(streams[0].interval, Duration::from_secs(86_400));
        assert_eq!(streams[0].delta_interval, Some(Duration::from_secs(900)));
        assert_eq!(streams[1].delta_interval, None, "0 turns deltas off");
        assert_eq!(streams[1].children[0].spec.name, "group_members");
        assert_eq!(streams[1].children[0].page_size, 1000);
        assert_eq!(streams[2].page_size, 50);
        assert_eq!(streams[2].delta_interval, None, "apps have no delta");
        let children: Vec<(&str, u32)> = streams[2]
            .children
            .iter()
            .map(|c| (c.spec.name, c.page_size))
            .collect();
        assert_eq!(children, [("app_users", 500)]);
        assert!(resolve(&InventoryConfig::new()).is_empty());
    }

    #[test]
    fn scopes_follow_the_streams() {
        assert_eq!(
            scopes(&parse(
                r#"{"users":{},"group_members":{},"groups":{},"zones":{}}"#
            )),
            [
                "okta.groups.read",
                "okta.networkZones.read",
                "okta.users.read"
            ]
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (r#"{"userz":{}}"#, "inventory.userz"),
            (
                r#"{"users":{"page_size":500}}"#,
                "inventory.users.page_size",
            ),
            (r#"{"app_users":{}}"#, "inventory.app_users"),
            (
                r#"{"apps":{},"app_users":{"interval_seconds":600}}"#,
                "inventory.app_users",
            ),
            (
                r#"{"users":{"interval_seconds":5}}"#,
                "inventory.users.interval_seconds",
            ),
            (
                r#"{"apps":{"delta_interval_seconds":900}}"#,
                "inventory.apps.delta_interval_seconds",
            ),
            (
                r#"{"users":{"delta_interval_seconds":99999999}}"#,
                "inventory.users.delta_interval_seconds",
            ),
        ];
        for (text, field) in cases {
            assert_eq!(check(text).unwrap_err().field, field, "{text}");
        }
        assert!(check(r#"{"apps":{},"app_users":{"page_size":500},"app_groups":{}}"#).is_ok());
        assert!(serde_json::from_str::<InventoryConfig>(r#"{"users":{"pagesize":5}}"#).is_err());
    }
}
