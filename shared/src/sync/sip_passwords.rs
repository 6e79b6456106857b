//! `fields.sip_password` in a run: the tenant's hash key, and the keyed hashes the planner
//! compares with the mappings' (see `domain::sip_password`).

use super::engine::SyncEngine;
use crate::domain::sip_password::SipHashKey;
use crate::domain::{DirectoryConfig, Snapshot, TenantId};
use crate::error::SyncError;
use crate::ports::TenantSecrets;

impl SyncEngine {
    /// The secrets with the tenant's SIP hash key, created and stored first when the config
    /// syncs SIP passwords and there is none yet. Only runs call this: a preview writes
    /// nothing (see [`seal_sip_passwords`]).
    pub(super) async fn with_sip_hash_key(
        &self,
        tenant: &TenantId,
        config: &DirectoryConfig,
        secrets: TenantSecrets,
    ) -> Result<TenantSecrets, SyncError> {
        if config.sip_password_source().is_none() || secrets.sip_hash_key.is_some() {
            return Ok(secrets);
        }
        // Read again just before the write, so that a credential changed since the run read
        // them is kept (a write between the two would cost only one resend of every password).
        let mut fresh = self.tenant_secrets(tenant).await?;
        if fresh.sip_hash_key.is_none() {
            fresh.sip_hash_key = Some(SipHashKey::generate().secret().clone());
            self.secrets.put(tenant, &fresh).await?;
        }
        Ok(fresh)
    }
}

/// Seals every password of the snapshot with the tenant's key. Without one (a preview before
/// the first run that syncs passwords) a throwaway key stands in: no mapping holds a hash
/// made with it, so the preview shows every password as to be sent, as the run will.
pub(super) fn seal_sip_passwords(snapshot: &mut Snapshot, secrets: &TenantSecrets) {
    if snapshot.users.iter().all(|u| u.sip_password.is_none()) {
        return;
    }
    let key = secrets
        .sip_hash_key
        .clone()
        .map_or_else(SipHashKey::generate, SipHashKey::from_secret);
    for password in snapshot
        .users
        .iter_mut()
        .filter_map(|u| u.sip_password.as_mut())
    {
        password.seal(&key);
    }
}
