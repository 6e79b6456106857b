//! Whether a run may start on a tenant: the one check that the API (before it answers 202) and
//! the engine (when the job arrives) both make.

use crate::domain::{DirectoryConfig, PbxEndpoint, Tenant, TenantState, Trigger};
use crate::error::{BlockingState, SyncError, TenantError};

/// The config and PBX endpoint a run of `trigger` uses, or why it may not start: configured
/// (see [`configured`]), and the tenant active, or disconnected for the disconnect run.
pub fn runnable(
    tenant: &Tenant,
    trigger: Trigger,
) -> Result<(&DirectoryConfig, &PbxEndpoint), SyncError> {
    let parts = configured(tenant)?;
    let disconnecting = trigger == Trigger::Disconnect;
    match (tenant.state, disconnecting) {
        (TenantState::Active, false) | (TenantState::Disconnected, true) => Ok(parts),
        (TenantState::Paused, _) => Err(SyncError::NotActive(BlockingState::Paused)),
        (TenantState::Disconnected, false) => {
            Err(SyncError::NotActive(BlockingState::Disconnected))
        }
        (TenantState::Active, true) => Err(SyncError::NotActive(BlockingState::StillConnected)),
    }
}

/// The tenant's config (one this release can read) and PBX endpoint, what a run or a preview
/// reads with.
pub fn configured(tenant: &Tenant) -> Result<(&DirectoryConfig, &PbxEndpoint), SyncError> {
    let config = match (&tenant.directory, &tenant.unreadable_directory) {
        (Some(config), _) => config,
        (None, Some(_)) => return Err(TenantError::NewerConfig.into()),
        (None, None) => return Err(SyncError::NotConfigured("directory")),
    };
    let endpoint = tenant
        .pbx
        .as_ref()
        .ok_or(SyncError::NotConfigured("PBX endpoint"))?;
    Ok((config, endpoint))
}
