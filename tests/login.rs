//! Directory login (`POST .../auth/verify`, `login.enabled`) against the real peers: slapd
//! directly and through an sshd tunnel, Samba as an AD DC (disabled, expired, must-change and
//! locked-out accounts), and the Okta test server's primary authentication; the throttle that
//! stops a guesser before the directory is asked; and the route itself.

use dirsync::domain::TenantId;
use dirsync::ports::{Secrets, Store, TenantSecrets};
use dirsync::sync::LoginResult;
use dirsync_integration_tests::okta_server::{okta_user, okta_user_id, OktaServer, OktaState};
use dirsync_integration_tests::slapd::{
    person, uuid, Slapd, SlapdOptions, SUFFIX, SYNC_DN, SYNC_PASSWORD,
};
use dirsync_integration_tests::sshd::{keygen, Sshd};
use dirsync_integration_tests::{fast_cloud_options, Harness};
use secrecy::SecretString;
use serde_json::{json, Value};

#[path = "login/api.rs"]
mod api;
#[path = "login/samba.rs"]
mod samba;

/// A person of `person` with a password of its own.
fn with_password(n: u32) -> String {
    let entry = person(n, "ou=People", &format!("Given{n}"), true);
    format!("{}\nuserPassword: {}\n\n", entry.trim_end(), password_of(n))
}

fn password_of(n: u32) -> String {
    format!("Pw-of-u{n}-x7")
}

fn secret(text: &str) -> SecretString {
    text.to_string().into()
}

/// slapd users 1 to 3 with passwords; user 4 without a number, so never mapped.
fn slapd() -> Slapd {
    let mut ldif: String = (1..=3).map(with_password).collect();
    let unmapped = person(4, "ou=People", "Given4", true).replace("telephoneNumber: 1004\n", "");
    ldif.push_str(&format!(
        "{}\nuserPassword: {}\n\n",
        unmapped.trim_end(),
        password_of(4)
    ));
    let options = SlapdOptions {
        log_operations: true,
        ..SlapdOptions::default()
    };
    Slapd::start(&ldif, options)
}

/// A tenant reading `provider` with `login.enabled`, synced once so that its users are mapped.
pub(crate) async fn synced(provider: Value, directory: TenantSecrets) -> Harness {
    let h = Harness::new(
        &[],
        json!({"provider": provider, "login": {"enabled": true}}),
    )
    .await;
    let mut secrets = h.secrets.get(&h.tenant).await.unwrap().unwrap();
    secrets.bind_password = directory.bind_password;
    secrets.ssh_private_key = directory.ssh_private_key;
    h.secrets.put(&h.tenant, &secrets).await.unwrap();
    let run = h.sync().await;
    assert!(run.summary.error.is_none(), "{:?}", run.summary);
    h
}

pub(crate) async fn login(h: &Harness, username: &str, password: &str) -> LoginResult {
    h.engine
        .verify_login(&h.tenant, username, &secret(password))
        .await
        .expect("the directory answers")
}

pub(crate) fn verified_id(result: &LoginResult) -> &str {
    match result {
        LoginResult::Verified { object_id, .. } => object_id.as_str(),
        other => panic!("not verified: {other:?}"),
    }
}

fn bind_password() -> TenantSecrets {
    TenantSecrets {
        bind_password: Some(secret(SYNC_PASSWORD)),
        ..TenantSecrets::default()
    }
}

fn starttls(server: &Slapd) -> Value {
    json!({"type": "ldap", "url": format!("ldap://localhost:{}", server.port), "starttls": true,
           "ca_pem": server.ca_pem, "bind_dn": SYNC_DN, "base_dn": SUFFIX})
}

#[tokio::test]
async fn slapd_checks_the_password_of_mapped_users_found_by_mail_or_uid() {
    let server = slapd();
    let h = synced(starttls(&server), bind_password()).await;

    let by_mail = login(&h, "user1@example.com", &password_of(1)).await;
    assert_eq!(verified_id(&by_mail), uuid(1));
    let LoginResult::Verified { number, .. } = &by_mail else {
        unreachable!()
    };
    assert_eq!(number, "1001");
    // By uid, with the case and spaces a UC client may send.
    assert_eq!(
        verified_id(&login(&h, " U3 ", &password_of(3)).await),
        uuid(3)
    );

    for (username, password) in [
        ("user1@example.com", "wrong".to_string()),
        // Another user's password.
        ("user1@example.com", password_of(2)),
        // Empty: an unauthenticated bind would "succeed"; never sent.
        ("user1@example.com", String::new()),
        ("nobody@example.com", password_of(1)),
        // Right password, but the PBX has no extension for user 4.
        ("user4@example.com", password_of(4)),
        // A filter in the username is a value, not a filter: no wildcard match.
        ("*", password_of(1)),
        ("u1)(uid=*", password_of(1)),
        ("", password_of(1)),
    ] {
        assert_eq!(
            login(&h, username, &password).await,
            LoginResult::Rejected,
            "{username:?}"
        );
    }
}

#[tokio::test]
async fn a_guesser_is_stopped_after_five_failures_without_asking_the_directory() {
    let server = slapd();
    let h = synced(starttls(&server), bind_password()).await;
    for _ in 0..5 {
        assert_eq!(
            login(&h, "user1@example.com", "guess").await,
            LoginResult::Rejected
        );
    }
    let searches = server.searches();
    // The sixth try, even with the right password and another spelling, is refused here.
    let LoginResult::Throttled { until } = login(&h, "USER1@example.com ", &password_of(1)).await
    else {
        panic!("not throttled")
    };
    let wait = until - chrono::Utc::now();
    assert!(wait > chrono::TimeDelta::minutes(14) && wait <= chrono::TimeDelta::minutes(15));
    assert_eq!(server.searches(), searches, "the directory was not asked");
    // Other users are not affected.
    assert_eq!(
        verified_id(&login(&h, "u2", &password_of(2)).await),
        uuid(2)
    );

    // A success clears the count: four failures, a success, five more failures allowed.
    for _ in 0..4 {
        assert_eq!(login(&h, "u3", "guess").await, LoginResult::Rejected);
    }
    assert_eq!(
        verified_id(&login(&h, "u3", &password_of(3)).await),
        uuid(3)
    );
    for _ in 0..5 {
        assert_eq!(login(&h, "u3", "guess").await, LoginResult::Rejected);
    }
    assert!(matches!(
        login(&h, "u3", &password_of(3)).await,
        LoginResult::Throttled { .. }
    ));
}

#[tokio::test]
async fn an_unreachable_directory_is_an_error_and_no_failure_of_the_user() {
    let server = slapd();
    let provider = starttls(&server);
    let h = synced(provider.clone(), bind_password()).await;
    drop(server);
    for _ in 0..7 {
        let error = h
            .engine
            .verify_login(&h.tenant, "u1", &secret(&password_of(1)))
            .await
            .expect_err("no directory");
        assert!(
            matches!(error, dirsync::error::SyncError::Directory(_)),
            "{error}"
        );
    }
    let key = dirsync::sync::attempt_key(&h.tenant, "u1");
    let taken = h
        .store
        .take_login_attempt(
            &h.tenant,
            &key,
            dirsync::sync::LOGIN_LIMIT,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(taken, dirsync::ports::LoginAttempt::Counted);
}

#[tokio::test]
async fn login_through_the_ssh_tunnel() {
    let keys = tempfile::tempdir().unwrap();
    let key = keygen(keys.path(), "client", "ed25519");
    let server = slapd();
    let ssh = Sshd::start(&[&key]);
    let provider = json!({"type": "ldap", "url": format!("ldaps://localhost:{}", server.tls_port),
        "ca_pem": server.ca_pem, "bind_dn": SYNC_DN, "base_dn": SUFFIX,
        "tunnel": {"type": "ssh", "host": "127.0.0.1", "port": ssh.port, "user": ssh.user,
                   "host_key": ssh.host_key}});
    let secrets = TenantSecrets {
        ssh_private_key: Some(secret(&key.private)),
        ..bind_password()
    };
    let h = synced(provider, secrets).await;
    assert_eq!(
        verified_id(&login(&h, "u2", &password_of(2)).await),
        uuid(2)
    );
    assert_eq!(login(&h, "u2", "wrong").await, LoginResult::Rejected);
}

#[tokio::test]
async fn login_off_is_disabled_and_ldif_is_unsupported() {
    let h = Harness::new(&[dirsync_integration_tests::Person::numbered(1)], json!({})).await;
    assert_eq!(login(&h, "u1", "pw").await, LoginResult::Disabled);
    h.configure(json!({"login": {"enabled": true}})).await;
    assert!(matches!(
        login(&h, "u1", "pw").await,
        LoginResult::Unsupported(_)
    ));
    let tenant = TenantId::parse("nobody").unwrap();
    assert!(h
        .engine
        .verify_login(&tenant, "u1", &secret("pw"))
        .await
        .is_err());
}

#[tokio::test]
async fn okta_primary_authentication_for_mapped_active_users() {
    let mut users: Vec<Value> = (1..=3).map(|n| okta_user(n, "ACTIVE")).collect();
    users.push(okta_user(4, "LOCKED_OUT"));
    users.push(okta_user(5, "PASSWORD_EXPIRED"));
    let mut unmapped = okta_user(6, "ACTIVE");
    unmapped["profile"]["primaryPhone"] = Value::Null;
    users.push(unmapped);
    let mut state = OktaState::new(users);
    for n in 1..=6 {
        state.passwords.insert(okta_user_id(n), password_of(n));
    }
    let server = OktaServer::start(state).await;
    let h = Harness::with_cloud(
        json!({"provider": {"type": "okta", "org_url": server.org_url()}, "login": {"enabled": true}}),
        fast_cloud_options(None, None),
        TenantSecrets {
            api_token: Some(secret(&server.with(|s| s.api_token.clone()))),
            ..TenantSecrets::default()
        },
    )
    .await;
    let run = h.sync().await;
    assert!(run.summary.error.is_none(), "{:?}", run.summary);

    let ok = login(&h, "User1@acme.com", &password_of(1)).await;
    assert_eq!(verified_id(&ok), okta_user_id(1));
    for (username, password) in [
        ("user1@acme.com", "wrong".to_string()),
        ("user4@acme.com", password_of(4)),
        ("user5@acme.com", password_of(5)),
        ("user6@acme.com", password_of(6)),
        ("nobody@acme.com", password_of(1)),
    ] {
        assert_eq!(
            login(&h, username, &password).await,
            LoginResult::Rejected,
            "{username}"
        );
    }
    for _ in 0..5 {
        assert_eq!(
            login(&h, "user2@acme.com", "guess").await,
            LoginResult::Rejected
        );
    }
    let asked = server.with(|s| s.authn_requests);
    assert!(matches!(
        login(&h, "user2@acme.com", &password_of(2)).await,
        LoginResult::Throttled { .. }
    ));
    assert_eq!(
        server.with(|s| s.authn_requests),
        asked,
        "Okta was not asked"
    );
}
