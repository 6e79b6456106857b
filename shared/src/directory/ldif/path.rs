//! Which files the `ldif` provider may read: only regular files inside the operator's LDIF
//! folder (`DIRSYNC_LDIF_DIR`), after symlinks are resolved (CONTRACTS section 5). A tenant
//! names the path, so nothing else of the server's filesystem may be reachable through it.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Why a tenant's `provider.path` may not be read. Messages echo the path only as the tenant
/// gave it, never the operator's folder.
#[derive(Debug, thiserror::Error)]
pub enum LdifPathError {
    /// No LDIF folder is configured (AWS): no path at all may be read.
    #[error("provider.path: the ldif provider is not enabled on this deployment")]
    Disabled,
    #[error("provider.path: a path cannot hold a NUL byte")]
    NulByte,
    #[error("provider.path: '{0}' is outside the folder LDIF files may be read from")]
    Outside(String),
    #[error("provider.path: '{0}' does not exist")]
    Missing(String),
    #[error("provider.path: '{0}' is not a regular file")]
    NotAFile(String),
    #[error("provider.path: cannot read '{path}': {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    /// The operator's folder itself is unusable; its location is not told to the tenant.
    #[error("the folder LDIF files are read from cannot be opened: {0}")]
    Root(#[source] io::Error),
}

/// The resolved file `requested` names under `root`: relative paths are relative to `root`,
/// absolute ones must lie inside it, symlinks are followed and the result must still lie
/// inside it and be a regular file. `root: None` (no LDIF folder) refuses every path.
pub fn confined_path(root: Option<&Path>, requested: &str) -> Result<PathBuf, LdifPathError> {
    let (root, candidate) = lexically_inside(root, requested)?;
    let resolved = std::fs::canonicalize(&candidate).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => LdifPathError::Missing(requested.to_string()),
        _ => LdifPathError::Io {
            path: requested.to_string(),
            source,
        },
    })?;
    if !strictly_inside(&resolved, &root) {
        return Err(LdifPathError::Outside(requested.to_string()));
    }
    let metadata = std::fs::metadata(&resolved).map_err(|source| LdifPathError::Io {
        path: requested.to_string(),
        source,
    })?;
    if !metadata.is_file() {
        return Err(LdifPathError::NotAFile(requested.to_string()));
    }
    Ok(resolved)
}

/// Whether a tenant may configure `requested` (`PUT .../directory`): as [`confined_path`], but
/// a file that does not exist yet is accepted (the export may be copied in later; every read
/// checks again).
pub fn check_configured_path(root: Option<&Path>, requested: &str) -> Result<(), LdifPathError> {
    match confined_path(root, requested) {
        Ok(_) | Err(LdifPathError::Missing(_)) => Ok(()),
        Err(error) => Err(error),
    }
}

/// The canonical root and the candidate path, refused when it leaves the root on its face.
/// This comes before any filesystem access, so that a missing file outside the root reads as
/// "outside", not as "does not exist" (no probing of the server's filesystem).
fn lexically_inside(
    root: Option<&Path>,
    requested: &str,
) -> Result<(PathBuf, PathBuf), LdifPathError> {
    let root = root.ok_or(LdifPathError::Disabled)?;
    if requested.contains('\0') {
        return Err(LdifPathError::NulByte);
    }
    let canonical = std::fs::canonicalize(root).map_err(LdifPathError::Root)?;
    // An absolute path may name the root as the operator wrote it or as it resolves.
    let spelled = std::path::absolute(root).map_err(LdifPathError::Root)?;
    let candidate = normalized(&canonical.join(requested))
        .ok_or_else(|| LdifPathError::Outside(requested.to_string()))?;
    if strictly_inside(&candidate, &canonical) || strictly_inside(&candidate, &spelled) {
        Ok((canonical, candidate))
    } else {
        Err(LdifPathError::Outside(requested.to_string()))
    }
}

/// `path` with `.` and `..` applied as text; `None` when `..` climbs above the filesystem root.
fn normalized(path: &Path) -> Option<PathBuf> {
    let mut normalized = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                if !normalized.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => normalized.push(other),
        }
    }
    Some(normalized)
}

fn strictly_inside(path: &Path, root: &Path) -> bool {
    path.starts_with(root) && path != root
}
