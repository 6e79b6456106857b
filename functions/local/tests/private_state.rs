//! The state folder and every file in it are private to the service's user (CONTRACTS
//! section 5): 0700 and 0600, on a fresh folder and on one an older release left open.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use dirsync::settings::{Deployment, Settings};
use dirsync_local::{LocalOptions, LocalService};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Starts local mode with the demo (a first sync writes the store, its WAL and the secrets),
/// then checks the mode of the folder and of every file below it.
async fn assert_private_after_start(state: &Path) {
    let service = LocalService::start(
        LocalOptions {
            no_demo: false,
            tick_seconds: 3600,
            ..LocalOptions::with_state(state.to_path_buf())
        },
        Settings::defaults(Deployment::Local),
    )
    .await
    .expect("local service starts");
    dirsync_local::tokens::jwt_secret(&Settings::defaults(Deployment::Local), state).unwrap();
    let mut files = Vec::new();
    let mut folders = vec![state.to_path_buf()];
    while let Some(folder) = folders.pop() {
        assert_eq!(mode(&folder), 0o700, "{}", folder.display());
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let names: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(state).unwrap().display().to_string())
        .collect();
    for expected in [
        "dirsync.db",
        "dirsync.db-wal",
        "dirsync.db-shm",
        "demo.ldif",
        "jwt-secret",
        "secrets/demo.json",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    service.shutdown().await;
}

#[tokio::test]
async fn a_fresh_state_folder_is_0700_and_its_files_0600() {
    let parent = tempfile::tempdir().unwrap();
    assert_private_after_start(&parent.path().join("state")).await;
}

#[tokio::test]
async fn an_existing_open_state_folder_and_its_files_are_tightened() {
    let state = tempfile::tempdir().unwrap();
    let state = state.path();
    // As an older release left them: everything readable by others.
    std::fs::set_permissions(state, std::fs::Permissions::from_mode(0o755)).unwrap();
    for name in [
        "dirsync.db",
        "dirsync.db-wal",
        "dirsync.db-shm",
        "demo.ldif",
        "jwt-secret",
    ] {
        let path = state.join(name);
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    assert_private_after_start(state).await;
}
