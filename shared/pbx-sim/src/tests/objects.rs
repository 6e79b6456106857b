//! Organizations and extension groups over real HTTP, and the extension fields that point
//! at them.

use super::*;

const ORGS: &str = "organizations";
const GROUPS: &str = "extension-groups";

fn org(name: &str, parent_id: Option<&str>) -> Value {
    json!({"name": name, "parent_id": parent_id, "managed_by": "directory-sync"})
}

fn group(name: &str, members: &[&str]) -> Value {
    json!({"name": name, "members": members, "managed_by": "directory-sync"})
}

fn id_of(answer: &(u16, Value)) -> String {
    assert!(answer.0 == 200 || answer.0 == 201, "{answer:?}");
    answer.1["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn organization_names_are_unique_among_siblings_and_creates_replay() {
    let f = start(SimulatorOptions::default(), 10).await;
    let sales = f.post_to(ORGS, Some("k-sales"), org("Sales", None)).await;
    assert_eq!(sales.0, 201);
    assert_eq!(sales.1["managed_by"], "directory-sync");
    assert_eq!(sales.1["parent_id"], Value::Null);
    let sales_id = id_of(&sales);
    let replay = f.post_to(ORGS, Some("k-sales"), org("Other", None)).await;
    assert_eq!(id_of(&replay), sales_id);
    assert_error(
        &f.post_to(ORGS, None, org("X", None)).await,
        400,
        "missing_idempotency_key",
    );
    assert_error(
        &f.post_to(ORGS, Some("k2"), org("SALES", None)).await,
        409,
        "name_taken",
    );
    // The same name under another parent is another organization.
    let emea = id_of(
        &f.post_to(ORGS, Some("k3"), org("EMEA", Some(&sales_id)))
            .await,
    );
    let nested = f.post_to(ORGS, Some("k4"), org("sales", Some(&emea))).await;
    assert_eq!(nested.1["parent_id"], emea.as_str());
    assert_error(
        &f.post_to(ORGS, Some("k5"), org("Y", Some("org-999"))).await,
        422,
        "unknown_parent",
    );
    assert_eq!(f.sim.organizations("acme").len(), 3);
    assert_eq!(f.sim.stats("acme").writes, 3);
}

#[tokio::test]
async fn organization_patches_check_names_and_cycles() {
    let f = start(SimulatorOptions::default(), 10).await;
    let top = id_of(&f.post_to(ORGS, Some("k1"), org("Top", None)).await);
    let mid = id_of(&f.post_to(ORGS, Some("k2"), org("Mid", Some(&top))).await);
    let low = id_of(&f.post_to(ORGS, Some("k3"), org("Low", Some(&mid))).await);
    let other = id_of(&f.post_to(ORGS, Some("k4"), org("Other", None)).await);
    assert_error(
        &f.patch_at(ORGS, &top, json!({"parent_id": low})).await,
        422,
        "cycle",
    );
    assert_error(
        &f.patch_at(ORGS, &top, json!({"parent_id": top})).await,
        422,
        "cycle",
    );
    assert_error(
        &f.patch_at(ORGS, &other, json!({"name": "top"})).await,
        409,
        "name_taken",
    );
    assert_error(
        &f.patch_at(ORGS, "org-999", json!({"name": "Z"})).await,
        404,
        "not_found",
    );
    assert_error(
        &f.patch_at(ORGS, &top, json!({"managed_by": null})).await,
        422,
        "invalid",
    );
    // Renaming to its own name in another case is no conflict.
    let renamed = f.patch_at(ORGS, &top, json!({"name": "TOP"})).await;
    assert_eq!(renamed.1["name"], "TOP");
    let moved = f.patch_at(ORGS, &low, json!({"parent_id": null})).await;
    assert_eq!((moved.0, &moved.1["parent_id"]), (200, &Value::Null));
    let writes = f.sim.stats("acme").writes;
    // An unchanged PATCH is no write.
    f.patch_at(ORGS, &low, json!({"parent_id": null})).await;
    assert_eq!(f.sim.stats("acme").writes, writes);
}

#[tokio::test]
async fn organizations_in_use_are_not_deleted_and_the_limit_holds() {
    let f = start(SimulatorOptions::default(), 10).await;
    f.sim.set_object_limits("acme", 2, 63);
    let parent = id_of(&f.post_to(ORGS, Some("k1"), org("Parent", None)).await);
    let child = id_of(
        &f.post_to(ORGS, Some("k2"), org("Child", Some(&parent)))
            .await,
    );
    assert_error(
        &f.post_to(ORGS, Some("k3"), org("Third", None)).await,
        403,
        "limit_reached",
    );
    let mut ext = new_ext("100", "a@x.io");
    ext["organization_id"] = json!(child);
    let ext_id = id_of(&f.post(Some("e1"), ext).await);
    // A child organization holds the parent, an extension holds the child.
    assert_error(&f.delete_at(ORGS, &parent).await, 409, "in_use");
    assert_error(&f.delete_at(ORGS, &child).await, 409, "in_use");
    f.patch(&ext_id, json!({"organization_id": null})).await;
    assert_eq!(f.delete_at(ORGS, &child).await.0, 204);
    assert_eq!(f.delete_at(ORGS, &parent).await.0, 204);
    assert_eq!(f.delete_at(ORGS, &parent).await.0, 404);
    assert!(f.sim.organizations("acme").is_empty());
}

#[tokio::test]
async fn extensions_carry_job_title_and_a_known_organization() {
    let f = start(SimulatorOptions::default(), 10).await;
    let org_id = f
        .sim
        .seed_organization("acme", SimOrganization::manual("Manual", None))
        .unwrap();
    let mut ext = new_ext("100", "a@x.io");
    ext["job_title"] = json!("Engineer");
    ext["organization_id"] = json!(org_id);
    let created = f.post(Some("e1"), ext).await;
    assert_eq!(created.1["job_title"], "Engineer");
    assert_eq!(created.1["organization_id"], org_id.as_str());
    let mut unknown = new_ext("101", "b@x.io");
    unknown["organization_id"] = json!("org-999");
    assert_error(
        &f.post(Some("e2"), unknown).await,
        422,
        "unknown_organization",
    );
    let id = id_of(&created);
    assert_error(
        &f.patch(&id, json!({"organization_id": "nope"})).await,
        422,
        "unknown_organization",
    );
    let patched = f.patch(&id, json!({"job_title": null})).await;
    assert_eq!(patched.1["job_title"], Value::Null);
    assert_eq!(
        f.get("").await.1["items"][0]["organization_id"],
        org_id.as_str()
    );
    let long = "x".repeat(129);
    assert_error(
        &f.patch(&id, json!({"job_title": long})).await,
        422,
        "invalid",
    );
}

#[tokio::test]
async fn groups_check_names_members_and_the_limit_of_63() {
    let f = start(SimulatorOptions::default(), 10).await;
    let a = id_of(&f.post(Some("e1"), new_ext("100", "a@x.io")).await);
    let b = id_of(&f.post(Some("e2"), new_ext("101", "b@x.io")).await);
    let sales = f
        .post_to(GROUPS, Some("g-sales"), group("Sales", &[&a]))
        .await;
    assert_eq!(sales.0, 201);
    assert_eq!(sales.1["members"], json!([a]));
    let sales_id = id_of(&sales);
    assert_eq!(
        id_of(&f.post_to(GROUPS, Some("g-sales"), group("x", &[])).await),
        sales_id
    );
    assert_error(
        &f.post_to(GROUPS, Some("g2"), group("sales", &[])).await,
        409,
        "name_taken",
    );
    assert_error(
        &f.post_to(GROUPS, Some("g3"), group("New", &["ext-999"]))
            .await,
        422,
        "unknown_member",
    );
    let replaced = f.patch_at(GROUPS, &sales_id, json!({"members": [b]})).await;
    assert_eq!(replaced.1["members"], json!([b]));
    assert_eq!(replaced.1["name"], "Sales");
    assert_error(
        &f.patch_at(GROUPS, &sales_id, json!({"members": ["x"]}))
            .await,
        422,
        "unknown_member",
    );
    assert_error(
        &f.patch_at(GROUPS, "grp-999", json!({"name": "Z"})).await,
        404,
        "not_found",
    );
    // Deleting an extension takes it out of every group.
    assert_eq!(f.delete(&b).await, 204);
    assert_eq!(f.sim.groups("acme")[0].members, Vec::<String>::new());
    for n in 1..63 {
        f.sim
            .seed_group("acme", SimGroup::manual(&format!("g{n}"), &[]))
            .unwrap();
    }
    assert_error(
        &f.post_to(GROUPS, Some("g64"), group("One too many", &[]))
            .await,
        403,
        "limit_reached",
    );
    assert_eq!(f.delete_at(GROUPS, &sales_id).await.0, 204);
    assert_eq!(f.delete_at(GROUPS, &sales_id).await.0, 404);
    assert_eq!(
        f.post_to(GROUPS, Some("g64"), group("Fits", &[])).await.0,
        201
    );
}

#[tokio::test]
async fn object_listings_page_and_faults_change_nothing() {
    let f = start(SimulatorOptions::default(), 10).await;
    for n in 0..5 {
        f.sim
            .seed_organization("acme", SimOrganization::manual(&format!("o{n}"), None));
        f.sim
            .seed_group("acme", SimGroup::manual(&format!("g{n}"), &[]));
    }
    for resource in [ORGS, GROUPS] {
        let first = f.get_from(resource, "?limit=3").await;
        assert_eq!(first.1["items"].as_array().unwrap().len(), 3);
        let cursor = first.1["next_cursor"].as_str().unwrap().to_string();
        let second = f
            .get_from(resource, &format!("?limit=3&cursor={cursor}"))
            .await;
        assert_eq!(second.1["items"].as_array().unwrap().len(), 2);
        assert_eq!(second.1["next_cursor"], Value::Null);
        assert_error(&f.get_from(resource, "?limit=0").await, 400, "invalid");
    }
    f.sim.set_options(SimulatorOptions {
        fault_rate: 1.0,
        ..SimulatorOptions::default()
    });
    let faulted = f.post_to(GROUPS, Some("g"), group("G", &[])).await;
    assert!(faulted.0 == 429 || faulted.0 >= 500, "{faulted:?}");
    assert_eq!(f.sim.groups("acme").len(), 5);
    let unauthorized = f
        .http
        .get(format!("{}/v1/{ORGS}", f.base))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
}
