//! The organisation side of a plan: organizations and extension groups to create, change and
//! remove, shown by preview and kept in the run beside the extension changes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::ids::{ExtensionId, ObjectId};
use super::plan::TextChange;

/// What the plan does with organizations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrganizationChanges {
    /// Parents before children: the order they are created in.
    pub creates: Vec<PlannedOrganization>,
    pub updates: Vec<OrganizationUpdate>,
    /// Children before parents: the order they are removed in.
    pub removes: Vec<ObjectRemove>,
    pub conflicts: Vec<ObjectConflict>,
    /// Organizations in the mapping that stay as they are.
    pub unchanged: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedOrganization {
    pub object_id: ObjectId,
    pub name: String,
    /// The parent's source, created before this one (or already linked).
    pub parent_source: Option<ObjectId>,
    /// The key of a create an earlier run began (a pending mapping): posted again with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationUpdate {
    pub object_id: ObjectId,
    pub organization_id: String,
    pub name: String,
    /// `name` and `parent` (the parents' names), `[old, new]`.
    pub changes: OrganizationFieldChanges,
    /// With `changes.parent`: the new parent's source (`None`: the top level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_source: Option<Option<ObjectId>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationFieldChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<TextChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<TextChange>,
}

/// What the plan does with extension groups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupChanges {
    pub creates: Vec<PlannedGroup>,
    pub updates: Vec<GroupUpdate>,
    pub removes: Vec<ObjectRemove>,
    /// Groups beyond the PBX's free places (`group_limit`).
    pub skipped: Vec<ObjectSkip>,
    pub conflicts: Vec<ObjectConflict>,
    pub unchanged: usize,
}

/// A group's members as the run sends them: the extensions known now, and the users whose
/// extension this run creates (resolved through their mapping once created).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupMembers {
    pub extensions: Vec<ExtensionId>,
    pub created_users: Vec<ObjectId>,
}

impl GroupMembers {
    /// The member list the PBX gets: the extensions, and those `created` made for the users,
    /// sorted and each once. A user whose create failed is left out until the next run.
    pub fn resolve(&self, created: &HashMap<ObjectId, ExtensionId>) -> Vec<ExtensionId> {
        let mut all: Vec<ExtensionId> = self
            .extensions
            .iter()
            .cloned()
            .chain(
                self.created_users
                    .iter()
                    .filter_map(|u| created.get(u).cloned()),
            )
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedGroup {
    pub object_id: ObjectId,
    pub name: String,
    /// The members' names, for people.
    pub member_names: Vec<String>,
    pub members: GroupMembers,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupUpdate {
    pub object_id: ObjectId,
    pub group_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rename: Option<TextChange>,
    pub members_added: Vec<String>,
    pub members_removed: Vec<String>,
    /// The whole member list after the change (the PATCH replaces it), when it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<GroupMembers>,
}

/// What becomes of an organization or group whose source is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectRemoval {
    /// `delete_when_unused`: deleted on the PBX.
    Delete,
    /// Left on the PBX and dropped from the mapping: an admin manages it from now on.
    Release,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRemove {
    pub object_id: ObjectId,
    pub pbx_id: String,
    pub name: String,
    pub action: ObjectRemoval,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectConflictReason {
    /// A manual organization (same parent) or group already has the name.
    NameTaken,
    /// An organization to delete still holds extensions that stay (409 `in_use`).
    InUse,
    /// The PBX refused the create (403 `limit_reached`).
    LimitReached,
    /// The parent organization could not be synced (itself a conflict), so neither can this.
    ParentNotSynced,
    /// A phonebook entry's create was refused: another entry has the number (409).
    NumberTaken,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectConflict {
    pub object_id: ObjectId,
    pub name: String,
    pub reason: ObjectConflictReason,
    /// The PBX object that holds the name (or, for `in_use`, an extension still in it).
    pub holder_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectSkipReason {
    GroupLimit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectSkip {
    pub object_id: ObjectId,
    pub name: String,
    pub reason: ObjectSkipReason,
}

impl OrganizationChanges {
    pub fn is_noop(&self) -> bool {
        self.creates.is_empty() && self.updates.is_empty() && self.removes.is_empty()
    }
}

impl GroupChanges {
    pub fn is_noop(&self) -> bool {
        self.creates.is_empty() && self.updates.is_empty() && self.removes.is_empty()
    }
}
