//! Entra ID's and Okta's documented SCIM request sequences replayed against the local
//! service (`/scim/v2/{t}/`, provider `scim`), each ending in the PBX state it should: the
//! extension created, renamed, disabled or removed per `remove_when`/`on_remove`, deleted;
//! extension groups following pushed groups; the deletion guard holding a run whose removals
//! pass `max_deletes`; and a push making a run of its own (trigger `push`).
//!
//! The bodies follow Microsoft's "Develop a SCIM endpoint" (Entra provisioning service) and
//! Okta's "SCIM 2.0" guide: Entra's `Replace` with a capitalised op and `"False"` as a string,
//! its `addMember`/`removeMember` PATCHes; Okta's `startIndex=1&count=100` filter, its `PUT`
//! for profile updates and its path-less `replace` of `active`.

use std::time::Duration;

use dirsync_integration_tests::api::spawn_app;
use dirsync_integration_tests::scim_client::ScimTenant;
use dirsync_pbx_sim::SimExtension;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn extensions(scim: &ScimTenant<'_>) -> Vec<SimExtension> {
    scim.app.service.simulator.extensions(&scim.tenant)
}

fn by_number<'a>(all: &'a [SimExtension], number: &str) -> Option<&'a SimExtension> {
    all.iter().find(|e| e.number == number)
}

/// `GET /Users?filter=userName eq "..."`, URL-encoded as the identity providers send it.
fn filter_path(user_name: &str, okta_paging: bool) -> String {
    let filter = format!("userName eq \"{user_name}\"");
    let mut path = format!("/Users?filter={}", urlencode(&filter));
    if okta_paging {
        path.push_str("&startIndex=1&count=100");
    }
    path
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Entra's create: its default attribute mappings (userPrincipalName → userName, mail →
/// emails[type eq "work"], telephoneNumber and mobile → phoneNumbers, department → the
/// enterprise extension).
fn entra_user(upn: &str, given: &str, family: &str, work: &str, object_id: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": object_id,
        "userName": upn,
        "active": true,
        "displayName": format!("{given} {family}"),
        "emails": [{"primary": true, "type": "work", "value": upn}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": format!("{given} {family}"), "familyName": family, "givenName": given},
        "phoneNumbers": [{"type": "work", "value": work}, {"type": "mobile", "value": "+1 555 0100"}],
        "title": "Engineer",
        "roles": [],
        ENTERPRISE: {"department": "Sales"}
    })
}

async fn entra_create(scim: &ScimTenant<'_>, upn: &str, given: &str, work: &str) -> String {
    // Entra looks the user up first, then creates it, then reads it back.
    let found = scim
        .expect(Method::GET, &filter_path(upn, false), None, StatusCode::OK)
        .await;
    assert_eq!(found["totalResults"], 0, "{found}");
    let object_id = format!("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4{work}");
    let body = entra_user(upn, given, "Tester", work, &object_id);
    let created = scim
        .expect(Method::POST, "/Users", Some(body), StatusCode::CREATED)
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let read = scim
        .expect(Method::GET, &format!("/Users/{id}"), None, StatusCode::OK)
        .await;
    assert_eq!(read["userName"], upn);
    id
}

#[tokio::test]
async fn entra_creates_renames_groups_deactivates_and_deletes() {
    let app = spawn_app().await;
    let scim = app
        .scim_tenant(
            "entra",
            json!({"extension_groups": {"sync": "all", "delete_when_unused": true},
                   "organizations": {"sync": "attribute", "attribute": "department"}}),
        )
        .await;
    let ada = entra_create(&scim, "ada@contoso.com", "Ada", "2001").await;
    let bob = entra_create(&scim, "bob@contoso.com", "Bob", "2002").await;
    let group = scim
        .expect(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Sales Team",
                "meta": {"resourceType": "Group"}})),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let members = json!({"schemas": [PATCH], "Operations": [{"name": "addMember", "op": "Add",
        "path": "members", "value": [{"$ref": null, "value": ada}, {"$ref": null, "value": bob}]}]});
    let group_path = format!("/Groups/{group}");
    let added = scim.send(Method::PATCH, &group_path, Some(members)).await;
    assert!(added.status.is_success(), "{}", added.text);

    let run = scim.sync().await;
    assert_eq!(run["outcome"], "success", "{run}");
    let all = extensions(&scim);
    let first = by_number(&all, "2001").expect("Ada's extension");
    assert_eq!(first.first_name.as_deref(), Some("Ada"));
    assert_eq!(first.email.as_deref(), Some("ada@contoso.com"));
    assert_eq!(first.mobile.as_deref(), Some("+1 555 0100"));
    assert!(
        first.organization_id.is_some(),
        "department makes an organization"
    );
    let groups = app.service.simulator.groups("entra");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, "Sales Team");
    assert_eq!(groups[0].members.len(), 2);

    // A rename: Entra replaces the changed attributes, op capitalised.
    let rename = json!({"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "displayName", "value": "Augusta Tester"},
        {"op": "Replace", "path": "name.givenName", "value": "Augusta"}]});
    let renamed = scim
        .send(Method::PATCH, &format!("/Users/{ada}"), Some(rename))
        .await;
    assert!(renamed.status.is_success(), "{}", renamed.text);
    // Bob leaves the group.
    let remove = json!({"schemas": [PATCH], "Operations": [{"name": "removeMember", "op": "Remove",
        "path": "members", "value": [{"$ref": null, "value": bob}]}]});
    let removed = scim.send(Method::PATCH, &group_path, Some(remove)).await;
    assert!(removed.status.is_success(), "{}", removed.text);
    scim.sync().await;
    let all = extensions(&scim);
    assert_eq!(
        by_number(&all, "2001").unwrap().first_name.as_deref(),
        Some("Augusta")
    );
    let groups = app.service.simulator.groups("entra");
    assert_eq!(
        groups[0].members,
        [by_number(&all, "2001").unwrap().id.clone()]
    );

    // Deactivation, the string "False" as Entra sends it: disabled, and removed (the default
    // remove_when holds `disabled`, on_remove `delete`).
    let disable = json!({"schemas": [PATCH],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let disabled = scim
        .send(Method::PATCH, &format!("/Users/{bob}"), Some(disable))
        .await;
    assert!(disabled.status.is_success(), "{}", disabled.text);
    let read = scim
        .expect(Method::GET, &format!("/Users/{bob}"), None, StatusCode::OK)
        .await;
    assert_eq!(read["active"], false);
    let run = scim.sync().await;
    assert_eq!(run["outcome"], "success", "{run}");
    assert!(
        by_number(&extensions(&scim), "2002").is_none(),
        "Bob's extension removed"
    );

    // The hard delete, 30 days later in Entra.
    scim.expect(
        Method::DELETE,
        &format!("/Users/{ada}"),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    scim.expect(
        Method::GET,
        &format!("/Users/{ada}"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    let run = scim.sync().await;
    assert_eq!(run["outcome"], "success", "{run}");
    assert!(extensions(&scim).is_empty(), "Ada's extension deleted");
}

/// Okta's create body (its guide's example, with a work phone for the extension).
fn okta_user(login: &str, given: &str, family: &str, work: &str, okta_id: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": login,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": true, "value": login, "type": "work"}],
        "displayName": format!("{given} {family}"),
        "locale": "en-US",
        "externalId": okta_id,
        "groups": [],
        "password": "1mz050nq",
        "phoneNumbers": [{"type": "work", "value": work}],
        "active": true
    })
}

#[tokio::test]
async fn okta_creates_updates_by_put_deactivates_and_pushes_groups() {
    let app = spawn_app().await;
    let scim = app
        .scim_tenant(
            "okta",
            json!({"on_remove": "disable",
                   "extension_groups": {"sync": "groups", "groups": ["Engineering"]}}),
        )
        .await;
    let login = "test.user@okta.local";
    let found = scim
        .expect(Method::GET, &filter_path(login, true), None, StatusCode::OK)
        .await;
    assert_eq!(found["totalResults"], 0, "{found}");
    let body = okta_user(login, "Test", "User", "3001", "00ujl29u0le5T6Aj10h7");
    let created = scim
        .expect(
            Method::POST,
            "/Users",
            Some(body.clone()),
            StatusCode::CREATED,
        )
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    assert!(
        created.get("password").is_none(),
        "a password is never answered"
    );
    let other = okta_user(
        "other@okta.local",
        "Other",
        "User",
        "3002",
        "00ujl29u0le5T6Aj10h8",
    );
    let other = scim
        .expect(Method::POST, "/Users", Some(other), StatusCode::CREATED)
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Group push: create, then members by PATCH.
    let group = scim
        .expect(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Engineering", "members": []})),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let add = json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "members",
        "value": [{"value": id, "display": login}, {"value": other, "display": "other@okta.local"}]}]});
    let added = scim
        .send(Method::PATCH, &format!("/Groups/{group}"), Some(add))
        .await;
    assert!(added.status.is_success(), "{}", added.text);
    let run = scim.sync().await;
    assert_eq!(run["outcome"], "success", "{run}");
    let all = extensions(&scim);
    assert_eq!(
        by_number(&all, "3001").unwrap().first_name.as_deref(),
        Some("Test")
    );
    let groups = app.service.simulator.groups("okta");
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0].members.len(), 2);

    // A profile update is a PUT of the whole user.
    let mut update = okta_user(login, "Another", "User", "3001", "00ujl29u0le5T6Aj10h7");
    update["id"] = json!(id);
    update.as_object_mut().unwrap().remove("password");
    scim.expect(
        Method::PUT,
        &format!("/Users/{id}"),
        Some(update),
        StatusCode::OK,
    )
    .await;
    // Okta removes a member with a value filter in the path.
    let group_patch = json!({"schemas": [PATCH], "Operations": [
        {"op": "remove", "path": format!("members[value eq \"{other}\"]")}]});
    let patched = scim
        .send(
            Method::PATCH,
            &format!("/Groups/{group}"),
            Some(group_patch),
        )
        .await;
    assert!(patched.status.is_success(), "{}", patched.text);
    scim.sync().await;
    let all = extensions(&scim);
    assert_eq!(
        by_number(&all, "3001").unwrap().first_name.as_deref(),
        Some("Another")
    );
    let groups = app.service.simulator.groups("okta");
    assert_eq!(
        groups[0].members,
        [by_number(&all, "3001").unwrap().id.clone()]
    );

    // Deactivation: a path-less replace. on_remove "disable": the extension stays, disabled.
    let deactivate = json!({"schemas": [PATCH],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    let done = scim
        .send(Method::PATCH, &format!("/Users/{id}"), Some(deactivate))
        .await;
    assert!(done.status.is_success(), "{}", done.text);
    let run = scim.sync().await;
    assert_eq!(run["outcome"], "success", "{run}");
    let all = extensions(&scim);
    let disabled = by_number(&all, "3001").expect("kept");
    assert!(!disabled.enabled, "disabled on the PBX");
    assert!(by_number(&all, "3002").unwrap().enabled);
}

#[tokio::test]
async fn the_deletion_guard_holds_pushed_deletes_past_max_deletes() {
    let app = spawn_app().await;
    let scim = app
        .scim_tenant("guarded", json!({"deletion_guard": {"max_deletes": 2}}))
        .await;
    let mut ids = Vec::new();
    for n in 1..=4 {
        let login = format!("user{n}@contoso.com");
        let body = entra_user(
            &login,
            &format!("User{n}"),
            "Tester",
            &format!("400{n}"),
            &format!("ext-{n}"),
        );
        let created = scim
            .expect(Method::POST, "/Users", Some(body), StatusCode::CREATED)
            .await;
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    assert_eq!(scim.sync().await["outcome"], "success");
    assert_eq!(extensions(&scim).len(), 4);
    for id in &ids[..3] {
        scim.expect(
            Method::DELETE,
            &format!("/Users/{id}"),
            None,
            StatusCode::NO_CONTENT,
        )
        .await;
    }
    let run = scim.sync().await;
    assert_eq!(run["outcome"], "held", "{run}");
    assert_eq!(extensions(&scim).len(), 4, "nothing removed while held");
}

#[tokio::test]
async fn pushes_of_one_minute_make_one_push_run() {
    let app = spawn_app().await;
    let scim = app.scim_tenant("pushed", json!({})).await;
    // A burst: every write queues the tenant's job of its minute; the local queue keeps one.
    for n in 1..=20 {
        let login = format!("burst{n}@contoso.com");
        let body = entra_user(
            &login,
            "Burst",
            "Tester",
            &format!("5{n:03}"),
            &format!("b-{n}"),
        );
        scim.expect(Method::POST, "/Users", Some(body), StatusCode::CREATED)
            .await;
    }
    // The job's run starts once its minute has ended: within 60 s, plus the run.
    let mut push_runs = Vec::new();
    for _ in 0..900 {
        push_runs = scim
            .runs()
            .await
            .into_iter()
            .filter(|r| r["trigger"] == "push" && r["outcome"] != "running")
            .collect();
        if !push_runs.is_empty() && extensions(&scim).len() == 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        extensions(&scim).len(),
        20,
        "no manual run: the pushes made one"
    );
    // The burst may straddle a minute's end: then two jobs, never more.
    assert!(
        (1..=2).contains(&push_runs.len()),
        "{} push runs",
        push_runs.len()
    );
    assert!(
        push_runs.iter().all(|r| r["outcome"] == "success"),
        "{push_runs:?}"
    );
}
