//! [`CachedSecrets`]: a short-lived cache in front of a secret store, so that a warm Lambda
//! does not call Secrets Manager for every run of the same tenant.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::domain::TenantId;
use crate::error::SecretsError;
use crate::ports::{Secrets, TenantSecrets};

/// Reads are cached for `ttl`; writes and deletes go through and drop the entry. A rotated
/// secret is picked up within `ttl` by other processes.
pub struct CachedSecrets<S> {
    inner: S,
    ttl: Duration,
    entries: Mutex<HashMap<TenantId, (Instant, Option<TenantSecrets>)>>,
}

impl<S> CachedSecrets<S> {
    pub fn new(inner: S, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// A poisoned lock only means a panic between two plain map operations: the map is whole.
    fn entries(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<TenantId, (Instant, Option<TenantSecrets>)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Never shows the cached secrets.
impl<S> std::fmt::Debug for CachedSecrets<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSecrets")
            .field("ttl", &self.ttl)
            .field("tenants", &self.entries().len())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<S: Secrets> Secrets for CachedSecrets<S> {
    async fn get(&self, tenant: &TenantId) -> Result<Option<TenantSecrets>, SecretsError> {
        if let Some((at, secrets)) = self.entries().get(tenant) {
            if at.elapsed() < self.ttl {
                return Ok(secrets.clone());
            }
        }
        let secrets = self.inner.get(tenant).await?;
        self.entries()
            .insert(tenant.clone(), (Instant::now(), secrets.clone()));
        Ok(secrets)
    }

    async fn put(&self, tenant: &TenantId, secrets: &TenantSecrets) -> Result<(), SecretsError> {
        self.entries().remove(tenant);
        self.inner.put(tenant, secrets).await
    }

    async fn delete(&self, tenant: &TenantId) -> Result<(), SecretsError> {
        self.entries().remove(tenant);
        self.inner.delete(tenant).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemorySecrets;
    use secrecy::ExposeSecret;

    fn with_token(token: &str) -> TenantSecrets {
        TenantSecrets {
            pbx_token: Some(token.to_string().into()),
            ..TenantSecrets::default()
        }
    }

    fn token(secrets: Option<TenantSecrets>) -> String {
        secrets
            .and_then(|s| s.pbx_token)
            .map(|t| t.expose_secret().to_string())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn reads_are_cached_until_a_write_through_the_cache() {
        let tenant = TenantId::parse("acme").unwrap();
        let cached = CachedSecrets::new(MemorySecrets::new(), Duration::from_secs(3600));
        cached.put(&tenant, &with_token("one")).await.unwrap();
        assert_eq!(token(cached.get(&tenant).await.unwrap()), "one");
        // A change behind the cache's back is not seen while the entry lives...
        cached.inner.put(&tenant, &with_token("two")).await.unwrap();
        assert_eq!(token(cached.get(&tenant).await.unwrap()), "one");
        // ...a write through the cache is.
        cached.put(&tenant, &with_token("three")).await.unwrap();
        assert_eq!(token(cached.get(&tenant).await.unwrap()), "three");
        cached.delete(&tenant).await.unwrap();
        assert!(cached.get(&tenant).await.unwrap().is_none());
        assert!(!format!("{cached:?}").contains("three"));
    }

    #[tokio::test]
    async fn expired_entries_are_read_again() {
        let tenant = TenantId::parse("acme").unwrap();
        let cached = CachedSecrets::new(MemorySecrets::new(), Duration::ZERO);
        cached.put(&tenant, &with_token("one")).await.unwrap();
        assert_eq!(token(cached.get(&tenant).await.unwrap()), "one");
        cached.inner.put(&tenant, &with_token("two")).await.unwrap();
        assert_eq!(token(cached.get(&tenant).await.unwrap()), "two");
    }
}
