//! A stream lease while a run holds it. The run renews it when less than half of it is left:
//! between pages, around each delivery, and (as the delivery's [`Heartbeat`]) before every
//! PutEvents request, so a slow bus or a slow table never costs a run its lease mid-page.

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

    pub fn into_lease(self) -> Lease {
        self.lease.into_inner()
    }
}

#[async_trait]
impl Heartbeat for LeaseKeeper<'_> {
    async fn beat(&self) -> Result<(), StateError> {
        self.keep().await
    }
}
