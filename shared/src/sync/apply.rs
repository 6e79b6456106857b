//! Applies a plan's actions to the PBX, recording every mapping change (batched: see
//! [`MappingWrites`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::Utc;
use futures::stream::{FuturesUnordered, StreamExt};

use super::mapping_writes::{MappingWriteError, MappingWrites};
use super::progress::RunProgress;
use crate::domain::config::OnRemove;
use crate::domain::plan::{
    Conflict, ConflictReason, ExtensionPatch, PlannedCreate, PlannedRemove, PlannedUpdate,
};
use crate::domain::run::{ActionError, ActionKind};
use crate::domain::sip_password::SipPassword;
use crate::domain::{
    Extension, ExtensionId, Mapping, MappingLink, ObjectId, OrganizationId, TenantId,
};
use crate::error::{PbxError, StoreError};
use crate::ports::{Pbx, Store};

/// What applying gave: the names per category, conflicts the PBX reported, and failures.
#[derive(Debug, Default)]
pub struct Applied {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
    /// The extension each create made, by its user: the groups' new members.
    pub created_ids: HashMap<ObjectId, ExtensionId>,
    pub conflicts: Vec<Conflict>,
    pub errors: Vec<ActionError>,
    /// Set when an error makes every further call pointless (401, lost store): the run fails.
    pub fatal: Option<ApplyError>,
}

/// Why applying stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The PBX refused the token: every other call would be refused too.
    #[error(transparent)]
    Pbx(#[from] PbxError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    MappingWrite(#[from] MappingWriteError),
}

/// One action's result, folded into [`Applied`].
enum Done {
    Created(String, ObjectId, ExtensionId),
    Updated(String),
    Removed(String),
    Conflict(Conflict),
    Failed(ActionError),
    Fatal(ApplyError),
}

pub struct Applier<'a> {
    pub tenant: &'a TenantId,
    pub store: &'a dyn Store,
    pub pbx: &'a dyn Pbx,
    /// The mappings of the plan's updates and removals when the plan was made, by object id.
    pub mappings: &'a HashMap<ObjectId, Mapping>,
    /// The PBX id of each organization source placed by now, for updates that move an
    /// extension into one.
    pub organizations: &'a HashMap<ObjectId, OrganizationId>,
    /// `fields.sip_password`: each user's password, sent with creates and password changes.
    pub sip_passwords: &'a HashMap<ObjectId, SipPassword>,
    /// Where the counts so far go, every few seconds.
    pub progress: &'a RunProgress<'a>,
    pub concurrency: usize,
    /// Raised by the lease keeper when the lease is lost, and by fatal errors: stops new calls.
    pub stop: Arc<AtomicBool>,
}

/// One planned action, so that all kinds go through one bounded stream.
#[derive(Clone, Copy)]
enum Action<'p> {
    /// The create and its place in the plan's creates (which intent batch it is in).
    Create(usize, &'p PlannedCreate),
    Update(&'p PlannedUpdate),
    Remove(&'p PlannedRemove),
}

impl Applier<'_> {
    pub async fn apply(
        &self,
        creates: &[PlannedCreate],
        updates: &[PlannedUpdate],
        removes: &[PlannedRemove],
    ) -> Applied {
        let mut applied = Applied::default();
        let writes = MappingWrites::new(self.tenant, self.store, creates);
        // Creates and updates first, removals last: a run cut short has done the least harm.
        let first: Vec<Action<'_>> = updates
            .iter()
            .map(Action::Update)
            .chain(
                creates
                    .iter()
                    .enumerate()
                    .map(|(i, c)| Action::Create(i, c)),
            )
            .collect();
        self.run_all(first, &writes, &mut applied).await;
        let removals = removes.iter().map(Action::Remove).collect();
        self.run_all(removals, &writes, &mut applied).await;
        if let Err(error) = writes.flush().await {
            applied.fatal.get_or_insert(error.into());
        }
        applied
    }

    async fn run_all(
        &self,
        actions: Vec<Action<'_>>,
        writes: &MappingWrites<'_>,
        applied: &mut Applied,
    ) {
        // At most `concurrency` actions in flight; a new one starts as each finishes.
        let mut waiting = actions.into_iter();
        let mut in_flight = FuturesUnordered::new();
        loop {
            while in_flight.len() < self.concurrency.max(1) {
                match waiting.next() {
                    Some(action) => in_flight.push(self.run_one(action, writes)),
                    None => break,
                }
            }
            let Some(done) = in_flight.next().await else {
                return;
            };
            match done {
                None => {}
                Some(Done::Created(n, user, extension)) => {
                    applied.created.push(n);
                    applied.created_ids.insert(user, extension);
                }
                Some(Done::Updated(n)) => applied.updated.push(n),
                Some(Done::Removed(n)) => applied.removed.push(n),
                Some(Done::Conflict(c)) => applied.conflicts.push(c),
                Some(Done::Failed(e)) => applied.errors.push(e),
                Some(Done::Fatal(error)) => {
                    self.stop.store(true, Ordering::SeqCst);
                    applied.fatal.get_or_insert(error);
                }
            }
            self.progress.report(applied).await;
        }
    }

    /// Runs one action unless the run was stopped; stopped actions are simply not done.
    async fn run_one(&self, action: Action<'_>, writes: &MappingWrites<'_>) -> Option<Done> {
        if self.stop.load(Ordering::SeqCst) {
            return None;
        }
        Some(match action {
            Action::Create(index, c) => self.create(index, c, writes).await,
            Action::Update(u) => self.update(u, writes).await,
            Action::Remove(r) => self.remove(r, writes).await,
        })
    }

    async fn create(
        &self,
        index: usize,
        create: &PlannedCreate,
        writes: &MappingWrites<'_>,
    ) -> Done {
        // The intent is durable before the PBX hears of it: a crash from here on is reconciled
        // by replaying the same request with the same key (see `reconcile_pending`).
        let (pending, key) = match writes.durable_intent(index).await {
            Ok(intent) => intent,
            Err(error) => return Done::Fatal(error.into()),
        };
        let password = self.sip_passwords.get(&create.object_id);
        match self
            .pbx
            .create_extension_with(&create.request, password, key)
            .await
        {
            Ok(extension) => {
                let mut linked = linked(pending.clone(), &extension, false);
                linked.sip_password_hash = sent_hash(password);
                match writes.record(linked).await {
                    Ok(()) => Done::Created(
                        create.name.clone(),
                        create.object_id.clone(),
                        extension.id.clone(),
                    ),
                    Err(error) => Done::Fatal(error.into()),
                }
            }
            Err(error) => {
                let definite = matches!(
                    error,
                    PbxError::Conflict(_) | PbxError::LimitReached | PbxError::Rejected(_)
                );
                // A refused create created nothing: drop the intent. Any other failure may have
                // created the extension, so the intent stays for the next run to reconcile.
                if definite {
                    if let Err(e) = self
                        .store
                        .delete_mapping(self.tenant, &create.object_id)
                        .await
                    {
                        return Done::Fatal(e.into());
                    }
                }
                let conflict = |reason| {
                    Done::Conflict(Conflict {
                        object_id: create.object_id.clone(),
                        name: create.name.clone(),
                        reason,
                        holder_extension_id: None,
                    })
                };
                match error {
                    PbxError::Conflict(reason) => conflict(reason),
                    PbxError::LimitReached => conflict(ConflictReason::LimitReached),
                    other => self.failed(
                        ActionKind::Create,
                        create.object_id.clone(),
                        None,
                        &create.name,
                        other,
                    ),
                }
            }
        }
    }

    async fn update(&self, update: &PlannedUpdate, writes: &MappingWrites<'_>) -> Done {
        let mut patch = update.changes.patch();
        match &update.organization_source {
            None => {}
            Some(None) => patch.organization_id = Some(None),
            // An organization whose create failed in this run: the move waits for the next.
            Some(Some(source)) => {
                patch.organization_id = self.organizations.get(source).cloned().map(Some)
            }
        }
        let password = update
            .changes
            .sip_password
            .as_ref()
            .and_then(|_| self.sip_passwords.get(&update.object_id));
        patch.sip_password = password.cloned();
        let result = if patch == ExtensionPatch::default() {
            // Adoption with nothing to change (or only a move that must wait): only the
            // mapping is written.
            None
        } else {
            Some(
                self.pbx
                    .update_extension(&update.extension_id, &patch)
                    .await,
            )
        };
        let extension = match result {
            None => None,
            Some(Ok(extension)) => Some(extension),
            Some(Err(PbxError::Conflict(reason))) => {
                return Done::Conflict(Conflict {
                    object_id: update.object_id.clone(),
                    name: update.name.clone(),
                    reason,
                    holder_extension_id: None,
                })
            }
            Some(Err(PbxError::NotFound)) => {
                // Deleted on the PBX since it was listed: forget it, the next run creates it again.
                if let Err(e) = self
                    .store
                    .delete_mapping(self.tenant, &update.object_id)
                    .await
                {
                    return Done::Fatal(e.into());
                }
                return self.failed(
                    ActionKind::Update,
                    update.object_id.clone(),
                    Some(&update.extension_id),
                    &update.name,
                    PbxError::NotFound,
                );
            }
            Some(Err(other)) => {
                return self.failed(
                    ActionKind::Update,
                    update.object_id.clone(),
                    Some(&update.extension_id),
                    &update.name,
                    other,
                )
            }
        };
        let mut mapping = self.mapping_for_update(update, extension.as_ref());
        mapping.last_synced_at = Utc::now();
        if extension.is_some() && password.is_some() {
            mapping.sip_password_hash = sent_hash(password);
        }
        match writes.record(mapping).await {
            Ok(()) => Done::Updated(update.name.clone()),
            Err(error) => Done::Fatal(error.into()),
        }
    }

    /// The mapping after an update: the PBX's answer when there is one, else the stored one.
    fn mapping_for_update(&self, update: &PlannedUpdate, extension: Option<&Extension>) -> Mapping {
        let stored = (!update.adopt)
            .then(|| self.mappings.get(&update.object_id).cloned())
            .flatten();
        let base = stored.unwrap_or_else(|| Mapping {
            avatar_seen: None,
            avatar_sha256: None,
            object_id: update.object_id.clone(),
            link: MappingLink::Linked {
                extension_id: update.extension_id.clone(),
                disabled_by_sync: false,
            },
            number: String::new(),
            first_name: None,
            last_name: None,
            email: None,
            last_synced_at: Utc::now(),
            sip_password_hash: None,
        });
        match extension {
            Some(ext) => linked(base, ext, false),
            None => base,
        }
    }

    async fn remove(&self, remove: &PlannedRemove, writes: &MappingWrites<'_>) -> Done {
        let id = &remove.extension_id;
        let outcome = match remove.action {
            OnRemove::Delete => self.pbx.delete_extension(id).await.map(|()| None),
            OnRemove::Disable => {
                match self
                    .pbx
                    .update_extension(id, &ExtensionPatch::disable())
                    .await
                {
                    Ok(ext) => Ok(Some(ext)),
                    // Gone already: nothing left to disable, so the mapping goes too.
                    Err(PbxError::NotFound) => Ok(None),
                    Err(e) => Err(e),
                }
            }
            OnRemove::Keep => Ok(None),
        };
        let written = match outcome {
            Err(error) => {
                return self.failed(
                    ActionKind::Remove,
                    remove.object_id.clone(),
                    Some(id),
                    &remove.name,
                    error,
                )
            }
            Ok(Some(disabled)) => match self.mappings.get(&remove.object_id) {
                Some(m) => writes
                    .record(linked(m.clone(), &disabled, true))
                    .await
                    .map_err(ApplyError::from),
                None => Ok(()),
            },
            Ok(None) => self
                .store
                .delete_mapping(self.tenant, &remove.object_id)
                .await
                .map_err(ApplyError::from),
        };
        match written {
            Ok(()) => Done::Removed(remove.name.clone()),
            Err(error) => Done::Fatal(error),
        }
    }

    fn failed(
        &self,
        kind: ActionKind,
        object_id: ObjectId,
        extension_id: Option<&ExtensionId>,
        name: &str,
        error: PbxError,
    ) -> Done {
        if matches!(error, PbxError::Unauthorized) {
            return Done::Fatal(error.into());
        }
        Done::Failed(ActionError {
            kind,
            object_id,
            extension_id: extension_id.cloned(),
            name: name.to_string(),
            message: error.to_string(),
        })
    }
}

/// What a mapping keeps of the SIP password a call sent: its keyed hash.
fn sent_hash(password: Option<&SipPassword>) -> Option<String> {
    password.and_then(|p| p.keyed_hash()).map(str::to_string)
}

/// The mapping linked to `extension`, carrying the values the PBX now holds.
pub(crate) fn linked(
    mut mapping: Mapping,
    extension: &Extension,
    disabled_by_sync: bool,
) -> Mapping {
    mapping.link = MappingLink::Linked {
        extension_id: extension.id.clone(),
        disabled_by_sync,
    };
    mapping.number = extension.number.clone();
    mapping.first_name = extension.first_name.clone();
    mapping.last_name = extension.last_name.clone();
    mapping.email = extension.email.clone();
    mapping.last_synced_at = Utc::now();
    mapping
}
