//! Disconnecting a tenant's directory: deleting every extension and phonebook entry sync
//! created (a run), or releasing them all to manual management.

use std::collections::HashMap;

use super::apply_objects::{AppliedObjects, ObjectApplier};
use super::apply_phonebook::finish_pending_entries;
use super::engine::{Actions, SyncEngine};
use super::lease::LeaseKeeper;
use super::summary::summarize;
use crate::domain::config::OnRemove;
use crate::domain::object_plan::{ObjectRemoval, ObjectRemove};
use crate::domain::plan::{summary_line, PlannedRemove, RemovalCause};
use crate::domain::{MappingLink, ObjectKind, PbxEndpoint, Plan, RunRecord, TenantId};
use crate::error::SyncError;
use crate::ports::Pbx;

impl SyncEngine {
    /// The body of a `disconnect` run: every mapped extension is deleted. The deletion guard
    /// does not apply: the admin asked for exactly this.
    pub(super) async fn execute_disconnect(
        &self,
        tenant: &TenantId,
        endpoint: &PbxEndpoint,
        record: &mut RunRecord,
        keeper: &LeaseKeeper,
    ) -> Result<(), SyncError> {
        let secrets = self.tenant_secrets(tenant).await?;
        let pbx = self.connector.pbx(endpoint, &secrets)?;
        let mappings = self.store.all_mappings(tenant).await?;
        // A create whose answer was lost may have made an extension: find it, to delete it too.
        let mappings = self
            .reconcile_pending(tenant, pbx.as_ref(), mappings, &mut Vec::new())
            .await?;
        let removes: Vec<PlannedRemove> = mappings
            .iter()
            .filter_map(|m| match &m.link {
                MappingLink::Linked { extension_id, .. } => Some(PlannedRemove {
                    object_id: m.object_id.clone(),
                    extension_id: extension_id.clone(),
                    name: m.display_name(),
                    action: OnRemove::Delete,
                    reason: RemovalCause::Disconnect,
                }),
                MappingLink::Pending { .. } => None,
            })
            .collect();
        let plan = Plan {
            summary: summary_line(0, 0, removes.len()),
            removes,
            ..Plan::default()
        };
        let progress = self.progress(tenant, record);
        let applied = self
            .apply(
                tenant,
                pbx.as_ref(),
                mappings,
                keeper,
                Actions {
                    plan: &plan,
                    removes: &plan.removes,
                    organizations: &HashMap::new(),
                    sip_passwords: &HashMap::new(),
                    progress: &progress,
                },
            )
            .await;
        let entries = self
            .delete_phonebook_entries(tenant, pbx.as_ref(), keeper)
            .await?;
        let objects = self.release_objects(tenant).await?;
        summarize(record, plan, applied, entries, &objects, keeper);
        Ok(())
    }

    /// Deletes the phonebook entries sync created (they belong to the users whose extensions
    /// the disconnect deletes), an unanswered create finished first so that it goes too.
    async fn delete_phonebook_entries(
        &self,
        tenant: &TenantId,
        pbx: &dyn Pbx,
        keeper: &LeaseKeeper,
    ) -> Result<AppliedObjects, SyncError> {
        let mut mappings = self.store.all_object_mappings(tenant).await?;
        finish_pending_entries(
            tenant,
            self.store.as_ref(),
            pbx,
            &mut mappings,
            &mut Vec::new(),
        )
        .await?;
        let removes: Vec<ObjectRemove> = mappings
            .iter()
            .filter(|m| m.kind == ObjectKind::PhonebookEntry)
            .filter_map(|m| {
                Some(ObjectRemove {
                    object_id: m.object_id.clone(),
                    pbx_id: m.pbx_id()?.to_string(),
                    name: m.name.clone(),
                    action: ObjectRemoval::Delete,
                })
            })
            .collect();
        let mut out = AppliedObjects::default();
        let applier = ObjectApplier {
            tenant,
            store: self.store.as_ref(),
            pbx,
            mappings: &mappings,
            stop: &keeper.lost,
        };
        applier
            .remove(ObjectKind::PhonebookEntry, &removes, &mut out)
            .await;
        Ok(out)
    }

    /// Disconnects without touching the PBX: every mapping is dropped, so the extensions stay
    /// as they are, managed by hand from now on. Refused while a run holds the lease.
    pub async fn release_all(&self, tenant: &TenantId) -> Result<(), SyncError> {
        let run_id = self.hold_lease(tenant).await?;
        let released = async {
            for mapping in self.store.all_mappings(tenant).await? {
                self.store
                    .delete_mapping(tenant, &mapping.object_id)
                    .await?;
            }
            self.release_objects(tenant).await?;
            Ok(self.tenants().forget_directory(tenant, false).await?)
        }
        .await;
        self.free_lease(tenant, &run_id).await;
        released
    }

    /// Drops every organization and group mapping: the PBX keeps them, managed by hand from
    /// now on (a disconnect deletes extensions only, never an organization a PBX admin may have
    /// put other extensions in). Returns what is left (nothing).
    async fn release_objects(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<crate::domain::ObjectMapping>, SyncError> {
        for mapping in self.store.all_object_mappings(tenant).await? {
            self.store
                .delete_object_mapping(tenant, mapping.kind, &mapping.object_id)
                .await?;
        }
        Ok(Vec::new())
    }
}
