//! The LDAP provider against a real OpenLDAP `slapd` on 127.0.0.1: paging, scopes, TLS,
//! credentials, and failures that must fail the read.

use dirsync::directory::{LdapDirectory, LdapOptions};
use dirsync::domain::{
    CheckName, Coverage, DirectoryConfig, DirectoryUser, EndpointPolicy, UserState,
};
use dirsync::error::DirectoryError;
use dirsync::ports::{Directory, TenantSecrets};
use dirsync_integration_tests::slapd::{
    person, uuid, Slapd, SlapdOptions, SUFFIX, SYNC_DN, SYNC_PASSWORD,
};
use serde_json::{json, Value};

fn people(range: std::ops::RangeInclusive<u32>) -> String {
    range
        .map(|n| person(n, "ou=People", &format!("Given{n}"), true))
        .collect()
}

fn config(provider: Value, scope: Value) -> DirectoryConfig {
    let body = json!({"provider": provider, "scope": scope});
    DirectoryConfig::from_json(
        body.to_string().as_bytes(),
        EndpointPolicy {
            allow_private: true,
        },
    )
    .expect("valid config")
}

fn starttls(server: &Slapd) -> Value {
    json!({"type": "ldap", "url": format!("ldap://localhost:{}", server.port), "starttls": true,
           "ca_pem": server.ca_pem, "bind_dn": SYNC_DN, "base_dn": SUFFIX})
}

fn secrets(password: &str) -> TenantSecrets {
    TenantSecrets {
        bind_password: Some(password.to_string().into()),
        ..TenantSecrets::default()
    }
}

fn directory(config: &DirectoryConfig, page_size: i32) -> LdapDirectory {
    let options = LdapOptions {
        allow_private: true,
        page_size: Some(page_size),
        ..LdapOptions::default()
    };
    dirsync_integration_tests::ldap_directory(config, &secrets(SYNC_PASSWORD), options)
}

fn in_scope(users: &[DirectoryUser]) -> Vec<String> {
    let mut ids: Vec<String> = users
        .iter()
        .filter(|u| u.in_scope)
        .map(|u| u.object_id.to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn reads_every_user_across_pages_with_unicode_and_missing_mail() {
    let mut ldif = people(1..=34);
    ldif.push_str(&person(35, "ou=People", "Jürgen Ñandú 漢字", false));
    let server = Slapd::start(&ldif, SlapdOptions::default());
    let config = config(starttls(&server), json!({"type": "all"}));
    // 35 users in pages of 8: five pages.
    let snapshot = directory(&config, 8).read_users().await.expect("read");
    assert_eq!(snapshot.users.len(), 35);
    assert_eq!(snapshot.coverage, Coverage::WholeDirectory);
    assert!(snapshot.complete);
    assert!(snapshot.users.iter().all(|u| u.in_scope));
    let one = snapshot
        .users
        .iter()
        .find(|u| u.object_id.as_str() == uuid(1))
        .expect("user 1");
    assert_eq!(one.first_name.as_deref(), Some("Given1"));
    assert_eq!(one.email.as_deref(), Some("user1@example.com"));
    assert_eq!(one.extension.as_deref(), Some("1001"));
    assert_eq!(one.state, UserState::Active);
    let unicode = snapshot
        .users
        .iter()
        .find(|u| u.object_id.as_str() == uuid(35))
        .expect("user 35");
    assert_eq!(unicode.first_name.as_deref(), Some("Jürgen Ñandú 漢字"));
    assert_eq!(unicode.email, None);
}

#[tokio::test]
async fn test_connection_reports_every_step_and_a_sample() {
    let server = Slapd::start(&people(1..=7), SlapdOptions::default());
    let report = directory(&config(starttls(&server), json!({"type": "all"})), 3)
        .test_connection()
        .await;
    assert!(report.ok, "{report:?}");
    let names: Vec<CheckName> = report.checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            CheckName::Connect,
            CheckName::Tls,
            CheckName::Bind,
            CheckName::Search
        ]
    );
    assert!(report.checks[1].message.contains("StartTLS"));
    assert!(report.checks[3].message.contains("7 users read"));
    assert_eq!(report.sample.len(), 5);
}

#[tokio::test]
async fn ou_scope_marks_the_subtree_and_a_missing_ou_fails_the_read() {
    let mut ldif = String::from(
        "dn: ou=Sales,ou=People,dc=example,dc=com\nobjectClass: organizationalUnit\nou: Sales\n\n",
    );
    ldif.push_str(&people(1..=3));
    ldif.push_str(&person(4, "ou=Sales,ou=People", "Sally", true));
    ldif.push_str(&person(5, "ou=Sales,ou=People", "Sam", true));
    let server = Slapd::start(&ldif, SlapdOptions::default());
    let scope = json!({"type": "ous", "ous": ["OU=Sales, ou=People,dc=example,dc=com"]});
    let snapshot = directory(&config(starttls(&server), scope), 2)
        .read_users()
        .await
        .expect("read");
    assert_eq!(snapshot.users.len(), 5, "everyone under base_dn is read");
    assert_eq!(in_scope(&snapshot.users), [uuid(4), uuid(5)]);

    let gone = json!({"type": "ous", "ous": ["ou=Gone,dc=example,dc=com"]});
    let error = directory(&config(starttls(&server), gone), 2)
        .read_users()
        .await
        .expect_err("a missing OU fails the read");
    assert!(error.to_string().contains("ou=Gone"), "{error}");
}

#[tokio::test]
async fn nested_group_scope_follows_members_of_member_groups() {
    let mut ldif = people(1..=4);
    ldif.push_str(&format!(
        "dn: cn=child,ou=Groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: child\n\
         member: uid=u2,ou=People,{SUFFIX}\n\n\
         dn: cn=parent,ou=Groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: parent\n\
         member: uid=u1,ou=People,{SUFFIX}\nmember: cn=child,ou=Groups,{SUFFIX}\n\n\
         dn: cn=other,ou=Groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: other\n\
         member: uid=u3,ou=People,{SUFFIX}\n\n"
    ));
    let server = Slapd::start(&ldif, SlapdOptions::default());
    for group in ["cn=parent,ou=Groups,dc=example,dc=com", "parent"] {
        let scope = json!({"type": "groups", "groups": [group]});
        let snapshot = directory(&config(starttls(&server), scope), 2)
            .read_users()
            .await
            .expect("read");
        assert_eq!(in_scope(&snapshot.users), [uuid(1), uuid(2)], "{group}");
    }
    let scope = json!({"type": "groups", "groups": ["cn=nope,ou=Groups,dc=example,dc=com"]});
    let error = directory(&config(starttls(&server), scope), 2)
        .read_users()
        .await
        .expect_err("a missing group fails the read");
    assert!(error.to_string().contains("cn=nope"), "{error}");
}

#[tokio::test]
async fn custom_filter_scope_marks_matching_users() {
    let server = Slapd::start(&people(1..=12), SlapdOptions::default());
    let scope = json!({"type": "filter", "filter": "(|(telephoneNumber=1001)(givenName=Given1*))"});
    let snapshot = directory(&config(starttls(&server), scope), 5)
        .read_users()
        .await
        .expect("read");
    assert_eq!(
        in_scope(&snapshot.users),
        [uuid(1), uuid(10), uuid(11), uuid(12)]
    );
}

/// `scope: users`: exactly the listed users are in the scope; a listed id that no entry has is
/// no error (it reads as a deleted user), and the read still covers the whole directory.
#[tokio::test]
async fn users_scope_marks_exactly_the_listed_users() {
    let server = Slapd::start(&people(1..=6), SlapdOptions::default());
    let listed = [uuid(2), uuid(5), uuid(99)];
    let scope = json!({"type": "users", "users": listed});
    let snapshot = directory(&config(starttls(&server), scope), 2)
        .read_users()
        .await
        .expect("read");
    assert_eq!(snapshot.users.len(), 6, "every user is read");
    assert_eq!(in_scope(&snapshot.users), [uuid(2), uuid(5)]);
    assert_eq!(snapshot.coverage, dirsync::domain::Coverage::WholeDirectory);
}

#[tokio::test]
async fn ldaps_trusts_the_configured_ca_and_nothing_else() {
    let server = Slapd::start(&people(1..=2), SlapdOptions::default());
    let url = format!("ldaps://localhost:{}", server.tls_port);
    let provider = |ca: Option<&str>| {
        let mut p = json!({"type": "ldap", "url": url, "bind_dn": SYNC_DN, "base_dn": SUFFIX});
        if let Some(ca) = ca {
            p["ca_pem"] = ca.into();
        }
        p
    };
    let trusted = directory(
        &config(provider(Some(&server.ca_pem)), json!({"type": "all"})),
        10,
    );
    assert_eq!(trusted.read_users().await.expect("read").users.len(), 2);

    for ca in [None, Some(server.other_ca_pem.as_str())] {
        let report = directory(&config(provider(ca), json!({"type": "all"})), 10)
            .test_connection()
            .await;
        assert!(!report.ok);
        let tls = report.checks.last().expect("a check");
        assert_eq!(tls.name, CheckName::Tls);
        assert!(
            tls.message.contains("TLS: certificate not trusted"),
            "{}",
            tls.message
        );
    }
}

#[tokio::test]
async fn wrong_password_fails_the_bind_without_showing_it() {
    let server = Slapd::start(&people(1..=2), SlapdOptions::default());
    let config = config(starttls(&server), json!({"type": "all"}));
    let wrong = "wrong-password-0815";
    let options = LdapOptions {
        allow_private: true,
        ..LdapOptions::default()
    };
    let directory = dirsync_integration_tests::ldap_directory(&config, &secrets(wrong), options);
    let report = directory.test_connection().await;
    let bind = report.checks.last().expect("a check");
    assert_eq!(bind.name, CheckName::Bind);
    assert!(!bind.ok);
    assert!(bind.message.contains("LDAP result 49"), "{}", bind.message);
    let error = directory.read_users().await.expect_err("bind fails");
    assert!(matches!(error, DirectoryError::Credentials(_)));
    for shown in [
        format!("{error}"),
        format!("{error:?}"),
        format!("{report:?}"),
    ] {
        assert!(!shown.contains(wrong), "{shown}");
    }
}

#[tokio::test]
async fn plaintext_only_when_allowed_and_with_a_warning() {
    let server = Slapd::start(&people(1..=2), SlapdOptions::default());
    let provider = json!({"type": "ldap", "url": format!("ldap://127.0.0.1:{}", server.port),
        "allow_plaintext": true, "bind_dn": SYNC_DN, "base_dn": SUFFIX});
    let report = directory(&config(provider, json!({"type": "all"})), 10)
        .test_connection()
        .await;
    assert!(report.ok, "{report:?}");
    let tls = &report.checks[1];
    assert_eq!(tls.name, CheckName::Tls);
    assert!(
        tls.message.starts_with("WARNING: no TLS"),
        "{}",
        tls.message
    );
}

#[tokio::test]
async fn a_server_size_limit_fails_the_read_instead_of_shortening_it() {
    let options = SlapdOptions {
        paged_total_limit: Some(20),
        ..SlapdOptions::default()
    };
    let server = Slapd::start(&people(1..=35), options);
    let error = directory(&config(starttls(&server), json!({"type": "all"})), 10)
        .read_users()
        .await
        .expect_err("the read is cut short");
    assert!(
        matches!(error, DirectoryError::Incomplete { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("size limit"), "{error}");
}

#[tokio::test]
async fn a_base_dn_that_does_not_exist_is_named_in_the_search_step() {
    let server = Slapd::start(&people(1..=2), SlapdOptions::default());
    let mut provider = starttls(&server);
    provider["base_dn"] = "ou=Nowhere,dc=example,dc=com".into();
    let report = directory(&config(provider, json!({"type": "all"})), 10)
        .test_connection()
        .await;
    let search = report.checks.last().expect("a check");
    assert_eq!(search.name, CheckName::Search);
    assert!(
        search.message.contains("LDAP result 32"),
        "{}",
        search.message
    );
}

#[tokio::test]
async fn a_locked_account_is_disabled() {
    let server = Slapd::start(&people(1..=2), SlapdOptions::default());
    server.modify(&format!(
        "dn: uid=u2,ou=People,{SUFFIX}\nchangetype: modify\nadd: pwdAccountLockedTime\n\
         pwdAccountLockedTime: 20260101000000Z\n"
    ));
    let snapshot = directory(&config(starttls(&server), json!({"type": "all"})), 10)
        .read_users()
        .await
        .expect("read");
    let state = |n: u32| {
        snapshot
            .users
            .iter()
            .find(|u| u.object_id.as_str() == uuid(n))
            .map(|u| u.state)
    };
    assert_eq!(state(1), Some(UserState::Active));
    assert_eq!(state(2), Some(UserState::Disabled));
}

#[tokio::test]
async fn a_closed_port_is_reported_in_the_connect_step() {
    let server = Slapd::start("", SlapdOptions::default());
    let port = dirsync_integration_tests::slapd::free_port();
    let mut provider = starttls(&server);
    provider["url"] = format!("ldap://127.0.0.1:{port}").into();
    let report = directory(&config(provider, json!({"type": "all"})), 10)
        .test_connection()
        .await;
    assert_eq!(report.checks.len(), 1);
    assert_eq!(report.checks[0].name, CheckName::Connect);
    assert!(!report.checks[0].ok);
}

#[tokio::test]
async fn a_configured_attribute_and_value_mark_disabled_accounts() {
    let server = Slapd::start(&people(1..=3), SlapdOptions::default());
    server.modify(&format!(
        "dn: uid=u1,ou=People,{SUFFIX}\nchangetype: modify\nadd: employeeType\nemployeeType: Inactive\n\n\
         dn: uid=u2,ou=People,{SUFFIX}\nchangetype: modify\nadd: employeeType\nemployeeType: staff\n"
    ));
    let mut provider = starttls(&server);
    provider["disabled"] = json!({"attribute": "employeeType", "value": "inactive"});
    let snapshot = directory(&config(provider, json!({"type": "all"})), 10)
        .read_users()
        .await
        .expect("read");
    let mut disabled: Vec<String> = snapshot
        .users
        .iter()
        .filter(|u| u.state == UserState::Disabled)
        .map(|u| u.object_id.to_string())
        .collect();
    disabled.sort();
    assert_eq!(disabled, [uuid(1)]);
}

/// Forwards one connection to `target` and cuts it after `limit` bytes from the server.
async fn cutting_proxy(target: u16, limit: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (client, _) = listener.accept().await.unwrap();
        let server = tokio::net::TcpStream::connect(("127.0.0.1", target))
            .await
            .unwrap();
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        });
        let mut passed = 0;
        let mut buffer = vec![0u8; 4096];
        while passed < limit {
            let n = match server_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n.min(limit - passed),
            };
            if client_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
            passed += n;
        }
        // Dropping both halves closes the client's connection mid-read.
    });
    port
}

#[tokio::test]
async fn a_connection_cut_mid_read_fails_the_read() {
    let server = Slapd::start(&people(1..=200), SlapdOptions::default());
    let proxy = cutting_proxy(server.port, 20_000).await;
    let provider = json!({"type": "ldap", "url": format!("ldap://127.0.0.1:{proxy}"),
        "allow_plaintext": true, "bind_dn": SYNC_DN, "base_dn": SUFFIX});
    let error = directory(&config(provider, json!({"type": "all"})), 10)
        .read_users()
        .await
        .expect_err("a cut read is an error, never a shorter list");
    assert!(
        matches!(error, DirectoryError::Incomplete { users_read, .. } if users_read > 0),
        "{error:?}"
    );
}
