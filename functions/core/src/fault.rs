//! Whose fault a failure is: the second question every error here answers, next to
//! [`ErrorKind`](crate::ErrorKind) (can a retry help). It tells an operator where to look
//! first: Okta's admin console, Okta's status page, the AWS account, or the relay itself.

use serde::{Deserialize, Serialize};

/// Where a failure comes from, as `okta-relay-ctl status`, stream health and the `Errors*`
/// metrics show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Okta refuses the relay's credentials or configuration: 401, 403, a missing scope, a
    /// secret whose Okta fields are wrong, a log stream Okta deactivated. Fix it in Okta or in
    /// the org's secret.
    OktaConfiguration,
    /// Okta is busy or failing: 429, 5xx, timeouts, dropped connections. It passes by itself.
    OktaTransient,
    /// An AWS resource the relay uses: the state table, the delivery bus, a secret that is
    /// missing or unreadable, throttling, a missing permission.
    Aws,
    /// The relay itself: a poison record, a request Okta calls malformed, a state record or
    /// cursor the relay cannot read, an input that is not what it must be. Report it.
    Relay,
}

impl Fault {
    /// Every fault, in the order dashboards and docs list them.
    pub const ALL: [Fault; 4] = [
        Fault::OktaConfiguration,
        Fault::OktaTransient,
        Fault::Aws,
        Fault::Relay,
    ];

    /// The stable label of logs, health and `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::OktaConfiguration => "okta_configuration",
            Fault::OktaTransient => "okta_transient",
            Fault::Aws => "aws",
            Fault::Relay => "relay",
        }
    }

    /// The label's inverse (health records store the label).
    pub fn parse(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == label)
    }

    /// The CloudWatch metric that counts failures of this fault.
    pub fn metric(self) -> &'static str {
        match self {
            Fault::OktaConfiguration => "ErrorsOktaConfiguration",
            Fault::OktaTransient => "ErrorsOktaTransient",
            Fault::Aws => "ErrorsAws",
            Fault::Relay => "ErrorsRelay",
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_metrics_are_distinct() {
        for fault in Fault::ALL {
            assert_eq!(Fault::parse(fault.as_str()), Some(fault));
            assert_eq!(
                serde_json::to_value(fault).unwrap(),
                serde_json::json!(fault.as_str())
            );
        }
        let metrics: std::collections::BTreeSet<_> = Fault::ALL.map(Fault::metric).into();
        assert_eq!(metrics.len(), 4);
        assert_eq!(Fault::parse("okta"), None);
    }
}
