//! The mapping table (`mapping.json`), read once and checked when first used: rules from
//! event-type patterns to a class and an activity, and per class the field groups that fill it.
//! The mapping is data so that a reviewer reads one table, and the coverage document and the
//! Parquet schemas come from the same place as the records.

use super::path::{Path, RELAY_ROOT};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The OCSF version the table targets.
pub const OCSF_VERSION: &str = "1.3.0";

const TABLE_JSON: &str = include_str!("mapping.json");

/// The table, parsed and checked once. The table is compiled into the binary and a unit test
/// reads it, so a broken table fails the build's tests, never a function at run time.
pub static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut table: Table = serde_json::from_str(TABLE_JSON).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the OCSF mapping table does not parse");
        Table::default()
    });
    table.compile();
    if let Err(e) = table.check() {
        tracing::error!(error = %e, "the OCSF mapping table is inconsistent");
    }
    table
});

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    #[serde(default)]
    pub about: String,
    pub version: String,
    pub product: Product,
    pub classes: Vec<Class>,
    pub verbs: BTreeMap<String, BTreeMap<String, u32>>,
    pub rules: Vec<Rule>,
    pub inventory: Vec<InventoryRule>,
    pub groups: BTreeMap<String, Group>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub vendor_name: String,
    pub name: String,
}

/// One OCSF class the relay emits.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Class {
    pub uid: u32,
    pub name: String,
    /// The Security Lake custom source its events go to unless configured otherwise (at most
    /// 20 characters: CreateCustomLogSource's limit; `infra/contract.json` has the same).
    pub lake_source: String,
    pub category_uid: u32,
    pub category_name: String,
    /// The field groups that fill it, in order.
    pub groups: Vec<String>,
    /// Top-level objects the class requires: a rule whose event leaves one empty falls through
    /// to the next rule.
    pub required: Vec<String>,
    /// Sets of top-level objects of which the class needs at least one (OCSF's `anyOf`
    /// constraints): a rule whose event fills none of a set falls through too.
    #[serde(default)]
    pub required_any: Vec<Vec<String>>,
    /// Activity names by id.
    pub activities: BTreeMap<String, String>,
    /// OCSF profiles its events declare in `metadata.profiles`: `host` adds `actor` (and
    /// `device`) to the classes whose own attributes lack them (Entity Management, Group
    /// Management, Authorize Session, User Access Management), so the actor Okta names is kept.
    #[serde(default)]
    pub profiles: Vec<String>,
}

impl Class {
    pub fn activity_name(&self, id: u32) -> &str {
        self.activities
            .get(&id.to_string())
            .map_or("Other", String::as_str)
    }
}

/// An event-type pattern and what it becomes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// An event type, `prefix.*`, or `*`.
    #[serde(rename = "match")]
    pub pattern: String,
    pub class: u32,
    /// A fixed activity, or
    #[serde(default)]
    pub activity_id: Option<u32>,
    /// the activity named by the event type's verb (its last segment that is a known verb),
    /// in this verb table; 99 (Other) when none is.
    #[serde(default)]
    pub activity_verbs: Option<String>,
    /// The event type belongs to this class whatever the event holds: an event too sparse for
    /// it keeps the class (with OCSF's Unknown for what is missing) instead of falling through
    /// to a broader rule, so one event type never lands in two classes.
    #[serde(default, rename = "final")]
    pub is_final: bool,
}

impl Rule {
    pub fn matches(&self, event_type: &str) -> bool {
        match self.pattern.strip_suffix('*') {
            Some(prefix) => event_type.starts_with(prefix),
            None => self.pattern == event_type,
        }
    }
}

/// A directory stream and the class its objects become.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryRule {
    pub stream: String,
    pub class: u32,
    pub activity_id: u32,
}

/// Fields that go together, kept only if they make a whole OCSF object: OCSF objects need one
/// of their key fields (a user its `uid` or `name`, an endpoint its `ip`, …), so a group whose
/// fields fill none of `requires_any` is dropped, and its sources stay in `unmapped`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Target paths of which the group must fill at least one (none: always kept).
    #[serde(default)]
    pub requires_any: Vec<String>,
    /// A target path the event must already have (an endpoint's location needs the endpoint).
    #[serde(default)]
    pub needs: Option<String>,
    /// A target path the event must not have yet (a fallback for an object other groups fill).
    #[serde(default)]
    pub needs_absent: Option<String>,
    /// A condition on the Okta object: the group applies only when the field at `path` is one
    /// of `is` (or none of `is_not`). Okta's `actor.type` says whether the actor is a person,
    /// Okta itself or an OAuth client, and each becomes a different OCSF object.
    #[serde(default)]
    pub when: Option<When>,
    pub fields: Vec<Field>,
    /// The paths above, parsed ([`Table::compile`]).
    #[serde(skip)]
    pub requires: Vec<Path>,
    #[serde(skip)]
    pub needs_path: Option<Path>,
    #[serde(skip)]
    pub needs_absent_path: Option<Path>,
}

/// A condition on a field of the Okta object.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    pub path: String,
    #[serde(default)]
    pub is: Vec<String>,
    #[serde(default)]
    pub is_not: Vec<String>,
    #[serde(skip)]
    pub source: Path,
}

impl When {
    /// Whether `value` (the field, if present) meets the condition: an absent field meets
    /// only an `is_not`.
    pub fn holds(&self, value: Option<&serde_json::Value>) -> bool {
        let text = value.and_then(serde_json::Value::as_str);
        let listed = |set: &[String]| text.is_some_and(|t| set.iter().any(|s| s == t));
        (self.is.is_empty() || listed(&self.is)) && !listed(&self.is_not)
    }
}

/// One OCSF field: copied from the first present source that passes its check, looked up, or
/// a constant.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    #[serde(default)]
    pub from: Sources,
    /// A constant.
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    pub to: String,
    #[serde(rename = "type", default)]
    pub kind: FieldType,
    /// Source text → value. A looked-up source stays in `unmapped` too: the OCSF value does
    /// not carry the original.
    #[serde(default)]
    pub lookup: Option<BTreeMap<String, serde_json::Value>>,
    /// The value for a source text the lookup lacks.
    #[serde(default)]
    pub default_lookup: Option<serde_json::Value>,
    /// A source text the lookup lacks is copied as it is (OCSF's `status` is the caption of
    /// `status_id`, or the source's own word when that is Other).
    #[serde(default)]
    pub keep_unlisted: bool,
    /// The value when no source is present.
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    /// A template whose `{}` takes the value (relay labels).
    #[serde(default)]
    pub format: Option<String>,
    /// The text is a list joined by this separator (Okta's `privilegeGranted`: "Organization
    /// administrator, Application administrator (all)"): the target is the list. The source
    /// stays in `unmapped` too, as Okta wrote it.
    #[serde(default)]
    pub split: Option<String>,
    /// A shape the value must have to be copied (else it stays in `unmapped`).
    #[serde(default)]
    pub check: Option<Check>,
    /// `from` and `to`, parsed ([`Table::compile`]): each source with whether it reads the
    /// relay's metadata.
    #[serde(skip)]
    pub sources: Vec<(bool, Path)>,
    #[serde(skip)]
    pub target: Path,
}

/// Shapes OCSF constrains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    /// OCSF's `email_t`: `local@domain.tld` (Okta's `alternateId` is a login, often but not
    /// always an address).
    Email,
    /// OCSF's `ip_t`: an IPv4 or IPv6 address.
    Ip,
    /// A value Okta knows: not empty and not one of Okta's placeholders, `unknown` (a target's
    /// `alternateId`, a failed logon's actor) or the text `null` (`client.zone`).
    Known,
}

impl Check {
    pub fn accepts(self, text: &str) -> bool {
        match self {
            Check::Email => {
                let Some((local, domain)) = text.split_once('@') else {
                    return false;
                };
                let local_ok = !local.is_empty()
                    && local
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
                let domain_ok = domain.split_once('.').is_some_and(|(head, tail)| {
                    !head.is_empty()
                        && !tail.is_empty()
                        && head.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        && tail
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                });
                local_ok && domain_ok
            }
            Check::Ip => text.parse::<std::net::IpAddr>().is_ok(),
            Check::Known => {
                let t = text.trim();
                !t.is_empty()
                    && !t.eq_ignore_ascii_case("unknown")
                    && !t.eq_ignore_ascii_case("null")
            }
        }
    }
}

/// One source path or alternatives, first present wins.
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
pub enum Sources {
    #[default]
    None,
    One(String),
    Any(Vec<String>),
}

impl Sources {
    pub fn paths(&self) -> &[String] {
        match self {
            Sources::None => &[],
            Sources::One(p) => std::slice::from_ref(p),
            Sources::Any(ps) => ps,
        }
    }
}

/// A field's OCSF type, which is also its Parquet column type.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    #[default]
    String,
    Int,
    Long,
    Float,
}

impl Table {
    /// Parses every path once, so mapping an event parses none.
    fn compile(&mut self) {
        for group in self.groups.values_mut() {
            group.requires = group.requires_any.iter().map(|p| Path::parse(p)).collect();
            group.needs_path = group.needs.as_deref().map(Path::parse);
            group.needs_absent_path = group.needs_absent.as_deref().map(Path::parse);
            if let Some(when) = &mut group.when {
                when.source = Path::parse(&when.path);
            }
            for field in &mut group.fields {
                field.target = Path::parse(&field.to);
                field.sources = field
                    .from
                    .paths()
                    .iter()
                    .map(|p| match p.strip_prefix(RELAY_ROOT) {
                        Some(relay) => (true, Path::parse(relay)),
                        None => (false, Path::parse(p)),
                    })
                    .collect();
            }
        }
    }

    pub fn class(&self, uid: u32) -> Option<&Class> {
        self.classes.iter().find(|c| c.uid == uid)
    }

    /// Every rule names a known class and an activity; every class names known groups.
    pub fn check(&self) -> Result<(), String> {
        if self.version != OCSF_VERSION {
            return Err(format!(
                "table version {} is not {OCSF_VERSION}",
                self.version
            ));
        }
        for class in &self.classes {
            for g in &class.groups {
                if !self.groups.contains_key(g) {
                    return Err(format!("class {} names unknown group {g}", class.uid));
                }
            }
        }
        for (name, group) in &self.groups {
            if group
                .when
                .as_ref()
                .is_some_and(|w| w.is.is_empty() && w.is_not.is_empty())
            {
                return Err(format!("group {name}: `when` needs `is` or `is_not`"));
            }
            for field in &group.fields {
                if field.keep_unlisted && (field.lookup.is_none() || field.default_lookup.is_some())
                {
                    return Err(format!(
                        "group {name}, {}: `keep_unlisted` needs a lookup and no `default_lookup`",
                        field.to
                    ));
                }
            }
        }
        for rule in &self.rules {
            let Some(class) = self.class(rule.class) else {
                return Err(format!(
                    "rule {} names unknown class {}",
                    rule.pattern, rule.class
                ));
            };
            if let Some(id) = rule.activity_id
                && !class.activities.contains_key(&id.to_string())
            {
                return Err(format!(
                    "rule {}: class {} has no activity {id}",
                    rule.pattern, class.uid
                ));
            }
            match (&rule.activity_id, &rule.activity_verbs) {
                (Some(_), None) => {}
                (None, Some(v)) if self.verbs.contains_key(v) => {}
                _ => return Err(format!("rule {} needs one activity", rule.pattern)),
            }
        }
        if self.rules.last().is_none_or(|r| r.pattern != "*") {
            return Err("the last rule must match everything".into());
        }
        for rule in &self.inventory {
            if self.class(rule.class).is_none() {
                return Err(format!("inventory {} names unknown class", rule.stream));
            }
        }
        Ok(())
    }
}
