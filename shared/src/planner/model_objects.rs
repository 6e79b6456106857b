//! The organisation side of the test model: a PBX's organizations and groups with the rules
//! a real one enforces (parents exist, `in_use`, 63 groups, members are extensions), played
//! the way the engine applies a plan. A rule broken is a panic: the planner must foresee it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::extension::Extension;
use crate::domain::ids::{ExtensionId, GroupId, ObjectId, OrganizationId};
use crate::domain::object_plan::{GroupMembers, ObjectRemoval};
use crate::domain::organization::{
    DirectoryGroup, DirectoryOrganization, ExtensionGroup, ObjectKind, ObjectLink, ObjectMapping,
    Organization, MAX_EXTENSION_GROUPS,
};
use crate::domain::phonebook::PhonebookEntry;
use crate::domain::plan::Plan;
use crate::domain::MANAGED_BY;

#[derive(Debug, Clone, Default)]
pub struct ObjectWorld {
    pub sources_organizations: Vec<DirectoryOrganization>,
    pub sources_groups: Vec<DirectoryGroup>,
    pub mappings: Vec<ObjectMapping>,
    pub organizations: Vec<Organization>,
    pub groups: Vec<ExtensionGroup>,
    /// The PBX phonebook (see `model_phonebook`).
    pub phonebook: Vec<PhonebookEntry>,
    next_id: usize,
}

fn epoch() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

pub fn object_mapping(kind: ObjectKind, source: &str, pbx_id: &str) -> ObjectMapping {
    ObjectMapping {
        kind,
        object_id: ObjectId::parse(source).unwrap(),
        link: ObjectLink::Linked {
            pbx_id: pbx_id.to_string(),
        },
        name: format!("mapped {source}"),
        last_synced_at: epoch(),
    }
}

impl ObjectWorld {
    fn link(&mut self, kind: ObjectKind, source: &ObjectId, name: &str, pbx_id: String) {
        self.mappings
            .retain(|m| !(m.kind == kind && &m.object_id == source));
        self.mappings.push(ObjectMapping {
            kind,
            object_id: source.clone(),
            link: ObjectLink::Linked { pbx_id },
            name: name.to_string(),
            last_synced_at: epoch(),
        });
    }

    fn unlink(&mut self, kind: ObjectKind, source: &ObjectId) {
        self.mappings
            .retain(|m| !(m.kind == kind && &m.object_id == source));
    }

    pub(super) fn fresh(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-new-{:03}", self.next_id)
    }

    /// The PBX ids of linked organization sources.
    fn organization_ids(&self) -> HashMap<ObjectId, OrganizationId> {
        self.mappings
            .iter()
            .filter(|m| m.kind == ObjectKind::Organization)
            .filter_map(|m| {
                Some((
                    m.object_id.clone(),
                    OrganizationId::parse(m.pbx_id()?).ok()?,
                ))
            })
            .collect()
    }

    /// Creates (parents first: a parent must be linked by then) and changes organizations.
    pub fn apply_organizations(&mut self, plan: &Plan) -> HashMap<ObjectId, OrganizationId> {
        let changes = &plan.organizations;
        for create in &changes.creates {
            let ids = self.organization_ids();
            let parent_id = create.parent_source.as_ref().map(|p| {
                ids.get(p)
                    .cloned()
                    .unwrap_or_else(|| panic!("{} created before its parent {p}", create.object_id))
            });
            assert!(
                !self.organizations.iter().any(|o| o.parent_id == parent_id
                    && o.name.trim().eq_ignore_ascii_case(&create.name)),
                "409 name_taken for {}",
                create.name
            );
            let id = OrganizationId::parse(self.fresh("org")).unwrap();
            self.organizations.push(Organization {
                id: id.clone(),
                name: create.name.clone(),
                parent_id,
                managed_by: Some(MANAGED_BY.to_string()),
            });
            self.link(
                ObjectKind::Organization,
                &create.object_id,
                &create.name,
                id.to_string(),
            );
        }
        let ids = self.organization_ids();
        for update in &changes.updates {
            let org = self
                .organizations
                .iter_mut()
                .find(|o| o.id.as_str() == update.organization_id)
                .expect("updated organization exists");
            if let Some(name) = update.changes.name.as_ref().and_then(|c| c.new.clone()) {
                org.name = name;
            }
            match &update.parent_source {
                None => {}
                Some(None) => org.parent_id = None,
                Some(Some(parent)) => {
                    org.parent_id = Some(ids.get(parent).cloned().expect("parent linked"))
                }
            }
        }
        self.organization_ids()
    }

    /// Creates, changes and (unless held) removes groups.
    pub fn apply_groups(&mut self, plan: &Plan, created: &HashMap<ObjectId, ExtensionId>) {
        let changes = &plan.extension_groups;
        let members = |m: &GroupMembers| m.resolve(created);
        for create in &changes.creates {
            assert!(
                self.groups.len() < MAX_EXTENSION_GROUPS,
                "403 limit_reached creating {}",
                create.name
            );
            let id = GroupId::parse(self.fresh("grp")).unwrap();
            self.groups.push(ExtensionGroup {
                id: id.clone(),
                name: create.name.clone(),
                members: members(&create.members),
                managed_by: Some(MANAGED_BY.to_string()),
            });
            self.link(
                ObjectKind::Group,
                &create.object_id,
                &create.name,
                id.to_string(),
            );
        }
        for update in &changes.updates {
            let group = self
                .groups
                .iter_mut()
                .find(|g| g.id.as_str() == update.group_id)
                .expect("updated group exists");
            if let Some(name) = update.rename.as_ref().and_then(|c| c.new.clone()) {
                group.name = name;
            }
            if let Some(m) = &update.members {
                group.members = members(m);
            }
        }
        if plan.removals_held {
            return;
        }
        for remove in &changes.removes {
            if remove.action == ObjectRemoval::Delete {
                self.groups.retain(|g| g.id.as_str() != remove.pbx_id);
            }
            self.unlink(ObjectKind::Group, &remove.object_id);
        }
    }

    /// Removes organizations in plan order; deleting one still in use is the PBX's 409.
    pub fn remove_organizations(&mut self, plan: &Plan, extensions: &[Extension]) {
        for remove in &plan.organizations.removes {
            if remove.action == ObjectRemoval::Delete {
                let in_use = extensions.iter().any(|e| {
                    e.organization_id.as_ref().map(|o| o.as_str()) == Some(&remove.pbx_id)
                }) || self
                    .organizations
                    .iter()
                    .any(|o| o.parent_id.as_ref().map(|p| p.as_str()) == Some(&remove.pbx_id));
                assert!(!in_use, "409 in_use deleting {}", remove.name);
                self.organizations
                    .retain(|o| o.id.as_str() != remove.pbx_id);
            }
            self.unlink(ObjectKind::Organization, &remove.object_id);
        }
    }

    /// Extensions deleted on the PBX leave every group.
    pub fn forget_extensions(&mut self, extensions: &[Extension]) {
        for group in &mut self.groups {
            group
                .members
                .retain(|m| extensions.iter().any(|e| &e.id == m));
        }
    }
}
