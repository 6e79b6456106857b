//! `POST .../auth/verify`: a user's directory password checked for the PBX's UC clients
//! (CONTRACTS sections 1 and 2, `login`). The password goes to the directory and nowhere
//! else: not into logs, errors, run records or the store.
//!
//! Guessing is bounded per username before the directory is asked: at most
//! [`LOGIN_LIMIT`] attempts that were not successes per window, counted in the store so that
//! every API instance shares the count, and so that a guesser cannot lock the AD account.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use super::engine::SyncEngine;
use crate::domain::{ExtensionId, ObjectId, TenantId};
use crate::error::{SyncError, TenantError};
use crate::ports::{LoginAttempt, LoginLimit, LoginOutcome};

/// 5 failures per username per 15 minutes (CONTRACTS section 1).
pub const LOGIN_LIMIT: LoginLimit = LoginLimit {
    max: 5,
    window: Duration::from_secs(15 * 60),
};

/// What a login check answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginResult {
    Verified {
        object_id: ObjectId,
        extension_id: ExtensionId,
        number: String,
    },
    /// Wrong password, unknown, unmapped, disabled or expired user: one answer for all.
    Rejected,
    /// Too many failures of this username; the directory was not asked.
    Throttled { until: DateTime<Utc> },
    /// The tenant's `login.enabled` is off.
    Disabled,
    /// The provider checks no passwords (Entra ID, LDIF); the message says what instead.
    Unsupported(String),
}

/// The key of a username's attempts: a SHA-256 of the tenant and the username trimmed and
/// lowercased, so that no username is stored and `Alice` counts with `alice `.
pub fn attempt_key(tenant: &TenantId, username: &str) -> String {
    let normalized = username.trim().to_lowercase();
    let digest = Sha256::digest(format!("{}\n{normalized}", tenant.as_str()).as_bytes());
    format!("{digest:x}")
}

impl SyncEngine {
    /// Checks `password` for `username` against the tenant's directory. A directory that
    /// cannot answer is an error and does not count as the user's failure.
    pub async fn verify_login(
        &self,
        tenant: &TenantId,
        username: &str,
        password: &SecretString,
    ) -> Result<LoginResult, SyncError> {
        let stored = self
            .store
            .get_tenant(tenant)
            .await?
            .ok_or(SyncError::NotConfigured("directory"))?;
        let config = match (&stored.directory, &stored.unreadable_directory) {
            (Some(config), _) => config,
            (None, Some(_)) => return Err(TenantError::NewerConfig.into()),
            (None, None) => return Err(SyncError::NotConfigured("directory")),
        };
        if !config.login.enabled {
            return Ok(LoginResult::Disabled);
        }
        let secrets = self.tenant_secrets(tenant).await?;
        let directory = self.connector.directory(config, &secrets)?;

        let key = attempt_key(tenant, username);
        let now = Utc::now();
        if let LoginAttempt::Refused { until } = self
            .store
            .take_login_attempt(tenant, &key, LOGIN_LIMIT, now)
            .await?
        {
            return Ok(LoginResult::Throttled { until });
        }
        let mappings = self.store.all_mappings(tenant).await?;
        let linked: HashSet<ObjectId> = mappings
            .iter()
            .filter(|m| m.extension_id().is_some())
            .map(|m| m.object_id.clone())
            .collect();
        let outcome = directory
            .verify_login(username.trim(), password, &linked)
            .await;
        let verified = match outcome {
            Ok(LoginOutcome::Verified(id)) => id,
            Ok(LoginOutcome::Rejected) => return Ok(LoginResult::Rejected),
            Ok(LoginOutcome::Unsupported(message)) => {
                self.store.return_login_attempt(tenant, &key, false).await?;
                return Ok(LoginResult::Unsupported(message));
            }
            Err(error) => {
                self.store.return_login_attempt(tenant, &key, false).await?;
                return Err(error.into());
            }
        };
        let found = mappings.into_iter().find(|m| m.object_id == verified);
        let Some((extension_id, number)) =
            found.and_then(|m| Some((m.extension_id()?.clone(), m.number)))
        else {
            // Only a directory that ignored `mapped` gets here.
            return Ok(LoginResult::Rejected);
        };
        // A success forgets the failures before it.
        self.store.return_login_attempt(tenant, &key, true).await?;
        Ok(LoginResult::Verified {
            object_id: verified,
            extension_id,
            number,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_keys_are_per_tenant_and_normalized_username_and_hide_it() {
        let acme = TenantId::parse("acme").unwrap();
        let other = TenantId::parse("other").unwrap();
        let key = attempt_key(&acme, "alice@example.com");
        assert_eq!(key, attempt_key(&acme, "  Alice@Example.COM "));
        assert_ne!(key, attempt_key(&other, "alice@example.com"));
        assert_ne!(key, attempt_key(&acme, "bob@example.com"));
        assert_eq!(key.len(), 64);
        assert!(!key.contains("alice"));
    }
}
