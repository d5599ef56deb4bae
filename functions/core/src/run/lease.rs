//! A stream lease while a run holds it (`ARCHITECTURE.md`, "Leases" and "Fencing"). The run
//! renews it when less than half of it is left: between pages, before the commit, while it
//! sleeps through a rate-limit wait, and (as the delivery's [`Heartbeat`]) before every
//! PutEvents request, so a slow bus or a slow table never costs a run its lease mid-page. The
//! cursor moves through it too: a commit is fenced by the lease it holds.

use crate::clock::{Clock, until};
use crate::pipeline::Heartbeat;
use crate::ports::{Lease, StateError, StreamStateStore};
use async_trait::async_trait;
use std::time::Duration;

/// A held lease and what renewing it takes.
pub struct LeaseKeeper<'a> {
    streams: &'a dyn StreamStateStore,
    clock: &'a dyn Clock,
    ttl: Duration,
    lease: tokio::sync::Mutex<Lease>,
}

impl<'a> LeaseKeeper<'a> {
    pub fn new(
        streams: &'a dyn StreamStateStore,
        clock: &'a dyn Clock,
        ttl: Duration,
        lease: Lease,
    ) -> Self {
        Self {
            streams,
            clock,
            ttl,
            lease: tokio::sync::Mutex::new(lease),
        }
    }

    /// Renews the lease if less than half of it is left. [`StateError::LeaseLost`] once someone
    /// else holds it.
    pub async fn keep(&self) -> Result<(), StateError> {
        let mut lease = self.lease.lock().await;
        if until(self.clock.now(), lease.expires_at) < self.ttl / 2 {
            *lease = self.streams.renew(&lease, self.ttl).await?;
        }
        Ok(())
    }

    /// Renews the lease now, whatever is left of it: a conditional write that fails with
    /// [`StateError::LeaseLost`] once someone else holds it (or it ran out).
    pub async fn confirm(&self) -> Result<(), StateError> {
        let mut lease = self.lease.lock().await;
        *lease = self.streams.renew(&lease, self.ttl).await?;
        Ok(())
    }

    pub async fn expires_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.lease.lock().await.expires_at
    }

    /// The cursor as it stood when the lease was taken or last committed.
    pub async fn cursor(&self) -> Option<String> {
        self.lease.lock().await.cursor.clone()
    }

    /// Moves the cursor, fenced by the lease (renewed first if needed).
    pub async fn commit(&self, cursor: &str) -> Result<(), StateError> {
        self.keep().await?;
        let mut lease = self.lease.lock().await;
        *lease = self.streams.commit_cursor(&lease, cursor).await?;
        Ok(())
    }

    /// Gives the lease up (best effort: it also expires by itself).
    pub async fn release(self) {
        let lease = self.lease.into_inner();
        if let Err(e) = self.streams.release_lease(&lease).await {
            tracing::warn!(error = %e, "could not release the lease; it will expire");
        }
    }
}

#[async_trait]
impl Heartbeat for LeaseKeeper<'_> {
    async fn beat(&self) -> Result<(), StateError> {
        self.keep().await
    }

    async fn confirm(&self) -> Result<(), StateError> {
        LeaseKeeper::confirm(self).await
    }
}
