//! Change-only LDAP reads against the real servers: OpenLDAP `slapd` (entryCSN above the
//! kept contextCSN) and Samba as an AD DC (uSNChanged on one invocationId, Deleted Objects).
//! Each step checks that the last full snapshot with the changes applied is what a fresh
//! full read sees (OpenLDAP deletions excepted: they wait for the full read).

use std::time::Duration;

use chrono::Utc;
use dirsync::directory::{LdapDirectory, LdapOptions};
use dirsync::domain::{
    ChangeCursor, DirectoryChanges, DirectoryConfig, DirectoryUser, EndpointPolicy, Snapshot,
    UserState,
};
use dirsync::error::DirectoryError;
use dirsync::ports::{Directory, TenantSecrets};
use dirsync_integration_tests::samba::{Samba, ADMIN_PASSWORD, ADMIN_UPN, BASE_DN};
use dirsync_integration_tests::slapd::{
    person, uuid, Slapd, SlapdOptions, SUFFIX, SYNC_DN, SYNC_PASSWORD,
};
use serde_json::{json, Value};

fn directory(provider: Value, scope: Value, extra: Value, password: &str) -> LdapDirectory {
    let mut body = json!({"provider": provider, "scope": scope});
    body.as_object_mut()
        .expect("object")
        .extend(extra.as_object().expect("object").clone());
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
        page_size: Some(50),
        ..LdapOptions::default()
    };
    dirsync_integration_tests::ldap_directory(&config, &secrets, options)
}

/// `users` with `changes` applied: changed users replace theirs by object id (or join),
/// `deleted` ones leave. Sorted by object id.
fn applied(users: &[DirectoryUser], changes: &DirectoryChanges) -> Vec<DirectoryUser> {
    let mut out: Vec<DirectoryUser> = users
        .iter()
        .filter(|u| !changes.deleted.contains(&u.object_id))
        .filter(|u| !changes.changed.iter().any(|c| c.object_id == u.object_id))
        .cloned()
        .collect();
    out.extend(changes.changed.iter().cloned());
    sorted(out)
}

fn sorted(mut users: Vec<DirectoryUser>) -> Vec<DirectoryUser> {
    users.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    users
}

fn changed_ids(changes: &DirectoryChanges) -> Vec<String> {
    let mut ids: Vec<String> = changes
        .changed
        .iter()
        .map(|u| u.object_id.to_string())
        .collect();
    ids.sort();
    ids
}

fn next(changes: &DirectoryChanges) -> ChangeCursor {
    changes.cursor.clone().expect("a cursor for the next read")
}

/// `cursor` with one field of its (JSON) position replaced.
fn edited(cursor: &ChangeCursor, field: &str, value: Value) -> ChangeCursor {
    let mut position: Value = serde_json::from_str(&cursor.position).expect("JSON position");
    position[field] = value;
    ChangeCursor {
        provider: cursor.provider.clone(),
        position: position.to_string(),
    }
}

fn unavailable<T: std::fmt::Debug>(result: Result<T, DirectoryError>) -> String {
    match result {
        Err(DirectoryError::ChangesUnavailable(why)) => why,
        other => panic!("expected ChangesUnavailable, got {other:?}"),
    }
}

fn today() -> i64 {
    Utc::now().timestamp().div_euclid(86_400)
}

fn slapd_entries() -> String {
    let mut ldif = format!("dn: ou=Other,{SUFFIX}\nobjectClass: organizationalUnit\nou: Other\n\n");
    for n in 1..=20 {
        let mut entry = person(n, "ou=People", &format!("Given{n}"), true);
        let expires = match n {
            5 => Some(today() + 3),
            6 => Some(today()),
            _ => None,
        };
        if let Some(day) = expires {
            entry.pop();
            entry.push_str(&format!(
                "objectClass: shadowAccount\nshadowExpire: {day}\n\n"
            ));
        }
        ldif.push_str(&entry);
    }
    ldif
}

#[tokio::test]
async fn openldap_reads_what_changed_since_the_context_csn() {
    let options = SlapdOptions {
        log_operations: true,
        ..SlapdOptions::default()
    };
    let server = Slapd::start(&slapd_entries(), options);
    let provider = json!({"type": "ldap", "url": format!("ldap://localhost:{}", server.port),
        "starttls": true, "ca_pem": server.ca_pem, "bind_dn": SYNC_DN, "base_dn": SUFFIX});
    let scope = json!({"type": "ous", "ous": [format!("ou=People,{SUFFIX}")]});
    let reader = directory(provider.clone(), scope, json!({}), SYNC_PASSWORD);
    let full = reader.read_users().await.expect("full read");
    assert_eq!(full.users.len(), 20);
    let cursor = full
        .change_cursor
        .clone()
        .expect("a cursor from the full read");
    assert_eq!(cursor.provider, "ldap");

    // Nothing changed: the contextCSN and one page of changes.
    let before = server.searches();
    let unchanged = reader.read_changes(&cursor).await.expect("unchanged read");
    assert_eq!(unchanged.changed, vec![]);
    assert_eq!(unchanged.deleted, vec![]);
    assert!(unchanged.requests <= 2, "{} requests", unchanged.requests);
    assert!(server.searches() - before <= 2, "the server counted more");

    // A change, a rename, a move out of the scope OU, a deletion and a new user.
    server.modify(&format!(
        "dn: uid=u1,ou=People,{SUFFIX}\nchangetype: modify\nreplace: givenName\ngivenName: Renamed\n\n\
         dn: uid=u2,ou=People,{SUFFIX}\nchangetype: modrdn\nnewrdn: uid=u2b\ndeleteoldrdn: 1\n\n\
         dn: uid=u3,ou=People,{SUFFIX}\nchangetype: modrdn\nnewrdn: uid=u3\ndeleteoldrdn: 1\n\
         newsuperior: ou=Other,{SUFFIX}\n\n\
         dn: uid=u4,ou=People,{SUFFIX}\nchangetype: delete\n\n\
         dn: uid=u21,ou=People,{SUFFIX}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: u21\n\
         cn: New User\nsn: User\ngivenName: New\ntelephoneNumber: 1021\n\n"
    ));
    let before = server.searches();
    let changes = reader
        .read_changes(&next(&unchanged))
        .await
        .expect("change read");
    assert!(server.searches() - before <= 3);
    let new_id = changes
        .changed
        .iter()
        .find(|u| u.first_name.as_deref() == Some("New"))
        .expect("the new user")
        .object_id
        .to_string();
    let mut expected = vec![uuid(1), uuid(2), uuid(3), new_id];
    expected.sort();
    assert_eq!(changed_ids(&changes), expected);
    let moved = changes
        .changed
        .iter()
        .find(|u| u.object_id.as_str() == uuid(3));
    assert_eq!(
        moved.map(|u| u.in_scope),
        Some(false),
        "moved out of the OU"
    );
    assert_eq!(changes.deleted, vec![], "OpenLDAP keeps no deletion record");
    let fresh = reader.read_users().await.expect("fresh full read");
    let without_deleted: Vec<DirectoryUser> = applied(&full.users, &changes)
        .into_iter()
        .filter(|u| u.object_id.as_str() != uuid(4))
        .collect();
    assert_eq!(without_deleted, sorted(fresh.users.clone()));

    // A shadowExpire day that began since the last read: from a read of yesterday, user 6
    // (expiring today) is read again, expired; user 5 (in three days) is not.
    let yesterday = (Utc::now() - chrono::TimeDelta::days(1)).to_rfc3339();
    let expiry = reader
        .read_changes(&edited(&next(&changes), "read_at", json!(yesterday)))
        .await
        .expect("expiry read");
    assert_eq!(changed_ids(&expiry), vec![uuid(6)]);
    assert_eq!(expiry.changed[0].state, UserState::Expired);

    // An OU holding users renamed: their DNs changed without their CSNs.
    server.modify(&format!(
        "dn: ou=Other,{SUFFIX}\nchangetype: modrdn\nnewrdn: ou=Elsewhere\ndeleteoldrdn: 1\n\n"
    ));
    let why = unavailable(reader.read_changes(&next(&changes)).await);
    assert!(why.contains("ou=Elsewhere"), "{why}");

    // A cursor of another provider or base, and configs read in full, never read changes.
    let foreign = ChangeCursor {
        provider: "graph".into(),
        position: next(&changes).position,
    };
    unavailable(reader.read_changes(&foreign).await);
    let other_base = directory(
        json!({"type": "ldap", "url": format!("ldap://localhost:{}", server.port),
            "starttls": true, "ca_pem": server.ca_pem, "bind_dn": SYNC_DN,
            "base_dn": format!("ou=People,{SUFFIX}")}),
        json!({"type": "all"}),
        json!({}),
        SYNC_PASSWORD,
    );
    unavailable(other_base.read_changes(&cursor).await);
    let grouped = directory(
        provider,
        json!({"type": "all"}),
        json!({"extension_groups": {"sync": "all"}}),
        SYNC_PASSWORD,
    );
    assert_eq!(
        grouped.read_users().await.expect("read").change_cursor,
        None
    );
    unavailable(grouped.read_changes(&cursor).await);
}

const STAFF: &str = "OU=Staff,DC=example,DC=test";
const OTHER: &str = "OU=Other,DC=example,DC=test";

fn samba_entries() -> String {
    let mut ldif = format!(
        "dn: {STAFF}\nobjectClass: organizationalUnit\nou: Staff\n\n\
         dn: {OTHER}\nobjectClass: organizationalUnit\nou: Other\n\n"
    );
    for n in 1..=10 {
        ldif.push_str(&format!(
            "dn: CN=User {n},{STAFF}\nobjectClass: user\nsAMAccountName: u{n}\n\
             givenName: Given{n}\nsn: Family{n}\ntelephoneNumber: {}\n\
             userAccountControl: 512\naccountExpires: 0\n\n",
            1000 + n
        ));
    }
    ldif
}

/// `at` as a FILETIME, for `accountExpires`.
fn filetime(at: chrono::DateTime<Utc>) -> i64 {
    (at.timestamp() + 11_644_473_600) * 10_000_000
}

fn user<'a>(users: &'a [DirectoryUser], account: &str, samba: &Samba) -> &'a DirectoryUser {
    let guid = samba.guid_of(account);
    users
        .iter()
        .find(|u| u.object_id.as_str() == guid)
        .expect("user")
}

/// Requires the full read and the applied changes to agree, and returns the fresh read.
async fn agrees(reader: &LdapDirectory, before: &Snapshot, changes: &DirectoryChanges) -> Snapshot {
    let fresh = reader.read_users().await.expect("fresh full read");
    assert_eq!(applied(&before.users, changes), sorted(fresh.users.clone()));
    fresh
}

#[tokio::test]
async fn samba_active_directory_reads_what_changed_since_the_usn() {
    let samba = Samba::start(&samba_entries());
    let provider = json!({"type": "ldap", "url": "ldaps://localhost:636",
        "ca_pem": samba.ca_pem, "bind_dn": ADMIN_UPN, "base_dn": BASE_DN,
        "flavor": "active_directory"});
    let scope = json!({"type": "ous", "ous": [STAFF]});
    let reader = directory(provider.clone(), scope, json!({}), ADMIN_PASSWORD);
    let full = reader.read_users().await.expect("full read");
    let cursor = full
        .change_cursor
        .clone()
        .expect("a cursor from the full read");

    // Nothing changed in the scope: the DC's identity (two requests), the deleted objects
    // and the changes, one page each.
    let unchanged = reader.read_changes(&cursor).await.expect("unchanged read");
    assert!(unchanged.changed.iter().all(|u| !u.in_scope));
    assert_eq!(unchanged.deleted, vec![]);
    assert_eq!(unchanged.requests, 4);
    let full = agrees(&reader, &full, &unchanged).await;
    let cursor = full.change_cursor.clone().expect("cursor");

    // A change, a rename, a move out of the scope OU, a deletion, and an expiry set far
    // enough ahead that the change read and the full read after it both come before it.
    let expires = Utc::now() + chrono::TimeDelta::seconds(15);
    samba.ldb(
        "ldbmodify",
        &[&format!(
            "dn: CN=User 1,{STAFF}\nchangetype: modify\nreplace: givenName\ngivenName: Renamed\n\n\
             dn: CN=User 5,{STAFF}\nchangetype: modify\nreplace: accountExpires\n\
             accountExpires: {}\n\n",
            filetime(expires)
        )],
    );
    samba.ldb(
        "ldbrename",
        &[
            &format!("CN=User 2,{STAFF}"),
            &format!("CN=User 2b,{STAFF}"),
        ],
    );
    samba.ldb(
        "ldbrename",
        &[&format!("CN=User 3,{STAFF}"), &format!("CN=User 3,{OTHER}")],
    );
    let deleted_guid = samba.guid_of("u4");
    samba.ldb("ldbdel", &[&format!("CN=User 4,{STAFF}")]);
    let changes = reader.read_changes(&cursor).await.expect("change read");
    for account in ["u1", "u2", "u3", "u5"] {
        assert!(
            changes
                .changed
                .iter()
                .any(|u| u.object_id.as_str() == samba.guid_of(account)),
            "{account} changed"
        );
    }
    assert!(!user(&changes.changed, "u3", &samba).in_scope);
    assert_eq!(
        user(&changes.changed, "u5", &samba).state,
        UserState::Active
    );
    assert_eq!(
        changes
            .deleted
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>(),
        vec![deleted_guid],
        "from the Deleted Objects container"
    );
    let full = agrees(&reader, &full, &changes).await;

    // The expiry passes: no USN moves, yet the next read reports user 5 expired.
    let wait = (expires - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(1);
    tokio::time::sleep(wait).await;
    let expiry = reader
        .read_changes(&next(&changes))
        .await
        .expect("expiry read");
    assert_eq!(
        user(&expiry.changed, "u5", &samba).state,
        UserState::Expired
    );
    let full = agrees(&reader, &full, &expiry).await;

    // Another domain controller's (or a restored one's) USNs mean nothing here.
    let other_dc = edited(&next(&expiry), "invocation_id", json!("00".repeat(16)));
    let why = unavailable(reader.read_changes(&other_dc).await);
    assert!(why.contains("domain controller"), "{why}");

    // An OU renamed: the DNs below changed without their USNs.
    samba.ldb("ldbrename", &[OTHER, "OU=Elsewhere,DC=example,DC=test"]);
    let why = unavailable(reader.read_changes(&next(&expiry)).await);
    assert!(why.contains("OU=Elsewhere"), "{why}");
    drop(full);
}
