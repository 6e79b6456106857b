//! What a plan is made from: the directory (its changes where allowed), the PBX's extensions,
//! the mappings, and the organisation side, read all at once where nothing decides first.

use std::sync::Arc;

use chrono::Utc;

use super::engine::SyncEngine;
use super::read_state::{
    list_pbx, needs_body, read_directory, resolve, unchanged_reads, Kept, ReadsDone,
};
use super::sip_passwords::seal_sip_passwords;
use crate::domain::config::{GroupSync, OrganizationSync};
use crate::domain::phonebook::PhonebookEntry;
use crate::domain::{
    DirectoryConfig, Extension, ExtensionGroup, Mapping, ObjectKind, ObjectMapping, Organization,
    Snapshot, TenantId,
};
use crate::error::SyncError;
use crate::ports::{Pbx, TenantSecrets};

/// Everything a plan is made from.
pub(super) struct Gathered {
    /// Which reads were made, and what the run keeps of them.
    pub reads: ReadsDone,
    pub snapshot: Snapshot,
    pub mappings: Vec<Mapping>,
    pub extensions: Vec<Extension>,
    pub objects: GatheredObjects,
}

/// What [`SyncEngine::gather_reads`] found.
pub(super) enum Gathering {
    /// Something may have changed: plan on these.
    Planned(Box<Gathered>),
    /// Nothing changed since a run that left nothing to do: the plan would be empty.
    Unchanged(Box<ReadsDone>),
}

/// The organisation side of what a plan is made from.
#[derive(Default)]
pub(super) struct GatheredObjects {
    pub mappings: Vec<ObjectMapping>,
    pub organizations: Vec<Organization>,
    pub groups: Vec<ExtensionGroup>,
    pub phonebook: Vec<PhonebookEntry>,
}

impl SyncEngine {
    /// Reads the directory (its changes since the kept read where allowed, see `Kept`), the
    /// PBX and the mappings, all at once, the first two on tasks of their own so that their
    /// decoding can use another core (reads only: nothing changes before all are in). A
    /// directory read that is not complete is an error: it must never look like users were
    /// deleted. When the run may skip planning, the directory and PBX are read first, with
    /// the kept head alone; the kept body, the mappings and the rest only if something
    /// changed.
    pub(super) async fn gather_reads(
        &self,
        tenant: &TenantId,
        config: &DirectoryConfig,
        secrets: &TenantSecrets,
        pbx: &Arc<dyn Pbx>,
        kept: Kept,
    ) -> Result<Gathering, SyncError> {
        let directory = self
            .connector
            .tenant_directory(tenant, &self.store, config, secrets)?;
        let read_directory = read_directory(directory, &kept);
        let list_pbx = list_pbx(pbx.clone(), &kept);
        let read_mappings = async { Ok::<_, SyncError>(self.store.all_mappings(tenant).await?) };
        let read_objects = self.gather_objects(tenant, config, pbx.clone());
        let (directory, listed, body, mappings, objects) = if kept.may_skip() {
            let (directory, listed) = tokio::try_join!(read_directory, list_pbx)?;
            if kept.unchanged(config, &directory, &listed, Utc::now()) {
                let reads = unchanged_reads(kept, &directory);
                return Ok(Gathering::Unchanged(Box::new(reads)));
            }
            let body = self.kept_body(tenant, &kept, needs_body(&directory, &listed));
            let (body, mappings, objects) = tokio::try_join!(body, read_mappings, read_objects)?;
            (directory, listed, body, mappings, objects)
        } else {
            let body = self.kept_body(tenant, &kept, kept.may_need_body());
            tokio::try_join!(read_directory, list_pbx, body, read_mappings, read_objects)?
        };
        let resolved = resolve(kept, directory, listed, body, Utc::now())?;
        let mut snapshot = resolved.snapshot;
        seal_sip_passwords(&mut snapshot, secrets);
        Ok(Gathering::Planned(Box::new(Gathered {
            reads: resolved.reads,
            snapshot,
            mappings,
            extensions: resolved.extensions,
            objects,
        })))
    }

    /// [`SyncEngine::gather_reads`] in full, keeping nothing: what previews and associations
    /// look at.
    pub(super) async fn gather(
        &self,
        tenant: &TenantId,
        config: &DirectoryConfig,
        secrets: &TenantSecrets,
        pbx: &Arc<dyn Pbx>,
    ) -> Result<Gathered, SyncError> {
        match self
            .gather_reads(tenant, config, secrets, pbx, Kept::nothing())
            .await?
        {
            Gathering::Planned(gathered) => Ok(*gathered),
            // Only a kept state allows skipping; there is none here.
            Gathering::Unchanged(_) => Err(SyncError::NotConfigured("kept read state")),
        }
    }

    /// The organization and group mappings, and the PBX's organizations and groups where the
    /// config syncs them or mappings of them exist (to release or delete): a tenant that syncs
    /// neither lists neither.
    async fn gather_objects(
        &self,
        tenant: &TenantId,
        config: &DirectoryConfig,
        pbx: Arc<dyn Pbx>,
    ) -> Result<GatheredObjects, SyncError> {
        let mappings = self.store.all_object_mappings(tenant).await?;
        let has = |kind| mappings.iter().any(|m: &ObjectMapping| m.kind == kind);
        let organizations_on = !matches!(config.organizations.sync, OrganizationSync::None)
            || has(ObjectKind::Organization);
        let groups_on =
            !matches!(config.extension_groups.sync, GroupSync::None) || has(ObjectKind::Group);
        let organizations = async {
            match organizations_on {
                true => pbx.list_organizations().await,
                false => Ok(Vec::new()),
            }
        };
        let groups = async {
            match groups_on {
                true => pbx.list_groups().await,
                false => Ok(Vec::new()),
            }
        };
        let phonebook = async {
            match !config.extra_numbers.is_empty() || has(ObjectKind::PhonebookEntry) {
                true => pbx.list_phonebook().await,
                false => Ok(Vec::new()),
            }
        };
        let (organizations, groups, phonebook) =
            tokio::try_join!(organizations, groups, phonebook)?;
        Ok(GatheredObjects {
            mappings,
            organizations,
            groups,
            phonebook,
        })
    }
}
