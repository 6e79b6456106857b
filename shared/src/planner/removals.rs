//! Removals: which mapped extensions go, the deletion guard, and what that frees.

use std::collections::HashSet;

use crate::domain::config::{DirectoryConfig, OnRemove, RemoveReason};
use crate::domain::ids::{ExtensionId, ObjectId};
use crate::domain::mapping::{Mapping, MappingLink};
use crate::domain::object_plan::ObjectRemoval;
use crate::domain::plan::{summary_line, Plan, PlannedRemove};
use crate::domain::user::Coverage;
use crate::planner::PlanInput;

/// The removal of a mapped user's extension, if one is still to do. A pending create intent
/// has no extension to remove (the engine reconciles it first), and an extension this sync
/// already disabled is not disabled again.
pub(super) fn remove_of(
    mapping: &Mapping,
    name: String,
    reason: RemoveReason,
    action: OnRemove,
) -> Option<PlannedRemove> {
    let MappingLink::Linked {
        extension_id,
        disabled_by_sync,
    } = &mapping.link
    else {
        return None;
    };
    if action == OnRemove::Disable && *disabled_by_sync {
        return None;
    }
    Some(PlannedRemove {
        object_id: mapping.object_id.clone(),
        extension_id: extension_id.clone(),
        name,
        action,
        reason: reason.into(),
    })
}

/// Why a mapped user absent from the snapshot is removed, if it is. A read of the whole
/// directory proves deletion; a read of the scope alone cannot tell deleted from out of
/// scope, so both must be removal reasons.
pub(super) fn absent_reason(coverage: Coverage, config: &DirectoryConfig) -> Option<RemoveReason> {
    let removes = match coverage {
        Coverage::WholeDirectory => config.removes_on(RemoveReason::Deleted),
        Coverage::ScopeOnly => {
            config.removes_on(RemoveReason::Deleted) && config.removes_on(RemoveReason::OutOfScope)
        }
    };
    removes.then_some(RemoveReason::Deleted)
}

/// The deletion guard: more removals than `max_deletes` are held for approval.
pub(super) fn held(
    removes: &[PlannedRemove],
    config: &DirectoryConfig,
    approved: &HashSet<ObjectId>,
) -> bool {
    let unapproved = removes
        .iter()
        .filter(|r| !approved.contains(&r.object_id))
        .count();
    unapproved > config.deletion_guard.max_deletes as usize
}

/// The deletion guard over the whole plan: its extension removals and the organizations and
/// groups it deletes (releasing one changes nothing on the PBX, so it does not count).
pub(super) fn held_with_objects(plan: &Plan, input: &PlanInput<'_>) -> bool {
    let approved = input.approved_removals;
    let objects = plan
        .organizations
        .removes
        .iter()
        .chain(&plan.extension_groups.removes)
        .filter(|r| r.action == ObjectRemoval::Delete && !approved.contains(&r.object_id))
        .count();
    let extensions = plan
        .removes
        .iter()
        .filter(|r| !approved.contains(&r.object_id))
        .count();
    extensions + objects > input.config.deletion_guard.max_deletes as usize
}

/// Whether a removal ends the mapping (and so frees its record place).
fn drops_mapping(action: OnRemove) -> bool {
    matches!(action, OnRemove::Delete | OnRemove::Keep)
}

/// What removals that will be applied free: the mappings dropped, the extensions deleted and
/// those released to manual management. Held removals free nothing.
pub(super) struct Freed<'a> {
    pub dropped: HashSet<&'a ObjectId>,
    pub deleted: HashSet<&'a ExtensionId>,
    pub released: HashSet<&'a ExtensionId>,
}

pub(super) fn freed(removes: &[PlannedRemove], held: bool) -> Freed<'_> {
    let mut freed = Freed {
        dropped: HashSet::new(),
        deleted: HashSet::new(),
        released: HashSet::new(),
    };
    if held {
        return freed;
    }
    for remove in removes {
        if drops_mapping(remove.action) {
            freed.dropped.insert(&remove.object_id);
        }
        match remove.action {
            OnRemove::Delete => freed.deleted.insert(&remove.extension_id),
            OnRemove::Keep => freed.released.insert(&remove.extension_id),
            OnRemove::Disable => false,
        };
    }
    freed
}

/// The plan's summary; held removals count as none, with a note of how many wait.
pub(super) fn summary(creates: usize, updates: usize, removes: usize, held: bool) -> String {
    if held {
        format!(
            "{} ({removes} removals held for approval)",
            summary_line(creates, updates, 0)
        )
    } else {
        summary_line(creates, updates, removes)
    }
}
