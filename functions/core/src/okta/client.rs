//! The Okta HTTP client: one shared `reqwest` client, one rate limiter per org, and a retry loop
//! that honours Okta's reset headers.
//!
//! Before any request the URL is checked against the org's origin, so neither a stored cursor nor
//! a `next` link can make the client send the org's credentials elsewhere. Redirects are not
//! followed for the same reason.

use super::body_buffer::BodyBuffer;
use super::credentials::{OktaCredentials, OrgAuth};
use super::envelope::{self, EnvelopeError, PageLayout};
use super::error::{OktaError, OktaErrorBody, TransportFailure};
use super::links;
use super::org_url::OrgUrl;
use super::page::Page;
use super::rate_limit::{Admission, RateLimitBucket, RateLimitHeaders, RateLimiter};
use crate::ErrorKind;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, LINK, USER_AGENT};
use serde::de::DeserializeOwned;
use std::time::Duration;
use url::Url;

/// How hard the client tries before giving a transient error back to its caller.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff after a 5xx, a timeout or a broken body; doubles up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// A wait longer than this (for a rate-limit reset) is not slept through: the caller gets
    /// [`OktaError::RateLimited`] and can stop cleanly before its deadline.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_wait: Duration::from_secs(70),
        }
    }
}

/// Settings shared by every org's client.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub user_agent: String,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Largest response body accepted (a hostile server cannot exhaust memory).
    pub max_body_bytes: usize,
    pub retry: RetryPolicy,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            user_agent: crate::DEFAULT_USER_AGENT.to_string(),
            connect_timeout: Duration::from_secs(5),
            // Okta times System Log queries out after 30 s.
            request_timeout: Duration::from_secs(35),
            max_body_bytes: 32 * 1024 * 1024,
            retry: RetryPolicy::default(),
        }
    }
}

impl ClientSettings {
    /// The shared HTTP client: rustls, our User-Agent, timeouts, no redirects.
    pub fn build_http(&self) -> Result<reqwest::Client, OktaError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let agent = HeaderValue::from_str(&self.user_agent).map_err(|_| OktaError::Transport {
            what: TransportFailure::Other,
            path: String::new(),
            detail: "the configured User-Agent is not a valid header value".into(),
        })?;
        headers.insert(USER_AGENT, agent);
        reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OktaError::Transport {
                what: TransportFailure::Other,
                path: String::new(),
                detail: format!("cannot build the HTTP client: {e}"),
            })
    }
}

/// A client for one org.
#[derive(Debug, Clone)]
pub struct OktaClient {
    http: reqwest::Client,
    org: OrgUrl,
    auth: OrgAuth,
    limiter: RateLimiter,
    retry: RetryPolicy,
    max_body_bytes: usize,
    request_timeout: Duration,
    /// No wait (for a rate-limit reset or a retry) runs past this: the caller's run ends first.
    /// Requests (token requests too) get no more time than is left before it, and at least
    /// [`OKTA_MIN_REQUEST_TIMEOUT`].
    deadline: Option<chrono::DateTime<chrono::Utc>>,
    /// Pages are read into this buffer, kept from page to page.
    body_buffer: BodyBuffer,
}

pub use crate::limits::OKTA_MIN_REQUEST_TIMEOUT;

struct RawResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl OktaClient {
    pub fn new(
        http: reqwest::Client,
        credentials: OktaCredentials,
        limiter: RateLimiter,
        settings: &ClientSettings,
    ) -> Self {
        Self {
            http,
            org: credentials.org_url,
            auth: credentials.auth,
            limiter,
            retry: settings.retry.clone(),
            max_body_bytes: settings.max_body_bytes,
            request_timeout: settings.request_timeout,
            deadline: None,
            body_buffer: BodyBuffer::default(),
        }
    }

    /// The same client for a run that must end by `deadline`: a rate-limit wait that would run
    /// past it is not slept through but returned as [`OktaError::RateLimited`], so the run can
    /// stop cleanly and the next one resume.
    pub fn with_deadline(mut self, deadline: chrono::DateTime<chrono::Utc>) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The longest wait this client sleeps through now.
    fn max_wait(&self) -> Duration {
        match self.deadline {
            Some(deadline) => self
                .retry
                .max_wait
                .min(crate::clock::until(chrono::Utc::now(), deadline)),
            None => self.retry.max_wait,
        }
    }

    /// How long the next request (or token request) may take: what is left before the
    /// deadline, within [`OKTA_MIN_REQUEST_TIMEOUT`] and the configured request timeout.
    fn request_budget(&self) -> Duration {
        match self.deadline {
            Some(deadline) => crate::clock::until(chrono::Utc::now(), deadline)
                .max(OKTA_MIN_REQUEST_TIMEOUT)
                .min(self.request_timeout),
            None => self.request_timeout,
        }
    }

    pub fn org(&self) -> &OrgUrl {
        &self.org
    }

    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// The org's Okta id from `/.well-known/okta-organization` (public: sent without
    /// credentials, one attempt, the org's size limit on the body). An id that is not Okta's
    /// shape is refused: it goes into every record.
    pub async fn organization_id(&self) -> Result<String, OktaError> {
        let path = crate::okta::organization::WELL_KNOWN_PATH;
        let url = self.org.join(path)?;
        let mut response = self
            .http
            .get(url)
            .timeout(
                self.request_budget()
                    .min(crate::okta::organization::REQUEST_TIMEOUT),
            )
            .send()
            .await
            .map_err(|e| OktaError::transport(&e, path))?;
        let status = response.status();
        // Read at most a small document's worth: a hostile server cannot make us hold more.
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| OktaError::transport(&e, path))?
        {
            if body.len() + chunk.len() > crate::okta::organization::MAX_DOCUMENT_BYTES {
                return Err(OktaError::Decode {
                    path: path.to_string(),
                    detail: "the organization document is too large".to_string(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(OktaError::Api {
                status: status.as_u16(),
                path: path.to_string(),
                body: Box::new(OktaErrorBody::parse(&body)),
            });
        }
        crate::okta::organization::parse_id(&body).map_err(|detail| OktaError::Decode {
            path: path.to_string(),
            detail,
        })
    }

    /// Fetches one page of a list endpoint and decodes its items.
    ///
    /// Retries 429s (after the reset), 5xx, timeouts and broken bodies with backoff, at most
    /// `max_attempts` times; configuration errors (401/403) and foreign links are returned at
    /// once.
    pub async fn get_page<T: DeserializeOwned>(&self, url: &Url) -> Result<Page<T>, OktaError> {
        self.get_page_in(url, PageLayout::Array).await
    }

    /// [`Self::get_page`] for an endpoint whose page has the given layout (the `/iam` lists
    /// wrap theirs in an object).
    pub async fn get_page_in<T: DeserializeOwned>(
        &self,
        url: &Url,
        layout: PageLayout,
    ) -> Result<Page<T>, OktaError> {
        self.org.ensure_same_origin(url)?;
        let path = url.path().to_string();
        let bucket = RateLimitBucket::for_path(&path);
        let mut backoff = self.retry.base_backoff;
        let mut attempt = 0;
        let mut reauthorized = false;
        loop {
            self.wait_for_admission(&bucket, &path, attempt).await?;
            attempt += 1;
            let failure = match self.send(url, &path).await {
                Err(e) => e,
                // An OAuth token can expire or be revoked early, or the resource server may
                // want a DPoP nonce: get a new token (or use the nonce) once, then give up.
                Ok(response)
                    if response.status == StatusCode::UNAUTHORIZED
                        && !reauthorized
                        && let OrgAuth::OAuth(session) = &self.auth =>
                {
                    reauthorized = true;
                    attempt -= 1;
                    tracing::info!(path = %path, "Okta refused the access token; renewing it once");
                    session.on_unauthorized(&response.headers).await;
                    continue;
                }
                Ok(response) if response.status == StatusCode::TOO_MANY_REQUESTS => {
                    self.on_too_many_requests(&response, &bucket, &path, attempt)
                        .await?;
                    continue;
                }
                Ok(response) => {
                    self.limiter
                        .observe(&bucket, &RateLimitHeaders::from_headers(&response.headers));
                    let decoded = self.decode(url, &path, layout, &response);
                    self.body_buffer.give_back(response.body);
                    match decoded {
                        Ok(page) => return Ok(page),
                        Err(e) => e,
                    }
                }
            };
            if failure.kind() != ErrorKind::Transient
                || attempt >= self.retry.max_attempts
                || backoff > self.max_wait()
            {
                return Err(failure);
            }
            tracing::warn!(
                path = %path,
                attempt,
                backoff_ms = backoff.as_millis() as u64,
                error = %failure,
                "transient Okta failure; retrying"
            );
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.retry.max_backoff);
        }
    }

    /// A 429: waits for the bucket's reset (Okta's clock), unless the wait is longer than the
    /// run can afford or the attempts are spent: then [`OktaError::RateLimited`].
    async fn on_too_many_requests(
        &self,
        response: &RawResponse,
        bucket: &RateLimitBucket,
        path: &str,
        attempt: u32,
    ) -> Result<(), OktaError> {
        let headers = RateLimitHeaders::from_headers(&response.headers);
        let wait = self.limiter.on_too_many_requests(bucket, &headers);
        let body = OktaErrorBody::parse(&response.body);
        tracing::warn!(
            bucket = %bucket,
            attempt,
            wait_ms = wait.as_millis() as u64,
            concurrency = headers.is_concurrency_limit(),
            error_code = body.error_code.as_deref().unwrap_or(""),
            "Okta rate limit hit; waiting for the reset"
        );
        if attempt >= self.retry.max_attempts || wait > self.max_wait() {
            return Err(OktaError::RateLimited {
                path: path.to_string(),
                attempts: attempt,
                retry_after: wait,
            });
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }

    async fn wait_for_admission(
        &self,
        bucket: &RateLimitBucket,
        path: &str,
        attempts: u32,
    ) -> Result<(), OktaError> {
        loop {
            match self.limiter.admit(bucket) {
                Admission::Proceed => return Ok(()),
                Admission::Wait(wait) if wait > self.max_wait() => {
                    return Err(OktaError::RateLimited {
                        path: path.to_string(),
                        attempts,
                        retry_after: wait,
                    });
                }
                Admission::Wait(wait) => {
                    tracing::info!(bucket = %bucket, wait_ms = wait.as_millis() as u64,
                        "keeping the rate-limit reserve; waiting for the window to reset");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn send(&self, url: &Url, path: &str) -> Result<RawResponse, OktaError> {
        let budget = self.request_budget();
        let mut request = self.http.get(url.clone()).timeout(budget);
        match &self.auth {
            OrgAuth::ApiToken(_) => {
                let auth = self.auth.header_value().map_err(|e| OktaError::Transport {
                    what: TransportFailure::Other,
                    path: path.to_string(),
                    detail: e.to_string(),
                })?;
                request = request.header(AUTHORIZATION, auth);
            }
            OrgAuth::OAuth(session) => {
                let auth = session
                    .authorize(&self.http, "GET", url, chrono::Utc::now(), budget)
                    .await?;
                request = request.header(AUTHORIZATION, auth.authorization);
                if let Some(proof) = auth.dpop {
                    request = request.header("dpop", proof);
                }
            }
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| OktaError::transport(&e, path))?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        // Room for the whole body at once when its length is announced (a page is ≈ 1.5 MB;
        // growing by doubling copied it and touched fresh memory several times over), in the
        // buffer kept from the last page. A length over the limit reserves only the limit; the
        // loop below still enforces it.
        let announced = response.content_length().unwrap_or(0);
        let mut body = self
            .body_buffer
            .take(usize::try_from(announced).map_or(0, |n| n.min(self.max_body_bytes)));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| OktaError::transport(&e, path))?
        {
            if body.len() + chunk.len() > self.max_body_bytes {
                return Err(OktaError::Decode {
                    path: path.to_string(),
                    detail: format!("response body exceeds {} bytes", self.max_body_bytes),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    fn decode<T: DeserializeOwned>(
        &self,
        url: &Url,
        path: &str,
        layout: PageLayout,
        response: &RawResponse,
    ) -> Result<Page<T>, OktaError> {
        if !response.status.is_success() {
            return Err(OktaError::Api {
                status: response.status.as_u16(),
                path: path.to_string(),
                body: Box::new(OktaErrorBody::parse(&response.body)),
            });
        }
        let decode_error = |detail: String| OktaError::Decode {
            path: path.to_string(),
            detail,
        };
        let (items, next) = match layout {
            PageLayout::Array => {
                let link_values = response
                    .headers
                    .get_all(LINK)
                    .iter()
                    .filter_map(|v| v.to_str().ok());
                let page_links = links::parse(link_values, url, &self.org)?;
                let items: Vec<T> = serde_json::from_slice(&response.body)
                    .map_err(|e| decode_error(position(&e)))?;
                (items, page_links.next)
            }
            PageLayout::Envelope(key) => {
                let page =
                    envelope::unwrap(&response.body, key, url, &self.org).map_err(|e| match e {
                        EnvelopeError::Shape(detail) => decode_error(detail),
                        EnvelopeError::Link(e) => OktaError::Link(e),
                    })?;
                let items: Vec<T> = serde_json::from_str(page.items.get())
                    .map_err(|e| decode_error(position(&e)))?;
                (items, page.next)
            }
        };
        Ok(Page {
            items,
            next,
            rate_limit: RateLimitHeaders::from_headers(&response.headers),
            request_id: response
                .headers
                .get("x-okta-request-id")
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(64).collect()),
        })
    }
}

/// Position and category of a JSON error only: serde's text can quote the payload.
fn position(e: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}
