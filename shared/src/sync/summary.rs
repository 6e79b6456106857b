//! A finished run's record: counts, the summary line, names, the outcome.

use std::sync::atomic::Ordering;

use super::apply::Applied;
use super::apply_objects::AppliedObjects;
use super::lease::LeaseKeeper;
use crate::domain::plan::summary_line;
use crate::domain::run::{listed_names, Counts};
use crate::domain::{ObjectKind, ObjectMapping, Outcome, Plan, RunRecord};
use crate::error::SyncError;

/// Fills the run record from the plan and what applying it gave.
pub(super) fn summarize(
    record: &mut RunRecord,
    plan: Plan,
    applied: Applied,
    objects: AppliedObjects,
    synced: &[ObjectMapping],
    keeper: &LeaseKeeper,
) {
    let fatal = applied.fatal.or(objects.fatal);
    let lease_lost = keeper.lost.load(Ordering::SeqCst) && fatal.is_none();
    let s = &mut record.summary;
    s.counts = Counts {
        new: applied.created.len(),
        updated: applied.updated.len(),
        removed: applied.removed.len(),
        skipped: plan.skipped.len(),
        conflicts: plan.conflicts.len() + applied.conflicts.len(),
        unchanged: plan.unchanged,
        organizations: count_linked(synced, ObjectKind::Organization),
        extension_groups: count_linked(synced, ObjectKind::Group),
    };
    s.summary = summary_line(s.counts.new, s.counts.updated, s.counts.removed);
    if plan.removals_held {
        s.summary.push_str(&format!(
            " ({} removals held for approval)",
            plan.removes.len()
        ));
    }
    s.new = listed_names(applied.created);
    s.updated = listed_names(applied.updated);
    s.removed = listed_names(applied.removed);
    let fatal = fatal
        .map(|error| error.to_string())
        .or_else(|| lease_lost.then(|| SyncError::LeaseLost.to_string()));
    s.outcome = if let Some(message) = fatal {
        s.error = Some(message);
        Outcome::Failed
    } else if !applied.errors.is_empty() || !objects.errors.is_empty() {
        s.error = Some(format!(
            "{} changes failed; they are retried on the next run",
            applied.errors.len() + objects.errors.len()
        ));
        Outcome::Partial
    } else if plan.removals_held {
        Outcome::Held
    } else {
        Outcome::Success
    };
    record.apply_conflicts = applied.conflicts;
    record.object_conflicts = objects.conflicts;
    record.errors = applied.errors;
    record.errors.extend(objects.errors);
    record.plan = Some(plan);
}

/// Organizations or groups of that kind linked to the PBX: how many sync manages.
fn count_linked(mappings: &[ObjectMapping], kind: ObjectKind) -> usize {
    mappings
        .iter()
        .filter(|m| m.kind == kind && m.pbx_id().is_some())
        .count()
}
