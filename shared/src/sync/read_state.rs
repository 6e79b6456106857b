//! Change-only reads in a run (issue 17): the read state kept from the last run, the reads it
//! allows (the directory's changes since its cursor, the PBX listing unless its ETag still
//! holds), and the state the run keeps for the next. The decisions are in
//! [`super::incremental`]; this is their I/O.

use chrono::{DateTime, Utc};

use super::apply::Applied;
use super::apply_objects::AppliedObjects;
use super::engine::SyncEngine;
use super::incremental::{full_read_reason, merge_changes, no_changes, unchanged_run, FullRead};
use crate::domain::run::Counts;
use crate::domain::{
    DirectoryConfig, DirectoryRead, DirectoryUser, Extension, KeptListing, ObjectMapping, Outcome,
    PbxEndpoint, PbxRead, Plan, ReadState, RunReads, RunRecord, RunSummary, Snapshot, TenantId,
    UserState,
};
use crate::error::{DirectoryError, PbxError, SyncError};
use crate::ports::{Directory, ExtensionListing, Pbx};

/// What a run starts from: the kept state and whether it may read only what changed.
pub(super) struct Kept {
    state: Option<ReadState>,
    /// Why the directory is read in full (`None`: its changes are read).
    full: Option<FullRead>,
    fingerprint: String,
    base_url: String,
    last_run: Option<RunSummary>,
    /// Whether the run may end without planning if nothing changed (see [`unchanged_run`]).
    may_skip: bool,
    /// Whether the run keeps what it read for the next (previews keep nothing).
    keeps: bool,
}

impl Kept {
    /// Full reads that keep nothing: a preview's.
    pub(super) fn nothing() -> Self {
        Self {
            state: None,
            full: Some(FullRead::NothingKept),
            fingerprint: String::new(),
            base_url: String::new(),
            last_run: None,
            may_skip: false,
            keeps: false,
        }
    }

    pub(super) fn may_skip(&self) -> bool {
        self.may_skip
    }

    /// Whether the run may end here: nothing changed since a run that left nothing to do.
    pub(super) fn unchanged(
        &self,
        config: &DirectoryConfig,
        directory: &DirectoryDone,
        pbx: &PbxDone,
    ) -> bool {
        let Some(state) = self.state.as_ref().filter(|_| self.may_skip) else {
            return false;
        };
        let expired = |users: &[DirectoryUser]| {
            users
                .iter()
                .filter(|u| u.state == UserState::Expired)
                .count()
        };
        let nothing_changed = directory.changes_empty
            && expired(&directory.snapshot.users) == expired(&state.snapshot.users);
        unchanged_run(
            state,
            nothing_changed,
            pbx.read == PbxRead::NotModified,
            config,
            self.last_run.as_ref(),
        )
    }

    /// The etag of the kept listing of this endpoint.
    fn etag(&self) -> Option<&str> {
        self.listing().map(|l| l.etag.as_str())
    }

    fn listing(&self) -> Option<&KeptListing> {
        let listing = self.state.as_ref()?.pbx.as_ref()?;
        (listing.base_url == self.base_url).then_some(listing)
    }
}

/// What the directory read gave.
pub(super) struct DirectoryDone {
    pub snapshot: Snapshot,
    pub read: DirectoryRead,
    /// The changes named nothing (always false after a full read).
    pub changes_empty: bool,
    /// The requests a change-only read made.
    pub requests: Option<usize>,
}

/// What the PBX listing gave.
pub(super) struct PbxDone {
    pub extensions: Vec<Extension>,
    pub read: PbxRead,
    pub etag: Option<String>,
}

/// What a run read, and what it keeps for the next run once it is done.
pub(super) struct ReadsDone {
    pub reads: RunReads,
    /// The state to keep (its `settled` decided at the end of the run); `None` for previews.
    keep: Option<ReadState>,
    before: Option<ReadState>,
    /// The last run's counts, which a run that skips planning repeats.
    last_counts: Option<Counts>,
}

impl SyncEngine {
    /// The kept state and what it allows this run. A state the store cannot give (an error,
    /// a newer release's) means a full read, never a failed run.
    pub(super) async fn kept_reads(
        &self,
        tenant: &TenantId,
        config: &DirectoryConfig,
        endpoint: &PbxEndpoint,
        last_run: Option<&RunSummary>,
        approving: bool,
    ) -> Kept {
        let state = match self.store.get_read_state(tenant).await {
            Ok(state) => state,
            Err(error) => {
                tracing::warn!(tenant = %tenant, %error, "kept read state unreadable: reading in full");
                None
            }
        };
        let fingerprint = crate::domain::read_state::config_fingerprint(config);
        let full = full_read_reason(
            state.as_ref(),
            &fingerprint,
            &endpoint.base_url,
            last_run,
            Utc::now(),
            self.options.full_read_every,
        );
        if let Some(reason) = full {
            tracing::info!(tenant = %tenant, ?reason, "directory read in full");
        }
        Kept {
            may_skip: full.is_none() && !approving && state.as_ref().is_some_and(|s| s.settled),
            state,
            full,
            fingerprint,
            base_url: endpoint.base_url.clone(),
            last_run: last_run.cloned(),
            keeps: true,
        }
    }

    /// Keeps what the run read for the next one, when it differs from what was kept. A run
    /// that failed keeps nothing new (the next one reads in full anyway). A failed write is
    /// logged: the state kept before still pairs its snapshot with its own cursor, so the
    /// next run is as correct, only perhaps less quick.
    pub(super) async fn keep_reads(
        &self,
        tenant: &TenantId,
        done: ReadsDone,
        settled: bool,
        record: &RunRecord,
    ) {
        let Some(mut keep) = done.keep else {
            return;
        };
        if record.summary.outcome == Outcome::Failed {
            return;
        }
        keep.settled = settled && record.summary.outcome == Outcome::Success;
        if done.before.as_ref() == Some(&keep) {
            return;
        }
        if let Err(error) = self.store.put_read_state(tenant, &keep).await {
            tracing::warn!(tenant = %tenant, %error, "read state not kept");
        }
    }
}

/// Reads the directory on a task of its own (its decoding may use another core): the
/// changes since the kept cursor merged into the kept snapshot, or in full when that is not
/// allowed or the provider cannot say. A read that is not complete is an error.
pub(super) async fn read_directory(
    directory: Box<dyn Directory>,
    kept: &Kept,
) -> Result<DirectoryDone, SyncError> {
    let start = match (&kept.full, &kept.state) {
        (None, Some(state)) => state
            .snapshot
            .change_cursor
            .clone()
            .map(|cursor| (cursor, state.snapshot.clone())),
        _ => None,
    };
    let task = tokio::spawn(async move {
        if let Some((cursor, snapshot)) = start {
            match directory.read_changes(&cursor).await {
                Ok(changes) => {
                    let changes_empty = no_changes(&changes);
                    let requests = Some(changes.requests);
                    return Ok(DirectoryDone {
                        requests,
                        snapshot: merge_changes(snapshot, changes, Utc::now()),
                        read: DirectoryRead::Changes,
                        changes_empty,
                    });
                }
                Err(DirectoryError::ChangesUnavailable(why)) => {
                    tracing::info!(%why, "changes unavailable: directory read in full");
                }
                Err(other) => return Err(other),
            }
        }
        Ok(DirectoryDone {
            snapshot: directory.read_users().await?,
            read: DirectoryRead::Full,
            changes_empty: false,
            requests: None,
        })
    });
    let done = task.await.map_err(|e| DirectoryError::Incomplete {
        users_read: 0,
        reason: format!("the read stopped: {e}"),
    })??;
    if !done.snapshot.complete {
        return Err(SyncError::from(DirectoryError::Incomplete {
            users_read: done.snapshot.users.len(),
            reason: "the provider could not read every page".into(),
        }));
    }
    Ok(done)
}

/// Lists the PBX's extensions on a task of its own, with the kept listing's ETag: on 304 the
/// kept listing stands.
pub(super) async fn list_pbx(
    pbx: std::sync::Arc<dyn Pbx>,
    kept: &Kept,
) -> Result<PbxDone, SyncError> {
    let etag = kept.etag().map(str::to_string);
    let sent = etag.clone();
    let task = tokio::spawn(async move { pbx.list_extensions_if_changed(sent.as_deref()).await });
    let listed = task
        .await
        .map_err(|e| PbxError::Protocol(format!("the listing stopped: {e}")))??;
    Ok(match (listed, kept.listing()) {
        (ExtensionListing::Listed { extensions, etag }, _) => PbxDone {
            extensions,
            read: PbxRead::Full,
            etag,
        },
        (ExtensionListing::NotModified, Some(listing)) => PbxDone {
            extensions: listing.extensions.clone(),
            read: PbxRead::NotModified,
            etag,
        },
        (ExtensionListing::NotModified, None) => {
            return Err(PbxError::Protocol(
                "the PBX answered 304 to a listing that sent no ETag".into(),
            )
            .into())
        }
    })
}

/// What the run read and what it will keep: the snapshot as read or merged (before photos
/// are resolved, without SIP passwords, users in object id order), and the listing when the
/// PBX gave an ETag.
pub(super) fn reads_done(
    kept: Kept,
    directory: &DirectoryDone,
    pbx: &PbxDone,
    now: DateTime<Utc>,
) -> ReadsDone {
    let reads = RunReads {
        directory: directory.read,
        pbx: pbx.read,
        planned: true,
        directory_requests: directory.requests,
    };
    let keep = kept.keeps.then(|| {
        let mut snapshot = directory.snapshot.clone();
        for user in &mut snapshot.users {
            user.sip_password = None;
        }
        snapshot.users.sort_by(|a, b| a.object_id.cmp(&b.object_id));
        snapshot
            .organizations
            .sort_by(|a, b| a.object_id.cmp(&b.object_id));
        snapshot
            .groups
            .sort_by(|a, b| a.object_id.cmp(&b.object_id));
        let full_read_at = match (directory.read, &kept.state) {
            (DirectoryRead::Changes, Some(state)) => state.full_read_at,
            _ => now,
        };
        ReadState {
            snapshot,
            config_fingerprint: kept.fingerprint.clone(),
            full_read_at,
            pbx: pbx.etag.clone().map(|etag| KeptListing {
                base_url: kept.base_url.clone(),
                etag,
                extensions: pbx.extensions.clone(),
            }),
            settled: false,
        }
    });
    ReadsDone {
        reads,
        keep,
        before: kept.state,
        last_counts: kept.last_run.map(|r| r.counts),
    }
}

/// The record of a run that found nothing changed: the counts of the last run, nothing done.
pub(super) fn record_unchanged(record: &mut RunRecord, done: &ReadsDone) {
    let s = &mut record.summary;
    s.counts = done.last_counts.unwrap_or_default();
    s.summary = crate::domain::plan::summary_line(0, 0, 0);
    s.outcome = Outcome::Success;
    s.reads = Some(RunReads {
        planned: false,
        ..done.reads
    });
}

/// Whether a run left nothing to do: its plan was empty (no create, update, removal,
/// conflict, held removal, organization, group, phonebook entry or write-back), every change
/// it made succeeded, no photo is unknown (to be tried again) and no organization, group or
/// phonebook mapping exists (their PBX listings have no ETag to say they are unchanged).
pub(super) fn settled(
    plan: &Plan,
    applied: &Applied,
    objects: &AppliedObjects,
    object_mappings: &[ObjectMapping],
    snapshot: &Snapshot,
) -> bool {
    plan.is_noop()
        && plan.conflicts.is_empty()
        && !plan.removals_held
        && applied.errors.is_empty()
        && applied.conflicts.is_empty()
        && applied.fatal.is_none()
        && objects.errors.is_empty()
        && objects.conflicts.is_empty()
        && objects.fatal.is_none()
        && object_mappings.is_empty()
        && snapshot
            .users
            .iter()
            .all(|u| u.avatar_ref.is_none() || u.avatar.is_some())
}
