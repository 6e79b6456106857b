//! Organizations whose changes wait on each other across runs: a delete that a waiting
//! child still holds waits with it, and both happen on the run after.

use super::model::*;
use super::model_objects::object_mapping;
use crate::domain::config::OrganizationSync;
use crate::domain::ids::{ObjectId, OrganizationId};
use crate::domain::object_plan::{ObjectConflictReason, ObjectRemoval};
use crate::domain::organization::{DirectoryOrganization, ObjectKind, Organization};

fn source(id: &str, name: &str) -> DirectoryOrganization {
    DirectoryOrganization {
        object_id: oid(id),
        name: name.into(),
        parent: None,
    }
}

fn managed(id: &str, name: &str, parent: Option<&str>) -> Organization {
    Organization {
        id: OrganizationId::parse(id).unwrap(),
        name: name.into(),
        parent_id: parent.map(|p| OrganizationId::parse(p).unwrap()),
        managed_by: Some("directory-sync".into()),
    }
}

/// Ann's OU "Ops" moves to the top, where "Ops" is the name of an organization whose OU
/// has no users left. Its old parent has none either.
fn waiting_move() -> World {
    let mut w = synced_pair();
    w.config.organizations.sync = OrganizationSync::Ous;
    w.config.organizations.delete_when_unused = true;
    w.users[0].organization = Some(oid("ou-ops"));
    w.extensions[0].organization_id = Some(OrganizationId::parse("org-ops").unwrap());
    let o = &mut w.objects;
    o.sources_organizations = vec![
        source("ou-parent", "Parent"),
        source("ou-old", "Old"),
        source("ou-ops", "Ops"),
    ];
    for (ou, org) in [
        ("ou-parent", "org-parent"),
        ("ou-old", "org-old"),
        ("ou-ops", "org-ops"),
    ] {
        o.mappings
            .push(object_mapping(ObjectKind::Organization, ou, org));
    }
    o.organizations = vec![
        managed("org-parent", "Parent", None),
        managed("org-old", "Ops", None),
        managed("org-ops", "Sales", Some("org-parent")),
    ];
    w
}

#[test]
fn a_delete_held_by_a_waiting_child_happens_once_the_child_has_moved() {
    let mut w = waiting_move();
    let first = w.plan();
    // The old "Ops" goes this run; until it has, the name is not free: the move waits.
    let removed: Vec<&str> = first
        .organizations
        .removes
        .iter()
        .map(|r| r.pbx_id.as_str())
        .collect();
    assert_eq!(removed, ["org-old"]);
    assert!(first.organizations.updates.is_empty());
    let conflicts: Vec<(&ObjectId, ObjectConflictReason, Option<&str>)> = first
        .organizations
        .conflicts
        .iter()
        .map(|c| (&c.object_id, c.reason, c.holder_id.as_deref()))
        .collect();
    assert_eq!(
        conflicts,
        [
            (
                &oid("ou-ops"),
                ObjectConflictReason::NameTaken,
                Some("org-old")
            ),
            (
                &oid("ou-parent"),
                ObjectConflictReason::InUse,
                Some("org-ops")
            ),
        ]
    );
    w.apply(&first);

    // Now the name is free: the move and rename happen, and the parent, empty, goes.
    let second = w.plan();
    let update = &second.organizations.updates[..];
    assert_eq!(update.len(), 1, "{second:#?}");
    assert_eq!(update[0].organization_id, "org-ops");
    assert_eq!(update[0].parent_source, Some(None));
    let removes: Vec<(&str, ObjectRemoval)> = second
        .organizations
        .removes
        .iter()
        .map(|r| (r.pbx_id.as_str(), r.action))
        .collect();
    assert_eq!(removes, [("org-parent", ObjectRemoval::Delete)]);
    assert!(second.organizations.conflicts.is_empty());
    w.apply(&second);

    assert!(w.plan().is_noop());
    let left: Vec<(&str, &str, Option<&str>)> = w
        .objects
        .organizations
        .iter()
        .map(|o| {
            (
                o.id.as_str(),
                o.name.as_str(),
                o.parent_id.as_ref().map(|p| p.as_str()),
            )
        })
        .collect();
    assert_eq!(left, [("org-ops", "Ops", None)]);
}
