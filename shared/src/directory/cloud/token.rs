//! What the OAuth credentials of Graph and Okta share: the token cache, the token request
//! with retries, and the `Bearer` header.

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderValue, ACCEPT};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::http::{sensitive_header, Answer, CloudHttp};
use crate::error::DirectoryError;

/// A token and when to fetch the next one.
struct CachedToken {
    value: SecretString,
    refresh_at: Instant,
}

/// One access token, fetched when missing, due or refused.
#[derive(Default)]
pub(crate) struct TokenCache {
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

/// POSTs the token request `form` to `url`, retried on 429, 5xx and transport errors with the
/// waits `wait_asked` names; the last answer, whatever its status. `endpoint` names the
/// token endpoint in the error when it cannot be reached.
pub(crate) async fn request_token(
    http: &CloudHttp,
    url: &Url,
    form: &[(&str, &str)],
    wait_asked: &(dyn Fn(&Answer) -> Option<Duration> + Sync),
    endpoint: &str,
) -> Result<Answer, DirectoryError> {
    let build = || {
        http.client()
            .post(url.clone())
            .header(ACCEPT, "application/json")
            .form(form)
    };
    http.retrying(&build, wait_asked)
        .await
        .map_err(|e| DirectoryError::Unreachable(format!("{endpoint}: {e}")))
}

/// The `Authorization` value of an OAuth access token.
pub(crate) fn bearer(token: &SecretString) -> Result<HeaderValue, DirectoryError> {
    sensitive_header(&format!("Bearer {}", token.expose_secret()))
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
