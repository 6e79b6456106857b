//! Applies the phonebook side of a plan, after the extensions: creates first (a renamed
//! entry's old one deleted just before, since the PBX refuses a second entry with its
//! number), then removes. Every create's intent is written before its `POST` (the pending
//! mapping of `apply_objects`), so a run that dies mid-way leaves no duplicate: the next one
//! finishes it with the same key ([`finish_pending_entries`]).

use std::collections::{HashMap, HashSet};

use chrono::Utc;

use super::apply_objects::{AppliedObjects, ObjectApplier, Step};
use crate::domain::object_plan::{ObjectRemoval, ObjectRemove};
use crate::domain::organization::{ObjectKind, ObjectLink, ObjectMapping};
use crate::domain::phonebook::{
    split_entry_key, EntryRemove, NewPhonebookEntry, PhonebookChanges, PhonebookEntry,
};
use crate::domain::{ExtensionId, ObjectId, TenantId, MANAGED_BY};
use crate::error::{PbxError, SyncError};
use crate::ports::{Pbx, Store};

impl ObjectApplier<'_> {
    /// Creates and removes entries. A create for a user whose extension this run was to
    /// create waits until that extension exists (`planned_users` without `created`).
    pub async fn phonebook(
        &self,
        changes: &PhonebookChanges,
        planned_users: &HashSet<&ObjectId>,
        created: &HashMap<ObjectId, ExtensionId>,
        out: &mut AppliedObjects,
    ) {
        const KIND: ObjectKind = ObjectKind::PhonebookEntry;
        for create in &changes.creates {
            if self.stopped() {
                return;
            }
            if planned_users.contains(&create.object_id) && !created.contains_key(&create.object_id)
            {
                continue;
            }
            if let Some(old) = &create.replaces {
                if !self.make_room(old, &create.key, out).await {
                    continue;
                }
            }
            let request = NewPhonebookEntry {
                name: create.name.clone(),
                number: create.number.clone(),
                managed_by: MANAGED_BY.to_string(),
            };
            let key = create.idempotency_key.clone();
            let (step, _) = self
                .create(KIND, &create.key, &create.name, key, |key| {
                    let request = &request;
                    async move {
                        let entry = self.pbx.create_phonebook_entry(request, &key).await?;
                        Ok(entry.id)
                    }
                })
                .await;
            if !self.fold(step, &create.key, &create.name, out, KIND) {
                return;
            }
        }
        let removes: Vec<ObjectRemove> = changes.removes.iter().map(object_remove).collect();
        self.remove(KIND, &removes, out).await;
    }

    /// Deletes the entry of sync's that holds a create's number; another key's mapping goes
    /// with it (the create's own is overwritten by its intent). False when it failed: the
    /// create waits for the next run.
    async fn make_room(&self, old: &EntryRemove, key: &ObjectId, out: &mut AppliedObjects) -> bool {
        let deleted = self.pbx.delete_phonebook_entry(&old.entry_id).await;
        let step = match deleted {
            Ok(()) if &old.key == key => return true,
            Ok(()) => match self
                .store
                .delete_object_mapping(self.tenant, ObjectKind::PhonebookEntry, &old.key)
                .await
            {
                Ok(()) => return true,
                Err(e) => Step::Fatal(e.into()),
            },
            Err(PbxError::Unauthorized) => Step::Fatal(PbxError::Unauthorized.into()),
            Err(error) => Step::Failed(crate::domain::run::ActionKind::Remove, error),
        };
        self.fold(step, &old.key, &old.name, out, ObjectKind::PhonebookEntry);
        false
    }
}

fn object_remove(remove: &EntryRemove) -> ObjectRemove {
    ObjectRemove {
        object_id: remove.key.clone(),
        pbx_id: remove.entry_id.clone(),
        name: remove.name.clone(),
        action: ObjectRemoval::Delete,
    }
}

/// Finishes the entry creates an earlier run began but did not see answered: the same
/// request with the same key returns the entry if the first attempt made it, which is then
/// linked (and joins `listed`). A refused one made nothing: its intent is dropped.
pub(super) async fn finish_pending_entries(
    tenant: &TenantId,
    store: &dyn Store,
    pbx: &dyn Pbx,
    mappings: &mut Vec<ObjectMapping>,
    listed: &mut Vec<PhonebookEntry>,
) -> Result<(), SyncError> {
    let mut dropped: HashSet<ObjectId> = HashSet::new();
    for mapping in mappings
        .iter_mut()
        .filter(|m| m.kind == ObjectKind::PhonebookEntry)
    {
        let ObjectLink::Pending { idempotency_key } = &mapping.link else {
            continue;
        };
        let Some((number, _)) = split_entry_key(&mapping.object_id) else {
            continue;
        };
        let request = NewPhonebookEntry {
            name: mapping.name.clone(),
            number: number.to_string(),
            managed_by: MANAGED_BY.to_string(),
        };
        match pbx.create_phonebook_entry(&request, idempotency_key).await {
            Ok(entry) => {
                mapping.link = ObjectLink::Linked {
                    pbx_id: entry.id.clone(),
                };
                mapping.last_synced_at = Utc::now();
                store.put_object_mapping(tenant, mapping).await?;
                if !listed.iter().any(|e| e.id == entry.id) {
                    listed.push(entry);
                }
            }
            Err(
                PbxError::Conflict(_)
                | PbxError::ObjectConflict(_)
                | PbxError::Rejected(_)
                | PbxError::KeyReused,
            ) => {
                store
                    .delete_object_mapping(tenant, ObjectKind::PhonebookEntry, &mapping.object_id)
                    .await?;
                dropped.insert(mapping.object_id.clone());
            }
            Err(other) => return Err(other.into()),
        }
    }
    mappings.retain(|m| m.kind != ObjectKind::PhonebookEntry || !dropped.contains(&m.object_id));
    Ok(())
}
