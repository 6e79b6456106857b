//! The organisation side (issue 13): OUs or attribute values that become PBX organizations,
//! directory groups that become PBX extension groups, and the mappings that key them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{ExtensionId, GroupId, ObjectId, OrganizationId};

/// The most extension groups a PBX holds (CONTRACTS section 4: 403 `limit_reached`).
pub const MAX_EXTENSION_GROUPS: usize = 63;

/// An organization source as the directory reports it: an OU (keyed by its `objectGUID` or
/// `entryUUID`), or one value of the `organizations.attribute` (keyed by the value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryOrganization {
    pub object_id: ObjectId,
    /// The OU's `ou` (or the attribute value as first seen).
    pub name: String,
    /// The nearest enclosing OU below `base_dn`, if any.
    pub parent: Option<ObjectId>,
}

/// A directory group selected by `extension_groups`, with its members resolved: the object
/// ids of every user in it, nested groups followed (a user listed twice counts once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryGroup {
    pub object_id: ObjectId,
    pub name: String,
    pub members: Vec<ObjectId>,
}

/// The object id of the organization an attribute value stands for: values that differ only
/// in case or surrounding spaces are one organization. `None` for a blank value.
pub fn attribute_organization_id(value: &str) -> Option<ObjectId> {
    let key = value.trim().to_lowercase();
    if key.is_empty() {
        return None;
    }
    ObjectId::parse(format!("attribute:{key}")).ok()
}

/// `organizations.sync = attribute`: one flat organization per distinct value, in the order
/// first seen. Readers call it with each user's value and set the user's `organization`.
#[derive(Debug, Default)]
pub struct AttributeOrganizations {
    seen: std::collections::HashSet<ObjectId>,
    organizations: Vec<DirectoryOrganization>,
}

impl AttributeOrganizations {
    /// The organization of one user's value, recorded if new.
    pub fn of(&mut self, value: Option<&str>) -> Option<ObjectId> {
        let value = value?;
        let id = attribute_organization_id(value)?;
        if self.seen.insert(id.clone()) {
            self.organizations.push(DirectoryOrganization {
                object_id: id.clone(),
                name: value.trim().to_string(),
                parent: None,
            });
        }
        Some(id)
    }

    pub fn into_organizations(self) -> Vec<DirectoryOrganization> {
        self.organizations
    }
}

/// A PBX organization as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    #[serde(default)]
    pub parent_id: Option<OrganizationId>,
    #[serde(default)]
    pub managed_by: Option<String>,
}

/// The body of `POST /v1/organizations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrganization {
    pub name: String,
    pub parent_id: Option<OrganizationId>,
    pub managed_by: String,
}

/// The body of `PATCH /v1/organizations/{id}`: only what changes (`Some(None)` moves it to
/// the top level, sent as `null`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OrganizationPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Option<OrganizationId>>,
}

/// A PBX extension group as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionGroup {
    pub id: GroupId,
    pub name: String,
    #[serde(default)]
    pub members: Vec<ExtensionId>,
    #[serde(default)]
    pub managed_by: Option<String>,
}

/// The body of `POST /v1/extension-groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewExtensionGroup {
    pub name: String,
    pub members: Vec<ExtensionId>,
    pub managed_by: String,
}

/// The body of `PATCH /v1/extension-groups/{id}`: `members` replaces the whole list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExtensionGroupPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<ExtensionId>>,
}

/// Which PBX resource an [`ObjectMapping`] links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Organization,
    Group,
    /// A phonebook entry sync created for one of a user's `extra_numbers`
    /// (see `domain::phonebook`).
    PhonebookEntry,
}

impl ObjectKind {
    pub const ALL: [ObjectKind; 3] = [
        ObjectKind::Organization,
        ObjectKind::Group,
        ObjectKind::PhonebookEntry,
    ];

    /// The kind stored under that name; `None` for a kind a newer release added, whose
    /// mappings this release leaves alone (neither read nor touched).
    pub fn from_name(name: &str) -> Option<ObjectKind> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Organization => "organization",
            ObjectKind::Group => "group",
            ObjectKind::PhonebookEntry => "phonebook_entry",
        }
    }
}

/// Where an organization's or group's mapping stands with the PBX.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ObjectLink {
    /// Written before the `POST`: a run that dies before the answer is followed by one that
    /// posts again with the same key, and so gets the object the first post created.
    Pending { idempotency_key: String },
    /// Linked to the PBX object of that id (an organization's or a group's).
    Linked { pbx_id: String },
}

/// The link between a directory OU, attribute value or group and the PBX object sync made
/// for it. Only objects in these mappings are ever renamed, re-parented, re-membered or
/// removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMapping {
    pub kind: ObjectKind,
    pub object_id: ObjectId,
    pub link: ObjectLink,
    /// The name it was last synced with (for runs and removals).
    pub name: String,
    pub last_synced_at: DateTime<Utc>,
}

impl ObjectMapping {
    pub fn pbx_id(&self) -> Option<&str> {
        match &self.link {
            ObjectLink::Linked { pbx_id } => Some(pbx_id),
            ObjectLink::Pending { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_values_differing_in_case_are_one_organization() {
        let mut orgs = AttributeOrganizations::default();
        let sales = orgs.of(Some(" Sales "));
        assert_eq!(orgs.of(Some("sales")), sales);
        assert_eq!(orgs.of(Some("  ")), None);
        assert_eq!(orgs.of(None), None);
        assert!(orgs.of(Some("Support")).is_some());
        let orgs = orgs.into_organizations();
        assert_eq!(orgs.len(), 2);
        assert_eq!(orgs[0].name, "Sales");
        assert_eq!(orgs[0].object_id.as_str(), "attribute:sales");
    }
}
