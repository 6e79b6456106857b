//! The LDAP provider through an SSH tunnel: a real OpenSSH `sshd` (key-only, host key pinned)
//! in front of a real `slapd`, both on 127.0.0.1; and a sync end to end through the tunnel.

use dirsync::directory::{LdapDirectory, LdapOptions};
use std::sync::Arc;
use std::time::Duration;

use dirsync::domain::{
    CheckName, DirectoryConfig, DirectoryRead, EndpointPolicy, Outcome, RunId, RunRecord, Trigger,
};
use dirsync::ports::{Directory, Secrets, TenantSecrets};
use dirsync::sync::{DefaultConnector, EngineOptions, SyncEngine};
use dirsync_integration_tests::slapd::{attr, Slapd, SlapdOptions, SUFFIX, SYNC_DN, SYNC_PASSWORD};
use dirsync_integration_tests::sshd::{keygen, ClientKey, Sshd};
use dirsync_integration_tests::{Harness, ACCOUNT};
use serde_json::{json, Value};

fn person(n: u32, given: &str) -> String {
    format!(
        "dn: uid=u{n},ou=People,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: u{n}\n\
         entryUUID: 00000000-0000-4000-8000-{n:012}\n{}sn: Family{n}\ncn: u{n}\n\
         mail: user{n}@example.com\ntelephoneNumber: {}\n\n",
        attr("givenName", given),
        1000 + n
    )
}

/// ldaps to the directory by its real name (`localhost`, as the certificate says), reached
/// from the bastion.
fn provider(ldap: &Slapd, ssh: &Sshd, host_key: &str) -> Value {
    json!({"type": "ldap", "url": format!("ldaps://localhost:{}", ldap.tls_port),
           "ca_pem": ldap.ca_pem, "bind_dn": SYNC_DN, "base_dn": SUFFIX,
           "tunnel": {"type": "ssh", "host": "127.0.0.1", "port": ssh.port, "user": ssh.user,
                      "host_key": host_key}})
}

fn directory(provider: Value, key: &ClientKey) -> LdapDirectory {
    let body = json!({ "provider": provider });
    let config = DirectoryConfig::from_json(
        body.to_string().as_bytes(),
        EndpointPolicy {
            allow_private: true,
        },
    )
    .expect("valid config");
    let secrets = TenantSecrets {
        bind_password: Some(SYNC_PASSWORD.to_string().into()),
        ssh_private_key: Some(key.private.clone().into()),
        ..TenantSecrets::default()
    };
    let options = LdapOptions {
        allow_private: true,
        ..LdapOptions::default()
    };
    dirsync_integration_tests::ldap_directory(&config, &secrets, options)
}

struct Setup {
    ldap: Slapd,
    ssh: Sshd,
    ed25519: ClientKey,
    rsa: ClientKey,
    _keys: tempfile::TempDir,
}

fn setup() -> Setup {
    let keys = tempfile::tempdir().expect("key dir");
    let ed25519 = keygen(keys.path(), "client_ed25519", "ed25519");
    let rsa = keygen(keys.path(), "client_rsa", "rsa");
    let ldap = Slapd::start(
        &(1..=3).map(|n| person(n, "Ann")).collect::<String>(),
        SlapdOptions::default(),
    );
    let ssh = Sshd::start(&[&ed25519, &rsa]);
    Setup {
        ldap,
        ssh,
        ed25519,
        rsa,
        _keys: keys,
    }
}

#[tokio::test]
async fn reads_through_the_tunnel_with_ed25519_and_rsa_keys() {
    let s = setup();
    for (key, host_key) in [(&s.ed25519, &s.ssh.host_key), (&s.rsa, &s.ssh.rsa_host_key)] {
        let directory = directory(provider(&s.ldap, &s.ssh, host_key), key);
        let report = directory.test_connection().await;
        assert!(report.ok, "{report:?}");
        assert_eq!(report.checks[0].name, CheckName::Tunnel);
        assert!(report.checks[0].message.contains("SHA256:"));
        assert!(report.checks[2]
            .message
            .contains("TLS (ldaps) with localhost"));
        let snapshot = directory.read_users().await.expect("read");
        assert_eq!(snapshot.users.len(), 3);
        // A change-only read takes the same tunnel.
        let cursor = snapshot.change_cursor.expect("a change cursor");
        let changes = directory.read_changes(&cursor).await.expect("change read");
        assert_eq!(changes.changed, vec![]);
    }
}

#[tokio::test]
async fn a_host_key_that_is_not_the_pinned_one_is_refused_with_its_fingerprint() {
    let s = setup();
    let stranger = keygen(s.ssh.dir(), "stranger", "ed25519").public;
    let report = directory(provider(&s.ldap, &s.ssh, &stranger), &s.ed25519)
        .test_connection()
        .await;
    assert!(!report.ok);
    assert_eq!(report.checks.len(), 1);
    let tunnel = &report.checks[0];
    assert_eq!(tunnel.name, CheckName::Tunnel);
    assert!(
        tunnel.message.contains("not the pinned"),
        "{}",
        tunnel.message
    );
    assert!(
        tunnel.message.contains("ssh-ed25519 SHA256:"),
        "{}",
        tunnel.message
    );
}

#[tokio::test]
async fn a_client_key_the_bastion_does_not_know_is_refused() {
    let s = setup();
    let unknown = keygen(s.ssh.dir(), "unknown", "ed25519");
    let directory = directory(provider(&s.ldap, &s.ssh, &s.ssh.host_key), &unknown);
    let error = directory.read_users().await.expect_err("login refused");
    assert!(error.to_string().contains("refused the key"), "{error}");
    assert!(!error.to_string().contains(unknown.private.trim()));
}

#[tokio::test]
async fn the_bastion_up_but_the_directory_down_fails_in_the_connect_step() {
    let s = setup();
    let mut provider = provider(&s.ldap, &s.ssh, &s.ssh.host_key);
    let closed = dirsync_integration_tests::slapd::free_port();
    provider["url"] = format!("ldaps://localhost:{closed}").into();
    let report = directory(provider, &s.ed25519).test_connection().await;
    assert!(!report.ok);
    assert!(report.checks[0].ok, "the tunnel itself is up");
    let connect = &report.checks[1];
    assert_eq!(connect.name, CheckName::Connect);
    assert!(
        connect.message.contains("could not connect"),
        "{}",
        connect.message
    );
}

#[tokio::test]
async fn sync_through_the_tunnel_creates_renames_disables_and_deletes() {
    let s = setup();
    let h = Harness::new(
        &[],
        json!({"provider": provider(&s.ldap, &s.ssh, &s.ssh.host_key)}),
    )
    .await;
    let mut secrets = h.secrets.get(&h.tenant).await.unwrap().unwrap();
    secrets.bind_password = Some(SYNC_PASSWORD.to_string().into());
    secrets.ssh_private_key = Some(s.ed25519.private.clone().into());
    h.secrets.put(&h.tenant, &secrets).await.unwrap();

    let first = h.sync().await;
    assert_eq!(
        first.summary.outcome,
        Outcome::Success,
        "{:?}",
        first.summary.error
    );
    assert_eq!(first.summary.summary, "3 new, 0 updated, 0 removed");

    s.ldap.modify(&format!(
        "dn: uid=u1,ou=People,{SUFFIX}\nchangetype: modify\nreplace: givenName\ngivenName: Renamed\n\n\
         dn: uid=u2,ou=People,{SUFFIX}\nchangetype: modify\nadd: pwdAccountLockedTime\n\
         pwdAccountLockedTime: 20260101000000Z\n\n\
         dn: uid=u3,ou=People,{SUFFIX}\nchangetype: delete\n"
    ));
    let second = h.sync().await;
    assert_eq!(
        second.summary.outcome,
        Outcome::Success,
        "{:?}",
        second.summary.error
    );
    // A change-only read through the tunnel: the rename and the lock, but OpenLDAP keeps no
    // record of the deletion, so u3 stays until the next full read.
    assert_eq!(reads(&second), DirectoryRead::Changes);
    assert_eq!(second.summary.summary, "0 new, 1 updated, 1 removed");
    assert_eq!(numbers(&h), ["1001", "1003"]);
    let renamed = h.extension(1001);
    assert_eq!(renamed.first_name.as_deref(), Some("Renamed"));

    // The daily full read (here: due at once), through the tunnel too, finds u3 gone.
    let daily = SyncEngine::new(
        h.store.clone(),
        h.secrets.clone(),
        Arc::new(DefaultConnector {
            ldap_options: LdapOptions {
                allow_private: true,
                ..LdapOptions::default()
            },
            ..DefaultConnector::default()
        }),
        EngineOptions {
            full_read_every: Duration::ZERO,
            ..EngineOptions::default()
        },
    );
    let full = daily
        .run(&h.tenant, RunId::new(), Trigger::Schedule)
        .await
        .expect("run starts");
    assert_eq!(full.summary.outcome, Outcome::Success, "{:?}", full.errors);
    assert_eq!(reads(&full), DirectoryRead::Full);
    assert_eq!(full.summary.summary, "0 new, 0 updated, 1 removed");
    assert_eq!(numbers(&h), ["1001"]);
}

fn reads(run: &RunRecord) -> DirectoryRead {
    run.summary
        .reads
        .expect("a sync run says how it read")
        .directory
}

/// The numbers of the simulator's extensions, in order.
fn numbers(h: &Harness) -> Vec<String> {
    let mut numbers: Vec<String> = h
        .simulator
        .extensions(ACCOUNT)
        .into_iter()
        .map(|e| e.number)
        .collect();
    numbers.sort();
    numbers
}
