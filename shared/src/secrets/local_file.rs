//! [`LocalFileSecrets`]: one JSON file per tenant, `{dir}/{tenant}.json`, readable by the
//! owner only. Tenant ids are `[a-z0-9-]` (see `TenantId`), so a file name never leaves `dir`.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use rand::Rng;

use crate::domain::TenantId;
use crate::error::SecretsError;
use crate::ports::{Secrets, StoredSecrets, TenantSecrets};

use crate::private_fs::{ensure_private_dir, FILE_MODE};

#[cfg(unix)]
use std::os::unix::fs::OpenOptionsExt;

/// The directory is created on the first `put`; `get` and `delete` before that find nothing.
#[derive(Debug, Clone)]
pub struct LocalFileSecrets {
    dir: PathBuf,
}

impl LocalFileSecrets {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn path_of(&self, tenant: &TenantId) -> PathBuf {
        self.dir.join(format!("{tenant}.json"))
    }
}

async fn blocking<T, F>(work: F) -> Result<T, SecretsError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, SecretsError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| SecretsError::Backend(format!("secret store task failed: {e}")))?
}

/// Writes `bytes` to `path` atomically: a new temp file in the same directory, created with
/// mode 0600 (so the secret is never readable by others, not even briefly), then renamed.
fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), SecretsError> {
    // A leading '.' cannot start a tenant id, so temp files never clash with tenant files.
    let temp = dir.join(format!(".tmp-{:016x}", rand::rng().random::<u64>()));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(FILE_MODE);
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    });
    if let Err(e) = written {
        // Best effort: do not leave a partial secret behind.
        let _ = fs::remove_file(&temp);
        return Err(e.into());
    }
    // Make the rename itself durable.
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Parses a secrets file. serde_json messages may quote the offending value, which could be a
/// secret, so only the position is kept.
fn parse_stored(tenant: &TenantId, bytes: &[u8]) -> Result<StoredSecrets, SecretsError> {
    serde_json::from_slice(bytes).map_err(|e| {
        SecretsError::Backend(format!(
            "the secrets file of tenant {tenant} is not valid ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

#[async_trait]
impl Secrets for LocalFileSecrets {
    /// `Ok(None)` when the tenant has no file.
    async fn get(&self, tenant: &TenantId) -> Result<Option<TenantSecrets>, SecretsError> {
        let path = self.path_of(tenant);
        let tenant = tenant.clone();
        blocking(move || match fs::read(&path) {
            Ok(bytes) => Ok(Some(TenantSecrets::from_stored(parse_stored(
                &tenant, &bytes,
            )?))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        })
        .await
    }

    /// Replaces the tenant's file atomically.
    async fn put(&self, tenant: &TenantId, secrets: &TenantSecrets) -> Result<(), SecretsError> {
        let bytes = serde_json::to_vec_pretty(&secrets.to_stored())?;
        let (dir, path) = (self.dir.clone(), self.path_of(tenant));
        blocking(move || {
            ensure_private_dir(&dir)?;
            write_private(&dir, &path, &bytes)
        })
        .await
    }

    /// Deleting a tenant without secrets succeeds.
    async fn delete(&self, tenant: &TenantId) -> Result<(), SecretsError> {
        let path = self.path_of(tenant);
        blocking(move || match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        })
        .await
    }
}

#[cfg(test)]
#[path = "local_file_tests.rs"]
mod tests;
