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
pub struct Tenant {
    pub id: TenantId,
    pub state: TenantState,
    pub directory: Option<DirectoryConfig>,
    pub pbx: Option<PbxEndpoint>,
    /// When the scheduler next runs a sync for this tenant.
    pub next_sync_at: Option<DateTime<Utc>>,
    /// The last run's summary. Written only by the store's `set_last_run`; a settings
    /// write leaves it as stored (read from older records, which kept it in the body).
    #[serde(default, skip_serializing)]
    pub last_run: Option<RunSummary>,
    pub updated_at: DateTime<Utc>,
    /// The stored settings' version: a settings write succeeds only while it is still the one
    /// the writer read (0 for a tenant not stored yet). Kept by the store beside the record.
    #[serde(default, skip_serializing)]
    pub revision: u64,
}

impl Tenant {
    pub fn new(id: TenantId, now: DateTime<Utc>) -> Self {
        Self {
            id,
            state: TenantState::Disconnected,
            directory: None,
            pbx: None,
            next_sync_at: None,
            last_run: None,
            updated_at: now,
            revision: 0,
        }
    }
}
