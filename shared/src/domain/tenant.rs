//! A tenant's stored settings and state. Secrets are never here: they live in the secret store.
//!
//! The settings (state, config, PBX endpoint, schedule) are the admin's and are written as a
//! whole, guarded by `revision`; `last_run` is the engine's and is written on its own, so that
//! neither side's write can undo the other's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::config::DirectoryConfig;
use super::ids::TenantId;
use super::run::RunSummary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantState {
    Active,
    Paused,
    Disconnected,
}

/// Where the tenant's PBX REST API is. Its bearer token is in the secret store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PbxEndpoint {
    pub base_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "StoredTenant", into = "StoredTenant")]
pub struct Tenant {
    pub id: TenantId,
    pub state: TenantState,
    pub directory: Option<DirectoryConfig>,
    /// A stored config this release cannot read (a newer one wrote a provider, scope or form
    /// it does not know), kept as it was: written back unchanged by settings writes, never
    /// synced, until a release that reads it runs or the admin replaces it.
    pub unreadable_directory: Option<serde_json::Value>,
    pub pbx: Option<PbxEndpoint>,
    /// When the scheduler next runs a sync for this tenant.
    pub next_sync_at: Option<DateTime<Utc>>,
    /// The last run's summary. Written only by the store's `set_last_run`; a settings
    /// write leaves it as stored (read from older records, which kept it in the body).
    pub last_run: Option<RunSummary>,
    pub updated_at: DateTime<Utc>,
    /// The stored settings' version: a settings write succeeds only while it is still the one
    /// the writer read (0 for a tenant not stored yet). Kept by the store beside the record.
    pub revision: u64,
    /// The SHA-256 (hex) of the tenant's SCIM bearer token (CONTRACTS section 6), never the
    /// token itself. Written by `POST .../scim/token`, kept by every other settings write.
    pub scim_token_sha256: Option<String>,
}

/// The serde form of a tenant: `last_run` and `revision` are read (older records, the stores'
/// columns) but never written into the record.
#[derive(Serialize, Deserialize)]
struct StoredTenant {
    id: TenantId,
    state: TenantState,
    #[serde(default)]
    directory: Option<StoredDirectory>,
    pbx: Option<PbxEndpoint>,
    next_sync_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing)]
    last_run: Option<RunSummary>,
    updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing)]
    revision: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scim_token_sha256: Option<String>,
}

/// A stored config: read as the domain's config when this release can, else kept as it is.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum StoredDirectory {
    Readable(Box<DirectoryConfig>),
    Unreadable(serde_json::Value),
}

impl From<StoredTenant> for Tenant {
    fn from(stored: StoredTenant) -> Self {
        let (directory, unreadable_directory) = match stored.directory {
            None => (None, None),
            Some(StoredDirectory::Readable(config)) => (Some(*config), None),
            Some(StoredDirectory::Unreadable(raw)) => (None, Some(raw)),
        };
        Self {
            id: stored.id,
            state: stored.state,
            directory,
            unreadable_directory,
            pbx: stored.pbx,
            next_sync_at: stored.next_sync_at,
            last_run: stored.last_run,
            updated_at: stored.updated_at,
            revision: stored.revision,
            scim_token_sha256: stored.scim_token_sha256,
        }
    }
}

impl From<Tenant> for StoredTenant {
    fn from(tenant: Tenant) -> Self {
        let directory = match (tenant.directory, tenant.unreadable_directory) {
            (Some(config), _) => Some(StoredDirectory::Readable(Box::new(config))),
            (None, raw) => raw.map(StoredDirectory::Unreadable),
        };
        Self {
            id: tenant.id,
            state: tenant.state,
            directory,
            pbx: tenant.pbx,
            next_sync_at: tenant.next_sync_at,
            last_run: tenant.last_run,
            updated_at: tenant.updated_at,
            revision: tenant.revision,
            scim_token_sha256: tenant.scim_token_sha256,
        }
    }
}

impl Tenant {
    pub fn new(id: TenantId, now: DateTime<Utc>) -> Self {
        Self {
            id,
            state: TenantState::Disconnected,
            directory: None,
            unreadable_directory: None,
            pbx: None,
            next_sync_at: None,
            last_run: None,
            updated_at: now,
            revision: 0,
            scim_token_sha256: None,
        }
    }
}
