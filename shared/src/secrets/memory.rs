//! [`MemorySecrets`]: secrets in a map, gone with the process.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use crate::domain::TenantId;
use crate::error::SecretsError;
use crate::ports::{Secrets, TenantSecrets};

#[derive(Default)]
pub struct MemorySecrets {
    entries: Mutex<HashMap<TenantId, TenantSecrets>>,
}

impl MemorySecrets {
    pub fn new() -> Self {
        Self::default()
    }

    /// A poisoned lock only means another caller panicked between two plain map operations,
    /// which leaves the map whole: carry on with it.
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, TenantSecrets>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Shows how many tenants have secrets, never the secrets themselves.
impl std::fmt::Debug for MemorySecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySecrets")
            .field("tenants", &self.entries().len())
            .finish()
    }
}

#[async_trait]
impl Secrets for MemorySecrets {
    async fn get(&self, tenant: &TenantId) -> Result<Option<TenantSecrets>, SecretsError> {
        Ok(self.entries().get(tenant).cloned())
    }

    async fn put(&self, tenant: &TenantId, secrets: &TenantSecrets) -> Result<(), SecretsError> {
        self.entries().insert(tenant.clone(), secrets.clone());
        Ok(())
    }

    async fn delete(&self, tenant: &TenantId) -> Result<(), SecretsError> {
        self.entries().remove(tenant);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use secrecy::{ExposeSecret, SecretString};

    use super::*;

    #[tokio::test]
    async fn round_trip_isolation_and_redacted_debug() {
        let store = MemorySecrets::new();
        let (a, b) = (
            TenantId::parse("tenant-a").unwrap(),
            TenantId::parse("tenant-b").unwrap(),
        );
        let secrets = TenantSecrets {
            pbx_token: Some(SecretString::from("pbx-token-value-123")),
            ..TenantSecrets::default()
        };
        assert!(store.get(&a).await.unwrap().is_none());
        store.put(&a, &secrets).await.unwrap();
        let got = store.get(&a).await.unwrap().unwrap();
        assert_eq!(
            got.pbx_token.as_ref().map(|s| s.expose_secret()),
            Some("pbx-token-value-123")
        );
        assert!(store.get(&b).await.unwrap().is_none());
        store.delete(&b).await.unwrap();
        assert!(store.get(&a).await.unwrap().is_some(), "deleting B keeps A");
        let shown = format!("{store:?} {got:?}");
        assert!(!shown.contains("pbx-token-value-123"), "{shown}");
        store.delete(&a).await.unwrap();
        assert!(store.get(&a).await.unwrap().is_none());
    }
}
