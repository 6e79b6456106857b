//! The organisation side of the plan (CONTRACTS sections 2 and 3): organizations and
//! extension groups, planned after the extensions because they follow the users sync keeps.
//! Only objects in the mappings are ever changed; a manual namesake is a conflict.

mod groups;
mod organizations;

use std::collections::{HashMap, HashSet};

use crate::domain::config::OnRemove;
use crate::domain::extension::Extension;
use crate::domain::ids::{ExtensionId, ObjectId};
use crate::domain::organization::{ExtensionGroup, ObjectKind, ObjectMapping, Organization};
use crate::domain::plan::Plan;
use crate::domain::user::DirectoryUser;

use super::PlanInput;

/// A user whose extension sync keeps after this plan.
pub(super) struct SyncedUser<'a> {
    pub user: &'a DirectoryUser,
    /// The linked (or adopted) extension; `None` for one this plan creates.
    pub extension: Option<&'a Extension>,
}

/// The PBX objects and mappings of one kind, indexed.
struct Side<'a, T> {
    mappings: HashMap<&'a ObjectId, &'a ObjectMapping>,
    pbx: HashMap<&'a str, &'a T>,
}

impl<'a, T> Side<'a, T> {
    fn new(
        kind: ObjectKind,
        mappings: &'a [ObjectMapping],
        pbx: &'a [T],
        id: impl Fn(&'a T) -> &'a str,
    ) -> Self {
        Self {
            mappings: mappings
                .iter()
                .filter(|m| m.kind == kind)
                .map(|m| (&m.object_id, m))
                .collect(),
            pbx: pbx.iter().map(|o| (id(o), o)).collect(),
        }
    }

    /// The PBX object a mapping links to, if it still exists.
    fn linked(&self, mapping: &ObjectMapping) -> Option<&'a T> {
        mapping.pbx_id().and_then(|id| self.pbx.get(id).copied())
    }
}

/// Plans organizations and extension groups into `plan`, and the organization of each
/// synced user's extension into its create or update.
pub(super) fn plan_objects(input: &PlanInput<'_>, synced: &[SyncedUser<'_>], plan: &mut Plan) {
    // A read cut short says nothing about which objects are gone: none is touched.
    if !input.snapshot.complete {
        return;
    }
    let removed = removed_extensions(plan);
    let orgs = Side::new(
        ObjectKind::Organization,
        input.object_mappings,
        input.organizations,
        |o: &Organization| o.id.as_str(),
    );
    organizations::plan(input, synced, &orgs, &removed, plan);
    let groups = Side::new(
        ObjectKind::Group,
        input.object_mappings,
        input.groups,
        |g: &ExtensionGroup| g.id.as_str(),
    );
    groups::plan(input, synced, &groups, plan);
}

/// Extensions this plan deletes: they leave their organization and groups with them.
fn removed_extensions(plan: &Plan) -> HashSet<ExtensionId> {
    plan.removes
        .iter()
        .filter(|r| r.action == OnRemove::Delete)
        .map(|r| r.extension_id.clone())
        .collect()
}
