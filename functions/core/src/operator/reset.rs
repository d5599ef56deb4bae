//! `reset-cursor`: make one stream start over. The System Log then reads again from its
//! lookback window and a directory stream does a full sync; the dedupe marks keep what was
//! forwarded recently from being forwarded twice.
//!
//! The reset takes the stream's lease like a run does, so it never races a running poller: a
//! stream whose lease is held is refused, and a poller that took the lease in the meantime
//! cannot commit over the reset (its fence is older).

use crate::config::RelayConfig;
use crate::operator::status::configured_streams;
use crate::ports::{StateError, StreamKey, StreamStateStore};
use crate::stream::StreamId;
use chrono::{DateTime, Utc};
use std::time::Duration;
use thiserror::Error;

/// Why a reset did not happen.
#[derive(Debug, Error)]
pub enum ResetError {
    #[error("no org named {0:?} in the configuration")]
    UnknownOrg(String),
    #[error(
        "org {org:?} has no stream {stream:?} (configured: {configured}; or a backfill-… window)"
    )]
    UnknownStream {
        org: String,
        stream: String,
        configured: String,
    },
    #[error("the push path has no cursor: Okta delivers partner events, the relay does not read")]
    NoCursor,
    #[error("{key} is running right now (lease held by {owner} until {until}); try again after it")]
    Busy {
        key: StreamKey,
        owner: String,
        until: DateTime<Utc>,
    },
    #[error("{0}")]
    State(#[from] StateError),
}

/// What the reset found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetDone {
    /// The cursor before the reset (`None`: there was none).
    pub previous: Option<String>,
}

/// Checks that `stream` is a stream of `org` that has a cursor.
pub fn resettable(config: &RelayConfig, org: &str, stream: &str) -> Result<StreamKey, ResetError> {
    let org_config = config
        .orgs
        .iter()
        .find(|o| o.name == org)
        .ok_or_else(|| ResetError::UnknownOrg(org.to_string()))?;
    let configured = configured_streams(org_config);
    match StreamId::parse(stream) {
        Some(StreamId::Push) => Err(ResetError::NoCursor),
        Some(id @ StreamId::Backfill(_)) => Ok(id.key(org)),
        Some(id) if configured.contains(&id) => Ok(id.key(org)),
        _ => Err(ResetError::UnknownStream {
            org: org.to_string(),
            stream: stream.to_string(),
            configured: configured
                .into_iter()
                .filter(|id| *id != StreamId::Push)
                .map(|id| id.name())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Clears the stream's cursor under its lease, taken as `owner` for `ttl`.
pub async fn reset_cursor(
    streams: &dyn StreamStateStore,
    key: &StreamKey,
    owner: &str,
    ttl: Duration,
) -> Result<ResetDone, ResetError> {
    let Some(lease) = streams.acquire(key, owner, ttl).await? else {
        let snapshot = streams.snapshot(key).await?;
        return Err(ResetError::Busy {
            key: key.clone(),
            owner: snapshot
                .as_ref()
                .and_then(|s| s.lease_owner.clone())
                .unwrap_or_default(),
            until: snapshot
                .and_then(|s| s.lease_expires_at)
                .unwrap_or_else(Utc::now),
        });
    };
    let previous = lease.cursor.clone();
    let result = streams.clear_cursor(&lease).await;
    let release = match &result {
        Ok(cleared) => streams.release_lease(cleared).await,
        Err(_) => streams.release_lease(&lease).await,
    };
    result?;
    if let Err(e) = release {
        tracing::warn!(stream = %key, error = %e, "could not release the lease; it will expire");
    }
    Ok(ResetDone { previous })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RelayConfig {
        RelayConfig::from_json(
            r#"{"orgs":[{"name":"acme","secret_arn":"arn:aws:secretsmanager:us-east-1:1:secret:x",
                "inventory":{"users":{}},"partner_event_source":"aws.partner/okta.com/acme/s"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn only_configured_streams_with_a_cursor_can_be_reset() {
        let c = config();
        assert_eq!(
            resettable(&c, "acme", "users").unwrap(),
            StreamKey::new("acme", "users")
        );
        assert!(resettable(&c, "acme", "backfill-1-2").is_ok());
        assert!(matches!(
            resettable(&c, "acme", "push"),
            Err(ResetError::NoCursor)
        ));
        let typo = resettable(&c, "acme", "user").unwrap_err().to_string();
        assert!(typo.contains("configured: logs, users"), "{typo}");
        assert!(matches!(
            resettable(&c, "globex", "logs"),
            Err(ResetError::UnknownOrg(_))
        ));
    }
}
