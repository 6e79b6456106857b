//! Manual associations: an admin links a directory user to an extension that already exists
//! on the PBX (it joins the mapping, as adoption does), or releases one to manual management.

use chrono::Utc;

use super::engine::SyncEngine;
use crate::domain::{ExtensionId, Mapping, MappingLink, ObjectId, RunId, TenantId};
use crate::error::SyncError;
use crate::ports::LeaseOutcome;

/// Why an association was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The PBX has no extension with that id.
    NoExtension,
    /// The directory has no user with that object id.
    NoUser,
    /// The extension is mapped to another user.
    ExtensionMapped(ObjectId),
    /// The user is mapped to another extension (or a create of theirs is pending).
    UserMapped,
    /// `DELETE`: the user has no mapping.
    NotAssociated,
}

impl SyncEngine {
    /// Links `object_id` to the PBX extension `extension_id`, under the tenant's lease. The
    /// user must be in the directory: a mapping of an unknown id would read as a deleted user
    /// and remove an extension that was managed by hand. Linking again to the same extension
    /// changes nothing.
    pub async fn associate(
        &self,
        tenant: &TenantId,
        object_id: &ObjectId,
        extension_id: &ExtensionId,
    ) -> Result<Result<Mapping, Refusal>, SyncError> {
        let (_, config, endpoint) = self.configured(tenant).await?;
        let run_id = self.hold_lease(tenant).await?;
        let linked = async {
            let secrets = self.tenant_secrets(tenant).await?;
            let pbx = self.connector.pbx(&endpoint, &secrets)?;
            let gathered = self.gather(tenant, &config, &secrets, &pbx).await?;
            let Some(extension) = gathered.extensions.iter().find(|e| &e.id == extension_id) else {
                return Ok(Err(Refusal::NoExtension));
            };
            if !gathered
                .snapshot
                .users
                .iter()
                .any(|u| &u.object_id == object_id)
            {
                return Ok(Err(Refusal::NoUser));
            }
            if let Some(other) = gathered
                .mappings
                .iter()
                .find(|m| m.extension_id() == Some(extension_id) && &m.object_id != object_id)
            {
                return Ok(Err(Refusal::ExtensionMapped(other.object_id.clone())));
            }
            if let Some(own) = gathered.mappings.iter().find(|m| &m.object_id == object_id) {
                return Ok(if own.extension_id() == Some(extension_id) {
                    Ok(own.clone())
                } else {
                    Err(Refusal::UserMapped)
                });
            }
            let mapping = Mapping {
                avatar_seen: None,
                avatar_sha256: None,
                object_id: object_id.clone(),
                link: MappingLink::Linked {
                    extension_id: extension_id.clone(),
                    disabled_by_sync: false,
                },
                number: extension.number.clone(),
                first_name: extension.first_name.clone(),
                last_name: extension.last_name.clone(),
                email: extension.email.clone(),
                last_synced_at: Utc::now(),
                // The next run sends the user's SIP password, if one is synced.
                sip_password_hash: None,
            };
            self.store
                .put_mappings(tenant, std::slice::from_ref(&mapping))
                .await?;
            Ok(Ok(mapping))
        }
        .await;
        self.free_lease(tenant, &run_id).await;
        linked
    }

    /// Drops the mapping of `object_id`: its extension stays as it is, managed by hand.
    pub async fn dissociate(
        &self,
        tenant: &TenantId,
        object_id: &ObjectId,
    ) -> Result<Result<Mapping, Refusal>, SyncError> {
        let run_id = self.hold_lease(tenant).await?;
        let released = async {
            let mappings = self.store.all_mappings(tenant).await?;
            let Some(mapping) = mappings.into_iter().find(|m| &m.object_id == object_id) else {
                return Ok(Err(Refusal::NotAssociated));
            };
            self.store.delete_mapping(tenant, object_id).await?;
            Ok(Ok(mapping))
        }
        .await;
        self.free_lease(tenant, &run_id).await;
        released
    }

    /// Takes the tenant's lease for a change made outside a run; refused while a run holds
    /// it. A run whose lease had expired is closed first, as a new run would close it.
    pub(super) async fn hold_lease(&self, tenant: &TenantId) -> Result<RunId, SyncError> {
        let run_id = RunId::new();
        let ttl = self.options.lease_ttl;
        match self
            .store
            .acquire_lease(tenant, &run_id, ttl, Utc::now())
            .await?
        {
            LeaseOutcome::HeldBy(running) => return Err(SyncError::AlreadyRunning(running)),
            LeaseOutcome::NoTenant => return Err(SyncError::NotConfigured("directory")),
            // Closed before its mappings change, which are what it is counted from.
            LeaseOutcome::Acquired {
                expired_run: Some(interrupted),
            } => {
                if let Err(e) = self.close_interrupted(tenant, &interrupted).await {
                    self.free_lease(tenant, &run_id).await;
                    return Err(e);
                }
            }
            LeaseOutcome::Acquired { expired_run: None } => {}
        }
        Ok(run_id)
    }

    pub(super) async fn free_lease(&self, tenant: &TenantId, run_id: &RunId) {
        if let Err(e) = self.store.release_lease(tenant, run_id).await {
            tracing::warn!(tenant = %tenant, error = %e, "lease release failed");
        }
    }
}
