//! Active Directory semantics against Samba as an AD DC on 127.0.0.1: objectGUID, disabled
//! and expired accounts, nested groups through the in-chain rule, more users than AD's page
//! cap of 1,000, UPN bind and AD's bind error codes. One test function: Samba's LDAP ports
//! are fixed, so one server at a time.

use dirsync::directory::{LdapDirectory, LdapOptions};
use dirsync::domain::{
    CheckName, DirectoryConfig, DirectoryUser, EndpointPolicy, Snapshot, UserState,
};
use dirsync::error::DirectoryError;
use dirsync::ports::{Directory, TenantSecrets};
use dirsync_integration_tests::samba::{Samba, ADMIN_PASSWORD, ADMIN_UPN, BASE_DN};
use serde_json::{json, Value};

const STAFF: &str = "OU=Staff,DC=example,DC=test";
/// An OU that holds no user itself, only the OU below that holds one.
const REGION: &str = "OU=Region,DC=example,DC=test";
const BRANCH: &str = "OU=Branch,OU=Region,DC=example,DC=test";
const USERS: u32 = 1100;
/// 2020-01-01 as a FILETIME (100 ns since 1601).
const PAST: u64 = 132_223_104_000_000_000;

fn entries() -> String {
    let mut ldif = format!("dn: {STAFF}\nobjectClass: organizationalUnit\nou: Staff\n\n");
    for n in 1..=USERS {
        let uac = if n == 1 { 514 } else { 512 };
        let expires = match n {
            2 => PAST,
            3 => i64::MAX as u64,
            _ => 0,
        };
        ldif.push_str(&format!(
            "dn: CN=User {n},{STAFF}\nobjectClass: user\nsAMAccountName: u{n}\n\
             userPrincipalName: u{n}@example.test\ngivenName: Given{n}\nsn: Family{n}\n\
             mail: user{n}@example.test\ntelephoneNumber: {}\nuserAccountControl: {uac}\n\
             accountExpires: {expires}\n{}\n",
            1000 + n,
            if n == 4 { photo_line() } else { String::new() }
        ));
    }
    ldif.push_str(&format!(
        "dn: CN=Inner,{STAFF}\nobjectClass: group\nsAMAccountName: inner\n\
         member: CN=User 5,{STAFF}\n\n\
         dn: CN=Outer,{STAFF}\nobjectClass: group\nsAMAccountName: outer\n\
         member: CN=Inner,{STAFF}\nmember: CN=User 4,{STAFF}\n\n\
         dn: CN=Mailing,{STAFF}\nobjectClass: group\nsAMAccountName: mailing\n\
         groupType: 2\nmember: CN=User 6,{STAFF}\n\n\
         dn: {REGION}\nobjectClass: organizationalUnit\nou: Region\n\n\
         dn: {BRANCH}\nobjectClass: organizationalUnit\nou: Branch\n\n\
         dn: CN=Branch User,{BRANCH}\nobjectClass: user\nsAMAccountName: branch\n\
         givenName: Branch\nsn: User\ntitle: Branch Manager\n\n"
    ));
    ldif
}

/// User 4's `thumbnailPhoto`: a small JPEG.
const PHOTO: [u8; 8] = [0xff, 0xd8, 0xff, 0xe0, 0, 16, b'J', b'F'];

fn photo_line() -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(PHOTO);
    format!("thumbnailPhoto:: {encoded}\n")
}

fn provider(samba: &Samba, url: &str, bind: &str) -> Value {
    json!({"type": "ldap", "url": url, "starttls": url.starts_with("ldap://"),
           "ca_pem": samba.ca_pem, "bind_dn": bind, "base_dn": BASE_DN,
           "flavor": "active_directory"})
}

fn directory(provider: Value, scope: Value, password: &str, page_size: i32) -> LdapDirectory {
    let body = json!({"provider": provider, "scope": scope});
    let config = DirectoryConfig::from_json(
        body.to_string().as_bytes(),
        EndpointPolicy {
            allow_private: true,
        },
    )
    .expect("valid config");
    let secrets = TenantSecrets {
        bind_password: Some(password.to_string().into()),
        ..TenantSecrets::default()
    };
    let options = LdapOptions {
        allow_private: true,
        page_size: Some(page_size),
        ..LdapOptions::default()
    };
    dirsync_integration_tests::ldap_directory(&config, &secrets, options)
}

/// A reader of `extra` (`organizations`, `extension_groups`) over `provider`, scope `all`.
fn directory_with(provider: Value, extra: Value) -> LdapDirectory {
    let mut body = json!({"provider": provider});
    body.as_object_mut()
        .expect("object")
        .extend(extra.as_object().expect("object").clone());
    // Straight from serde: what the reader does with a config, not how the API checks it.
    let config: DirectoryConfig = serde_json::from_value(body).expect("config");
    let secrets = TenantSecrets {
        bind_password: Some(ADMIN_PASSWORD.to_string().into()),
        ..TenantSecrets::default()
    };
    let options = LdapOptions {
        allow_private: true,
        ..LdapOptions::default()
    };
    dirsync_integration_tests::ldap_directory(&config, &secrets, options)
}

fn group_names(snapshot: &Snapshot) -> Vec<&str> {
    let mut names: Vec<&str> = snapshot.groups.iter().map(|g| g.name.as_str()).collect();
    names.sort();
    names
}

fn find(users: &[DirectoryUser], n: u32) -> &DirectoryUser {
    let dn = format!("CN=User {n},{STAFF}");
    users
        .iter()
        .find(|u| u.dn.as_deref() == Some(dn.as_str()))
        .expect("user")
}

#[tokio::test]
async fn active_directory_semantics_against_samba() {
    let samba = Samba::start(&entries());
    let ldaps = provider(&samba, "ldaps://localhost:636", ADMIN_UPN);

    // Asking for pages of 5,000: the DC caps them at 1,000 and the read goes on with cookies.
    let all = directory(ldaps.clone(), json!({"type": "all"}), ADMIN_PASSWORD, 5000);
    let snapshot = all.read_users().await.expect("read over ldaps, UPN bind");
    let staff: Vec<&DirectoryUser> = snapshot
        .users
        .iter()
        .filter(|u| u.dn.as_deref().is_some_and(|dn| dn.ends_with(STAFF)))
        .collect();
    assert_eq!(staff.len(), USERS as usize, "every user past the page cap");
    let users = &snapshot.users;
    assert_eq!(find(users, 4).object_id.as_str(), samba.guid_of("u4"));
    assert_eq!(find(users, 1).state, UserState::Disabled);
    assert_eq!(find(users, 2).state, UserState::Expired);
    assert_eq!(
        find(users, 3).state,
        UserState::Active,
        "0x7FFF... never expires"
    );
    assert_eq!(find(users, 6).state, UserState::Active);
    assert_eq!(find(users, 6).extension.as_deref(), Some("1006"));

    // Nested groups through LDAP_MATCHING_RULE_IN_CHAIN, by DN and by name; over StartTLS.
    let starttls = provider(&samba, "ldap://localhost:389", ADMIN_UPN);
    for group in [format!("CN=Outer,{STAFF}"), "outer".to_string()] {
        let scope = json!({"type": "groups", "groups": [group]});
        let snapshot = directory(starttls.clone(), scope, ADMIN_PASSWORD, 1000)
            .read_users()
            .await
            .expect("group scope");
        let mut in_scope: Vec<&str> = snapshot
            .users
            .iter()
            .filter(|u| u.in_scope)
            .filter_map(|u| u.dn.as_deref())
            .collect();
        in_scope.sort();
        assert_eq!(
            in_scope,
            [
                format!("CN=User 4,{STAFF}").as_str(),
                format!("CN=User 5,{STAFF}").as_str()
            ],
            "{group}"
        );
    }

    // `fields.avatar`: thumbnailPhoto hashed at read, its bytes read back for one user.
    let photos = directory_with(ldaps.clone(), json!({"fields": {"avatar": true}}));
    let snapshot = photos.read_users().await.expect("photos");
    let (with, without) = (find(&snapshot.users, 4), find(&snapshot.users, 5));
    let photo = with.avatar.as_ref().expect("user 4's photo");
    assert_eq!(photo.sha256, dirsync::domain::avatar::sha256_hex(&PHOTO));
    assert_eq!(without.avatar, None);
    let read = photos.read_photo(&with.object_id, with.dn.as_deref()).await;
    assert_eq!(read.expect("read back"), Some(PHOTO.to_vec()));
    let none = photos
        .read_photo(&without.object_id, without.dn.as_deref())
        .await;
    assert_eq!(none.expect("read back"), None);
    // User 4's DN with user 5's id: the entry is not that user, so no photo.
    let moved = photos
        .read_photo(&without.object_id, with.dn.as_deref())
        .await;
    assert_eq!(moved.expect("read back"), None);

    // OUs keyed by objectGUID as users are; Region holds no user, only Branch's: it is there,
    // Branch's parent. CN=Users is no OU.
    let ous = json!({"organizations": {"sync": "ous"}});
    let snapshot = directory_with(starttls.clone(), ous)
        .read_users()
        .await
        .expect("OUs");
    let region = samba.guid_matching(&format!("(distinguishedName={REGION})"));
    let branch = samba.guid_matching(&format!("(distinguishedName={BRANCH})"));
    let org = |id: &str| {
        let org = snapshot
            .organizations
            .iter()
            .find(|o| o.object_id.as_str() == id);
        let org = org.unwrap_or_else(|| panic!("organization {id}"));
        (
            org.name.as_str(),
            org.parent.as_ref().map(|p| p.to_string()),
        )
    };
    assert_eq!(org(&region), ("Region", None));
    assert_eq!(org(&branch), ("Branch", Some(region.clone())));
    let branch_user = snapshot
        .users
        .iter()
        .find(|u| u.dn.as_deref() == Some(format!("CN=Branch User,{BRANCH}").as_str()))
        .expect("branch user");
    assert_eq!(
        branch_user.organization.as_ref().map(|o| o.to_string()),
        Some(branch)
    );
    assert_eq!(branch_user.job_title.as_deref(), Some("Branch Manager"));
    let staff = samba.guid_matching(&format!("(distinguishedName={STAFF})"));
    assert_eq!(
        find(&snapshot.users, 7)
            .organization
            .as_ref()
            .map(|o| o.to_string()),
        Some(staff)
    );
    let admin = snapshot.users.iter().find(|u| {
        u.dn.as_deref()
            .is_some_and(|dn| dn.starts_with("CN=Administrator,"))
    });
    assert_eq!(
        admin.expect("administrator").organization,
        None,
        "CN=Users is no OU"
    );

    // groupType: distribution (bit 0x80000000 clear) against security; members in chain.
    let distribution = json!({"extension_groups": {"sync": "type", "types": ["distribution"]}});
    let snapshot = directory_with(starttls.clone(), distribution)
        .read_users()
        .await
        .expect("distribution groups");
    assert_eq!(group_names(&snapshot), ["Mailing"]);
    assert_eq!(
        snapshot.groups[0].object_id.as_str(),
        samba.guid_of("mailing")
    );
    assert_eq!(
        snapshot.groups[0].members,
        [find(&snapshot.users, 6).object_id.clone()]
    );
    let security = json!({"extension_groups": {"sync": "type", "types": ["security"]}});
    let snapshot = directory_with(starttls.clone(), security)
        .read_users()
        .await
        .expect("security groups");
    let names = group_names(&snapshot);
    assert!(
        names.contains(&"Outer") && names.contains(&"Inner"),
        "{names:?}"
    );
    assert!(!names.contains(&"Mailing"), "{names:?}");
    let outer = snapshot
        .groups
        .iter()
        .find(|g| g.name == "Outer")
        .expect("outer");
    assert_eq!(outer.object_id.as_str(), samba.guid_of("outer"));
    let mut expected = vec![
        find(&snapshot.users, 4).object_id.clone(),
        find(&snapshot.users, 5).object_id.clone(),
    ];
    expected.sort();
    assert_eq!(outer.members, expected, "User 5 through Inner");

    // A DN bind works as well; a wrong password names AD's sub-code.
    let by_dn = provider(
        &samba,
        "ldaps://localhost:636",
        "CN=Administrator,CN=Users,DC=example,DC=test",
    );
    let report = directory(by_dn, json!({"type": "all"}), ADMIN_PASSWORD, 1000)
        .test_connection()
        .await;
    assert!(report.ok, "{report:?}");
    let report = directory(ldaps, json!({"type": "all"}), "not-the-password", 1000)
        .test_connection()
        .await;
    let bind = report.checks.last().expect("a check");
    assert_eq!(bind.name, CheckName::Bind);
    assert!(bind.message.contains("AD 52e"), "{}", bind.message);

    write_back(&samba).await;
}

/// `write_back` to AD's `ipPhone`: the number is in the directory afterwards; an attribute
/// the schema does not have is refused (undefinedAttributeType), never half-written.
async fn write_back(samba: &Samba) {
    let ldaps = provider(samba, "ldaps://localhost:636", ADMIN_UPN);
    let reader = |attribute: &str| {
        directory_with(
            ldaps.clone(),
            json!({"write_back": {"attribute": attribute}}),
        )
    };
    let ip_phone = reader("ipPhone");
    let before = ip_phone.read_users().await.expect("read");
    let user = find(&before.users, 7).clone();
    assert_eq!(user.write_back, None);
    let results = ip_phone.write_back("ipPhone", &[(&user, "1007")]).await;
    assert!(matches!(results[..], [Ok(())]), "{results:?}");
    let after = ip_phone.read_users().await.expect("read");
    assert_eq!(find(&after.users, 7).write_back.as_deref(), Some("1007"));

    let results = reader("noSuchAttribute")
        .write_back("noSuchAttribute", &[(&user, "1007")])
        .await;
    assert!(
        matches!(&results[..], [Err(DirectoryError::WriteRefused(_))]),
        "{results:?}"
    );
}
