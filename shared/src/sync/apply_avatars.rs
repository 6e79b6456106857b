//! Photos, after the extensions they belong to exist: each planned upload reads one user's
//! photo from the directory, checks it as the PBX will (size, JPEG/PNG by magic bytes),
//! `PUT`s it and records its SHA-256 in the mapping; each planned removal `DELETE`s it. At
//! most `concurrency` photos are in memory at once, each dropped once sent.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

use futures::stream::{FuturesUnordered, StreamExt};

use crate::domain::avatar::{checked_upload, PhotoRef, SeenPhoto};
use crate::domain::plan::Plan;
use crate::domain::run::{ActionError, ActionKind};
use crate::domain::{DirectoryUser, ExtensionId, ObjectId, TenantId};
use crate::error::PbxError;
use crate::ports::{Directory, Pbx, Store};

/// One photo to put on (`upload`) or take off an extension.
struct PhotoJob<'p> {
    object_id: &'p ObjectId,
    name: &'p str,
    extension_id: ExtensionId,
    dn: Option<&'p str>,
    upload: bool,
}

/// What a photo job did: the SHA-256 the extension now has from sync (`None`: none), or
/// nothing to record (the photo changed into one the PBX would refuse, or vanished).
type JobOutcome = Result<Option<Option<String>>, PbxOrDirectory>;

enum PbxOrDirectory {
    Pbx(PbxError),
    Directory(String),
}

pub(super) struct AvatarApplier<'a> {
    pub tenant: &'a TenantId,
    pub store: &'a dyn Store,
    pub pbx: &'a dyn Pbx,
    pub directory: &'a dyn Directory,
    pub concurrency: usize,
    pub stop: &'a AtomicBool,
}

impl AvatarApplier<'_> {
    /// The photo steps of `plan`: its updates' `avatar` changes and its creates' photos (for
    /// the extensions `created` made). Failures are the returned action errors; a mapping
    /// that cannot be written is one too (the next run compares again and re-uploads).
    pub async fn apply(
        &self,
        plan: &Plan,
        created: &HashMap<ObjectId, ExtensionId>,
        users: &[DirectoryUser],
    ) -> Vec<ActionError> {
        let dn_of: HashMap<&ObjectId, &str> = users
            .iter()
            .filter_map(|u| Some((&u.object_id, u.dn.as_deref()?)))
            .collect();
        let updates = plan.updates.iter().filter_map(|u| {
            let change = u.changes.avatar.as_ref()?;
            Some(PhotoJob {
                object_id: &u.object_id,
                name: &u.name,
                extension_id: u.extension_id.clone(),
                dn: dn_of.get(&u.object_id).copied(),
                upload: change.new.is_some(),
            })
        });
        let creates = plan.creates.iter().filter_map(|c| {
            c.avatar.as_ref()?;
            Some(PhotoJob {
                object_id: &c.object_id,
                name: &c.name,
                extension_id: created.get(&c.object_id)?.clone(),
                dn: dn_of.get(&c.object_id).copied(),
                upload: true,
            })
        });
        let jobs: Vec<PhotoJob<'_>> = updates.chain(creates).collect();
        let seen = new_mappings_seen(plan, created, users);
        if jobs.is_empty() && seen.is_empty() {
            return Vec::new();
        }
        // At most `concurrency` photos in flight (and in memory); a new one starts as each ends.
        let mut waiting = jobs.into_iter();
        let mut in_flight = FuturesUnordered::new();
        let mut outcomes = Vec::new();
        loop {
            while in_flight.len() < self.concurrency.max(1) {
                match waiting.next() {
                    Some(job) => in_flight.push(self.job(job)),
                    None => break,
                }
            }
            match in_flight.next().await {
                Some(done) => outcomes.push(done),
                None => break,
            }
        }
        let mut errors = Vec::new();
        let mut recorded: HashMap<&ObjectId, Option<String>> = HashMap::new();
        for (job, outcome) in outcomes {
            match outcome {
                None | Some(Ok(None)) => {}
                Some(Ok(Some(sha))) => {
                    recorded.insert(job.object_id, sha);
                }
                Some(Err(error)) => errors.push(ActionError {
                    kind: ActionKind::Update,
                    object_id: job.object_id.clone(),
                    extension_id: Some(job.extension_id.clone()),
                    name: job.name.to_string(),
                    message: match error {
                        PbxOrDirectory::Pbx(e) => format!("photo: {e}"),
                        PbxOrDirectory::Directory(e) => format!("photo not read: {e}"),
                    },
                }),
            }
        }
        if let Err(message) = self.record(&recorded, &seen).await {
            errors.extend(recorded.keys().map(|object_id| ActionError {
                kind: ActionKind::Update,
                object_id: (*object_id).clone(),
                extension_id: None,
                name: object_id.to_string(),
                message: format!("photo sent, mapping not written: {message}"),
            }));
        }
        errors
    }

    /// One job, unless the run was stopped (lost lease, refused token).
    async fn job<'p>(&self, job: PhotoJob<'p>) -> (PhotoJob<'p>, Option<JobOutcome>) {
        if self.stop.load(Ordering::SeqCst) {
            return (job, None);
        }
        let outcome = self.run(&job).await;
        if matches!(outcome, Err(PbxOrDirectory::Pbx(PbxError::Unauthorized))) {
            self.stop.store(true, Ordering::SeqCst);
        }
        (job, Some(outcome))
    }

    async fn run(&self, job: &PhotoJob<'_>) -> JobOutcome {
        if !job.upload {
            return match self.pbx.delete_avatar(&job.extension_id).await {
                Ok(()) => Ok(Some(None)),
                Err(e) => Err(PbxOrDirectory::Pbx(e)),
            };
        }
        let bytes = self
            .directory
            .read_photo(job.object_id, job.dn)
            .await
            .map_err(|e| PbxOrDirectory::Directory(e.to_string()))?;
        // Changed since the read into none, or into one the PBX would refuse: the next run's
        // read sees it and plans (or skips) it.
        let Some(bytes) = bytes else { return Ok(None) };
        let Ok((kind, sha256)) = checked_upload(&bytes) else {
            return Ok(None);
        };
        self.pbx
            .put_avatar(&job.extension_id, kind.content_type(), bytes)
            .await
            .map_err(PbxOrDirectory::Pbx)?;
        Ok(Some(Some(sha256)))
    }

    /// The mappings' `avatar_sha256`, and the `avatar_seen` of mappings this run made, written
    /// in one batch after the run's other mapping writes (read again, so that nothing those
    /// wrote is lost).
    async fn record(
        &self,
        recorded: &HashMap<&ObjectId, Option<String>>,
        seen: &HashMap<&ObjectId, SeenPhoto>,
    ) -> Result<(), String> {
        if recorded.is_empty() && seen.is_empty() {
            return Ok(());
        }
        let mut mappings = self
            .store
            .all_mappings(self.tenant)
            .await
            .map_err(|e| e.to_string())?;
        mappings.retain_mut(|m| {
            let sha = recorded.get(&m.object_id);
            if let Some(sha) = sha {
                m.avatar_sha256 = sha.clone();
            }
            let photo = seen.get(&m.object_id);
            if let Some(photo) = photo {
                m.avatar_seen = Some(photo.clone());
            }
            sha.is_some() || photo.is_some()
        });
        self.store
            .put_mappings(self.tenant, &mappings)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Graph: the photo behind each ETag of the users whose mapping this run made (created or
/// adopted), which had no mapping to keep it in when the references were resolved. Without
/// it their next run would download the photo again.
fn new_mappings_seen<'u>(
    plan: &Plan,
    created: &HashMap<ObjectId, ExtensionId>,
    users: &'u [DirectoryUser],
) -> HashMap<&'u ObjectId, SeenPhoto> {
    let adopted: HashSet<&ObjectId> = plan
        .updates
        .iter()
        .filter(|u| u.adopt)
        .map(|u| &u.object_id)
        .collect();
    users
        .iter()
        .filter(|u| created.contains_key(&u.object_id) || adopted.contains(&u.object_id))
        .filter_map(|u| match (&u.avatar_ref, &u.avatar) {
            (Some(PhotoRef::Etag(etag)), Some(photo)) => {
                Some((&u.object_id, SeenPhoto::new(etag, photo)))
            }
            _ => None,
        })
        .collect()
}

impl super::engine::SyncEngine {
    /// The photo steps of `plan`, once its extensions are created and updated; their
    /// failures join the run's action errors. Nothing to do unless `fields.avatar` is on.
    pub(super) async fn apply_avatars(
        &self,
        context: AvatarContext<'_>,
        applied: &mut super::apply::Applied,
    ) {
        if context.config.avatar_source().is_none() || applied.fatal.is_some() {
            return;
        }
        let directory = match self.connector.directory(context.config, context.secrets) {
            Ok(directory) => directory,
            Err(error) => {
                tracing::warn!(tenant = %context.tenant, %error, "photos not synced");
                return;
            }
        };
        let applier = AvatarApplier {
            tenant: context.tenant,
            store: self.store.as_ref(),
            pbx: context.pbx,
            directory: directory.as_ref(),
            concurrency: self.options.concurrency,
            stop: context.stop,
        };
        let errors = applier
            .apply(context.plan, &applied.created_ids, context.users)
            .await;
        applied.errors.extend(errors);
    }
}

/// What the photo steps of a run work from.
pub(super) struct AvatarContext<'a> {
    pub tenant: &'a TenantId,
    pub config: &'a crate::domain::DirectoryConfig,
    pub secrets: &'a crate::ports::TenantSecrets,
    pub pbx: &'a dyn Pbx,
    pub plan: &'a Plan,
    pub users: &'a [DirectoryUser],
    pub stop: &'a AtomicBool,
}
