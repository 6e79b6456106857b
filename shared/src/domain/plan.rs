//! A sync plan (CONTRACTS section 4): what a run will do, shown by preview and kept in the run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::OnRemove;
use super::extension::NewExtension;
use super::ids::{ExtensionId, ObjectId};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub summary: String,
    pub creates: Vec<PlannedCreate>,
    pub updates: Vec<PlannedUpdate>,
    pub removes: Vec<PlannedRemove>,
    pub skipped: Vec<Skipped>,
    pub conflicts: Vec<Conflict>,
    /// Eligible, mapped users whose extension already matches.
    pub unchanged: usize,
    /// True when the removals exceed `deletion_guard.max_deletes`: the run applies creates and
    /// updates and holds `removes` until an admin approves.
    pub removals_held: bool,
}

impl Plan {
    /// True when applying the plan would call the PBX for nothing.
    pub fn is_noop(&self) -> bool {
        self.creates.is_empty() && self.updates.is_empty() && self.removes.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedCreate {
    pub object_id: ObjectId,
    pub name: String,
    pub number: String,
    pub email: String,
    /// The exact `POST /v1/extensions` body.
    pub request: NewExtension,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedUpdate {
    pub object_id: ObjectId,
    pub extension_id: ExtensionId,
    pub name: String,
    /// Field name to `[old, new]`; the PATCH body is every field with its new value.
    pub changes: BTreeMap<String, [serde_json::Value; 2]>,
    /// The extension joins the mapping through `adopt_existing_by_email`.
    #[serde(default)]
    pub adopt: bool,
}

impl PlannedUpdate {
    /// The `PATCH /v1/extensions/{id}` body: only the fields that changed.
    pub fn patch_body(&self) -> serde_json::Map<String, serde_json::Value> {
        self.changes
            .iter()
            .map(|(field, [_, new])| (field.clone(), new.clone()))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRemove {
    pub object_id: ObjectId,
    pub extension_id: ExtensionId,
    pub name: String,
    pub action: OnRemove,
    /// The `remove_when` state that removes the user: deleted, disabled, expired, out_of_scope.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    MissingEmail,
    /// The email is not a plausible address (see `extension::is_valid_email`).
    InvalidEmail,
    MissingExtension,
    InvalidExtension,
    RecordLimit,
    DuplicateEmail,
    DuplicateExtension,
    /// `extension_numbers.mode = auto` and every number of the range is taken.
    NoFreeNumber,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub object_id: ObjectId,
    pub name: String,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictReason {
    NumberTaken,
    EmailTaken,
    /// The PBX refused the create: its extension quota is full (403 `limit_reached`).
    LimitReached,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub object_id: ObjectId,
    pub name: String,
    pub reason: ConflictReason,
    pub holder_extension_id: Option<ExtensionId>,
}

/// "3 new, 2 updated, 0 removed", or "Everything is up to date" when nothing changes.
pub fn summary_line(new: usize, updated: usize, removed: usize) -> String {
    if new + updated + removed == 0 {
        "Everything is up to date".to_string()
    } else {
        format!("{new} new, {updated} updated, {removed} removed")
    }
}
