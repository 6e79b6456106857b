//! [`TenantService`]: connect a directory, set the PBX endpoint, pause, resume, disconnect, and
//! the engine's end-of-run writes. Settings writes are read-modify-writes guarded by the
//! tenant's revision (retried when another write came first); the last run is written on its
//! own. Secrets are written so that a failure at any step leaves a stored config with the
//! credentials it needs.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::domain::config::{required_credentials, DirectoryCredentials, FieldError};
use crate::domain::{DirectoryConfig, PbxEndpoint, RunSummary, Tenant, TenantId, TenantState};
use crate::error::{StoreError, TenantError};
use crate::ports::{Secrets, Store, TenantSecrets};
use crate::sync::first_run;

mod scim_token;
pub use scim_token::{scim_token_hash, scim_token_matches};

/// How often a read-modify-write is tried against writes that keep coming first.
const ATTEMPTS: usize = 5;

/// What the stored tenant needs before the change is written, or that it needs nothing.
enum Change<T> {
    Write(T),
    Unchanged(T),
}

#[derive(Clone)]
pub struct TenantService {
    store: Arc<dyn Store>,
    secrets: Arc<dyn Secrets>,
}

impl TenantService {
    pub fn new(store: Arc<dyn Store>, secrets: Arc<dyn Secrets>) -> Self {
        Self { store, secrets }
    }

    /// The tenant, if it has a directory connected.
    pub async fn connected(&self, id: &TenantId) -> Result<Tenant, TenantError> {
        match self.store.get_tenant(id).await? {
            Some(tenant) if tenant.directory.is_some() => Ok(tenant),
            Some(tenant) if tenant.unreadable_directory.is_some() => Err(TenantError::NewerConfig),
            _ => Err(TenantError::NotConnected),
        }
    }

    /// Creates or replaces the directory config. Credentials left out keep the stored ones
    /// while the provider type stays; another provider's are dropped. On a provider switch
    /// the old credentials are kept beside the new ones until the new config is stored, and a
    /// failed config write puts the previous secrets back: the stored config never lacks its
    /// credentials.
    pub async fn connect_directory(
        &self,
        id: &TenantId,
        config: DirectoryConfig,
        credentials: Option<DirectoryCredentials>,
    ) -> Result<(Tenant, TenantSecrets), TenantError> {
        for _ in 0..ATTEMPTS {
            let now = Utc::now();
            let mut tenant = self.stored_or_new(id, now).await?;
            let before = self.secrets.get(id).await?.unwrap_or_default();
            let same_provider = tenant
                .directory
                .as_ref()
                .is_some_and(|d| d.provider.kind() == config.provider.kind());
            let mut after = before.clone();
            match credentials.clone() {
                Some(credentials) => after.set_directory(credentials),
                // Another provider's credentials mean nothing here: they are not kept.
                None if !same_provider => after.set_directory(Default::default()),
                None => {}
            }
            let missing: Vec<FieldError> = required_credentials(&config.provider)
                .into_iter()
                .filter(|name| !after.has_directory_credential(name))
                .map(|name| FieldError::new(format!("credentials.{name}"), "is required"))
                .collect();
            if !missing.is_empty() {
                return Err(TenantError::Invalid(missing));
            }
            if tenant.state == TenantState::Disconnected {
                tenant.state = TenantState::Active;
            }
            // The first scheduled sync waits one period (a calendar schedule: until its next
            // time), so that the admin can preview first.
            let first = first_run(&config.schedule, id, now);
            tenant.next_sync_at = Some(tenant.next_sync_at.map_or(first, |t| t.min(first)));
            tenant.directory = Some(config.clone());
            tenant.unreadable_directory = None;
            tenant.updated_at = now;

            let staged = after.kept_beside(&before);
            self.secrets.put(id, &staged).await?;
            match self.store.put_tenant(&tenant).await {
                Ok(revision) => tenant.revision = revision,
                Err(error) => {
                    self.restore_secrets(id, &before).await;
                    match error {
                        StoreError::Stale => continue,
                        other => return Err(other.into()),
                    }
                }
            }
            if staged.directory_set() != after.directory_set() {
                // Only unused credentials of the old provider are left if this fails.
                if let Err(error) = self.secrets.put(id, &after).await {
                    tracing::warn!(tenant = %id, error = %error, "dropping the old provider's credentials failed");
                }
            }
            return Ok((tenant, after));
        }
        Err(TenantError::Contended)
    }

    /// Sets the PBX endpoint; a token left out keeps the stored one (one is required).
    pub async fn set_pbx(
        &self,
        id: &TenantId,
        base_url: &str,
        token: Option<SecretString>,
    ) -> Result<Tenant, TenantError> {
        let before = self.secrets.get(id).await?.unwrap_or_default();
        let mut after = before.clone();
        match token {
            Some(token) => after.pbx_token = Some(token),
            None if before.pbx_token.is_none() => {
                return Err(TenantError::Invalid(vec![FieldError::new(
                    "credentials.token",
                    "is required",
                )]))
            }
            None => {}
        }
        self.secrets.put(id, &after).await?;
        let endpoint = PbxEndpoint {
            base_url: base_url.trim_end_matches('/').to_string(),
        };
        let written = self
            .update(id, true, |tenant| {
                tenant.pbx = Some(endpoint.clone());
                Ok(Change::Write(()))
            })
            .await;
        if written.is_err() {
            self.restore_secrets(id, &before).await;
        }
        written.map(|(tenant, ())| tenant)
    }

    /// Pauses or resumes the tenant's syncs. Resuming a paused tenant makes it due now.
    pub async fn set_state(&self, id: &TenantId, to: TenantState) -> Result<(), TenantError> {
        self.update(id, false, |tenant| {
            if tenant.directory.is_none() && tenant.unreadable_directory.is_none() {
                return Err(TenantError::NotConnected);
            }
            if to == TenantState::Active && tenant.state == TenantState::Paused {
                tenant.next_sync_at = Some(Utc::now());
            }
            tenant.state = to;
            Ok(Change::Write(()))
        })
        .await
        .map(|_| ())
    }

    /// The first step of a disconnect that deletes the extensions: no other run starts.
    pub async fn stop_syncs(&self, id: &TenantId) -> Result<(), TenantError> {
        self.update(id, false, |tenant| {
            tenant.state = TenantState::Disconnected;
            tenant.next_sync_at = None;
            Ok(Change::Write(()))
        })
        .await
        .map(|_| ())
    }

    /// Ends the directory connection: the config and the directory credentials go; the PBX
    /// endpoint and its token stay for a later connection. With `only_if_disconnected` (the
    /// end of a disconnect run) a tenant that an admin connected again meanwhile is left as
    /// it is.
    pub async fn forget_directory(
        &self,
        id: &TenantId,
        only_if_disconnected: bool,
    ) -> Result<(), TenantError> {
        let forgotten = self
            .update(id, false, |tenant| {
                if only_if_disconnected && tenant.state != TenantState::Disconnected {
                    return Ok(Change::Unchanged(false));
                }
                tenant.state = TenantState::Disconnected;
                tenant.directory = None;
                tenant.unreadable_directory = None;
                tenant.next_sync_at = None;
                Ok(Change::Write(true))
            })
            .await;
        match forgotten {
            Ok((_, true)) | Err(TenantError::NotConnected) => {}
            Ok((_, false)) => return Ok(()),
            Err(other) => return Err(other),
        }
        if let Some(mut secrets) = self.secrets.get(id).await? {
            secrets.set_directory(Default::default());
            self.secrets.put(id, &secrets).await?;
        }
        Ok(())
    }

    /// The engine's end of a run: the last run alone, never the settings.
    pub async fn record_last_run(
        &self,
        id: &TenantId,
        summary: &RunSummary,
    ) -> Result<(), TenantError> {
        Ok(self.store.set_last_run(id, summary).await?)
    }

    async fn stored_or_new(&self, id: &TenantId, now: DateTime<Utc>) -> Result<Tenant, StoreError> {
        Ok(self
            .store
            .get_tenant(id)
            .await?
            .unwrap_or_else(|| Tenant::new(id.clone(), now)))
    }

    /// Reads the tenant (a new one when `create` and none is stored; else a missing tenant is
    /// `NotConnected`), lets `change` decide, and writes it guarded by the revision read,
    /// starting over when another write came first.
    async fn update<T>(
        &self,
        id: &TenantId,
        create: bool,
        mut change: impl FnMut(&mut Tenant) -> Result<Change<T>, TenantError>,
    ) -> Result<(Tenant, T), TenantError> {
        for _ in 0..ATTEMPTS {
            let now = Utc::now();
            let mut tenant = match self.store.get_tenant(id).await? {
                Some(tenant) => tenant,
                None if create => Tenant::new(id.clone(), now),
                None => return Err(TenantError::NotConnected),
            };
            let value = match change(&mut tenant)? {
                Change::Unchanged(value) => return Ok((tenant, value)),
                Change::Write(value) => value,
            };
            tenant.updated_at = now;
            match self.store.put_tenant(&tenant).await {
                Ok(revision) => {
                    tenant.revision = revision;
                    return Ok((tenant, value));
                }
                Err(StoreError::Stale) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(TenantError::Contended)
    }

    /// Puts back the secrets a failed change replaced. Best effort: the change has already
    /// failed, and this failing too is logged (never with a secret).
    async fn restore_secrets(&self, id: &TenantId, before: &TenantSecrets) {
        if let Err(error) = self.secrets.put(id, before).await {
            tracing::error!(tenant = %id, error = %error, "restoring the previous secrets failed");
        }
    }
}

#[cfg(test)]
mod tests;
