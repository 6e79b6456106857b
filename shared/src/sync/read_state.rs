//! Change-only reads in a run (issue 17): the head of the read state kept from the last run,
//! the reads it allows (the directory's changes since its cursor, the PBX listing unless its
//! ETag still holds), the kept body fetched only when those reads need it, and the state the
//! run keeps for the next. The decisions are in [`super::incremental`]; this is their I/O.

use chrono::{DateTime, Utc};

use super::apply::Applied;
use super::apply_objects::AppliedObjects;
use super::engine::SyncEngine;
use super::incremental::{full_read_reason, merge_changes, no_changes, unchanged_run, FullRead};
use crate::domain::run::Counts;
use crate::domain::{
    ChangeCursor, DirectoryChanges, DirectoryConfig, DirectoryRead, Extension, KeptReads,
    ListingHead, ObjectMapping, Outcome, PbxEndpoint, PbxRead, Plan, ReadHead, ReadState, RunReads,
    RunRecord, RunSummary, Snapshot, TenantId, Trigger,
};
use crate::error::{DirectoryError, PbxError, StoreError, SyncError};
use crate::ports::{Directory, ExtensionListing, Pbx};
use crate::store::read_state_codec::{encode_parts, StateParts};

/// What a run starts from: the kept head and whether it may read only what changed.
pub(super) struct Kept {
    head: Option<ReadHead>,
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
            head: None,
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

    /// Where the directory's change read starts, when the run may read only changes.
    fn cursor(&self) -> Option<&ChangeCursor> {
        self.head
            .as_ref()
            .filter(|_| self.full.is_none())?
            .change_cursor
            .as_ref()
    }

    /// The ETag of the kept listing of this endpoint.
    fn etag(&self) -> Option<&str> {
        let listing = self.head.as_ref()?.pbx.as_ref()?;
        (listing.base_url == self.base_url).then_some(listing.etag.as_str())
    }

    /// Whether the reads may need the kept body (changes to merge into, a 304's listing):
    /// then a run that will plan anyway fetches it beside them.
    pub(super) fn may_need_body(&self) -> bool {
        self.cursor().is_some() || self.etag().is_some()
    }

    /// Whether the run may end here: nothing changed since a run that left nothing to do,
    /// and no kept account's expiry has come (the head alone says so).
    pub(super) fn unchanged(
        &self,
        config: &DirectoryConfig,
        directory: &DirectoryGot,
        pbx: &PbxGot,
        now: DateTime<Utc>,
    ) -> bool {
        let Some(head) = self.head.as_ref().filter(|_| self.may_skip) else {
            return false;
        };
        let nothing_changed = matches!(directory, DirectoryGot::Changes(c) if no_changes(c))
            && head.next_expiry.is_none_or(|at| at > now);
        unchanged_run(
            head,
            nothing_changed,
            matches!(pbx, PbxGot::NotModified),
            config,
            self.last_run.as_ref(),
        )
    }
}

/// What the directory read gave: a snapshot, or the changes since the kept cursor.
pub(super) enum DirectoryGot {
    Full(Snapshot),
    Changes(DirectoryChanges),
}

/// What the PBX listing gave: the extensions, or 304 (the kept listing stands).
pub(super) enum PbxGot {
    Listed {
        extensions: Vec<Extension>,
        etag: Option<String>,
    },
    NotModified,
}

/// What a run read, and what it keeps for the next run once it is done.
pub(super) struct ReadsDone {
    pub reads: RunReads,
    keep: Keep,
    /// The head kept before the run.
    before: Option<ReadHead>,
    /// The last run's counts, which a run that skips planning repeats.
    last_counts: Option<Counts>,
}

/// What a run keeps (its `settled` decided at the end of the run).
enum Keep {
    /// A preview, or a run that found nothing changed, keeps nothing.
    Nothing,
    /// The kept body stands (nothing in it changed): the head is rewritten if it moved.
    Head(ReadHead),
    /// A new state whole, encoded as the reads came in.
    State(Box<KeptReads>),
}

impl SyncEngine {
    /// The kept head of a sync run (a disconnect reads none). A head the store cannot give
    /// (an error, a newer release's) means a full read, never a failed run.
    pub(super) fn kept_head(
        &self,
        tenant: &TenantId,
        trigger: Trigger,
        head: Result<Option<ReadHead>, StoreError>,
    ) -> Option<ReadHead> {
        if trigger == Trigger::Disconnect {
            return None;
        }
        match head {
            Ok(head) => head,
            Err(error) => {
                tracing::warn!(tenant = %tenant, %error, "kept read state unreadable: reading in full");
                None
            }
        }
    }

    /// What the kept `head` allows this run.
    pub(super) fn kept_reads(
        &self,
        tenant: &TenantId,
        head: Option<ReadHead>,
        config: &DirectoryConfig,
        endpoint: &PbxEndpoint,
        last_run: Option<&RunSummary>,
        approving: bool,
    ) -> Kept {
        let fingerprint = crate::domain::read_state::config_fingerprint(config);
        let full = full_read_reason(
            head.as_ref(),
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
            may_skip: full.is_none() && !approving && head.as_ref().is_some_and(|h| h.settled),
            head,
            full,
            fingerprint,
            base_url: endpoint.base_url.clone(),
            last_run: last_run.cloned(),
            keeps: true,
        }
    }

    /// The kept body of `kept`'s head, when `wanted`. The lease keeps other runs from
    /// writing it; a body that is gone or is another head's (the tenant disconnected
    /// meanwhile) fails the run, and the next one reads in full.
    pub(super) async fn kept_body(
        &self,
        tenant: &TenantId,
        kept: &Kept,
        wanted: bool,
    ) -> Result<Option<ReadState>, SyncError> {
        let Some(head) = kept.head.as_ref().filter(|_| wanted) else {
            return Ok(None);
        };
        match self.store.get_read_state(tenant).await? {
            Some((stored, state))
                if stored.body_sha256 == head.body_sha256
                    && stored.change_cursor == head.change_cursor =>
            {
                Ok(Some(state))
            }
            _ => Err(StoreError::Stale.into()),
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
        if record.summary.outcome == Outcome::Failed {
            return;
        }
        let settled = settled && record.summary.outcome == Outcome::Success;
        let written = match done.keep {
            Keep::Nothing => return,
            Keep::Head(mut head) => {
                head.settled = settled;
                if done.before.as_ref() == Some(&head) {
                    return;
                }
                self.store.put_read_head(tenant, &head).await
            }
            Keep::State(mut state) => {
                state.head.settled = settled;
                self.store.put_read_state(tenant, &state).await
            }
        };
        if let Err(error) = written {
            tracing::warn!(tenant = %tenant, %error, "read state not kept");
        }
    }
}

/// Reads the directory on a task of its own (its decoding may use another core): the
/// changes since `cursor`, or in full without one or when the provider cannot say.
pub(super) async fn read_directory(
    directory: Box<dyn Directory>,
    kept: &Kept,
) -> Result<DirectoryGot, SyncError> {
    let cursor = kept.cursor().cloned();
    let task = tokio::spawn(async move {
        if let Some(cursor) = cursor {
            match directory.read_changes(&cursor).await {
                Ok(changes) => return Ok(DirectoryGot::Changes(changes)),
                Err(DirectoryError::ChangesUnavailable(why)) => {
                    tracing::info!(%why, "changes unavailable: directory read in full");
                }
                Err(other) => return Err(other),
            }
        }
        directory.read_users().await.map(DirectoryGot::Full)
    });
    let got = task.await.map_err(|e| DirectoryError::Incomplete {
        users_read: 0,
        reason: format!("the read stopped: {e}"),
    })??;
    match got {
        DirectoryGot::Full(snapshot) if !snapshot.complete => {
            Err(SyncError::from(DirectoryError::Incomplete {
                users_read: snapshot.users.len(),
                reason: "the provider could not read every page".into(),
            }))
        }
        got => Ok(got),
    }
}

/// Lists the PBX's extensions on a task of its own, with the kept listing's ETag.
pub(super) async fn list_pbx(
    pbx: std::sync::Arc<dyn Pbx>,
    kept: &Kept,
) -> Result<PbxGot, SyncError> {
    let etag = kept.etag().map(str::to_string);
    let task = tokio::spawn(async move { pbx.list_extensions_if_changed(etag.as_deref()).await });
    let listed = task
        .await
        .map_err(|e| PbxError::Protocol(format!("the listing stopped: {e}")))??;
    Ok(match listed {
        ExtensionListing::Listed { extensions, etag } => PbxGot::Listed { extensions, etag },
        ExtensionListing::NotModified if kept.etag().is_some() => PbxGot::NotModified,
        ExtensionListing::NotModified => {
            return Err(PbxError::Protocol(
                "the PBX answered 304 to a listing that sent no ETag".into(),
            )
            .into())
        }
    })
}

/// What the reads come to: the snapshot (changes merged into the kept one), the extensions
/// (the kept listing on 304), how they were read, and what the run will keep.
pub(super) struct Resolved {
    pub snapshot: Snapshot,
    pub extensions: Vec<Extension>,
    pub reads: ReadsDone,
}

/// Resolves the reads with the kept `body` (fetched when [`needs_body`] said so).
pub(super) fn resolve(
    kept: Kept,
    directory: DirectoryGot,
    pbx: PbxGot,
    body: Option<ReadState>,
    now: DateTime<Utc>,
) -> Result<Resolved, SyncError> {
    let (mut kept_snapshot, mut kept_extensions) = match body {
        Some(state) => (Some(state.snapshot), state.pbx.map(|l| l.extensions)),
        None => (None, None),
    };
    let missing = || SyncError::from(StoreError::Stale);
    let (snapshot, read, requests, changes_empty) = match directory {
        DirectoryGot::Full(snapshot) => (snapshot, DirectoryRead::Full, None, false),
        DirectoryGot::Changes(changes) => {
            let kept = kept_snapshot.take().ok_or_else(missing)?;
            let (requests, empty) = (changes.requests, no_changes(&changes));
            let expired_before = kept.expired();
            let merged = merge_changes(kept, changes, now);
            let unchanged = empty && merged.expired() == expired_before;
            (merged, DirectoryRead::Changes, Some(requests), unchanged)
        }
    };
    let (extensions, pbx_read, etag) = match pbx {
        PbxGot::Listed { extensions, etag } => (extensions, PbxRead::Full, etag),
        PbxGot::NotModified => (
            kept_extensions.take().ok_or_else(missing)?,
            PbxRead::NotModified,
            kept.etag().map(str::to_string),
        ),
    };
    let reads = RunReads {
        directory: read,
        pbx: pbx_read,
        planned: true,
        directory_requests: requests,
    };
    let body_stands = changes_empty && pbx_read == PbxRead::NotModified;
    let keep = match (&kept.head, kept.keeps) {
        (_, false) => Keep::Nothing,
        (Some(head), true) if body_stands => Keep::Head(ReadHead {
            change_cursor: snapshot.change_cursor.clone(),
            next_expiry: snapshot.next_expiry(),
            ..head.clone()
        }),
        // Not kept, as a failed write would not be: the next run reads from the old state.
        _ => match state_to_keep(&kept, &snapshot, read, &extensions, etag, now) {
            Ok(state) => Keep::State(Box::new(state)),
            Err(error) => {
                tracing::warn!(%error, "read state not kept");
                Keep::Nothing
            }
        },
    };
    Ok(Resolved {
        snapshot,
        extensions,
        reads: ReadsDone {
            reads,
            keep,
            before: kept.head,
            last_counts: kept.last_run.map(|r| r.counts),
        },
    })
}

/// Whether [`resolve`] needs the kept body for these reads.
pub(super) fn needs_body(directory: &DirectoryGot, pbx: &PbxGot) -> bool {
    matches!(directory, DirectoryGot::Changes(_)) || matches!(pbx, PbxGot::NotModified)
}

/// The reads of a run that found nothing changed. It keeps nothing: the kept head stays,
/// and the next run reads the changes since its cursor, which are these (none) and any
/// after. Every cursor stays valid until the next full read renews it (`FullRead::Due`); a
/// provider that has forgotten one says `ChangesUnavailable`.
pub(super) fn unchanged_reads(kept: Kept, directory: &DirectoryGot) -> ReadsDone {
    let requests = match directory {
        DirectoryGot::Changes(changes) => Some(changes.requests),
        DirectoryGot::Full(_) => None,
    };
    ReadsDone {
        reads: RunReads {
            directory: DirectoryRead::Changes,
            pbx: PbxRead::NotModified,
            planned: false,
            directory_requests: requests,
        },
        keep: Keep::Nothing,
        before: kept.head,
        last_counts: kept.last_run.map(|r| r.counts),
    }
}

/// The state a run keeps, encoded from its reads where they lie: the snapshot as read or
/// merged (before photos are resolved; SIP passwords are never serialized), and the listing
/// when the PBX gave an ETag. Encoding now, not at the end, means no copy of them is held
/// while the run applies.
fn state_to_keep(
    kept: &Kept,
    snapshot: &Snapshot,
    read: DirectoryRead,
    extensions: &[Extension],
    etag: Option<String>,
    now: DateTime<Utc>,
) -> Result<KeptReads, StoreError> {
    let full_read_at = match (read, &kept.head) {
        (DirectoryRead::Changes, Some(head)) => head.full_read_at,
        _ => now,
    };
    encode_parts(StateParts {
        snapshot,
        config_fingerprint: &kept.fingerprint,
        full_read_at,
        listing: etag.map(|etag| {
            let head = ListingHead {
                base_url: kept.base_url.clone(),
                etag,
            };
            (head, extensions)
        }),
        settled: false,
    })
}

/// The record of a run that found nothing changed: the counts of the last run, nothing done.
pub(super) fn record_unchanged(record: &mut RunRecord, done: &ReadsDone) {
    let s = &mut record.summary;
    s.counts = done.last_counts.unwrap_or_default();
    s.summary = crate::domain::plan::summary_line(0, 0, 0);
    s.outcome = Outcome::Success;
    s.reads = Some(done.reads);
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
