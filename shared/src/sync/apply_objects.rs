//! Applies the organisation side of a plan: organizations created parents first before the
//! extensions that join them, groups after the extensions they hold, organizations removed
//! last (children first), once the extensions have left them. Every create's intent is
//! written before its `POST`, with the key a later run posts again with.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;

use super::apply::ApplyError;
use crate::domain::object_plan::{
    GroupChanges, GroupMembers, ObjectConflict, ObjectConflictReason, ObjectRemoval, ObjectRemove,
    OrganizationChanges,
};
use crate::domain::organization::{
    ExtensionGroupPatch, NewExtensionGroup, NewOrganization, ObjectKind, ObjectLink, ObjectMapping,
    OrganizationPatch,
};
use crate::domain::plan::ConflictReason;
use crate::domain::run::{ActionError, ActionKind};
use crate::domain::{ExtensionId, GroupId, ObjectId, OrganizationId, TenantId, MANAGED_BY};
use crate::error::PbxError;
use crate::ports::{Pbx, Store};

/// What applying the organisation side gave.
#[derive(Debug, Default)]
pub struct AppliedObjects {
    /// Organizations, groups and phonebook entries created, changed or removed, by name.
    pub organizations_changed: Vec<String>,
    pub groups_changed: Vec<String>,
    pub phonebook_changed: Vec<String>,
    pub conflicts: Vec<ObjectConflict>,
    pub errors: Vec<ActionError>,
    pub fatal: Option<ApplyError>,
}

pub struct ObjectApplier<'a> {
    pub tenant: &'a TenantId,
    pub store: &'a dyn Store,
    pub pbx: &'a dyn Pbx,
    /// The organization and group mappings when the plan was made.
    pub mappings: &'a [ObjectMapping],
    pub stop: &'a AtomicBool,
}

/// What one call gave, before it is folded into [`AppliedObjects`].
pub(super) enum Step {
    Done(String),
    Conflict(ObjectConflict),
    Failed(ActionKind, PbxError),
    Fatal(ApplyError),
}

impl ObjectApplier<'_> {
    /// Creates and changes organizations in plan order (parents first). Returns the PBX id of
    /// every organization source that has one now, for the extensions that join them.
    pub async fn organizations(
        &self,
        changes: &OrganizationChanges,
        out: &mut AppliedObjects,
    ) -> HashMap<ObjectId, OrganizationId> {
        let mut ids: HashMap<ObjectId, OrganizationId> = self
            .mappings
            .iter()
            .filter(|m| m.kind == ObjectKind::Organization)
            .filter_map(|m| {
                let id = OrganizationId::parse(m.pbx_id()?).ok()?;
                Some((m.object_id.clone(), id))
            })
            .collect();
        for create in &changes.creates {
            let parent_id = match &create.parent_source {
                None => None,
                Some(parent) => match ids.get(parent) {
                    Some(id) => Some(id.clone()),
                    // Its parent's create failed in this run: the next run tries both again.
                    None => continue,
                },
            };
            let request = NewOrganization {
                name: create.name.clone(),
                parent_id,
                managed_by: MANAGED_BY.to_string(),
            };
            let key = create.idempotency_key.clone();
            let step = self
                .create(
                    ObjectKind::Organization,
                    &create.object_id,
                    &create.name,
                    key,
                    |key| {
                        let request = &request;
                        async move {
                            let org = self.pbx.create_organization(request, &key).await?;
                            Ok(org.id.to_string())
                        }
                    },
                )
                .await;
            if let Ok(Some(pbx_id)) = &step.1 {
                if let Ok(id) = OrganizationId::parse(pbx_id.as_str()) {
                    ids.insert(create.object_id.clone(), id);
                }
            }
            if !self.fold(
                step.0,
                &create.object_id,
                &create.name,
                out,
                ObjectKind::Organization,
            ) {
                return ids;
            }
        }
        for update in &changes.updates {
            let Ok(id) = OrganizationId::parse(update.organization_id.as_str()) else {
                continue;
            };
            let parent_id = match &update.parent_source {
                None => None,
                Some(None) => Some(None),
                Some(Some(parent)) => ids.get(parent).map(|id| Some(id.clone())),
            };
            let patch = OrganizationPatch {
                name: update.changes.name.as_ref().and_then(|c| c.new.clone()),
                parent_id,
            };
            if patch == OrganizationPatch::default() || self.stopped() {
                continue;
            }
            let result = self.pbx.update_organization(&id, &patch).await.map(|_| ());
            let step = self
                .after_update(
                    ObjectKind::Organization,
                    &update.object_id,
                    &update.name,
                    result,
                )
                .await;
            if !self.fold(
                step,
                &update.object_id,
                &update.name,
                out,
                ObjectKind::Organization,
            ) {
                return ids;
            }
        }
        ids
    }

    /// Creates, changes and (with `removals`) removes groups; members created by this run are
    /// found through `created`.
    pub async fn groups(
        &self,
        changes: &GroupChanges,
        created: &HashMap<ObjectId, ExtensionId>,
        removals: bool,
        out: &mut AppliedObjects,
    ) {
        let members = |m: &GroupMembers| m.resolve(created);
        for create in &changes.creates {
            let request = NewExtensionGroup {
                name: create.name.clone(),
                members: members(&create.members),
                managed_by: MANAGED_BY.to_string(),
            };
            let key = create.idempotency_key.clone();
            let step = self
                .create(
                    ObjectKind::Group,
                    &create.object_id,
                    &create.name,
                    key,
                    |key| {
                        let request = &request;
                        async move {
                            let group = self.pbx.create_group(request, &key).await?;
                            Ok(group.id.to_string())
                        }
                    },
                )
                .await;
            if !self.fold(
                step.0,
                &create.object_id,
                &create.name,
                out,
                ObjectKind::Group,
            ) {
                return;
            }
        }
        for update in &changes.updates {
            let Ok(id) = GroupId::parse(update.group_id.as_str()) else {
                continue;
            };
            let patch = ExtensionGroupPatch {
                name: update.rename.as_ref().and_then(|c| c.new.clone()),
                members: update.members.as_ref().map(members),
            };
            if patch == ExtensionGroupPatch::default() || self.stopped() {
                continue;
            }
            let result = self.pbx.update_group(&id, &patch).await.map(|_| ());
            let step = self
                .after_update(ObjectKind::Group, &update.object_id, &update.name, result)
                .await;
            if !self.fold(
                step,
                &update.object_id,
                &update.name,
                out,
                ObjectKind::Group,
            ) {
                return;
            }
        }
        if removals {
            self.remove(ObjectKind::Group, &changes.removes, out).await;
        }
    }

    /// Removes organizations in plan order (children first).
    pub async fn remove_organizations(&self, removes: &[ObjectRemove], out: &mut AppliedObjects) {
        self.remove(ObjectKind::Organization, removes, out).await;
    }

    pub(super) async fn remove(
        &self,
        kind: ObjectKind,
        removes: &[ObjectRemove],
        out: &mut AppliedObjects,
    ) {
        for remove in removes {
            if self.stopped() {
                return;
            }
            let deleted = match remove.action {
                ObjectRemoval::Release => Ok(()),
                ObjectRemoval::Delete => match kind {
                    ObjectKind::Organization => match OrganizationId::parse(remove.pbx_id.as_str())
                    {
                        Ok(id) => self.pbx.delete_organization(&id).await,
                        Err(_) => Ok(()),
                    },
                    ObjectKind::Group => match GroupId::parse(remove.pbx_id.as_str()) {
                        Ok(id) => self.pbx.delete_group(&id).await,
                        Err(_) => Ok(()),
                    },
                    ObjectKind::PhonebookEntry => {
                        self.pbx.delete_phonebook_entry(&remove.pbx_id).await
                    }
                },
            };
            let step = match deleted {
                Ok(()) => match self
                    .store
                    .delete_object_mapping(self.tenant, kind, &remove.object_id)
                    .await
                {
                    Ok(()) => Step::Done(remove.name.clone()),
                    Err(e) => Step::Fatal(e.into()),
                },
                Err(error) => {
                    self.refused(ActionKind::Remove, &remove.object_id, &remove.name, error)
                }
            };
            if !self.fold(step, &remove.object_id, &remove.name, out, kind) {
                return;
            }
        }
    }

    /// A create: the intent (a pending mapping with its key) is stored before the `POST`, the
    /// link after. A refused create drops the intent; any other failure keeps it, since the
    /// object may exist: the next run posts again with the same key. Returns the step and
    /// the new PBX id.
    pub(super) async fn create<F, Fut>(
        &self,
        kind: ObjectKind,
        object_id: &ObjectId,
        name: &str,
        key: Option<String>,
        post: F,
    ) -> (Step, Result<Option<String>, ()>)
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = Result<String, PbxError>>,
    {
        if self.stopped() {
            return (Step::Done(String::new()), Ok(None));
        }
        let key = key.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mapping = |link| ObjectMapping {
            kind,
            object_id: object_id.clone(),
            link,
            name: name.to_string(),
            last_synced_at: Utc::now(),
        };
        let pending = mapping(ObjectLink::Pending {
            idempotency_key: key.clone(),
        });
        if let Err(e) = self.store.put_object_mapping(self.tenant, &pending).await {
            return (Step::Fatal(e.into()), Err(()));
        }
        match post(key).await {
            Ok(pbx_id) => {
                let linked = mapping(ObjectLink::Linked {
                    pbx_id: pbx_id.clone(),
                });
                match self.store.put_object_mapping(self.tenant, &linked).await {
                    Ok(()) => (Step::Done(name.to_string()), Ok(Some(pbx_id))),
                    Err(e) => (Step::Fatal(e.into()), Err(())),
                }
            }
            Err(error) => {
                let refused = matches!(
                    error,
                    PbxError::ObjectConflict(_)
                        | PbxError::Conflict(_)
                        | PbxError::LimitReached
                        | PbxError::Rejected(_)
                );
                if refused {
                    if let Err(e) = self
                        .store
                        .delete_object_mapping(self.tenant, kind, object_id)
                        .await
                    {
                        return (Step::Fatal(e.into()), Err(()));
                    }
                }
                (
                    self.refused(ActionKind::Create, object_id, name, error),
                    Err(()),
                )
            }
        }
    }

    /// After a rename, move or re-membering: the mapping's name follows; one gone from the
    /// PBX is forgotten, so the next run creates it again.
    async fn after_update(
        &self,
        kind: ObjectKind,
        object_id: &ObjectId,
        name: &str,
        result: Result<(), PbxError>,
    ) -> Step {
        let stored = self
            .mappings
            .iter()
            .find(|m| m.kind == kind && &m.object_id == object_id)
            .cloned();
        let written = match (&result, stored) {
            (Ok(()), Some(mut mapping)) => {
                mapping.name = name.to_string();
                mapping.last_synced_at = Utc::now();
                self.store.put_object_mapping(self.tenant, &mapping).await
            }
            (Err(PbxError::NotFound), Some(_)) => {
                self.store
                    .delete_object_mapping(self.tenant, kind, object_id)
                    .await
            }
            _ => Ok(()),
        };
        match (written, result) {
            (Err(e), _) => Step::Fatal(e.into()),
            (Ok(()), Ok(())) => Step::Done(name.to_string()),
            (Ok(()), Err(error)) => self.refused(ActionKind::Update, object_id, name, error),
        }
    }

    fn refused(&self, kind: ActionKind, object_id: &ObjectId, name: &str, error: PbxError) -> Step {
        let reason = match &error {
            PbxError::ObjectConflict(reason) => Some(*reason),
            PbxError::LimitReached => Some(ObjectConflictReason::LimitReached),
            // Only phonebook entries have numbers among these objects.
            PbxError::Conflict(ConflictReason::NumberTaken) => {
                Some(ObjectConflictReason::NumberTaken)
            }
            _ => None,
        };
        match (reason, error) {
            (Some(reason), _) => Step::Conflict(ObjectConflict {
                object_id: object_id.clone(),
                name: name.to_string(),
                reason,
                holder_id: None,
            }),
            (None, PbxError::Unauthorized) => Step::Fatal(PbxError::Unauthorized.into()),
            (None, error) => Step::Failed(kind, error),
        }
    }

    /// Folds a step in; false when the run must stop (a fatal error).
    pub(super) fn fold(
        &self,
        step: Step,
        object_id: &ObjectId,
        name: &str,
        out: &mut AppliedObjects,
        kind: ObjectKind,
    ) -> bool {
        match step {
            Step::Done(done) if done.is_empty() => {}
            Step::Done(done) => match kind {
                ObjectKind::Organization => out.organizations_changed.push(done),
                ObjectKind::Group => out.groups_changed.push(done),
                ObjectKind::PhonebookEntry => out.phonebook_changed.push(done),
            },
            Step::Conflict(conflict) => out.conflicts.push(conflict),
            Step::Failed(kind, error) => out.errors.push(ActionError {
                kind,
                object_id: object_id.clone(),
                extension_id: None,
                name: name.to_string(),
                message: error.to_string(),
            }),
            Step::Fatal(error) => {
                self.stop.store(true, Ordering::SeqCst);
                out.fatal.get_or_insert(error);
                return false;
            }
        }
        true
    }

    pub(super) fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}
