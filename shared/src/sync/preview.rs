//! What the engine does without changing anything: the preview of a sync, and the admin's
//! connection test.

use std::collections::HashSet;

use super::engine::SyncEngine;
use crate::domain::{
    Check, CheckName, ConnectionReport, DirectoryConfig, ObjectId, Plan, TenantId,
};
use crate::error::SyncError;
use crate::planner::{explain, plan, PlanInput, UserExplanation};
use crate::ports::TenantSecrets;

impl SyncEngine {
    /// The plan a sync would apply now. Reads the directory and the PBX; writes nothing.
    pub async fn preview(&self, tenant: &TenantId) -> Result<Plan, SyncError> {
        self.planned(tenant, plan).await
    }

    /// One user explained against the plan a sync would apply now (`None`: neither the
    /// directory nor the mappings know them). Reads only, like the preview.
    pub async fn explain_user(
        &self,
        tenant: &TenantId,
        object_id: &ObjectId,
    ) -> Result<Option<UserExplanation>, SyncError> {
        self.planned(tenant, |input| explain(input, object_id))
            .await
    }

    /// What `look` makes of everything a plan is made from now.
    async fn planned<T>(
        &self,
        tenant: &TenantId,
        look: impl FnOnce(&PlanInput<'_>) -> T,
    ) -> Result<T, SyncError> {
        let (tenant, config, endpoint) = self.configured(tenant).await?;
        let secrets = self.tenant_secrets(&tenant.id).await?;
        let pbx = self.connector.pbx(&endpoint, &secrets)?;
        let mut gathered = self.gather(&tenant.id, &config, &secrets, &pbx).await?;
        self.resolve_photos(&tenant.id, &config, &secrets, &mut gathered, false)
            .await;
        Ok(look(&PlanInput {
            snapshot: &gathered.snapshot,
            mappings: &gathered.mappings,
            extensions: &gathered.extensions,
            config: &config,
            approved_removals: &HashSet::new(),
            object_mappings: &gathered.objects.mappings,
            organizations: &gathered.objects.organizations,
            groups: &gathered.objects.groups,
            phonebook: &gathered.objects.phonebook,
        }))
    }

    /// The admin's connection test of `config` with `secrets` (stored or candidate).
    pub async fn test_connection(
        &self,
        tenant: &TenantId,
        config: &DirectoryConfig,
        secrets: &TenantSecrets,
    ) -> ConnectionReport {
        let started = std::time::Instant::now();
        let directory = self
            .connector
            .tenant_directory(tenant, &self.store, config, secrets);
        match directory {
            Ok(directory) => directory.test_connection().await,
            Err(error) => ConnectionReport::new(
                vec![Check::timed(
                    CheckName::Connect,
                    started,
                    Err(error.to_string()),
                )],
                Vec::new(),
            ),
        }
    }
}
