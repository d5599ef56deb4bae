//! Which System Log events are deletions or removals, the directory stream each affects, and
//! which targets name what ended. Event types are Okta's (the event-type catalogue in
//! `tests/fixtures/okta-event-types.json`); streams whose objects Okta deletes without a
//! System Log event (group rules, user types, profile mappings) or never deletes
//! (authenticators: deactivated, still listed) rely on their daily full sync.

use crate::record::ChangeAction;

/// Which side of a change a target is.
#[derive(Debug, Clone, Copy)]
pub(super) enum Side {
    User,
    Group,
    App,
    /// The object that ended (an IdP, a zone, a policy, a rule, a token, …).
    Object,
    /// The object it belonged to (a rule's policy, a scope's authorization server, a device).
    Parent,
}

pub(super) struct ChangeRule {
    pub event_types: &'static [&'static str],
    /// The directory stream it affects (the change is emitted only when the org collects it).
    pub stream: &'static str,
    pub action: ChangeAction,
    /// Target `type`s to read, and which side each is (`*`: the first target no named type
    /// claims). All are required.
    pub sides: &'static [(&'static str, Side)],
    /// Targets read when the event has them.
    pub optional: &'static [(&'static str, Side)],
}

const fn deleted(
    event_types: &'static [&'static str],
    stream: &'static str,
    sides: &'static [(&'static str, Side)],
) -> ChangeRule {
    ChangeRule {
        event_types,
        stream,
        action: ChangeAction::Deleted,
        sides,
        optional: &[],
    }
}

const fn removed(
    event_types: &'static [&'static str],
    stream: &'static str,
    sides: &'static [(&'static str, Side)],
) -> ChangeRule {
    ChangeRule {
        action: ChangeAction::Removed,
        ..deleted(event_types, stream, sides)
    }
}

const fn with_optional(rule: ChangeRule, optional: &'static [(&'static str, Side)]) -> ChangeRule {
    ChangeRule { optional, ..rule }
}

/// The first target, whatever its type: the deleted object of single-target events.
const ANY: &[(&str, Side)] = &[("*", Side::Object)];

pub(super) const RULES: &[ChangeRule] = &[
    deleted(
        &[
            "user.lifecycle.delete.initiated",
            "user.lifecycle.delete.completed",
        ],
        "users",
        &[("User", Side::User)],
    ),
    removed(
        &["group.user_membership.remove"],
        "group_members",
        &[("User", Side::User), ("UserGroup", Side::Group)],
    ),
    removed(
        &["application.user_membership.remove"],
        "app_users",
        &[("User", Side::User), ("AppInstance", Side::App)],
    ),
    removed(
        &["group.application_assignment.remove"],
        "app_groups",
        &[("UserGroup", Side::Group), ("AppInstance", Side::App)],
    ),
    deleted(
        &["group.lifecycle.delete"],
        "groups",
        &[("UserGroup", Side::Group)],
    ),
    deleted(
        &["application.lifecycle.delete"],
        "apps",
        &[("AppInstance", Side::App)],
    ),
    deleted(&["system.idp.lifecycle.delete"], "idps", ANY),
    deleted(&["zone.delete"], "zones", ANY),
    // Okta logs `user.account.privilege.revoke` when a user's last admin role goes (a partial
    // change is a `grant` with the roles that remain: the next full sync shows it).
    removed(
        &["user.account.privilege.revoke"],
        "user_roles",
        &[("User", Side::User)],
    ),
    removed(
        &["group.privilege.revoke"],
        "group_roles",
        &[("UserGroup", Side::Group)],
    ),
    deleted(&["iam.role.delete"], "custom_roles", ANY),
    deleted(&["iam.resourceset.delete"], "resource_sets", ANY),
    removed(
        &["user.mfa.factor.deactivate", "user.mfa.factor.reset_all"],
        "user_factors",
        &[("User", Side::User)],
    ),
    deleted(
        &["device.lifecycle.delete"],
        "devices",
        &[("Device", Side::Object)],
    ),
    removed(
        &["device.user.remove"],
        "device_users",
        &[("User", Side::User), ("Device", Side::Parent)],
    ),
    deleted(
        &["policy.lifecycle.delete"],
        "policies",
        &[("PolicyEntity", Side::Object)],
    ),
    with_optional(
        deleted(
            &["policy.rule.delete"],
            "policy_rules",
            &[("PolicyRule", Side::Object)],
        ),
        &[("PolicyEntity", Side::Parent)],
    ),
    deleted(
        &["oauth2.as.deleted"],
        "authorization_servers",
        &[("AuthorizationServer", Side::Object)],
    ),
    with_optional(
        deleted(&["oauth2.scope.deleted"], "auth_server_scopes", ANY),
        &[("AuthorizationServer", Side::Parent)],
    ),
    with_optional(
        deleted(&["oauth2.claim.deleted"], "auth_server_claims", ANY),
        &[("AuthorizationServer", Side::Parent)],
    ),
    deleted(&["security.behavior.settings.delete"], "behaviors", ANY),
    deleted(&["security.trusted_origin.delete"], "trusted_origins", ANY),
    deleted(&["system.api_token.revoke"], "api_tokens", ANY),
    deleted(&["event_hook.deleted"], "event_hooks", ANY),
    deleted(&["inline_hook.deleted"], "inline_hooks", ANY),
    deleted(&["system.log_stream.lifecycle.delete"], "log_streams", ANY),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::catalogue;

    #[test]
    fn every_rule_names_a_stream_and_a_catalogued_event_type() {
        let catalogue_text = include_str!("../../../../../tests/fixtures/okta-event-types.json");
        let mut seen = std::collections::BTreeSet::new();
        for rule in RULES {
            assert!(catalogue::spec(rule.stream).is_some(), "{}", rule.stream);
            for event_type in rule.event_types {
                assert!(
                    catalogue_text.contains(&format!("\"{event_type}\"")),
                    "{event_type} is not an Okta event type"
                );
                assert!(
                    seen.insert(*event_type),
                    "{event_type}: one rule per event type"
                );
            }
        }
    }
}
