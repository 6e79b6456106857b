//! The LDIF directory (`provider.type = "ldif"`): an export file read whole on every sync, for
//! local mode and air-gapped sites. The file must lie inside an operator-chosen folder.

pub mod parser;

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use chrono::Utc;

use crate::directory::entry::attributes::UserMapper;
use crate::directory::entry::scope::{normalize_dn, scoped_dns};
use crate::domain::config::{ProviderConfig, Scope};
use crate::domain::{Coverage, DirectoryConfig, Snapshot};
use crate::error::DirectoryError;
use crate::ports::Directory;
use parser::parse_ldif;

/// Larger exports are refused rather than read into memory (the record limit is 10,000 users).
const MAX_LDIF_BYTES: u64 = 256 * 1024 * 1024;

pub struct LdifDirectory {
    /// The path as configured, for messages (never the operator's folder layout).
    shown_path: String,
    /// `allowed_root` joined with the configured path, not yet resolved.
    candidate: PathBuf,
    /// The canonical allowed root.
    root: PathBuf,
    mapper: UserMapper,
    scope: Scope,
}

impl LdifDirectory {
    /// `allowed_root`: the operator-chosen folder LDIF paths must resolve inside (canonicalize
    /// both; a path escaping it via `..` or symlinks is refused with
    /// `DirectoryError::NotAvailable`). Relative config paths are relative to `allowed_root`.
    pub fn new(config: &DirectoryConfig, allowed_root: &Path) -> Result<Self, DirectoryError> {
        let ProviderConfig::Ldif(ldif) = &config.provider else {
            return Err(DirectoryError::NotAvailable(format!(
                "the LDIF reader cannot read a '{}' directory",
                config.provider.kind()
            )));
        };
        if matches!(config.scope, Scope::Filter { .. }) {
            return Err(DirectoryError::NotAvailable(
                "filter scope needs an LDAP directory".into(),
            ));
        }
        let root = std::fs::canonicalize(allowed_root).map_err(|source| DirectoryError::Io {
            path: "the LDIF folder".into(),
            source,
        })?;
        let directory = Self {
            shown_path: ldif.path.clone(),
            candidate: root.join(&ldif.path),
            root,
            mapper: UserMapper::new(config, ldif.flavor),
            scope: config.scope.clone(),
        };
        directory.resolve_sync()?;
        Ok(directory)
    }

    fn outside_root(&self) -> DirectoryError {
        DirectoryError::NotAvailable(format!(
            "{} is outside the folder LDIF files may be read from",
            self.shown_path
        ))
    }

    fn io_error(&self, source: std::io::Error) -> DirectoryError {
        DirectoryError::Io {
            path: self.shown_path.clone(),
            source,
        }
    }

    /// The lexical check comes first, so that a missing file outside the root reads as
    /// "outside", not as "not found" (no probing of the operator's filesystem).
    fn check_lexically(&self) -> Result<(), DirectoryError> {
        let mut normalized = PathBuf::new();
        for component in self.candidate.components() {
            match component {
                Component::ParentDir => {
                    if !normalized.pop() {
                        return Err(self.outside_root());
                    }
                }
                Component::CurDir => {}
                other => normalized.push(other),
            }
        }
        if normalized.starts_with(&self.root) && normalized != self.root {
            Ok(())
        } else {
            Err(self.outside_root())
        }
    }

    fn check_resolved(&self, resolved: PathBuf) -> Result<PathBuf, DirectoryError> {
        if resolved.starts_with(&self.root) && resolved != self.root {
            Ok(resolved)
        } else {
            Err(self.outside_root())
        }
    }

    fn resolve_sync(&self) -> Result<PathBuf, DirectoryError> {
        self.check_lexically()?;
        let resolved = std::fs::canonicalize(&self.candidate).map_err(|e| self.io_error(e))?;
        self.check_resolved(resolved)
    }

    /// Resolved again on every read: a symlink may have been swapped in since `new`.
    async fn resolve(&self) -> Result<PathBuf, DirectoryError> {
        self.check_lexically()?;
        let resolved = tokio::fs::canonicalize(&self.candidate)
            .await
            .map_err(|e| self.io_error(e))?;
        self.check_resolved(resolved)
    }

    async fn read_text(&self) -> Result<String, DirectoryError> {
        let path = self.resolve().await?;
        let metadata = tokio::fs::metadata(&path)
            .await
            .map_err(|e| self.io_error(e))?;
        if !metadata.is_file() {
            return Err(DirectoryError::NotAvailable(format!(
                "{} is not a regular file",
                self.shown_path
            )));
        }
        if metadata.len() > MAX_LDIF_BYTES {
            return Err(DirectoryError::NotAvailable(format!(
                "{} is larger than {} MiB",
                self.shown_path,
                MAX_LDIF_BYTES / (1024 * 1024)
            )));
        }
        let bytes = tokio::fs::read(&path).await.map_err(|e| self.io_error(e))?;
        String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            DirectoryError::Ldif {
                path: self.shown_path.clone(),
                line: valid.iter().filter(|b| **b == b'\n').count() + 1,
                message: "the file is not UTF-8: save the export as UTF-8".into(),
            }
        })
    }
}

#[async_trait]
impl Directory for LdifDirectory {
    async fn read_users(&self) -> Result<Snapshot, DirectoryError> {
        let text = self.read_text().await?;
        let entries = parse_ldif(&text).map_err(|e| DirectoryError::Ldif {
            path: self.shown_path.clone(),
            line: e.line,
            message: e.message,
        })?;
        let scope = scoped_dns(&self.scope, &entries).map_err(DirectoryError::NotAvailable)?;
        let now = Utc::now();
        let mut users = Vec::new();
        // Two entries with one id would make the mapping ambiguous: refuse the export.
        let mut seen_ids: HashMap<String, &str> = HashMap::new();
        for entry in entries
            .iter()
            .filter(|e| self.mapper.is_user(&e.attributes))
        {
            let mut user = self
                .mapper
                .map_user(&entry.dn, &entry.attributes, now)
                .map_err(|m| DirectoryError::Protocol(format!("{}: {m}", entry.dn)))?;
            if let Some(other) = seen_ids.insert(user.object_id.to_string(), &entry.dn) {
                return Err(DirectoryError::Protocol(format!(
                    "{} and {other} have the same id {}",
                    entry.dn, user.object_id
                )));
            }
            user.in_scope = scope.contains(&normalize_dn(&entry.dn));
            users.push(user);
        }
        Ok(Snapshot {
            users,
            coverage: Coverage::WholeDirectory,
            complete: true,
        })
    }
}

#[cfg(test)]
mod tests;
