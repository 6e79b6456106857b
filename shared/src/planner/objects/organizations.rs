//! Organizations: the OUs (or attribute values) that hold synced users, with their parents,
//! created parents first; renames and moves of mapped ones; removals children first, never
//! of one that extensions or other organizations still use; and each synced extension's
//! organization.

use std::collections::{HashMap, HashSet};

use super::{Side, SyncedUser};
use crate::domain::config::OrganizationSync;
use crate::domain::ids::{ExtensionId, ObjectId, OrganizationId};
use crate::domain::object_plan::{
    ObjectConflict, ObjectConflictReason, ObjectRemoval, ObjectRemove, OrganizationFieldChanges,
    OrganizationUpdate, PlannedOrganization,
};
use crate::domain::organization::{DirectoryOrganization, ObjectLink, Organization};
use crate::domain::plan::{FieldChange, FieldChanges, Plan, PlannedUpdate};
use crate::planner::PlanInput;

/// Where an organization source stands once this plan is applied.
#[derive(Clone, Copy)]
enum Placed<'a> {
    Linked(&'a OrganizationId),
    /// Created by this plan: its id is known only when the run has created it.
    Created,
}

pub(super) fn plan(
    input: &PlanInput<'_>,
    synced: &[SyncedUser<'_>],
    side: &Side<'_, Organization>,
    removed: &HashSet<ExtensionId>,
    plan: &mut Plan,
) {
    let config = &input.config.organizations;
    let on = !matches!(config.sync, OrganizationSync::None);
    let sources: HashMap<&ObjectId, &DirectoryOrganization> = if on {
        input
            .snapshot
            .organizations
            .iter()
            .map(|o| (&o.object_id, o))
            .collect()
    } else {
        HashMap::new()
    };
    let tree = Tree::new(&sources);
    let needed = tree.needed(synced.iter().filter_map(|s| s.user.organization.as_ref()));
    let mut placed: HashMap<&ObjectId, Placed<'_>> = HashMap::new();
    let mut claimed: HashSet<(Option<&ObjectId>, String)> = HashSet::new();
    let changes = &mut plan.organizations;
    for source in &needed {
        let parent = tree.parent(&source.object_id);
        let parent_placed = match parent {
            None => None,
            Some(p) => match placed.get(p) {
                Some(state) => Some(*state),
                None => {
                    // A mapped one keeps its place (its users stay in it) and waits to move.
                    if let Some(org) = side
                        .mappings
                        .get(&source.object_id)
                        .and_then(|m| side.linked(m))
                    {
                        placed.insert(&source.object_id, Placed::Linked(&org.id));
                    }
                    changes.conflicts.push(conflict(
                        source,
                        ObjectConflictReason::ParentNotSynced,
                        None,
                    ));
                    continue;
                }
            },
        };
        // The parent's PBX id, when it has one already (`Some(None)`: the top level).
        let parent_id: Option<Option<&OrganizationId>> = match parent_placed {
            None => Some(None),
            Some(Placed::Linked(id)) => Some(Some(id)),
            Some(Placed::Created) => None,
        };
        let name = source.name.trim();
        let mapping = side.mappings.get(&source.object_id);
        let linked = mapping.and_then(|m| side.linked(m));
        if let Some(org) = linked {
            placed.insert(&source.object_id, Placed::Linked(&org.id));
            let renamed = org.name.trim() != name;
            let moved = parent_id != Some(org.parent_id.as_ref());
            // Two sources of this plan never end with one name under one parent.
            let free = claimed.insert((parent, name.to_lowercase()));
            if !renamed && !moved {
                changes.unchanged += 1;
                continue;
            }
            let holder = parent_id.and_then(|p| sibling_named(input, p, name, Some(org)));
            if !free || holder.is_some() {
                changes
                    .conflicts
                    .push(conflict(source, ObjectConflictReason::NameTaken, holder));
                continue;
            }
            let name_of = |id: Option<&OrganizationId>| {
                id.and_then(|id| side.pbx.get(id.as_str()))
                    .map(|o| o.name.clone())
            };
            changes.updates.push(OrganizationUpdate {
                object_id: source.object_id.clone(),
                organization_id: org.id.to_string(),
                name: name.to_string(),
                changes: OrganizationFieldChanges {
                    name: renamed.then(|| FieldChange {
                        old: Some(org.name.clone()),
                        new: Some(name.to_string()),
                    }),
                    parent: moved.then(|| FieldChange {
                        old: name_of(org.parent_id.as_ref()),
                        new: parent.and_then(|p| sources.get(p)).map(|p| p.name.clone()),
                    }),
                },
                parent_source: moved.then(|| parent.cloned()),
            });
            continue;
        }
        let holder = parent_id.and_then(|p| sibling_named(input, p, name, None));
        if let Some(holder) = holder {
            changes.conflicts.push(conflict(
                source,
                ObjectConflictReason::NameTaken,
                Some(holder),
            ));
            continue;
        }
        if !claimed.insert((parent, name.to_lowercase())) {
            changes
                .conflicts
                .push(conflict(source, ObjectConflictReason::NameTaken, None));
            continue;
        }
        placed.insert(&source.object_id, Placed::Created);
        changes.creates.push(PlannedOrganization {
            object_id: source.object_id.clone(),
            name: name.to_string(),
            parent_source: parent.cloned(),
            idempotency_key: mapping.and_then(|m| match &m.link {
                ObjectLink::Pending { idempotency_key } => Some(idempotency_key.clone()),
                ObjectLink::Linked { .. } => None,
            }),
        });
    }
    if on {
        assign_extensions(synced, side, &sources, &placed, plan);
    }
    plan_removals(
        input,
        side,
        &needed,
        removed,
        config.delete_when_unused,
        plan,
    );
}

fn conflict(
    source: &DirectoryOrganization,
    reason: ObjectConflictReason,
    holder: Option<&OrganizationId>,
) -> ObjectConflict {
    ObjectConflict {
        object_id: source.object_id.clone(),
        name: source.name.trim().to_string(),
        reason,
        holder_id: holder.map(|h| h.to_string()),
    }
}

/// A PBX organization under `parent` named like `name` (case-insensitive), other than `own`:
/// the PBX answers 409 `name_taken` for it.
fn sibling_named<'a>(
    input: &PlanInput<'a>,
    parent: Option<&OrganizationId>,
    name: &str,
    own: Option<&Organization>,
) -> Option<&'a OrganizationId> {
    input
        .organizations
        .iter()
        .find(|o| {
            o.parent_id.as_ref() == parent
                && o.name.trim().eq_ignore_ascii_case(name)
                && own.is_none_or(|own| own.id != o.id)
        })
        .map(|o| &o.id)
}

/// The organization sources as a tree, parents kept only where they do not form a cycle.
struct Tree<'a> {
    sources: &'a HashMap<&'a ObjectId, &'a DirectoryOrganization>,
    depth: HashMap<&'a ObjectId, usize>,
}

impl<'a> Tree<'a> {
    fn new(sources: &'a HashMap<&'a ObjectId, &'a DirectoryOrganization>) -> Self {
        let depth = sources
            .keys()
            .map(|&id| {
                let mut seen = HashSet::from([id]);
                let mut at = id;
                let mut depth = 0;
                while let Some(parent) = sources.get(at).and_then(|o| o.parent.as_ref()) {
                    if !sources.contains_key(parent) || !seen.insert(parent) {
                        break;
                    }
                    depth += 1;
                    at = parent;
                }
                (id, depth)
            })
            .collect();
        Self { sources, depth }
    }

    /// The parent a source is created under: its directory parent, unless that is not a
    /// source or closes a cycle (a parent is always shallower than its child).
    fn parent(&self, id: &ObjectId) -> Option<&'a ObjectId> {
        let parent = self.sources.get(id)?.parent.as_ref()?;
        let (&parent, &parent_depth) = self.depth.get_key_value(parent)?;
        (parent_depth < self.depth.get(id).copied().unwrap_or(0)).then_some(parent)
    }

    /// The sources that hold a synced user, with every parent up the chain: parents first.
    fn needed(&self, held: impl Iterator<Item = &'a ObjectId>) -> Vec<&'a DirectoryOrganization> {
        let mut needed: HashSet<&ObjectId> = HashSet::new();
        for id in held {
            let mut at = self.sources.get_key_value(id).map(|(k, _)| *k);
            while let Some(id) = at {
                if !needed.insert(id) {
                    break;
                }
                at = self.parent(id);
            }
        }
        let mut ordered: Vec<&DirectoryOrganization> = needed
            .iter()
            .filter_map(|id| self.sources.get(id).copied())
            .collect();
        ordered.sort_by(|a, b| {
            let depth = |o: &DirectoryOrganization| self.depth.get(&o.object_id).copied();
            depth(a)
                .cmp(&depth(b))
                .then_with(|| a.object_id.cmp(&b.object_id))
        });
        ordered
    }
}

/// Each synced extension joins the organization of its user's source; one whose user has
/// none (or whose source could not be placed) leaves an organization that sync manages, and
/// keeps one an admin put it in.
fn assign_extensions(
    synced: &[SyncedUser<'_>],
    side: &Side<'_, Organization>,
    sources: &HashMap<&ObjectId, &DirectoryOrganization>,
    placed: &HashMap<&ObjectId, Placed<'_>>,
    plan: &mut Plan,
) {
    let managed: HashSet<&str> = side.mappings.values().filter_map(|m| m.pbx_id()).collect();
    let mut update_at: HashMap<ObjectId, usize> = plan
        .updates
        .iter()
        .enumerate()
        .map(|(i, u)| (u.object_id.clone(), i))
        .collect();
    let create_at: HashMap<ObjectId, usize> = plan
        .creates
        .iter()
        .enumerate()
        .map(|(i, c)| (c.object_id.clone(), i))
        .collect();
    for synced_user in synced {
        let user = synced_user.user;
        let target = user
            .organization
            .as_ref()
            .and_then(|id| placed.get_key_value(id));
        let Some(ext) = synced_user.extension else {
            if let (Some(&i), Some((source, _))) = (create_at.get(&user.object_id), target) {
                plan.creates[i].organization_source = Some((*source).clone());
            }
            continue;
        };
        let current = ext.organization_id.as_ref();
        let change = match target {
            Some((_, Placed::Linked(id))) if current == Some(*id) => None,
            Some((source, _)) => Some(Some(*source)),
            None if current.is_some_and(|c| managed.contains(c.as_str())) => Some(None),
            None => None,
        };
        let Some(new_source) = change else { continue };
        let name_of_current = current
            .and_then(|c| side.pbx.get(c.as_str()))
            .map(|o| o.name.clone());
        let name_of_new = new_source
            .and_then(|s| sources.get(s))
            .map(|o| o.name.trim().to_string());
        let i = *update_at.entry(user.object_id.clone()).or_insert_with(|| {
            plan.unchanged = plan.unchanged.saturating_sub(1);
            plan.updates.push(PlannedUpdate {
                object_id: user.object_id.clone(),
                extension_id: ext.id.clone(),
                name: user.display_name(),
                changes: FieldChanges::default(),
                adopt: false,
                organization_source: None,
            });
            plan.updates.len() - 1
        });
        let update = &mut plan.updates[i];
        update.changes.organization = Some(FieldChange {
            old: name_of_current,
            new: name_of_new,
        });
        update.organization_source = Some(new_source.cloned());
    }
}

/// Mapped organizations whose source no longer holds synced users: deleted with
/// `delete_when_unused` (children first, and only when nothing stays in them), else
/// released. One deleted on the PBX already just leaves the mapping.
fn plan_removals(
    input: &PlanInput<'_>,
    side: &Side<'_, Organization>,
    needed: &[&DirectoryOrganization],
    removed: &HashSet<ExtensionId>,
    delete_when_unused: bool,
    plan: &mut Plan,
) {
    let needed: HashSet<&ObjectId> = needed.iter().map(|o| &o.object_id).collect();
    let mut gone: Vec<(&ObjectId, &str, Option<&Organization>)> = side
        .mappings
        .values()
        .filter(|m| !needed.contains(&m.object_id))
        .filter_map(|m| {
            let pbx_id = m.pbx_id()?;
            Some((&m.object_id, pbx_id, side.pbx.get(pbx_id).copied()))
        })
        .collect();
    // Children first: deeper on the PBX goes first.
    let depth = |id: &str| {
        let mut depth = 0;
        let mut at = side.pbx.get(id).and_then(|o| o.parent_id.as_ref());
        while let Some(parent) = at {
            depth += 1;
            if depth > side.pbx.len() {
                break;
            }
            at = side
                .pbx
                .get(parent.as_str())
                .and_then(|o| o.parent_id.as_ref());
        }
        depth
    };
    gone.sort_by(|a, b| depth(b.1).cmp(&depth(a.1)).then_with(|| a.0.cmp(b.0)));
    let stays = Stays::new(input, plan, removed);
    let mut deleted: HashSet<&str> = HashSet::new();
    let mut removes = Vec::new();
    let mut conflicts = Vec::new();
    for (object_id, pbx_id, org) in gone {
        let name = side
            .mappings
            .get(object_id)
            .map(|m| m.name.clone())
            .unwrap_or_default();
        let Some(org) = org else {
            removes.push(ObjectRemove {
                object_id: object_id.clone(),
                pbx_id: pbx_id.to_string(),
                name,
                action: ObjectRemoval::Release,
            });
            continue;
        };
        if delete_when_unused {
            if let Some(holder) = stays.holder(&org.id, &deleted) {
                conflicts.push(ObjectConflict {
                    object_id: object_id.clone(),
                    name,
                    reason: ObjectConflictReason::InUse,
                    holder_id: Some(holder),
                });
                continue;
            }
            deleted.insert(pbx_id);
        }
        removes.push(ObjectRemove {
            object_id: object_id.clone(),
            pbx_id: pbx_id.to_string(),
            name,
            action: if delete_when_unused {
                ObjectRemoval::Delete
            } else {
                ObjectRemoval::Release
            },
        });
    }
    plan.organizations.removes = removes;
    plan.organizations.conflicts.extend(conflicts);
}

/// What stays in each organization once the plan is applied: extensions that keep it, and
/// child organizations that are not moved away.
struct Stays {
    extensions: HashMap<String, ExtensionId>,
    children: HashMap<String, Vec<String>>,
}

impl Stays {
    fn new(input: &PlanInput<'_>, plan: &Plan, removed: &HashSet<ExtensionId>) -> Self {
        let moved: HashSet<&ExtensionId> = plan
            .updates
            .iter()
            .filter(|u| u.organization_source.is_some())
            .map(|u| &u.extension_id)
            .collect();
        let mut extensions = HashMap::new();
        for ext in input.extensions {
            if removed.contains(&ext.id) || moved.contains(&ext.id) {
                continue;
            }
            if let Some(org) = &ext.organization_id {
                extensions
                    .entry(org.to_string())
                    .or_insert_with(|| ext.id.clone());
            }
        }
        let reparented: HashSet<&str> = plan
            .organizations
            .updates
            .iter()
            .filter(|u| u.parent_source.is_some())
            .map(|u| u.organization_id.as_str())
            .collect();
        let mut children: HashMap<String, Vec<String>> = HashMap::new();
        for org in input.organizations {
            if let Some(parent) = &org.parent_id {
                if !reparented.contains(org.id.as_str()) {
                    children
                        .entry(parent.to_string())
                        .or_default()
                        .push(org.id.to_string());
                }
            }
        }
        Self {
            extensions,
            children,
        }
    }

    /// An extension or child organization that keeps `org` in use, given the organizations
    /// this plan deletes before it.
    fn holder(&self, org: &OrganizationId, deleted: &HashSet<&str>) -> Option<String> {
        if let Some(ext) = self.extensions.get(org.as_str()) {
            return Some(ext.to_string());
        }
        self.children
            .get(org.as_str())?
            .iter()
            .find(|child| !deleted.contains(child.as_str()))
            .cloned()
    }
}
