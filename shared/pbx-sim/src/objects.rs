//! The rules a real PBX enforces on organizations (names unique among siblings, a parent
//! that exists and makes no cycle, none deleted while in use) and on extension groups (names
//! unique, at most 63, members that are extensions).

use crate::model::{ApiError, SimGroup, SimOrganization};
use crate::object_bodies::{GroupValues, OrganizationValues};
use crate::state::{Account, Applied};

impl Account {
    pub fn create_organization(
        &mut self,
        key: &str,
        values: OrganizationValues,
    ) -> Applied<SimOrganization> {
        if let Some(replayed) = self.organizations.replay(key) {
            return replayed.map(|organization| (organization, false));
        }
        let name = values.name.unwrap_or_default();
        let parent_id = values.parent_id.flatten();
        self.check_parent(None, parent_id.as_deref())?;
        self.check_organization_name(None, parent_id.as_deref(), &name)?;
        self.organizations.check_room()?;
        let organization = SimOrganization {
            id: String::new(),
            name,
            parent_id,
            managed_by: values.managed_by,
        };
        Ok((self.organizations.create(key, organization), true))
    }

    /// Applies the given fields; the flag says whether anything changed.
    pub fn update_organization(
        &mut self,
        id: &str,
        values: OrganizationValues,
    ) -> Applied<SimOrganization> {
        let current = self.organizations.get_mut(id)?.clone();
        let name = values.name.unwrap_or_else(|| current.name.clone());
        let parent_id = values
            .parent_id
            .unwrap_or_else(|| current.parent_id.clone());
        self.check_parent(Some(id), parent_id.as_deref())?;
        self.check_organization_name(Some(id), parent_id.as_deref(), &name)?;
        let organization = self.organizations.get_mut(id)?;
        organization.name = name;
        organization.parent_id = parent_id;
        let changed = *organization != current;
        Ok((organization.clone(), changed))
    }

    /// 409 `in_use` while an extension belongs to it or it has child organizations.
    pub fn delete_organization(&mut self, id: &str) -> Result<(), ApiError> {
        self.organizations.get_mut(id)?;
        let held = self
            .extensions
            .values()
            .any(|e| e.organization_id.as_deref() == Some(id));
        let parent = self
            .organizations
            .values()
            .any(|o| o.parent_id.as_deref() == Some(id));
        if held || parent {
            return Err(ApiError::conflict(
                "in_use",
                "extensions or organizations still belong to this organization",
            ));
        }
        self.organizations.remove(id).map(drop)
    }

    pub fn create_group(&mut self, key: &str, values: GroupValues) -> Applied<SimGroup> {
        if let Some(replayed) = self.groups.replay(key) {
            return replayed.map(|group| (group, false));
        }
        let name = values.name.unwrap_or_default();
        let members = values.members.unwrap_or_default();
        self.check_group_name(None, &name)?;
        self.groups.check_room()?;
        self.check_members(&members)?;
        let group = SimGroup {
            id: String::new(),
            name,
            members,
            managed_by: values.managed_by,
        };
        Ok((self.groups.create(key, group), true))
    }

    /// Applies the given fields, `members` replacing the list; the flag says whether anything
    /// changed.
    pub fn update_group(&mut self, id: &str, values: GroupValues) -> Applied<SimGroup> {
        let current = self.groups.get_mut(id)?.clone();
        if let Some(name) = &values.name {
            self.check_group_name(Some(id), name)?;
        }
        if let Some(members) = &values.members {
            self.check_members(members)?;
        }
        let group = self.groups.get_mut(id)?;
        if let Some(name) = values.name {
            group.name = name;
        }
        if let Some(members) = values.members {
            group.members = members;
        }
        let changed = *group != current;
        Ok((group.clone(), changed))
    }

    pub fn delete_group(&mut self, id: &str) -> Result<(), ApiError> {
        self.groups.remove(id).map(drop)
    }

    /// 422 for a parent that does not exist or is `id` itself or one of its descendants.
    fn check_parent(&self, id: Option<&str>, parent_id: Option<&str>) -> Result<(), ApiError> {
        let mut ancestor = parent_id;
        // Walking up from the new parent must end at the top without meeting `id`; the
        // organization count bounds the walk even if the stored tree were broken.
        for _ in 0..=self.organizations.len() {
            let Some(current) = ancestor else {
                return Ok(());
            };
            if Some(current) == id {
                return Err(ApiError::unprocessable(
                    "parent_id",
                    "cycle",
                    "`parent_id` would put the organization inside itself",
                ));
            }
            let Some(organization) = self.organizations.get(current) else {
                return Err(ApiError::unprocessable(
                    "parent_id",
                    "unknown_parent",
                    "`parent_id` is not an organization of this account",
                ));
            };
            ancestor = organization.parent_id.as_deref();
        }
        Err(ApiError::unprocessable(
            "parent_id",
            "cycle",
            "the organization tree has a cycle",
        ))
    }

    /// 409 `name_taken` when a sibling has the name, ignoring case.
    fn check_organization_name(
        &self,
        id: Option<&str>,
        parent_id: Option<&str>,
        name: &str,
    ) -> Result<(), ApiError> {
        let taken = self.organizations.values().any(|o| {
            Some(o.id.as_str()) != id
                && o.parent_id.as_deref() == parent_id
                && same_name(&o.name, name)
        });
        if taken {
            return Err(ApiError::conflict(
                "name_taken",
                "an organization of this name has the same parent",
            ));
        }
        Ok(())
    }

    /// 409 `name_taken` when any other group has the name, ignoring case.
    fn check_group_name(&self, id: Option<&str>, name: &str) -> Result<(), ApiError> {
        let taken = self
            .groups
            .values()
            .any(|g| Some(g.id.as_str()) != id && same_name(&g.name, name));
        if taken {
            return Err(ApiError::conflict(
                "name_taken",
                "an extension group of this name exists",
            ));
        }
        Ok(())
    }

    fn check_members(&self, members: &[String]) -> Result<(), ApiError> {
        match members.iter().find(|m| !self.extensions.contains(m)) {
            Some(unknown) => Err(ApiError::unprocessable(
                "members",
                "unknown_member",
                format!("`members` holds {unknown}, which is not an extension"),
            )),
            None => Ok(()),
        }
    }
}

fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}
