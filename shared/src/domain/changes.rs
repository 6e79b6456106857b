//! Change-only reads: what a directory says changed since its last read, so that an unchanged
//! hour costs next to nothing. The engine applies [`DirectoryChanges`] to the snapshot kept
//! from the last read and plans on the result exactly as on a full read.

use serde::{Deserialize, Serialize};

use super::ids::ObjectId;
use super::organization::{DirectoryGroup, DirectoryOrganization};
use super::user::DirectoryUser;

/// Where a provider's next change-only read starts (a Graph delta link, an Okta high-water
/// mark and System Log position, an AD domain controller's identity and committed USN, an
/// OpenLDAP CSN). Opaque to all but the provider that made it; `provider` names that one, so
/// that a cursor is never handed to another. Holds no credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCursor {
    pub provider: String,
    pub position: String,
}

/// What changed in the directory since a [`ChangeCursor`], as a full read would show it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DirectoryChanges {
    /// Users created or changed, each as a full read now shows it (in scope or not, state,
    /// every mapped field). A user who left the scope is here with `in_scope: false`, once
    /// the provider has checked that it exists.
    pub changed: Vec<DirectoryUser>,
    /// Users the directory's own deletion record says are deleted (Graph `@removed` with
    /// reason `deleted`, Okta `user.lifecycle.delete`, AD Deleted Objects ...). Only these,
    /// and users a full read misses, are ever taken for deleted.
    pub deleted: Vec<ObjectId>,
    /// Organizations created or changed (with `organizations.sync` on).
    pub changed_organizations: Vec<DirectoryOrganization>,
    pub deleted_organizations: Vec<ObjectId>,
    /// Groups created or changed, each with all its members resolved (with
    /// `extension_groups.sync` on).
    pub changed_groups: Vec<DirectoryGroup>,
    pub deleted_groups: Vec<ObjectId>,
    /// Where the read after this one starts.
    pub cursor: Option<ChangeCursor>,
    /// Requests the read made (pages and lookups), for the run's record and the benchmarks.
    pub requests: usize,
}
