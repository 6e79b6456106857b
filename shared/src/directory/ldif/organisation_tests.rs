//! `organizations`, `extension_groups` and job titles read from an LDIF export.

use serde_json::json;

use super::*;

/// Nested OUs (Sales under Europe), a non-OU container inside Sales, a user at the top, and
/// groups of groups with a `member` cycle (all -> team -> all).
const EXPORT: &str = "\
dn: dc=x
objectClass: dcObject
dc: x

dn: ou=Europe,dc=x
objectClass: organizationalUnit
ou: Europe
entryUUID: 00000000-0000-4000-8000-0000000000e1

dn: ou=Sales,ou=Europe,dc=x
objectClass: organizationalUnit
ou: Sales
entryUUID: 00000000-0000-4000-8000-0000000000e2

dn: cn=Users,ou=Sales,ou=Europe,dc=x
objectClass: organizationalRole
cn: Users

dn: uid=ann,ou=Sales,ou=Europe,dc=x
objectClass: inetOrgPerson
entryUUID: 00000000-0000-4000-8000-000000000001
givenName: Ann
sn: Lee
title: Sales Lead
departmentNumber: Field Sales

dn: uid=bob,ou=Europe,dc=x
objectClass: inetOrgPerson
entryUUID: 00000000-0000-4000-8000-000000000002
givenName: Bob
sn: Ray
departmentNumber: field sales 

dn: uid=cat,cn=Users,ou=Sales,ou=Europe,dc=x
objectClass: inetOrgPerson
entryUUID: 00000000-0000-4000-8000-000000000003
givenName: Cat
sn: Fox

dn: uid=dan,dc=x
objectClass: inetOrgPerson
entryUUID: 00000000-0000-4000-8000-000000000004
givenName: Dan
sn: Oak
departmentNumber: Support

dn: cn=all,dc=x
objectClass: groupOfNames
cn: all
entryUUID: 00000000-0000-4000-8000-0000000000a1
member: cn=team,dc=x
member: cn=solo,dc=x

dn: cn=team,dc=x
objectClass: groupOfNames
cn: team
entryUUID: 00000000-0000-4000-8000-0000000000a2
member: uid=ann,ou=Sales,ou=Europe,dc=x
member: CN=All, DC=X

dn: cn=solo,dc=x
objectClass: groupOfUniqueNames
cn: solo
entryUUID: 00000000-0000-4000-8000-0000000000a3
uniqueMember: uid=bob,ou=Europe,dc=x
uniqueMember: uid=ann,ou=Sales,ou=Europe,dc=x
";

fn id(suffix: &str) -> String {
    format!("00000000-0000-4000-8000-{suffix:0>12}")
}

async fn read(extra: serde_json::Value) -> Result<Snapshot, DirectoryError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("export.ldif"), EXPORT).unwrap();
    let mut body = json!({"provider": {"type": "ldif", "path": "export.ldif"}});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    // Straight from serde: what the reader does with a config, not how the API checks it.
    let config: DirectoryConfig = serde_json::from_value(body).unwrap();
    let crate::domain::config::ProviderConfig::Ldif(ldif) = &config.provider else {
        panic!("an ldif config");
    };
    LdifDirectory::new(ldif, &config, Some(dir.path()))
        .unwrap()
        .read_users()
        .await
}

fn organization_of(snapshot: &Snapshot, given: &str) -> Option<String> {
    let user = snapshot
        .users
        .iter()
        .find(|u| u.first_name.as_deref() == Some(given))
        .unwrap();
    user.organization.as_ref().map(|o| o.to_string())
}

fn members(snapshot: &Snapshot, name: &str) -> Vec<String> {
    let group = snapshot.groups.iter().find(|g| g.name == name).unwrap();
    group.members.iter().map(|m| m.to_string()).collect()
}

#[tokio::test]
async fn nothing_extra_by_default_and_job_titles_come_along() {
    let snapshot = read(json!({})).await.unwrap();
    assert!(snapshot.organizations.is_empty() && snapshot.groups.is_empty());
    assert!(snapshot.users.iter().all(|u| u.organization.is_none()));
    let ann = snapshot
        .users
        .iter()
        .find(|u| u.first_name.as_deref() == Some("Ann"));
    assert_eq!(ann.unwrap().job_title.as_deref(), Some("Sales Lead"));

    let off = read(json!({"fields": {"job_title": null}})).await.unwrap();
    assert!(off.users.iter().all(|u| u.job_title.is_none()));
}

#[tokio::test]
async fn ous_nest_and_users_take_the_nearest_ou_skipping_containers() {
    let snapshot = read(json!({"organizations": {"sync": "ous"}}))
        .await
        .unwrap();
    let mut orgs: Vec<(String, String, Option<String>)> = snapshot
        .organizations
        .iter()
        .map(|o| {
            let parent = o.parent.as_ref().map(|p| p.to_string());
            (o.object_id.to_string(), o.name.clone(), parent)
        })
        .collect();
    orgs.sort();
    assert_eq!(
        orgs,
        [
            (id("e1"), "Europe".into(), None),
            (id("e2"), "Sales".into(), Some(id("e1"))),
        ]
    );
    assert_eq!(organization_of(&snapshot, "Ann"), Some(id("e2")));
    assert_eq!(organization_of(&snapshot, "Bob"), Some(id("e1")));
    assert_eq!(
        organization_of(&snapshot, "Cat"),
        Some(id("e2")),
        "cn=Users is no OU"
    );
    assert_eq!(organization_of(&snapshot, "Dan"), None);
}

#[tokio::test]
async fn attribute_values_are_flat_organizations() {
    let snapshot =
        read(json!({"organizations": {"sync": "attribute", "attribute": "departmentNumber"}}))
            .await
            .unwrap();
    let names: Vec<&str> = snapshot
        .organizations
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(names, ["Field Sales", "Support"]);
    assert_eq!(
        organization_of(&snapshot, "Ann"),
        organization_of(&snapshot, "Bob")
    );
    assert_eq!(organization_of(&snapshot, "Cat"), None);
    assert_eq!(
        organization_of(&snapshot, "Dan").as_deref(),
        Some("attribute:support")
    );
}

#[tokio::test]
async fn groups_follow_nesting_and_cycles() {
    let snapshot = read(json!({"extension_groups": {"sync": "all"}}))
        .await
        .unwrap();
    assert_eq!(snapshot.groups.len(), 3);
    assert_eq!(members(&snapshot, "all"), [id("1"), id("2")]);
    assert_eq!(
        members(&snapshot, "team"),
        [id("1"), id("2")],
        "team holds all again"
    );
    assert_eq!(members(&snapshot, "solo"), [id("1"), id("2")]);
    let all = snapshot.groups.iter().find(|g| g.name == "all").unwrap();
    assert_eq!(all.object_id.to_string(), id("a1"));
}

#[tokio::test]
async fn groups_are_picked_by_dn_or_id_and_a_missing_one_fails_the_read() {
    let picked = json!({"extension_groups": {"sync": "groups",
        "groups": ["CN=Solo, DC=X", id("A2").to_uppercase(), "cn=solo,dc=x"]}});
    let snapshot = read(picked).await.unwrap();
    let names: Vec<&str> = snapshot.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["solo", "team"]);

    let missing = json!({"extension_groups": {"sync": "groups", "groups": ["cn=gone,dc=x"]}});
    let error = read(missing).await.unwrap_err().to_string();
    assert!(error.contains("cn=gone,dc=x"), "{error}");
    for sync in [
        json!({"sync": "filter", "filter": "(cn=team)"}),
        json!({"sync": "type", "types": ["security"]}),
    ] {
        let error = read(json!({"extension_groups": sync})).await.unwrap_err();
        assert!(matches!(error, DirectoryError::NotAvailable(_)), "{error}");
    }
}
