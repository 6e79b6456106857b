//! The pushed groups of a SCIM directory: which group a config names, and each group's user
//! members. The SCIM routes keep users only as members (no groups in groups), so membership
//! is direct; a member id that is no pushed user simply maps to no extension.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::domain::config::scim_get;
use crate::domain::organization::DirectoryGroup;
use crate::domain::{ObjectId, PushedKind, PushedResource};
use crate::error::DirectoryError;

pub(super) struct PushedGroups<'a> {
    groups: Vec<&'a PushedResource>,
    /// Per group (same index): its members' ids.
    users: Vec<BTreeSet<ObjectId>>,
    index: HashMap<&'a ObjectId, usize>,
}

impl<'a> PushedGroups<'a> {
    pub fn new(resources: &'a [PushedResource]) -> Self {
        let groups: Vec<&PushedResource> = resources
            .iter()
            .filter(|r| r.kind == PushedKind::Group)
            .collect();
        let index: HashMap<&ObjectId, usize> =
            groups.iter().enumerate().map(|(i, g)| (&g.id, i)).collect();
        let users = groups
            .iter()
            .map(|g| member_ids(g).into_iter().collect())
            .collect();
        Self {
            groups,
            users,
            index,
        }
    }

    /// The group each of the config's `named` entries stands for, by SCIM `id`, then
    /// `externalId`, then `displayName` (without case); an entry no pushed group answers to
    /// fails the read, as a group that is gone does in Graph or Okta: its members must not
    /// be taken for users who left the scope.
    pub fn named(&self, named: &[String]) -> Result<Vec<(String, ObjectId)>, DirectoryError> {
        named
            .iter()
            .map(|entry| {
                let found = self
                    .groups
                    .iter()
                    .find(|g| g.id.as_str() == entry)
                    .or_else(|| {
                        self.groups
                            .iter()
                            .find(|g| g.external_id.as_deref() == Some(entry.as_str()))
                    })
                    .or_else(|| {
                        self.groups
                            .iter()
                            .find(|g| g.name.eq_ignore_ascii_case(entry))
                    });
                match found {
                    Some(group) => Ok((entry.clone(), group.id.clone())),
                    None => Err(DirectoryError::NotAvailable(format!(
                        "no pushed group has the id, externalId or displayName '{entry}'"
                    ))),
                }
            })
            .collect()
    }

    pub fn has_member(&self, group: &ObjectId, user: &ObjectId) -> bool {
        self.index
            .get(group)
            .is_some_and(|&i| self.users[i].contains(user))
    }

    /// The groups of `only` (every group for `None`), in id order, with their users.
    pub fn directory_groups(&self, only: Option<&[ObjectId]>) -> Vec<DirectoryGroup> {
        self.groups
            .iter()
            .zip(&self.users)
            .filter(|(g, _)| only.is_none_or(|ids| ids.contains(&g.id)))
            .map(|(g, users)| DirectoryGroup {
                object_id: g.id.clone(),
                name: g.name.clone(),
                members: users.iter().cloned().collect(),
            })
            .collect()
    }
}

/// The `value` of each of a group's `members` that is a usable id.
fn member_ids(group: &PushedResource) -> Vec<ObjectId> {
    let members = group
        .attributes
        .as_object()
        .and_then(|a| scim_get(a, "members"))
        .and_then(Value::as_array);
    members
        .into_iter()
        .flatten()
        .filter_map(|m| scim_get(m.as_object()?, "value")?.as_str())
        .filter_map(|id| ObjectId::parse(id).ok())
        .collect()
}
