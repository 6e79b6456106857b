//! Organizations, extension groups and the extension fields that point at them.

use super::*;
use dirsync::domain::object_plan::ObjectConflictReason;
use dirsync::domain::organization::{
    ExtensionGroupPatch, NewExtensionGroup, NewOrganization, OrganizationPatch,
};
use dirsync::domain::{GroupId, OrganizationId};
use dirsync_pbx_sim::{SimGroup, SimOrganization};

fn new_org(name: &str, parent_id: Option<&OrganizationId>) -> NewOrganization {
    NewOrganization {
        name: name.into(),
        parent_id: parent_id.cloned(),
        managed_by: MANAGED_BY.into(),
    }
}

fn new_group(name: &str, members: &[ExtensionId]) -> NewExtensionGroup {
    NewExtensionGroup {
        name: name.into(),
        members: members.to_vec(),
        managed_by: MANAGED_BY.into(),
    }
}

fn paged() -> PbxClientOptions {
    PbxClientOptions {
        page_size: 4,
        ..fast()
    }
}

#[tokio::test]
async fn both_listings_read_every_page() {
    let (sim, server) = start(SimulatorOptions::default(), 100).await;
    for n in 0..10 {
        let parent = sim.organizations("acme").first().map(|o| o.id.clone());
        sim.seed_organization(
            "acme",
            SimOrganization::manual(&format!("o{n}"), parent.as_deref()),
        );
        sim.seed_group("acme", SimGroup::manual(&format!("g{n}"), &[]));
    }
    let pbx = client(&server, paged());
    let orgs = pbx.list_organizations().await.unwrap();
    let expected: Vec<String> = sim
        .organizations("acme")
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(
        orgs.iter().map(|o| o.id.to_string()).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(orgs[1].parent_id.as_ref(), Some(&orgs[0].id));
    assert_eq!(orgs[0].managed_by, None);
    let groups = pbx.list_groups().await.unwrap();
    let expected: Vec<String> = sim.groups("acme").into_iter().map(|g| g.id).collect();
    assert_eq!(
        groups.iter().map(|g| g.id.to_string()).collect::<Vec<_>>(),
        expected
    );
    // Three pages of four for each listing.
    assert_eq!(pbx.calls().get, 6);
}

#[tokio::test]
async fn organizations_replay_conflict_and_stay_while_in_use() {
    let (sim, server) = start(SimulatorOptions::default(), 10).await;
    let pbx = client(&server, fast());
    let sales = pbx
        .create_organization(&new_org("Sales", None), "org-sales")
        .await
        .unwrap();
    assert_eq!(sales.managed_by.as_deref(), Some(MANAGED_BY));
    let again = pbx
        .create_organization(&new_org("Sales", None), "org-sales")
        .await
        .unwrap();
    assert_eq!(again, sales);
    assert_eq!(sim.organizations("acme").len(), 1);
    assert_eq!(sim.stats("acme").writes, 1);
    assert!(matches!(
        pbx.create_organization(&new_org("sales", None), "org-2")
            .await
            .unwrap_err(),
        PbxError::ObjectConflict(ObjectConflictReason::NameTaken)
    ));
    let emea = pbx
        .create_organization(&new_org("EMEA", Some(&sales.id)), "org-3")
        .await
        .unwrap();
    assert_eq!(emea.parent_id.as_ref(), Some(&sales.id));
    let cycle = OrganizationPatch {
        parent_id: Some(Some(emea.id.clone())),
        ..OrganizationPatch::default()
    };
    assert!(matches!(
        pbx.update_organization(&sales.id, &cycle)
            .await
            .unwrap_err(),
        PbxError::Rejected(_)
    ));
    let top = OrganizationPatch {
        name: Some("Europe".into()),
        parent_id: Some(None),
    };
    let moved = pbx.update_organization(&emea.id, &top).await.unwrap();
    assert_eq!((moved.name.as_str(), moved.parent_id), ("Europe", None));

    // An extension in it keeps it.
    let mut ext = new_ext("200", "a@x.io");
    ext.organization_id = Some(emea.id.clone());
    let ext = pbx.create_extension(&ext, "ext-200").await.unwrap();
    assert!(matches!(
        pbx.delete_organization(&emea.id).await.unwrap_err(),
        PbxError::ObjectConflict(ObjectConflictReason::InUse)
    ));
    pbx.delete_extension(&ext.id).await.unwrap();
    pbx.delete_organization(&emea.id).await.unwrap();
    // Already gone counts as deleted; a PATCH of it does not.
    pbx.delete_organization(&emea.id).await.unwrap();
    assert!(matches!(
        pbx.update_organization(&emea.id, &top).await.unwrap_err(),
        PbxError::NotFound
    ));
    assert_eq!(sim.organizations("acme").len(), 1);
}

#[tokio::test]
async fn groups_hold_members_and_stop_at_63() {
    let (sim, server) = start(SimulatorOptions::default(), 10).await;
    let pbx = client(&server, fast());
    let a = pbx
        .create_extension(&new_ext("200", "a@x.io"), "e-a")
        .await
        .unwrap();
    let b = pbx
        .create_extension(&new_ext("201", "b@x.io"), "e-b")
        .await
        .unwrap();
    let group = pbx
        .create_group(&new_group("Sales", std::slice::from_ref(&a.id)), "g-sales")
        .await
        .unwrap();
    assert_eq!(group.members, vec![a.id.clone()]);
    let again = pbx
        .create_group(&new_group("Other", &[]), "g-sales")
        .await
        .unwrap();
    assert_eq!(again.id, group.id);
    assert!(matches!(
        pbx.create_group(&new_group("SALES", &[]), "g-2")
            .await
            .unwrap_err(),
        PbxError::ObjectConflict(ObjectConflictReason::NameTaken)
    ));
    let ghost = ExtensionId::parse("ext-999").unwrap();
    assert!(matches!(
        pbx.create_group(&new_group("Ghosts", std::slice::from_ref(&ghost)), "g-3").await.unwrap_err(),
        PbxError::Rejected(m) if m.contains("ext-999")
    ));
    let replace = ExtensionGroupPatch {
        members: Some(vec![b.id.clone()]),
        ..ExtensionGroupPatch::default()
    };
    let replaced = pbx.update_group(&group.id, &replace).await.unwrap();
    assert_eq!(
        (replaced.name.as_str(), replaced.members),
        ("Sales", vec![b.id.clone()])
    );
    let gone = GroupId::parse("grp-999").unwrap();
    assert!(matches!(
        pbx.update_group(&gone, &replace).await.unwrap_err(),
        PbxError::NotFound
    ));

    for n in 1..63 {
        pbx.create_group(&new_group(&format!("g{n}"), &[]), &format!("g-{n}"))
            .await
            .unwrap();
    }
    assert_eq!(pbx.list_groups().await.unwrap().len(), 63);
    assert!(matches!(
        pbx.create_group(&new_group("g63", &[]), "g-63")
            .await
            .unwrap_err(),
        PbxError::LimitReached
    ));
    pbx.delete_group(&group.id).await.unwrap();
    pbx.delete_group(&group.id).await.unwrap();
    pbx.create_group(&new_group("g63", &[]), "g-63")
        .await
        .unwrap();
    assert_eq!(sim.groups("acme").len(), 63);
}

#[tokio::test]
async fn a_throttled_create_is_retried_once_and_creates_once() {
    let limited = SimulatorOptions {
        rate_limit_per_second: Some(1),
        ..SimulatorOptions::default()
    };
    let (sim, server) = start(limited, 10).await;
    let pbx = client(&server, fast());
    pbx.list_organizations().await.unwrap();
    // Refused with 429 and Retry-After: 1, then created.
    pbx.create_organization(&new_org("Sales", None), "org-sales")
        .await
        .unwrap();
    pbx.list_groups().await.unwrap();
    pbx.create_group(&new_group("Sales", &[]), "g-sales")
        .await
        .unwrap();
    assert_eq!(sim.stats("acme").rate_limited, 3);
    assert_eq!(pbx.calls().post, 4);
    assert_eq!(sim.organizations("acme").len(), 1);
    assert_eq!(sim.groups("acme").len(), 1);
}

#[tokio::test]
async fn extensions_round_trip_job_title_and_organization() {
    let (sim, server) = start(SimulatorOptions::default(), 10).await;
    let pbx = client(&server, fast());
    let sales = pbx
        .create_organization(&new_org("Sales", None), "org-sales")
        .await
        .unwrap();
    let support = pbx
        .create_organization(&new_org("Support", None), "org-support")
        .await
        .unwrap();
    let mut request = new_ext("200", "a@x.io");
    request.job_title = Some("Engineer".into());
    request.organization_id = Some(sales.id.clone());
    let created = pbx.create_extension(&request, "ext-200").await.unwrap();
    assert_eq!(created.job_title.as_deref(), Some("Engineer"));
    assert_eq!(created.organization_id.as_ref(), Some(&sales.id));
    let patch = ExtensionPatch {
        job_title: Some(None),
        organization_id: Some(Some(support.id.clone())),
        ..ExtensionPatch::default()
    };
    let updated = pbx.update_extension(&created.id, &patch).await.unwrap();
    assert_eq!(updated.job_title, None);
    assert_eq!(updated.organization_id.as_ref(), Some(&support.id));
    let listed = pbx.list_extensions().await.unwrap();
    assert_eq!(listed, vec![updated]);
    assert_eq!(
        sim.extensions("acme")[0].organization_id.as_deref(),
        Some(support.id.as_str())
    );
    let unknown = ExtensionPatch {
        organization_id: Some(Some(OrganizationId::parse("org-999").unwrap())),
        ..ExtensionPatch::default()
    };
    assert!(matches!(
        pbx.update_extension(&created.id, &unknown)
            .await
            .unwrap_err(),
        PbxError::Rejected(_)
    ));
}
