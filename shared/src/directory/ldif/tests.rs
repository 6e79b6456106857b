use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::*;
use crate::domain::{DirectoryUser, EndpointPolicy, UserState};

const DEMO: &str = include_str!("../../../../examples/demo.ldif");

/// The LDIF reader of a config whose provider is `ldif`.
fn reader(
    config: &DirectoryConfig,
    root: Option<&std::path::Path>,
) -> Result<LdifDirectory, DirectoryError> {
    let crate::domain::config::ProviderConfig::Ldif(ldif) = &config.provider else {
        panic!("an ldif config");
    };
    LdifDirectory::new(ldif, config, root)
}

fn config(path: &str, scope: serde_json::Value) -> DirectoryConfig {
    let body = json!({
        "provider": {"type": "ldif", "path": path},
        "scope": scope,
        "extension_numbers": {"mode": "attribute", "pattern": "(\\d{3,6})$"},
    });
    DirectoryConfig::from_json(body.to_string().as_bytes(), EndpointPolicy::default()).unwrap()
}

/// Writes `text` as `dir/name` and reads it with `scope`.
async fn read(
    text: &str,
    scope: serde_json::Value,
) -> (tempfile::TempDir, Result<Snapshot, DirectoryError>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("export.ldif"), text).unwrap();
    let directory = reader(&config("export.ldif", scope), Some(dir.path())).unwrap();
    let result = directory.read_users().await;
    (dir, result)
}

fn by_uid(snapshot: &Snapshot) -> HashMap<String, &DirectoryUser> {
    snapshot
        .users
        .iter()
        .map(|u| {
            let dn = u.dn.clone().unwrap();
            let uid = dn.split(',').next().unwrap().trim_start_matches("uid=");
            (uid.to_string(), u)
        })
        .collect()
}

fn in_scope(snapshot: &Snapshot) -> HashSet<String> {
    by_uid(snapshot)
        .into_iter()
        .filter(|(_, u)| u.in_scope)
        .map(|(uid, _)| uid)
        .collect()
}

fn person(uid: &str, ou: &str, n: u32) -> String {
    format!(
        "dn: uid={uid},{ou}\nobjectClass: inetOrgPerson\nuid: {uid}\ngivenName: {uid}\n\
         mail: {uid}@example.com\ntelephoneNumber: 555-{n}\n\
         entryUUID: 00000000-0000-4000-8000-{n:012}\n\n"
    )
}

#[tokio::test]
async fn folded_base64_and_unicode_values_round_trip_into_users() {
    let text = "version: 1\n\n\
        dn: uid=zoe,ou=People,dc=example,dc=com\nobjectClass: inetOrgPerson\n\
        givenName:: Wm/Dqw==\nsn: Ångstr\n öm\nmail: zoe@example.com\n\
        telephoneNumber: +1 (415) 555-2201\nentryUUID: 11111111-2222-4333-8444-555555555555\n\n\
        dn: ou=People,dc=example,dc=com\nobjectClass: organizationalUnit\nou: People\n";
    let (_dir, result) = read(text, json!({"type": "all"})).await;
    let snapshot = result.unwrap();
    assert_eq!(snapshot.coverage, Coverage::WholeDirectory);
    assert!(snapshot.complete);
    assert_eq!(snapshot.users.len(), 1);
    let zoe = &snapshot.users[0];
    assert_eq!(zoe.first_name.as_deref(), Some("Zoë"));
    assert_eq!(zoe.last_name.as_deref(), Some("Ångström"));
    assert_eq!(zoe.extension.as_deref(), Some("+1 (415) 555-2201"));
    assert_eq!(
        zoe.object_id.as_str(),
        "11111111-2222-4333-8444-555555555555"
    );
    assert!(zoe.in_scope);
}

#[tokio::test]
async fn ou_scope_keeps_subtrees_and_reports_the_rest_out_of_scope() {
    let text = [
        person("ann", "ou=East,ou=Sales,dc=x", 1),
        person("bob", "ou=Sales,dc=x", 2),
        person("cid", "ou=Support,dc=x", 3),
        person("dee", "ou=PreSales,dc=x", 4),
    ]
    .concat();
    let scope = json!({"type": "ous", "ous": ["OU = Sales , DC=X"]});
    let (_dir, result) = read(&text, scope).await;
    let snapshot = result.unwrap();
    assert_eq!(snapshot.users.len(), 4);
    assert_eq!(
        in_scope(&snapshot),
        HashSet::from(["ann".into(), "bob".into()])
    );
}

#[tokio::test]
async fn users_scope_marks_exactly_the_listed_object_ids() {
    let text = [
        person("ann", "ou=Sales,dc=x", 1),
        person("bob", "ou=Sales,dc=x", 2),
        person("cid", "ou=Support,dc=x", 3),
    ]
    .concat();
    // An id no entry has is a deleted user, not a failed read.
    let scope = json!({"type": "users", "users": [
        "00000000-0000-4000-8000-000000000001",
        "00000000-0000-4000-8000-000000000003",
        "00000000-0000-4000-8000-000000000009",
    ]});
    let (_dir, result) = read(&text, scope).await;
    let snapshot = result.unwrap();
    assert_eq!(snapshot.users.len(), 3);
    assert_eq!(snapshot.coverage, Coverage::WholeDirectory);
    assert_eq!(
        in_scope(&snapshot),
        HashSet::from(["ann".into(), "cid".into()])
    );
}

#[tokio::test]
async fn group_scope_expands_nested_groups_with_a_cycle_and_member_of() {
    let groups = "\
dn: cn=top,ou=Groups,dc=x\nobjectClass: groupOfNames\ncn: top\nmember: cn=inner,ou=Groups,dc=x\n\
member: uid=ann,ou=P,dc=x\n\n\
dn: cn=inner,ou=Groups,dc=x\nobjectClass: groupOfUniqueNames\ncn: inner\n\
uniqueMember: cn=top,ou=Groups,dc=x\nuniqueMember: UID=Bob, OU=P, DC=x#'0101'B\n\n\
dn: cn=other,ou=Groups,dc=x\nobjectClass: groupOfNames\ncn: other\nmember: uid=cid,ou=P,dc=x\n\n";
    let mut text = groups.to_string();
    text += &person("ann", "ou=P,dc=x", 1);
    text += &person("bob", "ou=P,dc=x", 2);
    text += &person("cid", "ou=P,dc=x", 3);
    // dee joins through her own memberOf (the overlay's view), not through a member list.
    text += &person("dee", "ou=P,dc=x", 4).replace(
        "uid: dee\n",
        "uid: dee\nmemberOf: cn=inner,ou=Groups,dc=x\n",
    );
    let expected = HashSet::from(["ann".into(), "bob".into(), "dee".into()]);
    for group in ["top", "cn=top,ou=groups,dc=x"] {
        let scope = json!({"type": "groups", "groups": [group]});
        let (_dir, result) = read(&text, scope).await;
        let snapshot = result.unwrap();
        assert_eq!(snapshot.users.len(), 4);
        assert_eq!(in_scope(&snapshot), expected, "scope group {group}");
    }
}

#[tokio::test]
async fn an_unknown_scope_group_or_ou_fails_the_read() {
    let text = person("ann", "ou=P,dc=x", 1);
    let (_dir, result) = read(&text, json!({"type": "groups", "groups": ["gone"]})).await;
    assert!(matches!(result, Err(DirectoryError::NotAvailable(m)) if m.contains("gone")));
    let scope = json!({"type": "ous", "ous": ["ou=P,dc=x", "ou=Gone,dc=x"]});
    let (_dir, result) = read(&text, scope).await;
    assert!(matches!(result, Err(DirectoryError::NotAvailable(m)) if m.contains("ou=Gone")));
}

#[tokio::test]
async fn a_corrupt_or_truncated_file_fails_the_whole_read() {
    let good = [person("ann", "ou=P,dc=x", 1), person("bob", "ou=P,dc=x", 2)].concat();
    let corrupt = good.replace("givenName: bob", "givenName:: b@b");
    let (_dir, result) = read(&corrupt, json!({"type": "all"})).await;
    match result {
        Err(DirectoryError::Ldif {
            path,
            line,
            message,
        }) => {
            assert_eq!(path, "export.ldif");
            assert_eq!(line, 12);
            assert!(message.contains("base64"), "{message}");
        }
        other => panic!("expected an LDIF error, got {other:?}"),
    }
    // Cut mid-line: the second entry loses its colon.
    let cut = &good[..good.find("mail: bob").unwrap() + 4];
    let (_dir, result) = read(cut, json!({"type": "all"})).await;
    assert!(
        matches!(result, Err(DirectoryError::Ldif { line: 13, .. })),
        "{result:?}"
    );
    // Cut before the id: the mapping fails, naming the DN, instead of dropping bob.
    let cut = &good[..good
        .find("entryUUID: 00000000-0000-4000-8000-000000000002")
        .unwrap()];
    let (_dir, result) = read(cut, json!({"type": "all"})).await;
    assert!(
        matches!(&result, Err(DirectoryError::Protocol(m)) if m.contains("uid=bob") && m.contains("entryUUID")),
        "{result:?}"
    );
}

#[tokio::test]
async fn non_utf8_files_and_duplicate_ids_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"dn: cn=a\ncn: a\nsn: M\xfcller\n".to_vec();
    bytes.extend_from_slice(b"\n");
    std::fs::write(dir.path().join("latin1.ldif"), &bytes).unwrap();
    let directory = reader(
        &config("latin1.ldif", json!({"type": "all"})),
        Some(dir.path()),
    )
    .unwrap();
    let result = directory.read_users().await;
    assert!(
        matches!(result, Err(DirectoryError::Ldif { line: 3, .. })),
        "{result:?}"
    );

    let twice = [person("ann", "ou=P,dc=x", 1), person("ann", "ou=Q,dc=x", 1)].concat();
    let (_dir, result) = read(&twice, json!({"type": "all"})).await;
    assert!(matches!(result, Err(DirectoryError::Protocol(m)) if m.contains("same id")));
}

fn opened(path: &str, root: Option<&Path>) -> Result<LdifDirectory, DirectoryError> {
    reader(&config(path, json!({"type": "all"})), root)
}

fn is_outside(result: &Result<LdifDirectory, DirectoryError>) -> bool {
    matches!(
        result,
        Err(DirectoryError::LdifPath(LdifPathError::Outside(_)))
    )
}

#[tokio::test]
async fn paths_escaping_the_root_are_refused_before_the_filesystem_is_asked() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("root");
    std::fs::create_dir(&root).unwrap();
    // The server's own files, as a tenant would name them.
    let shadow = outer.path().join("shadow");
    std::fs::write(&shadow, "root:$6$hash:19000:0:99999:7:::\n").unwrap();
    for path in [
        "/proc/self/environ",
        "/etc/shadow",
        shadow.to_str().unwrap(),
        "../shadow",
        "../missing.ldif",
        "sub/../../shadow",
        "..",
        ".",
    ] {
        let result = opened(path, Some(&root));
        assert!(is_outside(&result), "{path}: {:?}", result.err());
        let message = result.err().unwrap().to_string();
        assert!(message.contains("provider.path"), "{message}");
        assert!(!message.contains(&*root.to_string_lossy()), "{message}");
    }
    let nul = opened("ok.ldif\0/etc/passwd", Some(&root));
    assert!(matches!(
        nul,
        Err(DirectoryError::LdifPath(LdifPathError::NulByte))
    ));
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_are_followed_and_must_stay_inside_the_root() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("root");
    std::fs::create_dir_all(root.join("exports")).unwrap();
    let secret = outer.path().join("secret.ldif");
    std::fs::write(&secret, person("eve", "ou=P,dc=x", 9)).unwrap();
    std::os::unix::fs::symlink(&secret, root.join("link.ldif")).unwrap();
    std::os::unix::fs::symlink(outer.path(), root.join("up")).unwrap();
    assert!(is_outside(&opened("link.ldif", Some(&root))));
    assert!(is_outside(&opened("up/secret.ldif", Some(&root))));

    // A link inside the root to a file inside the root is fine.
    std::fs::write(
        root.join("exports/real.ldif"),
        person("ann", "ou=P,dc=x", 1),
    )
    .unwrap();
    std::os::unix::fs::symlink(root.join("exports/real.ldif"), root.join("current.ldif")).unwrap();
    let directory = opened("current.ldif", Some(&root)).unwrap();
    assert_eq!(directory.read_users().await.unwrap().users.len(), 1);

    // Swapped for a link that leaves the root after the config was accepted: the read refuses.
    std::fs::remove_file(root.join("current.ldif")).unwrap();
    std::os::unix::fs::symlink(&secret, root.join("current.ldif")).unwrap();
    let swapped = directory.read_users().await;
    assert!(
        matches!(
            &swapped,
            Err(DirectoryError::LdifPath(LdifPathError::Outside(_)))
        ),
        "{swapped:?}"
    );
}

#[tokio::test]
async fn inside_the_root_absolute_or_relative_is_fine_and_a_missing_file_is_named() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    std::fs::write(root.join("ok.ldif"), "").unwrap();
    let absolute = root.join("ok.ldif");
    assert!(opened(absolute.to_str().unwrap(), Some(root)).is_ok());
    assert!(opened("./ok.ldif", Some(root)).is_ok());
    let missing = opened("nope.ldif", Some(root));
    assert!(
        matches!(&missing, Err(DirectoryError::LdifPath(LdifPathError::Missing(p))) if p == "nope.ldif"),
        "{:?}",
        missing.err()
    );
    assert!(check_configured_path(Some(root), "nope.ldif").is_ok());
    assert!(check_configured_path(Some(root), "../nope.ldif").is_err());
    std::fs::create_dir(root.join("folder.ldif")).unwrap();
    assert!(matches!(
        opened("folder.ldif", Some(root)),
        Err(DirectoryError::LdifPath(LdifPathError::NotAFile(_)))
    ));
}

#[tokio::test]
async fn without_an_ldif_folder_every_path_is_refused() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("ok.ldif"), "").unwrap();
    let inside = root.path().join("ok.ldif");
    for path in ["ok.ldif", inside.to_str().unwrap(), "/proc/self/environ"] {
        assert!(matches!(
            opened(path, None),
            Err(DirectoryError::LdifPath(LdifPathError::Disabled))
        ));
        assert!(check_configured_path(None, path).is_err());
    }
}

/// Whether any 12-byte run of `content` (letters, digits and punctuation) appears in `message`.
fn quotes(message: &str, content: &[u8]) -> bool {
    content
        .split(|b| b.is_ascii_whitespace() || *b == 0)
        .filter(|word| word.len() >= 12)
        .any(|word| {
            word.windows(12)
                .any(|w| message.contains(&*String::from_utf8_lossy(w)))
        })
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn errors_never_quote_the_file_even_where_the_root_allows_it() {
    // The operator's root is "/" here, so /proc/self/environ may be read: what the tenant
    // gets back must still hold nothing of it (the environment holds the JWT secret).
    let environ = std::fs::read("/proc/self/environ").unwrap();
    let directory = opened("/proc/self/environ", Some(Path::new("/"))).unwrap();
    let message = directory.read_users().await.unwrap_err().to_string();
    assert!(!quotes(&message, &environ), "{message}");
    assert!(message.contains("/proc/self/environ"), "{message}");
}

#[tokio::test]
async fn parse_errors_never_quote_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = [
        "JWT_SECRET_VALUE=s3cr3t-k3y-0123456789\n",
        "dn: cn=a\nJWT_SECRET_VALUE:: s3cr3t-k3y-0123456789@@\n",
        "dn: cn=a\nJWT-SECRET-VALUE: :s3cr3t-k3y-0123456789\n",
        "JWT-SECRET-VALUE: s3cr3t-k3y-0123456789\n",
        "dn: cn=a\n\nsearch: 1\nresult: 4 s3cr3t-k3y-0123456789\n",
        "{\"pbx_token\": \"s3cr3t-k3y-0123456789\"}\n",
    ];
    for text in secrets {
        std::fs::write(dir.path().join("x.ldif"), text).unwrap();
        let directory = opened("x.ldif", Some(dir.path())).unwrap();
        let message = directory.read_users().await.unwrap_err().to_string();
        assert!(!quotes(&message, text.as_bytes()), "{text:?}: {message}");
        assert!(!message.contains("JWT"), "{text:?}: {message}");
    }
}

#[tokio::test]
async fn a_binary_file_fails_at_its_first_line_quoting_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // An ELF-like header: NUL bytes, then bytes that are not UTF-8, and no line break.
    let mut binary = b"\x7fELF\x02\x01\x01\0\0\0SECRET-MARKER-0123456789".to_vec();
    binary.extend((0..=255u8).cycle().take(4096));
    std::fs::write(dir.path().join("a.out"), &binary).unwrap();
    let directory = opened("a.out", Some(dir.path())).unwrap();
    let error = directory.read_users().await.unwrap_err();
    assert!(
        matches!(&error, DirectoryError::Ldif { line: 1, message, .. } if message.contains("binary")),
        "{error:?}"
    );
    assert!(!error.to_string().contains("SECRET"), "{error}");
}

#[tokio::test]
async fn a_file_over_the_size_cap_fails_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    // Sparse: 80 MiB claimed, nothing written.
    let file = std::fs::File::create(dir.path().join("huge.ldif")).unwrap();
    file.set_len(80 * 1024 * 1024).unwrap();
    let directory = opened("huge.ldif", Some(dir.path())).unwrap();
    let error = directory.read_users().await.unwrap_err().to_string();
    assert!(error.contains("larger than 64 MiB"), "{error}");
    assert!(error.contains("huge.ldif"), "{error}");
}

#[tokio::test]
async fn an_endless_line_fails_at_the_line_cap() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!("dn: cn={}\n", "a".repeat(MAX_LINE_BYTES + 1));
    std::fs::write(dir.path().join("long.ldif"), line).unwrap();
    let directory = opened("long.ldif", Some(dir.path())).unwrap();
    let error = directory.read_users().await.unwrap_err();
    assert!(
        matches!(&error, DirectoryError::Ldif { line: 1, message, .. } if message.contains("longer than")),
        "{error:?}"
    );
    assert!(!error.to_string().contains("aaaaaaaa"), "{error}");
}

#[tokio::test]
async fn filter_scope_is_not_available() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config("x.ldif", json!({"type": "all"}));
    config.scope = crate::domain::config::Scope::Filter {
        filter: crate::domain::config::LdapFilter::parse("(cn=a)").unwrap(),
    };
    std::fs::write(dir.path().join("x.ldif"), DEMO).unwrap();
    // The request's conversion refuses this pairing; a reader given it anyway reads nothing.
    let result = reader(&config, Some(dir.path()))
        .unwrap()
        .read_users()
        .await;
    assert!(matches!(result, Err(DirectoryError::NotAvailable(m)) if m.contains("LDAP")));
}

#[tokio::test]
async fn the_demo_directory_has_the_documented_population() {
    let (_dir, result) = read(DEMO, json!({"type": "all"})).await;
    let snapshot = result.unwrap();
    let users = &snapshot.users;
    assert_eq!(users.len(), 26);
    assert!(users.iter().all(|u| u.in_scope));
    let ids: HashSet<&str> = users.iter().map(|u| u.object_id.as_str()).collect();
    assert_eq!(ids.len(), 26);
    assert!(ids.iter().all(|id| uuid::Uuid::parse_str(id).is_ok()));
    let count = |f: &dyn Fn(&DirectoryUser) -> bool| users.iter().filter(|u| f(u)).count();
    assert_eq!(count(&|u| u.state == UserState::Disabled), 1);
    assert_eq!(count(&|u| u.state != UserState::Active), 1);
    assert_eq!(count(&|u| u.email.is_none()), 2);
    assert_eq!(count(&|u| u.extension.is_none()), 1);
    assert_eq!(count(&|u| u.mobile.is_some()), 23);

    // The duplicate number: the holder with the smaller entryUUID keeps it.
    let pattern = regex::Regex::new(r"(\d{3,6})$").unwrap();
    let mut sorted: Vec<&DirectoryUser> = users.iter().collect();
    sorted.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    let mut taken: HashMap<String, String> = HashMap::new();
    let mut syncing = 0;
    let mut skipped_duplicate = Vec::new();
    for user in sorted {
        let number = user.extension.as_deref().and_then(|e| pattern.captures(e));
        let (Some(number), Some(_), UserState::Active) = (number, &user.email, user.state) else {
            continue;
        };
        match taken.entry(number[1].to_string()) {
            std::collections::hash_map::Entry::Occupied(_) => {
                skipped_duplicate.push(user.display_name())
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(user.display_name());
                syncing += 1;
            }
        }
    }
    assert_eq!(syncing, 21);
    assert_eq!(skipped_duplicate, vec!["Mia Novak"]);
    assert_eq!(taken.get("2203").map(String::as_str), Some("Chloé Lefèvre"));

    let names: HashSet<String> = users.iter().map(|u| u.display_name()).collect();
    for name in ["José Müller", "Zoë Ångström", "Mateo García"] {
        assert!(names.contains(name), "{name}");
    }
}

#[tokio::test]
async fn the_demo_groups_nest() {
    let scope = json!({"type": "groups", "groups": ["phone-users"]});
    let (_dir, result) = read(DEMO, scope).await;
    let snapshot = result.unwrap();
    let scoped = in_scope(&snapshot);
    // Sales (through the nested sales-team) and Support, not Engineering.
    assert_eq!(scoped.len(), 16);
    assert!(scoped.contains("alice.johnson") && scoped.contains("ethan.clark"));
    assert!(!scoped.contains("zoe.angstrom"));
}

#[tokio::test]
async fn test_connection_reports_the_search_step_and_a_sample() {
    let dir = tempfile::tempdir().unwrap();
    let people: String = (1..=8)
        .map(|n| person(&format!("u{n}"), "ou=people,dc=x", n))
        .collect();
    std::fs::write(dir.path().join("export.ldif"), people).unwrap();
    let directory = reader(
        &config("export.ldif", json!({"type": "all"})),
        Some(dir.path()),
    )
    .unwrap();
    let report = directory.test_connection().await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.checks.len(), 1);
    assert_eq!(report.checks[0].name, crate::domain::CheckName::Search);
    assert_eq!(report.checks[0].message, "8 users read");
    assert_eq!(report.sample.len(), 5);

    std::fs::remove_file(dir.path().join("export.ldif")).unwrap();
    let report = directory.test_connection().await;
    assert!(!report.ok);
    assert!(
        report.checks[0].message.contains("does not exist"),
        "{report:?}"
    );
    assert!(
        report.checks[0].message.contains("export.ldif"),
        "{report:?}"
    );
    assert!(report.sample.is_empty());
}
