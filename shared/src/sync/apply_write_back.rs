//! `write_back`: after the extensions are applied, the planned numbers are written to the
//! directory. A refused write is a `write_back_failed` conflict of the run, never a failed
//! run: the extension stands, and since the directory still lacks the number, the next run's
//! plan writes it again.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use super::apply::Applied;
use super::engine::SyncEngine;
use super::lease::LeaseKeeper;
use crate::domain::plan::{Conflict, ConflictReason, PlannedWriteBack};
use crate::domain::{DirectoryConfig, DirectoryUser, Plan, Snapshot, TenantId};
use crate::ports::TenantSecrets;

impl SyncEngine {
    /// Writes the plan's write-backs whose extension exists by now (a create's only once it
    /// succeeded); each refusal joins `applied.conflicts`.
    pub(super) async fn write_back(
        &self,
        tenant: &TenantId,
        (config, secrets): (&DirectoryConfig, &TenantSecrets),
        plan: &Plan,
        snapshot: &Snapshot,
        applied: &mut Applied,
        keeper: &LeaseKeeper,
    ) {
        let Some(write_back) = &config.write_back else {
            return;
        };
        if plan.write_backs.is_empty()
            || applied.fatal.is_some()
            || keeper.lost.load(Ordering::SeqCst)
        {
            return;
        }
        let users: HashMap<_, &DirectoryUser> =
            snapshot.users.iter().map(|u| (&u.object_id, u)).collect();
        let due: Vec<(&PlannedWriteBack, &DirectoryUser)> = plan
            .write_backs
            .iter()
            .filter(|w| !w.after_create || applied.created_ids.contains_key(&w.object_id))
            .filter_map(|w| Some((w, *users.get(&w.object_id)?)))
            .collect();
        if due.is_empty() {
            return;
        }
        let refuse_all = |applied: &mut Applied, message: &str| {
            for (planned, _) in &due {
                tracing::warn!(tenant = %tenant, object_id = %planned.object_id, error = %message, "write-back failed");
                applied.conflicts.push(conflict(planned, applied));
            }
        };
        let directory = match self.connector.directory(config, secrets) {
            Ok(directory) => directory,
            Err(error) => return refuse_all(applied, &error.to_string()),
        };
        let writes: Vec<(&DirectoryUser, &str)> = due
            .iter()
            .map(|(planned, user)| (*user, planned.number.as_str()))
            .collect();
        let results = directory.write_back(&write_back.attribute, &writes).await;
        for ((planned, _), result) in due.iter().zip(results) {
            if let Err(error) = result {
                tracing::warn!(tenant = %tenant, object_id = %planned.object_id, error = %error, "write-back failed");
                let conflict = conflict(planned, applied);
                applied.conflicts.push(conflict);
            }
        }
    }
}

/// The conflict of a refused write-back, with the user's extension.
fn conflict(planned: &PlannedWriteBack, applied: &Applied) -> Conflict {
    Conflict {
        object_id: planned.object_id.clone(),
        name: planned.name.clone(),
        reason: ConflictReason::WriteBackFailed,
        holder_extension_id: planned
            .extension_id
            .clone()
            .or_else(|| applied.created_ids.get(&planned.object_id).cloned()),
    }
}
