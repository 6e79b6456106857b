use chrono::Utc;
use serde_json::{json, Value};

use super::ScimReader;
use crate::domain::config::EndpointPolicy;
use crate::domain::{Coverage, DirectoryConfig, ObjectId, PushedKind, PushedResource, UserState};
use crate::error::DirectoryError;

fn reader(extra: Value) -> ScimReader {
    let mut body = json!({"provider": {"type": "scim"}});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let config =
        DirectoryConfig::from_json(body.to_string().as_bytes(), EndpointPolicy::default()).unwrap();
    ScimReader::new(&config).unwrap()
}

fn resource(kind: PushedKind, id: &str, name: &str, attributes: Value) -> PushedResource {
    PushedResource {
        kind,
        id: ObjectId::parse(id).unwrap(),
        external_id: Some(format!("ext-{id}")),
        name: name.to_string(),
        version: 1,
        created: Utc::now(),
        last_modified: Utc::now(),
        attributes,
    }
}

fn user(id: &str, extension: &str, active: Value, department: &str) -> PushedResource {
    resource(
        PushedKind::User,
        id,
        &format!("{id}@contoso.com"),
        json!({
            "userName": format!("{id}@contoso.com"), "active": active,
            "name": {"givenName": id, "familyName": "Test"},
            "emails": [{"primary": true, "type": "work", "value": format!("{id}@contoso.com")}],
            "phoneNumbers": [{"type": "work", "value": extension}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": department}
        }),
    )
}

fn group(id: &str, name: &str, members: &[&str]) -> PushedResource {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    resource(
        PushedKind::Group,
        id,
        name,
        json!({"displayName": name, "members": members}),
    )
}

fn users() -> Vec<PushedResource> {
    vec![
        user("u1", "2001", json!(true), "Sales"),
        user("u2", "2002", json!("False"), "sales "),
        user("u3", "2003", json!(false), "Support"),
    ]
}

#[test]
fn every_pushed_user_is_read_and_inactive_ones_are_disabled() {
    let snapshot = reader(json!({})).snapshot(&users(), &[]).unwrap();
    assert_eq!(snapshot.coverage, Coverage::WholeDirectory);
    assert!(snapshot.complete);
    let states: Vec<_> = snapshot.users.iter().map(|u| u.state).collect();
    assert_eq!(
        states,
        [UserState::Active, UserState::Disabled, UserState::Disabled]
    );
    let first = &snapshot.users[0];
    assert_eq!(first.object_id.as_str(), "u1");
    assert_eq!(first.extension.as_deref(), Some("2001"));
    assert_eq!(first.email.as_deref(), Some("u1@contoso.com"));
    assert_eq!(first.first_name.as_deref(), Some("u1"));
    assert!(snapshot.users.iter().all(|u| u.in_scope));
    assert!(snapshot.organizations.is_empty() && snapshot.groups.is_empty());
}

#[test]
fn department_makes_one_organization_per_value() {
    let snapshot =
        reader(json!({"organizations": {"sync": "attribute", "attribute": "department"}}))
            .snapshot(&users(), &[])
            .unwrap();
    let names: Vec<_> = snapshot
        .organizations
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(names, ["Sales", "Support"]);
    assert_eq!(
        snapshot.users[0].organization,
        snapshot.users[1].organization
    );
    assert_ne!(
        snapshot.users[0].organization,
        snapshot.users[2].organization
    );
}

#[test]
fn a_group_scope_takes_its_members_and_names_groups_every_way() {
    let groups = vec![
        group("g1", "Sales", &["u1", "u2"]),
        group("g3", "Support", &["u3"]),
    ];
    for named in ["g1", "ext-g1", "sales"] {
        let snapshot = reader(json!({"scope": {"type": "groups", "groups": [named]}}))
            .snapshot(&users(), &groups)
            .unwrap();
        let in_scope: Vec<_> = snapshot
            .users
            .iter()
            .map(|u| (u.object_id.as_str(), u.in_scope))
            .collect();
        assert_eq!(
            in_scope,
            [("u1", true), ("u2", true), ("u3", false)],
            "{named}"
        );
        assert_eq!(snapshot.users[0].groups, [named]);
        assert_eq!(snapshot.coverage, Coverage::WholeDirectory);
    }
}

#[test]
fn a_named_group_that_is_not_pushed_fails_the_read() {
    let error = reader(json!({"scope": {"type": "groups", "groups": ["Gone"]}}))
        .snapshot(&users(), &[group("g1", "Sales", &["u1"])])
        .unwrap_err();
    assert!(matches!(error, DirectoryError::NotAvailable(_)), "{error}");
    let error = reader(json!({"extension_groups": {"sync": "groups", "groups": ["Gone"]}}))
        .snapshot(&users(), &[])
        .unwrap_err();
    assert!(matches!(error, DirectoryError::NotAvailable(_)), "{error}");
}

#[test]
fn extension_groups_carry_their_resolved_members() {
    let groups = vec![
        group("g1", "Sales", &["u1", "u2", "unknown-user"]),
        group("g2", "Sales EMEA", &["u2"]),
    ];
    let all = reader(json!({"extension_groups": {"sync": "all"}}))
        .snapshot(&users(), &groups)
        .unwrap();
    let read: Vec<(&str, Vec<&str>)> = all
        .groups
        .iter()
        .map(|g| {
            (
                g.name.as_str(),
                g.members.iter().map(ObjectId::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        read,
        [
            ("Sales", vec!["u1", "u2", "unknown-user"]),
            ("Sales EMEA", vec!["u2"])
        ]
    );
    let named = reader(json!({"extension_groups": {"sync": "groups", "groups": ["Sales EMEA"]}}))
        .snapshot(&users(), &groups)
        .unwrap();
    assert_eq!(named.groups.len(), 1);
    assert_eq!(named.groups[0].object_id.as_str(), "g2");
}

#[test]
fn a_users_scope_and_renamed_fields_apply() {
    let snapshot = reader(json!({"scope": {"type": "users", "users": ["u2"]},
        "fields": {"first_name": "displayName", "mobile": null},
        "extra_numbers": [{"attribute": "userName", "suffix": "U"}]}))
    .snapshot(&users(), &[])
    .unwrap();
    let in_scope: Vec<_> = snapshot.users.iter().map(|u| u.in_scope).collect();
    assert_eq!(in_scope, [false, true, false]);
    assert_eq!(snapshot.users[0].first_name, None);
    assert_eq!(snapshot.users[0].extra_numbers[0].number, "u1@contoso.com");
}

#[test]
fn a_pushed_user_that_is_no_object_fails_the_read() {
    let mut broken = users();
    broken[1].attributes = json!("not an object");
    assert!(reader(json!({})).snapshot(&broken, &[]).is_err());
}

#[tokio::test]
async fn the_directory_reads_the_tenants_pushed_set_from_the_store() {
    use std::sync::Arc;

    use crate::domain::TenantId;
    use crate::ports::{Directory, Store};
    use crate::store::SqliteStore;

    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let tenant = TenantId::parse("acme").unwrap();
    let other = TenantId::parse("other").unwrap();
    for user in users() {
        store.create_pushed(&tenant, &user).await.unwrap();
    }
    store
        .create_pushed(&other, &user("x9", "9009", json!(true), "Ops"))
        .await
        .unwrap();
    store
        .create_pushed(&tenant, &group("g1", "Sales", &["u1"]))
        .await
        .unwrap();
    let body = json!({"provider": {"type": "scim"},
        "scope": {"type": "groups", "groups": ["Sales"]}});
    let config =
        DirectoryConfig::from_json(body.to_string().as_bytes(), EndpointPolicy::default()).unwrap();
    let directory = super::ScimDirectory::new(store.clone(), tenant.clone(), &config).unwrap();
    let snapshot = directory.read_users().await.unwrap();
    let read: Vec<_> = snapshot
        .users
        .iter()
        .map(|u| (u.object_id.as_str(), u.in_scope))
        .collect();
    assert_eq!(read, [("u1", true), ("u2", false), ("u3", false)]);

    // DELETE removed it: absent, and with the whole directory read, deleted.
    let u2 = ObjectId::parse("u2").unwrap();
    assert!(store
        .delete_pushed(&tenant, PushedKind::User, &u2)
        .await
        .unwrap());
    let snapshot = directory.read_users().await.unwrap();
    assert_eq!(snapshot.users.len(), 2);
    assert_eq!(snapshot.coverage, Coverage::WholeDirectory);

    let report = directory.test_connection().await;
    assert!(report.checks[0].ok, "{report:?}");
    assert_eq!(
        report.checks[0].message,
        "2 pushed users (1 in scope) and 1 pushed groups"
    );
}
