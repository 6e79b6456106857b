use secrecy::{ExposeSecret, SecretString};

use super::*;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;

const PASSWORD: &str = "bind-password-s3cr3t";
const TOKEN: &str = "pbx-token-t0k3n";

fn tenant(raw: &str) -> TenantId {
    TenantId::parse(raw).unwrap()
}

fn sample() -> TenantSecrets {
    TenantSecrets {
        bind_password: Some(SecretString::from(PASSWORD)),
        pbx_token: Some(SecretString::from(TOKEN)),
        ..TenantSecrets::default()
    }
}

fn exposed(secret: &Option<SecretString>) -> Option<&str> {
    secret.as_ref().map(|s| s.expose_secret())
}

fn store_in(root: &tempfile::TempDir) -> (LocalFileSecrets, PathBuf) {
    let dir = root.path().join("secrets");
    (LocalFileSecrets::new(dir.clone()), dir)
}

#[tokio::test]
async fn round_trip_and_replace() {
    let root = tempfile::TempDir::new().unwrap();
    let (store, dir) = store_in(&root);
    let acme = tenant("acme");
    assert!(
        store.get(&acme).await.unwrap().is_none(),
        "nothing before the first put"
    );

    store.put(&acme, &sample()).await.unwrap();
    let got = store.get(&acme).await.unwrap().unwrap();
    assert_eq!(exposed(&got.bind_password), Some(PASSWORD));
    assert_eq!(exposed(&got.pbx_token), Some(TOKEN));
    assert!(got.client_secret.is_none());

    // A put replaces the whole entry.
    let replacement = TenantSecrets {
        client_secret: Some(SecretString::from("client-secret")),
        ..TenantSecrets::default()
    };
    store.put(&acme, &replacement).await.unwrap();
    let got = store.get(&acme).await.unwrap().unwrap();
    assert_eq!(exposed(&got.client_secret), Some("client-secret"));
    assert!(got.bind_password.is_none() && got.pbx_token.is_none());

    // Only the tenant's file is left: no temp files.
    let names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["acme.json".to_string()]);
}

#[cfg(unix)]
#[tokio::test]
async fn files_are_0600_and_the_directory_0700() {
    let root = tempfile::TempDir::new().unwrap();
    let (store, dir) = store_in(&root);
    store.put(&tenant("acme"), &sample()).await.unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("acme.json")), 0o600);

    // An existing, too open directory is made private on the next put.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    store.put(&tenant("other"), &sample()).await.unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("other.json")), 0o600);
}

#[tokio::test]
async fn delete_removes_and_missing_is_fine() {
    let root = tempfile::TempDir::new().unwrap();
    let (store, dir) = store_in(&root);
    let acme = tenant("acme");
    store.delete(&acme).await.unwrap();
    store.put(&acme, &sample()).await.unwrap();
    store.delete(&acme).await.unwrap();
    assert!(store.get(&acme).await.unwrap().is_none());
    assert!(!dir.join("acme.json").exists());
    store.delete(&acme).await.unwrap();
}

#[tokio::test]
async fn tenants_never_see_each_other() {
    let root = tempfile::TempDir::new().unwrap();
    let (store, _) = store_in(&root);
    let (a, b) = (tenant("tenant-a"), tenant("tenant-b"));
    store.put(&a, &sample()).await.unwrap();
    assert!(store.get(&b).await.unwrap().is_none());
    store.delete(&b).await.unwrap();
    assert!(store.get(&a).await.unwrap().is_some(), "deleting B keeps A");

    let b_secrets = TenantSecrets {
        pbx_token: Some(SecretString::from("token-of-b")),
        ..TenantSecrets::default()
    };
    store.put(&b, &b_secrets).await.unwrap();
    let got_a = store.get(&a).await.unwrap().unwrap();
    let got_b = store.get(&b).await.unwrap().unwrap();
    assert_eq!(exposed(&got_a.pbx_token), Some(TOKEN));
    assert_eq!(exposed(&got_b.pbx_token), Some("token-of-b"));
    assert!(got_b.bind_password.is_none());
}

#[tokio::test]
async fn debug_and_errors_never_show_secrets() {
    let root = tempfile::TempDir::new().unwrap();
    let (store, dir) = store_in(&root);
    let acme = tenant("acme");
    store.put(&acme, &sample()).await.unwrap();
    let got = store.get(&acme).await.unwrap().unwrap();
    let shown = format!("{got:?} {store:?} {:?}", sample());
    for secret in [PASSWORD, TOKEN] {
        assert!(!shown.contains(secret), "{shown}");
    }

    // A damaged file whose content is a secret-looking string: the error names no value.
    fs::write(dir.join("acme.json"), format!("\"{PASSWORD}\"")).unwrap();
    let err = store.get(&acme).await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(shown.contains("acme"), "{shown}");
}
