//! The Okta Management API client.
//!
//! Okta's rules of the road (`ARCHITECTURE.md`, "Okta's rules of the road") are enforced here, once, for every stream:
//! only `https` org URLs ([`OrgUrl`]), `next` links followed only to the org's own origin
//! ([`links`]), typed error objects ([`OktaError`]), and a per-org rate limiter keyed by Okta's
//! endpoint buckets that keeps a reserve for the org's other integrations ([`RateLimiter`]).

mod body_buffer;
mod client;
pub mod credentials;
mod envelope;
mod error;
pub mod links;
pub mod oauth;
mod org_url;
pub mod organization;
mod page;
mod rate_limit;

pub use client::{ClientSettings, OktaClient, RetryPolicy};
pub use credentials::{OktaCredentials, OrgAuth};
pub use envelope::PageLayout;
pub use error::{OAuthErrorBody, OktaError, OktaErrorBody};
pub use links::PageLinks;
pub use org_url::{OrgUrl, OrgUrlError};
pub use page::Page;
pub use rate_limit::{Admission, RateLimitBucket, RateLimitHeaders, RateLimitPolicy, RateLimiter};
