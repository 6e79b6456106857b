//! Extension groups: each selected directory group becomes a PBX group of its synced members'
//! extensions, within the PBX's 63 places (mapped groups keep theirs; new ones fill the free
//! places in object id order, the rest are skipped as `group_limit`).

use std::collections::{BTreeSet, HashMap, HashSet};

use super::{Side, SyncedUser};
use crate::domain::config::GroupSync;
use crate::domain::extension::Extension;
use crate::domain::ids::{ExtensionId, ObjectId};
use crate::domain::object_plan::{
    GroupMembers, GroupUpdate, ObjectConflict, ObjectConflictReason, ObjectRemoval, ObjectRemove,
    ObjectSkip, ObjectSkipReason, PlannedGroup,
};
use crate::domain::organization::{
    DirectoryGroup, ExtensionGroup, ObjectLink, MAX_EXTENSION_GROUPS,
};
use crate::domain::plan::{FieldChange, Plan};
use crate::domain::user::display_name;
use crate::planner::PlanInput;

/// A synced user as a group member: its extension, or none yet (created by this plan).
struct Member<'a> {
    extension: Option<&'a ExtensionId>,
    name: String,
}

pub(super) fn plan(
    input: &PlanInput<'_>,
    synced: &[SyncedUser<'_>],
    side: &Side<'_, ExtensionGroup>,
    plan: &mut Plan,
) {
    let config = &input.config.extension_groups;
    let mut sources: Vec<&DirectoryGroup> = if matches!(config.sync, GroupSync::None) {
        Vec::new()
    } else {
        input.snapshot.groups.iter().collect()
    };
    sources.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    sources.dedup_by(|later, first| later.object_id == first.object_id);

    let members: HashMap<&ObjectId, Member<'_>> = synced
        .iter()
        .map(|s| {
            let member = Member {
                extension: s.extension.map(|e| &e.id),
                name: s.user.display_name(),
            };
            (&s.user.object_id, member)
        })
        .collect();
    let extensions: HashMap<&ExtensionId, &Extension> =
        input.extensions.iter().map(|e| (&e.id, e)).collect();
    let removed: HashSet<&ExtensionId> = plan
        .removes
        .iter()
        .filter(|r| r.action == crate::domain::config::OnRemove::Delete)
        .map(|r| &r.extension_id)
        .collect();
    // Members sync manages: extensions of the user mappings. Others are an admin's and stay.
    let managed: HashSet<&ExtensionId> = input
        .mappings
        .iter()
        .filter_map(|m| m.extension_id())
        .collect();
    let mut places = MAX_EXTENSION_GROUPS.saturating_sub(input.groups.len());
    let mut claimed: HashSet<String> = HashSet::new();
    let changes = &mut plan.extension_groups;
    for source in &sources {
        let name = source.name.trim();
        let wanted = Wanted::of(source, &members);
        let mapping = side.mappings.get(&source.object_id);
        if let Some(group) = mapping.and_then(|m| side.linked(m)) {
            let kept = group.members.iter().filter(|id| {
                !managed.contains(id) && extensions.contains_key(id) && !removed.contains(id)
            });
            let after: BTreeSet<&ExtensionId> =
                kept.chain(wanted.extensions.iter().copied()).collect();
            let before: BTreeSet<&ExtensionId> = group.members.iter().collect();
            let re_member = after != before || !wanted.created.is_empty();
            let holder = input
                .groups
                .iter()
                .find(|g| g.id != group.id && g.name.trim().eq_ignore_ascii_case(name));
            let renamed = group.name.trim() != name;
            let free = claimed.insert(name.to_lowercase());
            if renamed && (holder.is_some() || !free) {
                changes.conflicts.push(conflict(source, holder));
            }
            let rename = (renamed && free && holder.is_none()).then(|| FieldChange {
                old: Some(group.name.clone()),
                new: Some(name.to_string()),
            });
            if rename.is_none() && !re_member {
                changes.unchanged += 1;
                continue;
            }
            let ext_name = |id: &ExtensionId| {
                extensions.get(id).map_or_else(
                    || id.to_string(),
                    |e| {
                        display_name(
                            e.first_name.as_deref(),
                            e.last_name.as_deref(),
                            e.email.as_deref(),
                            e.id.as_str(),
                        )
                    },
                )
            };
            changes.updates.push(GroupUpdate {
                object_id: source.object_id.clone(),
                group_id: group.id.to_string(),
                name: name.to_string(),
                rename,
                members_added: after
                    .difference(&before)
                    .map(|id| ext_name(id))
                    .chain(wanted.created_names.iter().cloned())
                    .collect(),
                members_removed: before.difference(&after).map(|id| ext_name(id)).collect(),
                members: re_member.then(|| GroupMembers {
                    extensions: after.into_iter().cloned().collect(),
                    created_users: wanted.created.clone(),
                }),
            });
            continue;
        }
        let pending = mapping.and_then(|m| match &m.link {
            ObjectLink::Pending { idempotency_key } => Some(idempotency_key.clone()),
            ObjectLink::Linked { .. } => None,
        });
        // A pending create may already hold its place on the PBX: it is posted again as is.
        if pending.is_none() {
            if let Some(holder) = input
                .groups
                .iter()
                .find(|g| g.name.trim().eq_ignore_ascii_case(name))
            {
                changes.conflicts.push(conflict(source, Some(holder)));
                continue;
            }
            if places == 0 {
                changes.skipped.push(ObjectSkip {
                    object_id: source.object_id.clone(),
                    name: name.to_string(),
                    reason: ObjectSkipReason::GroupLimit,
                });
                continue;
            }
        }
        if !claimed.insert(name.to_lowercase()) {
            changes.conflicts.push(conflict(source, None));
            continue;
        }
        if pending.is_none() {
            places -= 1;
        }
        changes.creates.push(PlannedGroup {
            object_id: source.object_id.clone(),
            name: name.to_string(),
            member_names: wanted.names,
            members: GroupMembers {
                extensions: wanted.extensions.into_iter().cloned().collect(),
                created_users: wanted.created,
            },
            idempotency_key: pending,
        });
    }
    let selected: HashSet<&ObjectId> = sources.iter().map(|s| &s.object_id).collect();
    let mut removes: Vec<ObjectRemove> = side
        .mappings
        .values()
        .filter(|m| !selected.contains(&m.object_id))
        .filter_map(|m| {
            let pbx_id = m.pbx_id()?;
            let exists = side.pbx.contains_key(pbx_id);
            Some(ObjectRemove {
                object_id: m.object_id.clone(),
                pbx_id: pbx_id.to_string(),
                name: m.name.clone(),
                action: if exists && config.delete_when_unused {
                    ObjectRemoval::Delete
                } else {
                    ObjectRemoval::Release
                },
            })
        })
        .collect();
    removes.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    changes.removes = removes;
}

/// The synced members of a directory group: extensions known now, and users created by this
/// plan, each sorted.
struct Wanted<'a> {
    extensions: BTreeSet<&'a ExtensionId>,
    created: Vec<ObjectId>,
    created_names: Vec<String>,
    names: Vec<String>,
}

impl<'a> Wanted<'a> {
    fn of(source: &DirectoryGroup, members: &HashMap<&ObjectId, Member<'a>>) -> Self {
        let mut wanted = Wanted {
            extensions: BTreeSet::new(),
            created: Vec::new(),
            created_names: Vec::new(),
            names: Vec::new(),
        };
        let ids: BTreeSet<&ObjectId> = source.members.iter().collect();
        for id in ids {
            let Some(member) = members.get(id) else {
                continue;
            };
            wanted.names.push(member.name.clone());
            match member.extension {
                Some(ext) => {
                    wanted.extensions.insert(ext);
                }
                None => {
                    wanted.created.push(id.clone());
                    wanted.created_names.push(member.name.clone());
                }
            }
        }
        wanted
    }
}

fn conflict(source: &DirectoryGroup, holder: Option<&ExtensionGroup>) -> ObjectConflict {
    ObjectConflict {
        object_id: source.object_id.clone(),
        name: source.name.trim().to_string(),
        reason: ObjectConflictReason::NameTaken,
        holder_id: holder.map(|h| h.id.to_string()),
    }
}
