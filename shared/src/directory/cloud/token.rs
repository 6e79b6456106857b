//! What the OAuth credentials of Graph and Okta share: the client with its cached token, and
//! the token request with retries and the provider's reading of a refusal.

use std::future::Future;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::{HeaderValue, ACCEPT};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use super::http::{sensitive_header, Answer, CloudHttp, Credential};
use crate::error::DirectoryError;

/// A token and when to fetch the next one.
struct CachedToken {
    value: SecretString,
    refresh_at: Instant,
}

/// One access token, fetched when missing, due or refused.
#[derive(Default)]
struct TokenCache {
    slot: tokio::sync::Mutex<Option<CachedToken>>,
}

impl TokenCache {
    /// The cached token, or a new one from `fetch` (token and lifetime) when there is none,
    /// it is due, or `refresh` is set. The next fetch is due shortly before expiry.
    pub async fn get<F, Fut>(&self, refresh: bool, fetch: F) -> Result<SecretString, DirectoryError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(SecretString, Duration), DirectoryError>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(token) = slot.as_ref() {
            if !refresh && Instant::now() < token.refresh_at {
                return Ok(token.value.clone());
            }
        }
        let (value, lifetime) = fetch().await?;
        let margin = (lifetime / 2).min(Duration::from_secs(300));
        *slot = Some(CachedToken {
            value: value.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(margin),
        });
        Ok(value)
    }
}

/// How one OAuth client asks for a new access token.
#[async_trait]
pub(crate) trait Grant: Send + Sync {
    /// A new access token and its lifetime.
    async fn fetch(&self, http: &CloudHttp) -> Result<(SecretString, Duration), DirectoryError>;
}

/// An OAuth client: its grant, and the token it got, cached until shortly before expiry.
pub(crate) struct TokenClient<G> {
    grant: G,
    cache: TokenCache,
}

impl<G: Grant> TokenClient<G> {
    pub fn new(grant: G) -> Self {
        Self {
            grant,
            cache: TokenCache::default(),
        }
    }

    /// A valid access token, from the cache unless `refresh` or due.
    pub async fn token(
        &self,
        http: &CloudHttp,
        refresh: bool,
    ) -> Result<SecretString, DirectoryError> {
        self.cache.get(refresh, || self.grant.fetch(http)).await
    }
}

#[async_trait]
impl<G: Grant> Credential for TokenClient<G> {
    async fn authorization(
        &self,
        http: &CloudHttp,
        refresh: bool,
    ) -> Result<HeaderValue, DirectoryError> {
        let token = self.token(http, refresh).await?;
        sensitive_header(&format!("Bearer {}", token.expose_secret()))
    }

    fn refreshable(&self) -> bool {
        true
    }
}

/// A provider's token endpoint: how errors name it, how long its throttling asks to wait,
/// and what its refusals (status and error body `E`) tell the admin.
pub(crate) struct TokenEndpoint<E> {
    pub name: &'static str,
    pub wait_asked: fn(&Answer) -> Option<Duration>,
    pub refused: fn(u16, &E) -> DirectoryError,
}

impl<E: DeserializeOwned + Default> TokenEndpoint<E> {
    /// POSTs the token request `form` to `url`, retried on 429, 5xx and transport errors;
    /// the granted answer read as `T` (`what` names it when it is not the expected JSON).
    pub async fn request<T: DeserializeOwned>(
        &self,
        http: &CloudHttp,
        url: &Url,
        form: &[(&str, &str)],
        what: &str,
    ) -> Result<T, DirectoryError> {
        let build = || {
            http.client()
                .post(url.clone())
                .header(ACCEPT, "application/json")
                .form(form)
        };
        let answer = http
            .retrying(&build, &self.wait_asked)
            .await
            .map_err(|e| DirectoryError::Unreachable(format!("{}: {e}", self.name)))?;
        if !answer.status.is_success() {
            // A body that is not the provider's error shape still gets the status's message.
            let body: E = serde_json::from_slice(&answer.body).unwrap_or_default();
            return Err((self.refused)(answer.status.as_u16(), &body));
        }
        answer.json(what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[tokio::test]
    async fn token_cache_reuses_until_refresh_is_asked() {
        let cache = TokenCache::default();
        let fetches = AtomicU64::new(0);
        let fetch = || async {
            let n = fetches.fetch_add(1, Ordering::Relaxed);
            Ok((
                SecretString::from(format!("t{n}")),
                Duration::from_secs(3600),
            ))
        };
        use secrecy::ExposeSecret;
        assert_eq!(cache.get(false, fetch).await.unwrap().expose_secret(), "t0");
        assert_eq!(cache.get(false, fetch).await.unwrap().expose_secret(), "t0");
        assert_eq!(cache.get(true, fetch).await.unwrap().expose_secret(), "t1");
    }

    #[tokio::test]
    async fn a_token_near_expiry_is_fetched_again() {
        let cache = TokenCache::default();
        let fetches = AtomicU64::new(0);
        let fetch = || async {
            fetches.fetch_add(1, Ordering::Relaxed);
            Ok((SecretString::from("t"), Duration::ZERO))
        };
        cache.get(false, fetch).await.unwrap();
        cache.get(false, fetch).await.unwrap();
        assert_eq!(fetches.load(Ordering::Relaxed), 2);
    }
}
