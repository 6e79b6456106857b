//! Active Directory semantics against Samba as an AD DC on 127.0.0.1: objectGUID, disabled
//! and expired accounts, nested groups through the in-chain rule, more users than AD's page
//! cap of 1,000, UPN bind and AD's bind error codes. One test function: Samba's LDAP ports
//! are fixed, so one server at a time.

use dirsync::directory::{LdapDirectory, LdapOptions};
use dirsync::domain::{CheckName, DirectoryConfig, DirectoryUser, EndpointPolicy, UserState};
use dirsync::ports::{Directory, TenantSecrets};
use dirsync_integration_tests::samba::{Samba, ADMIN_PASSWORD, ADMIN_UPN, BASE_DN};
use serde_json::{json, Value};

const STAFF: &str = "OU=Staff,DC=example,DC=test";
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
             accountExpires: {expires}\n\n",
            1000 + n
        ));
    }
    ldif.push_str(&format!(
        "dn: CN=Inner,{STAFF}\nobjectClass: group\nsAMAccountName: inner\n\
         member: CN=User 5,{STAFF}\n\n\
         dn: CN=Outer,{STAFF}\nobjectClass: group\nsAMAccountName: outer\n\
         member: CN=Inner,{STAFF}\nmember: CN=User 4,{STAFF}\n\n"
    ));
    ldif
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
}
