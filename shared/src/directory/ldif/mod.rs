//! The LDIF directory (`provider.type = "ldif"`): an export file read on every sync, for local
//! mode and air-gapped sites. The file must lie inside the operator's LDIF folder ([`path`]),
//! and is read line by line under a size cap, so that a huge or binary file fails fast.

pub mod parser;
pub mod path;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::Utc;

use crate::directory::entry::attributes::UserMapper;
use crate::directory::entry::groups::{directory_group, group_entries, select_groups, user_ids};
use crate::directory::entry::organisation::{Organizer, OuTree, OU_CLASS};
use crate::directory::entry::scope::{normalize_dn, scoped_dns, MembershipGraph};
use crate::directory::entry::Entry;
use crate::domain::config::{GroupSync, LdapFlavor, LdifConfig, OrganizationSync, Scope};
use crate::domain::{Coverage, DirectoryConfig, DirectoryGroup, DirectoryUser, ObjectId, Snapshot};
use crate::error::DirectoryError;
use crate::ports::Directory;
use parser::LdifParser;
pub use path::{check_configured_path, confined_path, LdifPathError};

/// Larger exports are refused before they are read: the record limit is 10,000 users, and
/// 10,000 entries of a few KB each fit many times over (an export with photos should leave
/// them out).
pub const MAX_LDIF_BYTES: u64 = 64 * 1024 * 1024;
/// A longer physical line is refused: exporters fold at 76 columns, and even an unfolded
/// 256 KB photo in base64 fits. A binary file without line breaks stops here.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

pub struct LdifDirectory {
    /// The path as the tenant configured it: checked again on every read.
    requested: String,
    /// The operator's LDIF folder; `None` refuses every path.
    root: Option<PathBuf>,
    mapper: UserMapper,
    flavor: LdapFlavor,
    scope: Scope,
    organizations: OrganizationSync,
    groups: GroupSync,
    /// The photo attribute of each user entry by object id, read once for a run's uploads.
    photos: tokio::sync::OnceCell<HashMap<ObjectId, Vec<u8>>>,
}

impl LdifDirectory {
    /// The reader of `config`'s file under `root` (the operator's LDIF folder, `None` where the
    /// provider is off). A path outside the root, or not a regular file, is refused here and
    /// again at every read (a symlink may have been swapped in since).
    pub fn new(
        ldif: &LdifConfig,
        config: &DirectoryConfig,
        root: Option<&Path>,
    ) -> Result<Self, DirectoryError> {
        confined_path(root, &ldif.path)?;
        Ok(Self {
            requested: ldif.path.clone(),
            root: root.map(Path::to_path_buf),
            mapper: UserMapper::new(config, ldif.flavor),
            flavor: ldif.flavor,
            scope: config.scope.clone(),
            organizations: config.organizations.sync.clone(),
            groups: config.extension_groups.sync.clone(),
            photos: tokio::sync::OnceCell::new(),
        })
    }

    fn read_error(&self, error: ReadError) -> DirectoryError {
        let path = self.requested.clone();
        match error {
            ReadError::Io(source) => DirectoryError::Io { path, source },
            ReadError::Ldif(e) => DirectoryError::Ldif {
                path,
                line: e.line,
                message: e.message,
            },
            ReadError::NotAFile => LdifPathError::NotAFile(path).into(),
            ReadError::TooLarge => DirectoryError::NotAvailable(format!(
                "provider.path: '{path}' is larger than {} MiB, the most an LDIF export may be",
                MAX_LDIF_BYTES / (1024 * 1024)
            )),
        }
    }

    async fn read_entries(&self) -> Result<Vec<Entry>, DirectoryError> {
        let root = self.root.clone();
        let requested = self.requested.clone();
        let read = tokio::task::spawn_blocking(move || -> Result<_, DirectoryError> {
            let path = confined_path(root.as_deref(), &requested)?;
            let file = std::fs::File::open(&path).map_err(|source| DirectoryError::Io {
                path: requested.clone(),
                source,
            })?;
            Ok(read_export(file))
        });
        match read.await {
            Ok(Ok(Ok(entries))) => Ok(entries),
            Ok(Ok(Err(error))) => Err(self.read_error(error)),
            Ok(Err(error)) => Err(error),
            Err(join) => Err(DirectoryError::NotAvailable(format!(
                "the LDIF reader stopped: {join}"
            ))),
        }
    }
}

/// Why reading an export stopped. None quotes the file.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Ldif(#[from] parser::LdifError),
    #[error("the file is larger than the cap")]
    TooLarge,
    #[error("not a regular file")]
    NotAFile,
}

/// Reads and parses an export line by line: at most [`MAX_LDIF_BYTES`] in all and
/// [`MAX_LINE_BYTES`] per line, UTF-8 and without NUL bytes (a binary file).
fn read_export(file: std::fs::File) -> Result<Vec<Entry>, ReadError> {
    // The size a file claims comes first, so that a huge one is refused without reading it;
    // files of /proc claim 0, so the bytes read are counted too.
    let metadata = file.metadata()?;
    // What was opened, not what was checked: the path may have been swapped in between.
    if !metadata.is_file() {
        return Err(ReadError::NotAFile);
    }
    if metadata.len() > MAX_LDIF_BYTES {
        return Err(ReadError::TooLarge);
    }
    let mut reader = BufReader::new(file.take(MAX_LDIF_BYTES + 1));
    let mut parser = LdifParser::default();
    let mut buffer = Vec::new();
    let mut total: u64 = 0;
    for line in 1.. {
        buffer.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let read = (&mut reader).take(limit).read_until(b'\n', &mut buffer)?;
        if read == 0 {
            break;
        }
        total += read as u64;
        if total > MAX_LDIF_BYTES {
            return Err(ReadError::TooLarge);
        }
        if buffer.last() == Some(&b'\n') {
            buffer.pop();
        }
        let refused = |message: &str| {
            ReadError::Ldif(parser::LdifError {
                line,
                message: message.into(),
            })
        };
        if buffer.len() > MAX_LINE_BYTES {
            return Err(refused(&format!(
                "the line is longer than {} KiB: this is not an LDIF export",
                MAX_LINE_BYTES / 1024
            )));
        }
        if buffer.contains(&0) {
            return Err(refused(
                "the line holds a NUL byte: this is a binary file, not an LDIF export",
            ));
        }
        let text = std::str::from_utf8(&buffer)
            .map_err(|_| refused("the file is not UTF-8: save the export as UTF-8"))?;
        parser.push_line(line, text)?;
    }
    Ok(parser.finish()?)
}

#[async_trait]
impl Directory for LdifDirectory {
    async fn read_users(&self) -> Result<Snapshot, DirectoryError> {
        let entries = self.read_entries().await?;
        let scope = scoped_dns(&self.scope, &entries).map_err(DirectoryError::NotAvailable)?;
        let mut organizer = match &self.organizations {
            // An export has no `base_dn`: every OU in it counts.
            OrganizationSync::Ous => {
                let ous: Vec<Entry> = entries
                    .iter()
                    .filter(|e| e.attributes.has_object_class(&[OU_CLASS]))
                    .cloned()
                    .collect();
                Organizer::Ous(OuTree::new(&ous, &self.mapper).map_err(DirectoryError::Protocol)?)
            }
            sync => Organizer::without_ous(sync),
        };
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
            user.in_scope = scope.contains(&normalize_dn(&entry.dn), &user.object_id);
            organizer.assign(&mut user, &entry.attributes, &self.mapper);
            users.push(user);
        }
        let groups = self.groups(&entries, &users)?;
        Ok(Snapshot {
            users,
            coverage: Coverage::WholeDirectory,
            complete: true,
            organizations: organizer.into_organizations(),
            groups,
            change_cursor: None,
        })
    }

    /// The export is read once more for the run's uploads, keeping only the photos: no more
    /// than the export itself held while it was read.
    async fn read_photo(
        &self,
        user: &ObjectId,
        _dn: Option<&str>,
    ) -> Result<Option<Vec<u8>>, DirectoryError> {
        let Some(attribute) = self.mapper.avatar_attribute() else {
            return Ok(None);
        };
        let photos = self
            .photos
            .get_or_try_init(|| async {
                let entries = self.read_entries().await?;
                let photos = entries.into_iter().filter_map(|entry| {
                    let id = self.mapper.object_id(&entry.attributes).ok()?;
                    let photo = entry.attributes.get_bytes(attribute)?.to_vec();
                    Some((id, photo))
                });
                Ok::<_, DirectoryError>(photos.collect())
            })
            .await?;
        Ok(photos.get(user).filter(|p| !p.is_empty()).cloned())
    }
}

impl LdifDirectory {
    /// The groups `extension_groups` selects, members followed through nested groups.
    fn groups(
        &self,
        entries: &[Entry],
        users: &[DirectoryUser],
    ) -> Result<Vec<DirectoryGroup>, DirectoryError> {
        if self.groups == GroupSync::None {
            return Ok(Vec::new());
        }
        let all =
            group_entries(entries, self.flavor, &self.mapper).map_err(DirectoryError::Protocol)?;
        let selected =
            select_groups(&self.groups, all, None).map_err(DirectoryError::NotAvailable)?;
        let graph = MembershipGraph::new(entries);
        let ids = user_ids(users);
        Ok(selected
            .into_iter()
            .map(|group| {
                let members = graph.reach(vec![normalize_dn(&group.dn)]);
                directory_group(group, &members, &ids)
            })
            .collect())
    }
}

#[cfg(test)]
mod organisation_tests;
#[cfg(test)]
mod photo_tests;
#[cfg(test)]
mod tests;
