//! The decisions of change-only reads: when a run reads in full, the merge, and when an
//! unchanged run may skip planning.

use std::time::Duration;

use chrono::TimeDelta;

use super::incremental::*;
use crate::domain::run::Counts;
use crate::domain::{
    ChangeCursor, Coverage, DirectoryChanges, ListingHead, Outcome, ReadHead, RunId, RunSummary,
    Snapshot, Trigger, UserState,
};
use crate::planner::model::{config, epoch, oid, user};

const DAY: Duration = Duration::from_secs(24 * 3600);

fn cursor(position: &str) -> ChangeCursor {
    ChangeCursor {
        provider: "test".into(),
        position: position.into(),
    }
}

fn kept(settled: bool) -> ReadHead {
    ReadHead {
        config_fingerprint: "fp".into(),
        full_read_at: epoch(),
        settled,
        coverage: Coverage::WholeDirectory,
        change_cursor: Some(cursor("1")),
        pbx: Some(ListingHead {
            base_url: "https://pbx".into(),
            etag: "\"e1\"".into(),
        }),
        next_expiry: None,
        body_sha256: "b".into(),
    }
}

fn snapshot() -> Snapshot {
    Snapshot {
        users: vec![
            user("a", "Ann", "a@x.com", "100"),
            user("b", "Bob", "b@x.com", "101"),
        ],
        organizations: Vec::new(),
        groups: Vec::new(),
        coverage: Coverage::WholeDirectory,
        complete: true,
        change_cursor: Some(cursor("1")),
    }
}

fn last(outcome: Outcome, counts: Counts) -> RunSummary {
    let mut summary = RunSummary::started(RunId::new(), Trigger::Schedule, epoch());
    summary.outcome = outcome;
    summary.counts = counts;
    summary
}

#[test]
fn a_run_reads_in_full_whenever_anything_is_in_doubt() {
    let state = kept(true);
    let ok = last(Outcome::Success, Counts::default());
    let hour = epoch() + TimeDelta::hours(1);
    let reason = |kept: Option<&ReadHead>, fp: &str, url: &str, last: Option<&RunSummary>, now| {
        full_read_reason(kept, fp, url, last, now, DAY)
    };
    assert_eq!(
        reason(Some(&state), "fp", "https://pbx", Some(&ok), hour),
        None
    );
    let held = last(Outcome::Held, Counts::default());
    assert_eq!(
        reason(Some(&state), "fp", "https://pbx", Some(&held), hour),
        None
    );
    assert_eq!(
        reason(None, "fp", "https://pbx", Some(&ok), hour),
        Some(FullRead::NothingKept)
    );
    assert_eq!(
        reason(Some(&state), "other", "https://pbx", Some(&ok), hour),
        Some(FullRead::ConfigChanged)
    );
    assert_eq!(
        reason(Some(&state), "fp", "https://pbx2", Some(&ok), hour),
        Some(FullRead::EndpointChanged)
    );
    let day = epoch() + TimeDelta::hours(24);
    assert_eq!(
        reason(Some(&state), "fp", "https://pbx", Some(&ok), day),
        Some(FullRead::Due)
    );
    // A clock that went back is in doubt too.
    let before = epoch() - TimeDelta::hours(1);
    assert_eq!(
        reason(Some(&state), "fp", "https://pbx", Some(&ok), before),
        Some(FullRead::Due)
    );
    for outcome in [
        Outcome::Failed,
        Outcome::Partial,
        Outcome::Interrupted,
        Outcome::Running,
    ] {
        let unsettled = last(outcome, Counts::default());
        assert_eq!(
            reason(Some(&state), "fp", "https://pbx", Some(&unsettled), hour),
            Some(FullRead::LastRunUnsettled),
            "{outcome:?}"
        );
    }
    assert_eq!(
        reason(Some(&state), "fp", "https://pbx", None, hour),
        Some(FullRead::LastRunUnsettled)
    );
    let mut no_cursor = kept(true);
    no_cursor.change_cursor = None;
    assert_eq!(
        reason(Some(&no_cursor), "fp", "https://pbx", Some(&ok), hour),
        Some(FullRead::NoCursor)
    );
}

#[test]
fn the_merge_replaces_adds_and_removes_only_what_the_changes_name() {
    let mut renamed = user("b", "Bobby", "b@x.com", "101");
    renamed.in_scope = false;
    let changes = DirectoryChanges {
        changed: vec![renamed.clone(), user("c", "Cy", "c@x.com", "102")],
        deleted: vec![oid("a"), oid("zz")],
        cursor: Some(cursor("2")),
        ..DirectoryChanges::default()
    };
    let merged = merge_changes(snapshot(), changes, epoch());
    assert_eq!(
        merged.users,
        vec![renamed, user("c", "Cy", "c@x.com", "102")]
    );
    assert_eq!(merged.change_cursor, Some(cursor("2")));
    // No changes: everyone stays, and a change set without a cursor keeps the old one.
    let same = merge_changes(snapshot(), DirectoryChanges::default(), epoch());
    assert_eq!(same.users, snapshot().users);
    assert_eq!(same.change_cursor, Some(cursor("1")));
}

#[test]
fn the_merge_expires_accounts_whose_time_passed() {
    let mut snapshot = snapshot();
    snapshot.users[0].expires_at = Some(epoch() + TimeDelta::hours(2));
    snapshot.users[1].expires_at = Some(epoch() + TimeDelta::hours(2));
    snapshot.users[1].state = UserState::Disabled;
    let early = merge_changes(snapshot.clone(), DirectoryChanges::default(), epoch());
    assert_eq!(early.users[0].state, UserState::Active);
    let late = merge_changes(
        snapshot,
        DirectoryChanges::default(),
        epoch() + TimeDelta::hours(2),
    );
    assert_eq!(late.users[0].state, UserState::Expired);
    assert_eq!(
        late.users[1].state,
        UserState::Disabled,
        "disabled stays disabled"
    );
}

#[test]
fn only_a_quiet_settled_tenant_without_objects_skips_planning() {
    let config = config();
    let quiet = last(
        Outcome::Success,
        Counts {
            unchanged: 2,
            ..Counts::default()
        },
    );
    let skip =
        |state: &ReadHead, nothing: bool, not_modified: bool, config, last: Option<&RunSummary>| {
            unchanged_run(state, nothing, not_modified, config, last)
        };
    assert!(skip(&kept(true), true, true, &config, Some(&quiet)));
    assert!(
        !skip(&kept(false), true, true, &config, Some(&quiet)),
        "not settled"
    );
    assert!(
        !skip(&kept(true), false, true, &config, Some(&quiet)),
        "changes"
    );
    assert!(
        !skip(&kept(true), true, false, &config, Some(&quiet)),
        "PBX listing changed"
    );
    assert!(!skip(&kept(true), true, true, &config, None));
    for counts in [
        Counts {
            new: 1,
            ..Counts::default()
        },
        Counts {
            updated: 1,
            ..Counts::default()
        },
        Counts {
            removed: 1,
            ..Counts::default()
        },
        Counts {
            conflicts: 1,
            ..Counts::default()
        },
    ] {
        let busy = last(Outcome::Success, counts);
        assert!(
            !skip(&kept(true), true, true, &config, Some(&busy)),
            "{counts:?}"
        );
    }
    let held = last(Outcome::Held, Counts::default());
    assert!(!skip(&kept(true), true, true, &config, Some(&held)));
    let mut with_numbers = config.clone();
    with_numbers.extra_numbers = vec![crate::domain::config::ExtraNumberSource {
        attribute: "otherTelephone".into(),
        suffix: "m".into(),
    }];
    assert!(!skip(&kept(true), true, true, &with_numbers, Some(&quiet)));
}
