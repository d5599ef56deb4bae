//! Okta pages fetched while a run holds its lease. The client sleeps through a rate-limit wait
//! only while the lease surely lasts; a longer wait that still fits in the run is slept here,
//! in steps that renew the lease, so waiting for Okta's reset never costs the run its lease
//! (and with it the cursor). A wait beyond the run's deadline comes back as
//! [`OktaError::RateLimited`] for the run to stop cleanly.

use super::error::PollError;
use super::lease::LeaseKeeper;
use super::settings::RunSettings;
use crate::clock::Clock;
use crate::okta::{OktaClient, OktaError, OrgUrl, Page, PageLayout, RateLimitBucket};
use crate::ports::RateLimitHeadroom;
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use url::Url;

/// What a source reads Okta through.
pub struct Okta<'a> {
    pub(super) client: &'a OktaClient,
    pub(super) lease: &'a LeaseKeeper<'a>,
    pub(super) settings: &'a RunSettings,
    pub(super) clock: &'a dyn Clock,
    pub(super) deadline: DateTime<Utc>,
}

impl Okta<'_> {
    /// The time now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The org's URL (pages are only ever fetched from its origin).
    pub fn org(&self) -> &OrgUrl {
        self.client.org()
    }

    /// A bucket's headroom as the org's limiter last saw it, once Okta told its limit.
    pub fn headroom(&self, bucket: &RateLimitBucket) -> Option<RateLimitHeadroom> {
        self.client
            .limiter()
            .headroom(bucket)
            .filter(|(_, limit)| *limit > 0)
            .map(|(remaining, limit)| RateLimitHeadroom { remaining, limit })
    }

    /// Fetches one page (a JSON array with `Link` headers), keeping the lease through
    /// rate-limit waits.
    pub async fn page(&self, url: &Url) -> Result<Page<Box<RawValue>>, PollError> {
        self.page_in(url, PageLayout::Array).await
    }

    /// [`Self::page`] for an endpoint with its own page layout.
    pub async fn page_in(
        &self,
        url: &Url,
        layout: PageLayout,
    ) -> Result<Page<Box<RawValue>>, PollError> {
        let step = self.settings.lease_ttl / 4;
        let step_chrono = chrono::Duration::from_std(step).unwrap_or_default();
        let stop_by = self.settings.stop_by(self.deadline);
        loop {
            self.lease.keep().await?;
            let hold = self.lease.expires_at().await - step_chrono;
            match self
                .client
                .clone()
                .with_deadline(hold.min(stop_by))
                .get_page_in(url, layout)
                .await
            {
                Err(OktaError::RateLimited { retry_after, .. })
                    if self.clock.now()
                        + chrono::Duration::from_std(retry_after).unwrap_or_default()
                        < stop_by =>
                {
                    tracing::info!(
                        wait_ms = retry_after.as_millis() as u64,
                        "waiting for Okta's rate-limit reset; the lease is kept meanwhile"
                    );
                    let mut left = retry_after;
                    while !left.is_zero() {
                        let nap = left.min(step);
                        tokio::time::sleep(nap).await;
                        left -= nap;
                        self.lease.keep().await?;
                    }
                }
                other => return other.map_err(PollError::from),
            }
        }
    }
}
