//! `HttpPbx`: the `Pbx` port over the REST contract of CONTRACTS section 4, with bounded
//! concurrency, a client-side rate limit and retries that never duplicate a create. The
//! calls of each resource are in `resources`.

use std::fmt;
use std::num::NonZeroU32;

use async_trait::async_trait;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE, IF_NONE_MATCH};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tokio::sync::Semaphore;
use url::Url;

use super::listing::etag;
use super::options::{CallCounters, CallCounts, PbxClientOptions};
use super::resources::{EXTENSIONS, GROUPS, ORGANIZATIONS, PHONEBOOK};
use super::responses::{backoff, is_retryable, retry_after, Answer};
use crate::domain::organization::{
    ExtensionGroupPatch, NewExtensionGroup, NewOrganization, OrganizationPatch,
};
use crate::domain::phonebook::{NewPhonebookEntry, PhonebookEntry};
use crate::domain::plan::ExtensionPatch;
use crate::domain::sip_password::{serialize_exposed, SipPassword};
use crate::domain::{
    Extension, ExtensionGroup, ExtensionId, GroupId, NewExtension, Organization, OrganizationId,
};
use crate::endpoints::PublicOnlyResolver;
use crate::error::PbxError;
use crate::ports::{ExtensionListing, Pbx};

/// The largest answer body read; a listing page of 500 extensions is a few hundred KB.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// One tenant's PBX. `Send + Sync`: share it behind an `Arc` between tasks; the limits hold
/// across all of them.
pub struct HttpPbx {
    /// `{base_url}/v1`.
    api_url: Url,
    token: SecretString,
    client: reqwest::Client,
    options: PbxClientOptions,
    permits: Semaphore,
    limiter: DefaultDirectRateLimiter,
    counters: CallCounters,
}

/// One request, rebuilt for every attempt.
pub(super) struct Call<'a> {
    pub method: Method,
    pub url: Url,
    pub body: Option<Vec<u8>>,
    pub idempotency_key: Option<&'a str>,
    /// The body's type: JSON unless set (photos).
    pub content_type: Option<&'a str>,
    /// `If-None-Match`: an entity tag checked by [`super::listing::entity_tag`].
    pub if_none_match: Option<&'a str>,
}

impl Call<'_> {
    /// A call without body or key.
    pub fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            body: None,
            idempotency_key: None,
            content_type: None,
            if_none_match: None,
        }
    }
}

/// One HTTP client (connection pool) for the PBX clients of a connector, made at the first
/// use from the options of that use.
#[derive(Debug, Clone, Default)]
pub struct PbxPool(std::sync::OnceLock<reqwest::Client>);

impl PbxPool {
    pub fn client(&self, options: &PbxClientOptions) -> Result<reqwest::Client, PbxError> {
        if let Some(client) = self.0.get() {
            return Ok(client.clone());
        }
        let client = HttpPbx::http_client(options)?;
        Ok(self.0.get_or_init(|| client).clone())
    }
}

impl HttpPbx {
    /// A client of the PBX at `base_url` (`http` or `https`, no credentials, query or
    /// fragment). Zero limits in `options` are raised to 1.
    pub fn new(
        base_url: &str,
        token: SecretString,
        options: PbxClientOptions,
    ) -> Result<Self, PbxError> {
        let client = Self::http_client(&options)?;
        Self::with_client(base_url, token, options, client)
    }

    /// The HTTP client (connection pool) of PBX clients under `options`: one can serve the
    /// clients of many tenants, since each request carries its own token.
    pub fn http_client(options: &PbxClientOptions) -> Result<reqwest::Client, PbxError> {
        reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(options.timeout)
            // A PBX API does not redirect; following one could carry the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(PublicOnlyResolver::shared(options.endpoint_policy))
            .build()
            .map_err(PbxError::Transport)
    }

    /// [`HttpPbx::new`] on `client`, made by [`HttpPbx::http_client`] under the same options.
    pub fn with_client(
        base_url: &str,
        token: SecretString,
        options: PbxClientOptions,
        client: reqwest::Client,
    ) -> Result<Self, PbxError> {
        let api_url = api_url(base_url)?;
        let bearer = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()));
        if bearer.is_err() {
            return Err(PbxError::Endpoint(
                "the PBX token holds characters an HTTP header cannot carry".into(),
            ));
        }
        let options = PbxClientOptions {
            concurrency: options.concurrency.max(1),
            requests_per_second: options.requests_per_second.max(1),
            max_attempts: options.max_attempts.max(1),
            page_size: options.page_size.max(1),
            ..options
        };
        let per_second = NonZeroU32::new(options.requests_per_second).unwrap_or(NonZeroU32::MIN);
        Ok(Self {
            api_url,
            token,
            client,
            permits: Semaphore::new(options.concurrency),
            // Evenly spaced, no burst: a PBX that counts per fixed second would answer a
            // burst of a whole second's quota at once with 429s.
            limiter: RateLimiter::direct(
                Quota::per_second(per_second).allow_burst(NonZeroU32::MIN),
            ),
            options,
            counters: CallCounters::default(),
        })
    }

    /// Requests sent so far by method, retries included.
    pub fn calls(&self) -> CallCounts {
        self.counters.snapshot()
    }

    pub fn options(&self) -> &PbxClientOptions {
        &self.options
    }

    /// `{base_url}/v1/{segments...}`, each segment escaped.
    pub(super) fn url(&self, segments: &[&str]) -> Result<Url, PbxError> {
        let mut url = self.api_url.clone();
        url.path_segments_mut()
            .map_err(|()| PbxError::Endpoint("the base URL cannot hold a path".into()))?
            .extend(segments);
        Ok(url)
    }

    /// Sends `call`, retrying 429, 5xx and transport failures up to `max_attempts`.
    pub(super) async fn send(&self, call: &Call<'_>) -> Result<Answer, PbxError> {
        let max = self.options.max_attempts;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let wait = match self.attempt(call).await {
                Ok(answer) if answer.status == StatusCode::TOO_MANY_REQUESTS => {
                    if attempt >= max {
                        return Err(PbxError::Throttled { attempts: attempt });
                    }
                    match answer.retry_after {
                        Some(wait) => wait.min(self.options.max_retry_after),
                        None => backoff(&self.options, attempt - 1),
                    }
                }
                Ok(answer) if answer.status.is_server_error() => {
                    if attempt >= max {
                        return Err(PbxError::Server {
                            status: answer.status.as_u16(),
                            attempts: attempt,
                        });
                    }
                    backoff(&self.options, attempt - 1)
                }
                Ok(answer) => return Ok(answer),
                Err(PbxError::Transport(error)) if is_retryable(&error) && attempt < max => {
                    tracing::debug!(%error, attempt, "PBX transport error, retrying");
                    backoff(&self.options, attempt - 1)
                }
                Err(error) => return Err(error),
            };
            tracing::debug!(method = %call.method, attempt, ?wait, "PBX call retried");
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt, holding a concurrency permit and a rate-limit cell; not while backing off.
    async fn attempt(&self, call: &Call<'_>) -> Result<Answer, PbxError> {
        // The semaphore is never closed, so acquiring cannot fail.
        let _permit = self.permits.acquire().await.ok();
        self.limiter.until_ready().await;
        self.counters.count(&call.method);
        let mut request = self
            .client
            .request(call.method.clone(), call.url.clone())
            .bearer_auth(self.token.expose_secret())
            .header(ACCEPT, "application/json");
        if let Some(key) = call.idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(etag) = call.if_none_match {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(body) = &call.body {
            request = request
                .header(
                    CONTENT_TYPE,
                    call.content_type.unwrap_or("application/json"),
                )
                .body(body.clone());
        }
        let mut response = request.send().await.map_err(PbxError::Transport)?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let etag = etag(response.headers());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(PbxError::Transport)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(PbxError::Protocol(format!(
                    "the answer is larger than {MAX_BODY_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            retry_after,
            etag,
            body,
        })
    }
}

/// `{base_url}/v1`, after checking the base URL.
fn api_url(base_url: &str) -> Result<Url, PbxError> {
    let mut url = Url::parse(base_url)
        .map_err(|e| PbxError::Endpoint(format!("the PBX base URL is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(PbxError::Endpoint(
            "the PBX base URL must be http(s)://host[:port][/path]".into(),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(PbxError::Endpoint(
            "the PBX base URL must not carry credentials: the token goes apart".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(PbxError::Endpoint(
            "the PBX base URL must not have a query or fragment".into(),
        ));
    }
    url.path_segments_mut()
        .map_err(|()| PbxError::Endpoint("the PBX base URL cannot hold a path".into()))?
        .pop_if_empty()
        .push("v1");
    Ok(url)
}

/// A create's body: the request and, at send time only, the SIP password.
#[derive(Serialize)]
struct CreateBody<'a> {
    #[serde(flatten)]
    request: &'a NewExtension,
    #[serde(
        serialize_with = "serialize_exposed",
        skip_serializing_if = "Option::is_none"
    )]
    sip_password: Option<&'a SipPassword>,
}

#[async_trait]
impl Pbx for HttpPbx {
    async fn list_extensions(&self) -> Result<Vec<Extension>, PbxError> {
        self.list_all(EXTENSIONS).await
    }

    async fn list_extensions_if_changed(
        &self,
        etag: Option<&str>,
    ) -> Result<ExtensionListing, PbxError> {
        self.list_extensions_unless(etag).await
    }

    async fn create_extension_with(
        &self,
        request: &NewExtension,
        sip_password: Option<&SipPassword>,
        idempotency_key: &str,
    ) -> Result<Extension, PbxError> {
        let body = CreateBody {
            request,
            sip_password,
        };
        self.create(EXTENSIONS, &body, idempotency_key).await
    }

    async fn update_extension(
        &self,
        id: &ExtensionId,
        patch: &ExtensionPatch,
    ) -> Result<Extension, PbxError> {
        self.update(EXTENSIONS, id.as_str(), patch).await
    }

    async fn delete_extension(&self, id: &ExtensionId) -> Result<(), PbxError> {
        self.delete(EXTENSIONS, id.as_str()).await
    }

    async fn list_organizations(&self) -> Result<Vec<Organization>, PbxError> {
        self.list_all(ORGANIZATIONS).await
    }

    async fn create_organization(
        &self,
        request: &NewOrganization,
        idempotency_key: &str,
    ) -> Result<Organization, PbxError> {
        self.create(ORGANIZATIONS, request, idempotency_key).await
    }

    async fn update_organization(
        &self,
        id: &OrganizationId,
        patch: &OrganizationPatch,
    ) -> Result<Organization, PbxError> {
        self.update(ORGANIZATIONS, id.as_str(), patch).await
    }

    async fn delete_organization(&self, id: &OrganizationId) -> Result<(), PbxError> {
        self.delete(ORGANIZATIONS, id.as_str()).await
    }

    async fn list_groups(&self) -> Result<Vec<ExtensionGroup>, PbxError> {
        self.list_all(GROUPS).await
    }

    async fn create_group(
        &self,
        request: &NewExtensionGroup,
        idempotency_key: &str,
    ) -> Result<ExtensionGroup, PbxError> {
        self.create(GROUPS, request, idempotency_key).await
    }

    async fn update_group(
        &self,
        id: &GroupId,
        patch: &ExtensionGroupPatch,
    ) -> Result<ExtensionGroup, PbxError> {
        self.update(GROUPS, id.as_str(), patch).await
    }

    async fn delete_group(&self, id: &GroupId) -> Result<(), PbxError> {
        self.delete(GROUPS, id.as_str()).await
    }

    async fn put_avatar(
        &self,
        id: &ExtensionId,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), PbxError> {
        self.put_photo(id.as_str(), content_type, bytes).await
    }

    async fn delete_avatar(&self, id: &ExtensionId) -> Result<(), PbxError> {
        self.delete_photo(id.as_str()).await
    }

    async fn list_phonebook(&self) -> Result<Vec<PhonebookEntry>, PbxError> {
        self.list_all(PHONEBOOK).await
    }

    async fn create_phonebook_entry(
        &self,
        request: &NewPhonebookEntry,
        idempotency_key: &str,
    ) -> Result<PhonebookEntry, PbxError> {
        self.create(PHONEBOOK, request, idempotency_key).await
    }

    async fn delete_phonebook_entry(&self, id: &str) -> Result<(), PbxError> {
        self.delete(PHONEBOOK, id).await
    }
}

impl fmt::Debug for HttpPbx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpPbx")
            .field("api_url", &self.api_url.as_str())
            .field("token", &"[redacted]")
            .field("options", &self.options)
            .finish()
    }
}

impl fmt::Display for HttpPbx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PBX at {}", self.api_url)
    }
}
