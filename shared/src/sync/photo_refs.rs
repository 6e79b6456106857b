//! Photos a directory names by version (Graph's ETag) are resolved into hashed photos before
//! planning: an ETag equal to the one the user's mapping last saw takes the photo hashed then
//! (no download); any other is downloaded, hashed and classified, a few at a time, each one's
//! bytes dropped as soon as it is hashed. A download that fails leaves the photo unknown, and
//! the planner leaves it as it is.

use std::collections::HashMap;

use futures::stream::{self, StreamExt};

use super::engine::SyncEngine;
use super::gather::Gathered;
use crate::domain::avatar::{Photo, PhotoRef, SeenPhoto};
use crate::domain::{DirectoryConfig, DirectoryUser, Mapping, ObjectId, TenantId};
use crate::ports::{Directory, TenantSecrets};

/// The photo the mapping holds for this ETag, if it saw the same one.
pub(super) fn seen_photo(etag: &str, mapping: Option<&Mapping>) -> Option<Photo> {
    mapping?
        .avatar_seen
        .as_ref()
        .filter(|seen| seen.etag == etag)
        .map(SeenPhoto::photo)
}

/// Resolves the references of `users` in place; returns the mappings whose `avatar_seen`
/// changed (for the caller to write, or not in a preview).
pub(super) async fn resolve_photo_refs(
    users: &mut [DirectoryUser],
    mappings: &mut [Mapping],
    directory: &dyn Directory,
    concurrency: usize,
) -> Vec<Mapping> {
    let at: HashMap<ObjectId, usize> = mappings
        .iter()
        .enumerate()
        .map(|(i, m)| (m.object_id.clone(), i))
        .collect();
    let mut downloads = Vec::new();
    for (i, user) in users.iter_mut().enumerate() {
        let Some(PhotoRef::Etag(etag)) = &user.avatar_ref else {
            continue;
        };
        let mapping = at.get(&user.object_id).map(|&m| &mappings[m]);
        match seen_photo(etag, mapping) {
            Some(photo) => user.avatar = Some(photo),
            None => downloads.push((i, user.object_id.clone(), user.dn.clone())),
        }
    }
    // At most `concurrency` photos in memory at once: each is hashed inside its own future.
    let hashed: Vec<(usize, Option<Photo>)> = stream::iter(downloads)
        .map(|(i, id, dn)| async move {
            match directory.read_photo(&id, dn.as_deref()).await {
                Ok(Some(bytes)) => (i, Some(Photo::of(&bytes))),
                // Gone since the metadata was read: the next read sees it.
                Ok(None) => (i, None),
                Err(error) => {
                    tracing::warn!(user = %id, %error, "photo not read, left as it is");
                    (i, None)
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut changed = Vec::new();
    for (i, photo) in hashed {
        let user = &mut users[i];
        let Some(photo) = photo else {
            user.avatar_ref = Some(PhotoRef::Unknown);
            continue;
        };
        if let (Some(PhotoRef::Etag(etag)), Some(&m)) = (&user.avatar_ref, at.get(&user.object_id))
        {
            mappings[m].avatar_seen = Some(SeenPhoto::new(etag, &photo));
            changed.push(mappings[m].clone());
        }
        user.avatar = Some(photo);
    }
    changed
}

impl SyncEngine {
    /// Resolves the photo references of a gathered run; `record` writes what was learnt to
    /// the mappings (a sync), or not (a preview). A mapping not written costs a download
    /// next run, nothing else.
    pub(super) async fn resolve_photos(
        &self,
        tenant: &TenantId,
        config: &DirectoryConfig,
        secrets: &TenantSecrets,
        gathered: &mut Gathered,
        record: bool,
    ) {
        let users = &mut gathered.snapshot.users;
        if config.avatar_source().is_none() || users.iter().all(|u| u.avatar_ref.is_none()) {
            return;
        }
        let directory = match self.connector.directory(config, secrets) {
            Ok(directory) => directory,
            Err(error) => {
                tracing::warn!(tenant = %tenant, %error, "photos not resolved, left as they are");
                return;
            }
        };
        let changed = resolve_photo_refs(
            users,
            &mut gathered.mappings,
            directory.as_ref(),
            self.options.concurrency,
        )
        .await;
        if record && !changed.is_empty() {
            if let Err(error) = self.store.put_mappings(tenant, &changed).await {
                tracing::warn!(tenant = %tenant, %error, "photo ETags not recorded");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::domain::avatar::{sha256_hex, ImageType};
    use crate::domain::Snapshot;
    use crate::error::DirectoryError;
    use crate::planner::model::{linked, user};

    /// A directory whose photos are fixed bytes, counting its downloads.
    struct Photos {
        bytes: HashMap<String, Vec<u8>>,
        fail: Option<String>,
        reads: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Directory for Photos {
        async fn read_users(&self) -> Result<Snapshot, DirectoryError> {
            Err(DirectoryError::NotAvailable("not in this test".into()))
        }

        async fn read_photo(
            &self,
            user: &ObjectId,
            _: Option<&str>,
        ) -> Result<Option<Vec<u8>>, DirectoryError> {
            self.reads
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(user.to_string());
            if self.fail.as_deref() == Some(user.as_str()) {
                return Err(DirectoryError::Unreachable("down".into()));
            }
            Ok(self.bytes.get(user.as_str()).cloned())
        }
    }

    fn with_ref(id: &str, etag: &str) -> DirectoryUser {
        let mut u = user(id, "A", &format!("{id}@x.com"), "");
        u.avatar_ref = Some(PhotoRef::Etag(etag.into()));
        u
    }

    #[tokio::test]
    async fn same_etag_takes_the_mapping_other_etags_download_failures_are_unknown() {
        let jpeg = vec![0xff, 0xd8, 0xff, 1];
        let gif = b"GIF89a".to_vec();
        let seen = Photo::of(&jpeg);
        let mut kept = linked("a", "e1", "100");
        kept.avatar_seen = Some(SeenPhoto::new("\"1\"", &seen));
        let mut stale = linked("b", "e2", "101");
        stale.avatar_seen = Some(SeenPhoto::new("\"old\"", &seen));
        let mut mappings = vec![kept.clone(), stale, linked("c", "e3", "102")];
        let mut users = vec![
            with_ref("a", "\"1\""),
            with_ref("b", "\"2\""),
            with_ref("c", "\"3\""),
            with_ref("d", "\"4\""),
            user("e", "E", "e@x.com", ""),
        ];
        let directory = Photos {
            bytes: HashMap::from([("b".to_string(), gif.clone()), ("d".to_string(), jpeg)]),
            fail: Some("c".into()),
            reads: Mutex::new(Vec::new()),
        };
        let changed = resolve_photo_refs(&mut users, &mut mappings, &directory, 2).await;
        let mut reads = directory.reads.into_inner().unwrap();
        reads.sort();
        // "a" kept its ETag: no download; "e" has no photo at all.
        assert_eq!(reads, ["b", "c", "d"]);
        assert_eq!(users[0].avatar.as_ref(), Some(&seen));
        assert_eq!(users[1].avatar.as_ref().map(|p| p.image_type), Some(None));
        assert_eq!(users[1].avatar.as_ref().unwrap().sha256, sha256_hex(&gif));
        assert_eq!(
            (&users[2].avatar, &users[2].avatar_ref),
            (&None, &Some(PhotoRef::Unknown))
        );
        assert_eq!(
            users[3].avatar.as_ref().and_then(|p| p.image_type),
            Some(ImageType::Jpeg)
        );
        assert_eq!(users[4].avatar, None);
        // Only "b" has a mapping whose ETag changed; "d" is not mapped yet.
        assert_eq!(changed.len(), 1);
        assert_eq!(
            changed[0].avatar_seen.as_ref().map(|s| s.etag.as_str()),
            Some("\"2\"")
        );
        assert_eq!(mappings[0], kept);
        assert_eq!(mappings[1], changed[0]);
    }
}
