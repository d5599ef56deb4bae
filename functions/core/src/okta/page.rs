//! One page of an Okta list: its items and, if there is one, the next page.

use super::rate_limit::RateLimitHeaders;
use url::Url;

/// A page as data (the octocrab pattern): the source decides what to do with `next`.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The next page on the org's origin. For System Log polling requests Okta always sends one,
    /// also after an empty page; for other lists its absence means the end.
    pub next: Option<Url>,
    /// The rate-limit headers this page came with.
    pub rate_limit: RateLimitHeaders,
    /// `X-Okta-Request-Id`, for support cases.
    pub request_id: Option<String>,
}
