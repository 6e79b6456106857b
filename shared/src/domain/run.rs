//! Sync runs: the summary the API lists and the full record a run leaves.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{ExtensionId, ObjectId, RunId};
use super::mapping::{Mapping, MappingLink};
use super::object_plan::ObjectConflict;
use super::plan::{Conflict, Plan};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Schedule,
    Manual,
    Disconnect,
    /// A SCIM push changed the tenant's directory (CONTRACTS section 6).
    Push,
}

/// The summary of a run the API claimed and queued, before its worker starts it.
pub const QUEUED_SUMMARY: &str = "Queued";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Running,
    Success,
    Partial,
    Failed,
    Held,
    /// The worker stopped before the run finished (its lease expired and a later run took
    /// over): see [`RunSummary::close_interrupted`].
    Interrupted,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub new: usize,
    pub updated: usize,
    pub removed: usize,
    pub skipped: usize,
    pub conflicts: usize,
    pub unchanged: usize,
    /// Organizations and extension groups that sync manages after the run.
    #[serde(default)]
    pub organizations: usize,
    #[serde(default)]
    pub extension_groups: usize,
}

/// How many names a category lists before only its count speaks (CONTRACTS section 1).
pub const MAX_LISTED_NAMES: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: RunId,
    pub trigger: Trigger,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Outcome,
    pub counts: Counts,
    pub summary: String,
    pub new: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
    pub error: Option<String>,
    /// Which reads the run made (absent on runs that read nothing, and on older records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reads: Option<RunReads>,
}

/// Which reads a sync run made: in full, or only what changed since the last run (issue 17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReads {
    pub directory: DirectoryRead,
    pub pbx: PbxRead,
    /// False when nothing changed on either side since a run that left nothing to do: the run
    /// then skipped reading the mappings and planning (the plan would have been empty).
    #[serde(default = "planned_default")]
    pub planned: bool,
    /// The requests (pages and lookups) a change-only read made; absent after a full read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory_requests: Option<usize>,
}

fn planned_default() -> bool {
    true
}

/// How a run read the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryRead {
    /// Every user (and organization and group).
    Full,
    /// Only what changed, merged into the snapshot kept from the last run.
    Changes,
}

/// How a run listed the PBX's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PbxRead {
    /// Every page.
    Full,
    /// 304 to the last listing's ETag: the listing kept from the last run.
    NotModified,
}

impl RunSummary {
    pub fn started(run_id: RunId, trigger: Trigger, now: DateTime<Utc>) -> Self {
        Self {
            run_id,
            trigger,
            started_at: now,
            finished_at: None,
            outcome: Outcome::Running,
            counts: Counts::default(),
            summary: "Running".to_string(),
            new: Vec::new(),
            updated: Vec::new(),
            removed: Vec::new(),
            error: None,
            reads: None,
        }
    }

    /// Closes a run whose worker stopped before it finished, with what the tenant's `mappings`
    /// show it did. They must be read before the run that took over changes any: the run held
    /// the tenant's lease from its start, so every mapping synced at or after `started_at` is
    /// its own. A pending one is a create in doubt (the PBX may or may not have made it; the
    /// next run finishes it with the same idempotency key); a linked one disabled by sync is a
    /// removal; any other linked one was created or updated (a mapping does not record which:
    /// both count as `new`, and the summary line says "new or updated").
    /// Removals that deleted an extension leave no mapping, so they are not counted.
    pub fn close_interrupted(&mut self, mappings: &[Mapping], now: DateTime<Utc>) {
        let mut synced = Vec::new();
        let mut removed = Vec::new();
        let mut in_doubt = 0;
        for mapping in mappings
            .iter()
            .filter(|m| m.last_synced_at >= self.started_at)
        {
            match mapping.link {
                MappingLink::Pending { .. } => in_doubt += 1,
                MappingLink::Linked {
                    disabled_by_sync: true,
                    ..
                } => removed.push(mapping.display_name()),
                MappingLink::Linked { .. } => synced.push(mapping.display_name()),
            }
        }
        self.outcome = Outcome::Interrupted;
        self.finished_at = Some(now);
        self.counts = Counts {
            new: synced.len(),
            removed: removed.len(),
            ..Counts::default()
        };
        let doubt = match in_doubt {
            0 => String::new(),
            1 => "; 1 create in doubt".to_string(),
            n => format!("; {n} creates in doubt"),
        };
        self.summary = format!(
            "{} new or updated, {} removed (interrupted{doubt})",
            synced.len(),
            removed.len()
        );
        self.new = listed_names(synced);
        self.updated = Vec::new();
        self.removed = listed_names(removed);
        self.error = Some(format!(
            "interrupted: the worker stopped before the run finished; the counts are what its \
             mappings show{}",
            if in_doubt == 0 {
                ""
            } else {
                ", and the creates in doubt are finished by the next run"
            }
        ));
    }
}

/// The names of a category, sorted (changes finish in any order when applied concurrently), or
/// none when there are more than [`MAX_LISTED_NAMES`].
pub fn listed_names(mut names: Vec<String>) -> Vec<String> {
    if names.len() <= MAX_LISTED_NAMES {
        names.sort();
        names
    } else {
        Vec::new()
    }
}

/// What happened to one planned action when it was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Create,
    Update,
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionError {
    pub kind: ActionKind,
    pub object_id: ObjectId,
    pub extension_id: Option<ExtensionId>,
    pub name: String,
    pub message: String,
}

/// A run in full: the summary, the plan it applied, and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    #[serde(flatten)]
    pub summary: RunSummary,
    pub plan: Option<Plan>,
    /// Conflicts the PBX reported while applying (409 on a create or update).
    pub apply_conflicts: Vec<Conflict>,
    pub errors: Vec<ActionError>,
    /// Organization and group changes the PBX refused (409 `name_taken`, `in_use`, ...).
    #[serde(default)]
    pub object_conflicts: Vec<ObjectConflict>,
    /// For a held run: the run that applies its removals since an admin approved them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<RunId>,
}

impl RunRecord {
    /// The record of a run that has only started.
    pub fn new(summary: RunSummary) -> Self {
        Self {
            summary,
            plan: None,
            apply_conflicts: Vec::new(),
            errors: Vec::new(),
            object_conflicts: Vec::new(),
            approved_by: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).rev().map(|i| format!("User {i}")).collect()
    }

    #[test]
    fn names_are_listed_sorted_up_to_five() {
        assert_eq!(
            listed_names(names(MAX_LISTED_NAMES)),
            ["User 0", "User 1", "User 2", "User 3", "User 4"]
        );
        assert!(listed_names(names(MAX_LISTED_NAMES + 1)).is_empty());
        assert!(listed_names(Vec::new()).is_empty());
    }

    #[test]
    fn interrupted_is_an_outcome_of_its_own_in_json() {
        let json = serde_json::to_value(Outcome::Interrupted).unwrap();
        assert_eq!(json, "interrupted");
        assert_eq!(
            serde_json::from_value::<Outcome>(json).unwrap(),
            Outcome::Interrupted
        );
    }
}
