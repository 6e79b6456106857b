//! What the cloud directories (Microsoft Graph, Okta) share on the wire: the operator's
//! options, and a GET with bounded retries that honours the vendor's throttling and gets one
//! new token on 401.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::StatusCode;
use url::Url;

use crate::domain::EndpointPolicy;
use crate::error::DirectoryError;
use crate::http_retry::{full_jitter, is_retryable};

/// The largest answer body read; a Graph page of 999 users is well under 4 MB.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// The longest server text copied into an error.
const MAX_MESSAGE_CHARS: usize = 300;

/// Operator settings of the cloud directories (environment, never tenant config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudOptions {
    /// `DIRSYNC_LOGIN_URL`: replaces the national cloud's Entra login host (tests).
    pub login_url: Option<String>,
    /// `DIRSYNC_GRAPH_URL`: replaces the national cloud's Graph host (tests).
    pub graph_url: Option<String>,
    /// Whether tenant-supplied hosts (Okta `org_url`) may be private, loopback or plain http.
    pub endpoint_policy: EndpointPolicy,
    /// Attempts per page, the first included, on 429, 5xx and transport errors (at least 1).
    pub max_attempts: u32,
    /// Backoff when the server names no wait: full jitter from `base_backoff`, capped.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest wait honoured from `Retry-After` or a rate-limit reset; longer ones are cut.
    pub max_wait: Duration,
    /// Per request, connect to end of body.
    pub timeout: Duration,
}

impl Default for CloudOptions {
    fn default() -> Self {
        Self {
            login_url: None,
            graph_url: None,
            endpoint_policy: EndpointPolicy::default(),
            max_attempts: 6,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_wait: Duration::from_secs(120),
            timeout: Duration::from_secs(30),
        }
    }
}

/// A complete answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, DirectoryError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            DirectoryError::Protocol(format!(
                "{what} ({}) is not the expected JSON: {e}",
                self.status.as_u16()
            ))
        })
    }
}

/// Server text made safe to show: no control characters, short.
pub(crate) fn shorten(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_MESSAGE_CHARS)
        .collect()
}

/// What a vendor tells the retry loop about its answers.
pub(crate) trait Vendor: Sync {
    /// The wait a 429 or 5xx asks for, if it names one.
    fn wait_asked(&self, answer: &Answer) -> Option<Duration>;
    /// A pause after a successful answer, to slow down before a rate limit runs out.
    fn pace(&self, _answer: &Answer) -> Option<Duration> {
        None
    }
    /// The admin-facing error of a final answer (any non-success status).
    fn error(&self, answer: &Answer) -> DirectoryError;
}

/// Where the `Authorization` header comes from.
#[async_trait]
pub(crate) trait Credential: Send + Sync {
    /// The header value; `refresh` asks for a new token instead of the cached one.
    async fn authorization(
        &self,
        http: &CloudHttp,
        refresh: bool,
    ) -> Result<HeaderValue, DirectoryError>;
    /// Whether a 401 may be cured by a new token (OAuth), or is final (a static API token).
    fn refreshable(&self) -> bool;
}

/// An `Authorization` header value that is never logged.
pub(crate) fn sensitive_header(value: &str) -> Result<HeaderValue, DirectoryError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| {
        DirectoryError::Credentials(
            "the credential holds characters an HTTP header cannot carry".into(),
        )
    })?;
    header.set_sensitive(true);
    Ok(header)
}

/// The HTTP client of one read, with its request counter.
pub(crate) struct CloudHttp {
    client: reqwest::Client,
    options: CloudOptions,
    requests: AtomicU64,
}

impl CloudHttp {
    /// A client; `pinned` makes `host` resolve only to the addresses already checked, so a
    /// second DNS answer cannot point the request elsewhere.
    pub fn new(
        options: CloudOptions,
        pinned: Option<(&str, &[SocketAddr])>,
    ) -> Result<Self, DirectoryError> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(options.timeout)
            // These APIs do not redirect; following one could carry a token elsewhere.
            .redirect(reqwest::redirect::Policy::none());
        if let Some((host, addrs)) = pinned {
            builder = builder.resolve_to_addrs(host, addrs);
        }
        let client = builder
            .build()
            .map_err(|e| DirectoryError::Unreachable(format!("no HTTP client: {e}")))?;
        Ok(Self {
            client,
            options: CloudOptions {
                max_attempts: options.max_attempts.max(1),
                ..options
            },
            requests: AtomicU64::new(0),
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Requests sent so far, retries and token requests included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, reqwest::Error> {
        self.send_capped(request, MAX_BODY_BYTES).await
    }

    /// Sends one request and reads at most `cap` bytes of its answer: the rest is never read
    /// (a cut JSON body is not the expected JSON; a cut photo is still too large).
    async fn send_capped(
        &self,
        request: reqwest::RequestBuilder,
        cap: usize,
    ) -> Result<Answer, reqwest::Error> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            let room = cap.saturating_sub(body.len());
            if chunk.len() >= room {
                body.extend_from_slice(&chunk[..room]);
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Sends the request `build` makes until the answer is neither 429 nor 5xx, waiting as
    /// `wait_asked` says (bounded) or backing off, up to `max_attempts`; transport failures
    /// are retried too. Returns the last answer, whatever its status.
    pub async fn retrying(
        &self,
        build: &(dyn Fn() -> reqwest::RequestBuilder + Sync),
        wait_asked: &(dyn Fn(&Answer) -> Option<Duration> + Sync),
    ) -> Result<Answer, DirectoryError> {
        self.retrying_capped(build, wait_asked, MAX_BODY_BYTES)
            .await
    }

    async fn retrying_capped(
        &self,
        build: &(dyn Fn() -> reqwest::RequestBuilder + Sync),
        wait_asked: &(dyn Fn(&Answer) -> Option<Duration> + Sync),
        cap: usize,
    ) -> Result<Answer, DirectoryError> {
        let max = self.options.max_attempts;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let wait = match self.send_capped(build(), cap).await {
                Ok(answer)
                    if attempt < max
                        && (answer.status == StatusCode::TOO_MANY_REQUESTS
                            || answer.status.is_server_error()) =>
                {
                    self.wait_for(wait_asked(&answer), attempt)
                }
                Ok(answer) => return Ok(answer),
                Err(error) if is_retryable(&error) && attempt < max => {
                    tracing::debug!(%error, attempt, "directory transport error, retrying");
                    self.backoff(attempt)
                }
                Err(error) => return Err(DirectoryError::Unreachable(error.to_string())),
            };
            tracing::debug!(attempt, ?wait, "directory request retried");
            tokio::time::sleep(wait).await;
        }
    }

    /// GETs `url` with [`Self::retrying`]; a 401 gets one new token. Anything but success
    /// is the vendor's error.
    pub async fn get(
        &self,
        url: &Url,
        credential: &dyn Credential,
        vendor: &dyn Vendor,
    ) -> Result<Answer, DirectoryError> {
        self.send_json(reqwest::Method::GET, url, None, credential, vendor)
            .await
    }

    /// [`Self::get`] for any method, with an optional JSON body (a write-back, a batch).
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        url: &Url,
        body: Option<&serde_json::Value>,
        credential: &dyn Credential,
        vendor: &dyn Vendor,
    ) -> Result<Answer, DirectoryError> {
        let build = |authorization: &HeaderValue| {
            let request = self
                .client
                .request(method.clone(), url.clone())
                .header(AUTHORIZATION, authorization.clone())
                .header(ACCEPT, "application/json");
            match body {
                Some(body) => request.json(body),
                None => request,
            }
        };
        let answer = self
            .authorized(&build, MAX_BODY_BYTES, credential, vendor)
            .await?;
        self.checked(answer, vendor).await
    }

    /// Sends the request `build` makes with the credential's header, as [`Self::retrying`]
    /// does, reading at most `cap` bytes; a 401 gets one new token. Returns the last answer,
    /// whatever its status.
    pub async fn authorized(
        &self,
        build: &(dyn Fn(&HeaderValue) -> reqwest::RequestBuilder + Sync),
        cap: usize,
        credential: &dyn Credential,
        vendor: &dyn Vendor,
    ) -> Result<Answer, DirectoryError> {
        let mut refreshed = false;
        loop {
            let authorization = credential.authorization(self, refreshed).await?;
            let answer = self
                .retrying_capped(&|| build(&authorization), &|a| vendor.wait_asked(a), cap)
                .await?;
            if answer.status == StatusCode::UNAUTHORIZED && !refreshed && credential.refreshable() {
                // An expired token mid-read: one new token, then the same page again.
                tracing::debug!("token refused mid-read, fetching a new one");
                refreshed = true;
                continue;
            }
            return Ok(answer);
        }
    }

    /// A successful answer (after the vendor's pace), or the vendor's error of any other.
    pub async fn checked(
        &self,
        answer: Answer,
        vendor: &dyn Vendor,
    ) -> Result<Answer, DirectoryError> {
        if answer.status.is_success() {
            if let Some(pause) = vendor.pace(&answer) {
                tokio::time::sleep(pause.min(self.options.max_wait)).await;
            }
            return Ok(answer);
        }
        if answer.status == StatusCode::TOO_MANY_REQUESTS || answer.status.is_server_error() {
            return Err(DirectoryError::Unreachable(format!(
                "gave up after {} attempts: {}",
                self.options.max_attempts,
                vendor.error(&answer)
            )));
        }
        Err(vendor.error(&answer))
    }

    /// Attempts per request, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.options.max_attempts
    }

    /// The wait before another attempt: the one asked for (bounded), else the backoff.
    pub fn wait_for(&self, asked: Option<Duration>, attempt: u32) -> Duration {
        match asked {
            Some(wait) => wait.min(self.options.max_wait),
            None => self.backoff(attempt),
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        full_jitter(
            self.options.base_backoff,
            self.options.max_backoff,
            attempt.saturating_sub(1),
        )
    }
}
