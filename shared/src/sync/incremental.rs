//! Change-only reads, the pure part: whether a run may read only what changed, the merge of
//! those changes into the kept snapshot, and when an unchanged run may skip planning.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::config::{GroupSync, OrganizationSync};
use crate::domain::{
    DirectoryChanges, DirectoryConfig, DirectoryGroup, DirectoryOrganization, DirectoryUser,
    ObjectId, Outcome, ReadHead, RunSummary, Snapshot, UserState,
};

/// Why a run reads the directory in full instead of only what changed (for the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FullRead {
    /// No read state is kept (first run, or it was not readable).
    NothingKept,
    /// The last read left no cursor: its provider reads only in full.
    NoCursor,
    /// The config changed since the kept read (scope, fields, provider, record limit, ...).
    ConfigChanged,
    /// The PBX endpoint changed since the kept read.
    EndpointChanged,
    /// The last full read is older than the operator's `DIRSYNC_FULL_READ_HOURS`.
    Due,
    /// The last run did not end `success` or `held`: something is in doubt.
    LastRunUnsettled,
}

/// The kept state a change-only read may start from, or why it may not.
pub(crate) fn full_read_reason(
    kept: Option<&ReadHead>,
    fingerprint: &str,
    base_url: &str,
    last_run: Option<&RunSummary>,
    now: DateTime<Utc>,
    full_read_every: Duration,
) -> Option<FullRead> {
    let Some(kept) = kept else {
        return Some(FullRead::NothingKept);
    };
    let every = chrono::TimeDelta::from_std(full_read_every).unwrap_or(chrono::TimeDelta::MAX);
    if kept.change_cursor.is_none() {
        Some(FullRead::NoCursor)
    } else if kept.config_fingerprint != fingerprint {
        Some(FullRead::ConfigChanged)
    } else if kept.pbx.as_ref().is_some_and(|l| l.base_url != base_url) {
        Some(FullRead::EndpointChanged)
    } else if kept.full_read_at > now || now - kept.full_read_at >= every {
        Some(FullRead::Due)
    } else if !last_run.is_some_and(|r| matches!(r.outcome, Outcome::Success | Outcome::Held)) {
        Some(FullRead::LastRunUnsettled)
    } else {
        None
    }
}

/// The kept snapshot with `changes` applied, as a full read now would show it: each changed
/// user, organization and group replaces the kept one of its object id (or joins), and only
/// those the directory's own deletion record names leave. Nothing the changes do not name
/// is dropped. Accounts whose expiry has passed by `now` are expired, as a full read does.
pub fn merge_changes(kept: Snapshot, changes: DirectoryChanges, now: DateTime<Utc>) -> Snapshot {
    let DirectoryChanges {
        changed,
        deleted,
        changed_organizations,
        deleted_organizations,
        changed_groups,
        deleted_groups,
        cursor,
        requests: _,
    } = changes;
    let mut snapshot = Snapshot {
        users: merged(kept.users, changed, &deleted),
        organizations: merged(
            kept.organizations,
            changed_organizations,
            &deleted_organizations,
        ),
        groups: merged(kept.groups, changed_groups, &deleted_groups),
        coverage: kept.coverage,
        complete: true,
        change_cursor: cursor.or(kept.change_cursor),
    };
    expire_passed(&mut snapshot, now);
    snapshot
}

/// `kept` with `changed` put in by object id (the last change of an id wins) and `deleted`
/// taken out, in id order (the planner sorts by object id anyway; a fixed order keeps the
/// stored state stable). In place: a change read merges into 10,000 kept users without a
/// second copy of them.
fn merged<T: Keyed>(mut kept: Vec<T>, changed: Vec<T>, deleted: &[ObjectId]) -> Vec<T> {
    let deleted: HashSet<&ObjectId> = deleted.iter().collect();
    let mut latest: HashMap<ObjectId, T> = HashMap::with_capacity(changed.len());
    for item in changed {
        latest.insert(item.key().clone(), item);
    }
    kept.retain(|t| !deleted.contains(t.key()) && !latest.contains_key(t.key()));
    kept.extend(latest.into_values().filter(|t| !deleted.contains(t.key())));
    kept.sort_unstable_by(|a, b| a.key().cmp(b.key()));
    // A kept body has each id once; should one hold an id twice, it is kept once.
    kept.dedup_by(|a, b| a.key() == b.key());
    kept
}

/// What a snapshot's entries are merged by.
trait Keyed {
    fn key(&self) -> &ObjectId;
}

impl Keyed for DirectoryUser {
    fn key(&self) -> &ObjectId {
        &self.object_id
    }
}

impl Keyed for DirectoryOrganization {
    fn key(&self) -> &ObjectId {
        &self.object_id
    }
}

impl Keyed for DirectoryGroup {
    fn key(&self) -> &ObjectId {
        &self.object_id
    }
}

/// An active account whose expiry time has passed is expired: the directory records no
/// change when that moment comes, so a change-only read would never say so.
pub(crate) fn expire_passed(snapshot: &mut Snapshot, now: DateTime<Utc>) {
    for user in &mut snapshot.users {
        if user.state == UserState::Active && user.expires_at.is_some_and(|at| at <= now) {
            user.state = UserState::Expired;
        }
    }
}

/// Whether the changes name nothing at all.
pub(crate) fn no_changes(changes: &DirectoryChanges) -> bool {
    changes.changed.is_empty()
        && changes.deleted.is_empty()
        && changes.changed_organizations.is_empty()
        && changes.deleted_organizations.is_empty()
        && changes.changed_groups.is_empty()
        && changes.deleted_groups.is_empty()
}

/// Whether a run may skip reading the mappings and planning: the plan would provably be the
/// one the last run made, which was empty. Holds when the last run that kept `kept` left
/// nothing to do (`settled`: empty plan, no conflicts, every change made, no photo unknown,
/// no organization, group or phonebook mapping), its summary says the same (success, no
/// change, no conflict), the config syncs no organizations, groups or extra numbers (their
/// PBX listings have no ETag), and nothing changed: no directory change, no account expired
/// since (`nothing_changed`), and the PBX listing is the kept one (304). `kept` is the head
/// of the state before this run.
pub(crate) fn unchanged_run(
    kept: &ReadHead,
    nothing_changed: bool,
    pbx_not_modified: bool,
    config: &DirectoryConfig,
    last_run: Option<&RunSummary>,
) -> bool {
    let objects_off = matches!(config.organizations.sync, OrganizationSync::None)
        && matches!(config.extension_groups.sync, GroupSync::None)
        && config.extra_numbers.is_empty();
    let last_quiet = last_run.is_some_and(|r| {
        r.outcome == Outcome::Success
            && r.counts.new == 0
            && r.counts.updated == 0
            && r.counts.removed == 0
            && r.counts.conflicts == 0
    });
    kept.settled && last_quiet && objects_off && nothing_changed && pbx_not_modified
}
