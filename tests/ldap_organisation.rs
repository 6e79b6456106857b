//! OUs as organizations, groups as extension groups and job titles, read from a real
//! OpenLDAP `slapd` on 127.0.0.1: nesting, containers that are no OU, group cycles, renames
//! and moves that keep ids, and failures that must fail the whole read.

use dirsync::directory::{LdapDirectory, LdapOptions};
use dirsync::domain::{DirectoryConfig, DirectoryUser, Snapshot};
use dirsync::error::DirectoryError;
use dirsync::ports::{Directory, TenantSecrets};
use dirsync_integration_tests::slapd::{
    person, uuid, Slapd, SlapdOptions, SUFFIX, SYNC_DN, SYNC_PASSWORD,
};
use serde_json::{json, Value};

fn id(suffix: &str) -> String {
    format!("00000000-0000-4000-8000-{suffix:0>12}")
}

fn ou(dn: &str, name: &str, uuid: &str) -> String {
    format!("dn: {dn},{SUFFIX}\nobjectClass: organizationalUnit\nou: {name}\nentryUUID: {uuid}\n\n")
}

/// A `groupOfNames` (or `groupOfUniqueNames` with `unique`) under ou=Groups.
fn group(cn: &str, uuid: &str, unique: bool, members: &[String]) -> String {
    let (class, attribute) = if unique {
        ("groupOfUniqueNames", "uniqueMember")
    } else {
        ("groupOfNames", "member")
    };
    let mut entry = format!(
        "dn: cn={cn},ou=Groups,{SUFFIX}\nobjectClass: {class}\ncn: {cn}\nentryUUID: {uuid}\n"
    );
    for member in members {
        entry.push_str(&format!("{attribute}: {member}\n"));
    }
    entry.push('\n');
    entry
}

fn user_dn(n: u32, parent: &str) -> String {
    format!("uid=u{n},{parent},{SUFFIX}")
}

fn group_dn(cn: &str) -> String {
    format!("cn={cn},ou=Groups,{SUFFIX}")
}

/// Europe > Sales (with a `cn=Staff` container inside), an empty Support, users in each, one
/// in a top-level container; groups all -> (team, solo), team -> (u1, all): a cycle.
fn directory_ldif() -> String {
    let mut ldif = ou("ou=Europe", "Europe", &id("e1"));
    ldif.push_str(&ou("ou=Sales,ou=Europe", "Sales", &id("e2")));
    ldif.push_str(&ou("ou=Support", "Support", &id("e3")));
    for container in ["cn=Staff,ou=Sales,ou=Europe", "cn=Contractors"] {
        ldif.push_str(&format!(
            "dn: {container},{SUFFIX}\nobjectClass: organizationalRole\ncn: {}\n\n",
            &container[3..container.find(',').unwrap_or(container.len())]
        ));
    }
    let title = "title: Sales Lead\n\n";
    ldif.push_str(&person(1, "ou=Sales,ou=Europe", "Ann", true).replacen(
        "\n\n",
        &format!("\n{title}"),
        1,
    ));
    ldif.push_str(&person(2, "ou=Europe", "Bob", true));
    ldif.push_str(&person(3, "cn=Staff,ou=Sales,ou=Europe", "Cat", true));
    ldif.push_str(&person(4, "cn=Contractors", "Dan", true));
    ldif.push_str(&person(5, "ou=People", "Eve", true));
    ldif.push_str(&group(
        "all",
        &id("a1"),
        false,
        &[group_dn("team"), group_dn("solo")],
    ));
    ldif.push_str(&group(
        "team",
        &id("a2"),
        false,
        &[user_dn(1, "ou=Sales,ou=Europe"), group_dn("all")],
    ));
    ldif.push_str(&group("solo", &id("a3"), true, &[user_dn(2, "ou=Europe")]));
    ldif.push_str(&group(
        "other",
        &id("a4"),
        false,
        &[user_dn(5, "ou=People")],
    ));
    ldif
}

/// A reader of `extra` over StartTLS, in pages of 2 (so that every search pages).
fn directory(server: &Slapd, extra: Value) -> LdapDirectory {
    paged_directory(server, extra, 2)
}

fn paged_directory(server: &Slapd, extra: Value, page_size: i32) -> LdapDirectory {
    let mut body = json!({"provider": {"type": "ldap", "url": format!("ldap://localhost:{}", server.port),
        "starttls": true, "ca_pem": server.ca_pem, "bind_dn": SYNC_DN, "base_dn": SUFFIX}});
    body.as_object_mut()
        .expect("object")
        .extend(extra.as_object().expect("object").clone());
    // Straight from serde: what the reader does with a config, not how the API checks it.
    let config: DirectoryConfig = serde_json::from_value(body).expect("config");
    let secrets = TenantSecrets {
        bind_password: Some(SYNC_PASSWORD.to_string().into()),
        ..TenantSecrets::default()
    };
    let options = LdapOptions {
        allow_private: true,
        page_size: Some(page_size),
        ..LdapOptions::default()
    };
    dirsync_integration_tests::ldap_directory(&config, &secrets, options)
}

fn user(snapshot: &Snapshot, n: u32) -> &DirectoryUser {
    snapshot
        .users
        .iter()
        .find(|u| u.object_id.as_str() == uuid(n))
        .expect("user")
}

fn organization_of(snapshot: &Snapshot, n: u32) -> Option<String> {
    user(snapshot, n)
        .organization
        .as_ref()
        .map(|o| o.to_string())
}

/// (name, parent id) of the organization with this id.
fn organization(snapshot: &Snapshot, object_id: &str) -> (String, Option<String>) {
    let org = snapshot
        .organizations
        .iter()
        .find(|o| o.object_id.as_str() == object_id)
        .unwrap_or_else(|| panic!("organization {object_id}"));
    (org.name.clone(), org.parent.as_ref().map(|p| p.to_string()))
}

fn members(snapshot: &Snapshot, object_id: &str) -> Vec<String> {
    let group = snapshot
        .groups
        .iter()
        .find(|g| g.object_id.as_str() == object_id)
        .unwrap_or_else(|| panic!("group {object_id}"));
    group.members.iter().map(|m| m.to_string()).collect()
}

fn group_names(snapshot: &Snapshot) -> Vec<String> {
    let mut names: Vec<String> = snapshot.groups.iter().map(|g| g.name.clone()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn nested_ous_become_organizations_and_users_take_the_nearest() {
    let server = Slapd::start(&directory_ldif(), SlapdOptions::default());
    let snapshot = directory(&server, json!({"organizations": {"sync": "ous"}}))
        .read_users()
        .await
        .expect("read");
    // ou=People and ou=Groups of the base entries, and the three here; not the suffix.
    assert_eq!(snapshot.organizations.len(), 5);
    assert_eq!(organization(&snapshot, &id("e1")), ("Europe".into(), None));
    assert_eq!(
        organization(&snapshot, &id("e2")),
        ("Sales".into(), Some(id("e1")))
    );
    assert_eq!(organization(&snapshot, &id("e3")), ("Support".into(), None));
    assert_eq!(organization_of(&snapshot, 1), Some(id("e2")));
    assert_eq!(organization_of(&snapshot, 2), Some(id("e1")));
    assert_eq!(
        organization_of(&snapshot, 3),
        Some(id("e2")),
        "cn=Staff is no OU"
    );
    assert_eq!(
        organization_of(&snapshot, 4),
        None,
        "only a container above"
    );
    let people = organization_of(&snapshot, 5).expect("ou=People");
    assert_eq!(organization(&snapshot, &people), ("People".into(), None));
    assert_eq!(user(&snapshot, 1).job_title.as_deref(), Some("Sales Lead"));
    assert_eq!(user(&snapshot, 2).job_title, None);

    // Both syncs off: nothing of the sort in the snapshot.
    let plain = directory(&server, json!({"fields": {"job_title": null}}))
        .read_users()
        .await
        .expect("read");
    assert!(plain.organizations.is_empty() && plain.groups.is_empty());
    assert!(plain
        .users
        .iter()
        .all(|u| u.organization.is_none() && u.job_title.is_none()));
}

#[tokio::test]
async fn a_renamed_or_moved_ou_keeps_its_id() {
    let server = Slapd::start(&directory_ldif(), SlapdOptions::default());
    let reader = directory(&server, json!({"organizations": {"sync": "ous"}}));
    server.modify(&format!(
        "dn: ou=Sales,ou=Europe,{SUFFIX}\nchangetype: modrdn\nnewrdn: ou=Vertrieb\ndeleteoldrdn: 1\n"
    ));
    let renamed = reader.read_users().await.expect("read after rename");
    assert_eq!(
        organization(&renamed, &id("e2")),
        ("Vertrieb".into(), Some(id("e1")))
    );
    assert_eq!(organization_of(&renamed, 1), Some(id("e2")));

    server.modify(&format!(
        "dn: ou=Vertrieb,ou=Europe,{SUFFIX}\nchangetype: modrdn\nnewrdn: ou=Vertrieb\n\
         deleteoldrdn: 1\nnewsuperior: ou=Support,{SUFFIX}\n"
    ));
    let moved = reader.read_users().await.expect("read after move");
    assert_eq!(
        organization(&moved, &id("e2")),
        ("Vertrieb".into(), Some(id("e3")))
    );
    assert_eq!(organization_of(&moved, 1), Some(id("e2")));
    assert_eq!(organization_of(&moved, 3), Some(id("e2")));
}

#[tokio::test]
async fn attribute_values_become_flat_organizations() {
    let mut ldif = directory_ldif();
    ldif = ldif.replacen(
        "title: Sales Lead\n",
        "title: Sales Lead\ndepartmentNumber: Field\n",
        1,
    );
    let server = Slapd::start(&ldif, SlapdOptions::default());
    let sync = json!({"organizations": {"sync": "attribute", "attribute": "departmentNumber"}});
    let snapshot = directory(&server, sync).read_users().await.expect("read");
    let names: Vec<&str> = snapshot
        .organizations
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(names, ["Field"]);
    assert_eq!(
        organization_of(&snapshot, 1).as_deref(),
        Some("attribute:field")
    );
    assert_eq!(organization_of(&snapshot, 2), None);
}

#[tokio::test]
async fn groups_follow_nesting_and_cycles_and_keep_ids_across_renames() {
    let server = Slapd::start(&directory_ldif(), SlapdOptions::default());
    let reader = directory(&server, json!({"extension_groups": {"sync": "all"}}));
    let snapshot = reader.read_users().await.expect("read");
    assert_eq!(group_names(&snapshot), ["all", "other", "solo", "team"]);
    assert_eq!(members(&snapshot, &id("a1")), [uuid(1), uuid(2)]);
    assert_eq!(
        members(&snapshot, &id("a2")),
        [uuid(1), uuid(2)],
        "team holds all again"
    );
    assert_eq!(members(&snapshot, &id("a3")), [uuid(2)]);
    assert_eq!(members(&snapshot, &id("a4")), [uuid(5)]);

    server.modify(&format!(
        "dn: {}\nchangetype: modrdn\nnewrdn: cn=crew\ndeleteoldrdn: 1\n",
        group_dn("team")
    ));
    let renamed = reader.read_users().await.expect("read after rename");
    let crew = renamed
        .groups
        .iter()
        .find(|g| g.object_id.as_str() == id("a2"));
    assert_eq!(crew.expect("same id").name, "crew");
}

#[tokio::test]
async fn groups_are_picked_by_dn_id_or_filter_and_a_missing_one_fails_the_read() {
    let server = Slapd::start(&directory_ldif(), SlapdOptions::default());
    let picked = json!({"extension_groups": {"sync": "groups",
        "groups": [group_dn("solo").to_uppercase(), id("a2")]}});
    let snapshot = directory(&server, picked).read_users().await.expect("read");
    assert_eq!(group_names(&snapshot), ["solo", "team"]);

    let filter = json!({"extension_groups": {"sync": "filter", "filter": "(|(cn=s*)(cn=other))"}});
    let snapshot = directory(&server, filter).read_users().await.expect("read");
    assert_eq!(group_names(&snapshot), ["other", "solo"]);

    let missing = json!({"extension_groups": {"sync": "groups", "groups": [group_dn("gone")]}});
    let error = directory(&server, missing).read_users().await.unwrap_err();
    assert!(matches!(error, DirectoryError::NotAvailable(_)), "{error}");
    assert!(error.to_string().contains("cn=gone"), "{error}");
}

#[tokio::test]
async fn a_failed_ou_or_group_search_fails_the_whole_read() {
    // More OUs and groups than the server lets the sync user page through; fewer users.
    let mut ldif = String::new();
    for n in 1..=8 {
        ldif.push_str(&ou(
            &format!("ou=Unit{n}"),
            &format!("Unit{n}"),
            &id(&format!("f{n}")),
        ));
        ldif.push_str(&group(
            &format!("g{n}"),
            &id(&format!("b{n}")),
            false,
            &[user_dn(1, "ou=People")],
        ));
    }
    ldif.push_str(&person(1, "ou=People", "Ann", true));
    let options = SlapdOptions {
        paged_total_limit: Some(6),
        ..SlapdOptions::default()
    };
    let server = Slapd::start(&ldif, options);
    directory(&server, json!({}))
        .read_users()
        .await
        .expect("the users alone fit");
    for extra in [
        json!({"organizations": {"sync": "ous"}}),
        json!({"extension_groups": {"sync": "all"}}),
    ] {
        let result = directory(&server, extra.clone()).read_users().await;
        let error = result.expect_err("a cut-short search");
        assert!(error.to_string().contains("size limit"), "{extra}: {error}");
    }
}

/// The searches a read makes once it is done (slapd writes its log as it goes): the
/// subtree searches, and the base-scope reads of one entry.
async fn searches_of(server: &Slapd, reader: &LdapDirectory) -> (usize, usize) {
    let (before, base_before) = (server.searches(), server.base_searches());
    reader.read_users().await.expect("read");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let base = server.base_searches() - base_before;
    (server.searches() - before - base, base)
}

/// Besides its searches, a full read makes two base reads for its change cursor: the
/// rootDSE's `namingContexts` and the naming context's `contextCSN`. With OUs or groups
/// synced there is no cursor (those are read in full every run), so no base reads.
const CURSOR_READS: usize = 2;

#[tokio::test]
async fn with_both_syncs_off_a_read_is_one_search() {
    let options = SlapdOptions {
        log_operations: true,
        ..SlapdOptions::default()
    };
    let server = Slapd::start(&directory_ldif(), options);
    let plain = paged_directory(&server, json!({}), 1000);
    assert_eq!(
        searches_of(&server, &plain).await,
        (1, CURSOR_READS),
        "the users' search only"
    );
    let ous = json!({"organizations": {"sync": "ous"}});
    let with_ous = paged_directory(&server, ous, 1000);
    assert_eq!(
        searches_of(&server, &with_ous).await,
        (2, 0),
        "plus the OUs"
    );
    let groups = json!({"extension_groups": {"sync": "all"}});
    let with_groups = paged_directory(&server, groups, 1000);
    assert_eq!(
        searches_of(&server, &with_groups).await,
        (2, 0),
        "plus the groups"
    );
}

/// The admin's connection test runs the OU and group searches when their sync is on, and
/// says what they found (Europe, Sales, Support and the base entries' People and Groups).
#[tokio::test]
async fn the_connection_test_reports_the_ous_and_groups_found() {
    let server = Slapd::start(&directory_ldif(), SlapdOptions::default());
    let reader = directory(
        &server,
        json!({"organizations": {"sync": "ous"}, "extension_groups": {"sync": "all"}}),
    );
    let report = reader.test_connection().await;
    assert!(report.ok, "{report:?}");
    let search = report.checks.last().expect("the search step");
    assert!(
        search.message.contains("5 organization sources") && search.message.contains("4 groups"),
        "{}",
        search.message
    );
}
