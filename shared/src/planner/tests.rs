//! One test per planner rule (CONTRACTS section 3); each fails if its rule breaks.

use super::model::*;
use crate::domain::config::{CaptureRegex, ExtensionNumbers, OnRemove, RemoveReason};
use crate::domain::plan::{FieldChange, FieldChanges, RemovalCause, SkipReason};
use crate::domain::user::{Coverage, UserState};

#[test]
fn new_user_is_created_with_exact_request() {
    let mut w = World::new(
        vec![user("u1", " Ann ", " Ann@X.com ", " 101 ")],
        vec![],
        vec![],
    );
    w.users[0].mobile = Some("  ".into());
    let p = w.plan();
    assert_eq!(p.creates.len(), 1);
    let c = &p.creates[0];
    assert_eq!(
        (c.number.as_str(), c.email.as_str(), c.name.as_str()),
        ("101", "Ann@X.com", "Ann Last")
    );
    assert_eq!(c.request.first_name.as_deref(), Some("Ann"));
    assert_eq!(c.request.mobile, None, "blank is no value");
    assert_eq!(c.request.managed_by, "directory-sync");
    assert_eq!(p.summary, "1 new, 0 updated, 0 removed");
}

#[test]
fn every_eligibility_skip_reason() {
    let mut no_email = user("a", "A", "", "101");
    no_email.email = None;
    let blank_email = user("b", "B", "   ", "102");
    let bad_email = user("c", "C", "not-an-email", "103");
    let mut no_ext = user("d", "D", "d@x.com", "");
    no_ext.extension = None;
    let bad_ext = user("e", "E", "e@x.com", "12a");
    let w = World::new(
        vec![no_email, blank_email, bad_email, no_ext, bad_ext],
        vec![],
        vec![],
    );
    assert_eq!(
        skips(&w.plan()),
        vec![
            ("a".into(), SkipReason::MissingEmail),
            ("b".into(), SkipReason::MissingEmail),
            ("c".into(), SkipReason::InvalidEmail),
            ("d".into(), SkipReason::MissingExtension),
            ("e".into(), SkipReason::InvalidExtension),
        ]
    );
}

#[test]
fn pattern_takes_the_capture_group_or_skips() {
    let mut w = World::new(
        vec![
            user("a", "A", "a@x.com", "+1 555 0101"),
            user("b", "B", "b@x.com", "none"),
        ],
        vec![],
        vec![],
    );
    w.config.extension_numbers = ExtensionNumbers::Attribute {
        pattern: Some(CaptureRegex::parse(r"(\d{3,6})$").unwrap()),
    };
    let p = w.plan();
    assert_eq!(p.creates[0].number, "0101");
    assert_eq!(skips(&p), vec![("b".into(), SkipReason::InvalidExtension)]);
}

#[test]
fn mapped_user_with_missing_email_is_skipped_not_removed() {
    let mut w = synced_pair();
    w.users[0].email = None;
    let p = w.plan();
    assert!(p.is_noop());
    assert_eq!(skips(&p), vec![("u1".into(), SkipReason::MissingEmail)]);
}

#[test]
fn unchanged_user_counts_and_plans_nothing() {
    let p = synced_pair().plan();
    assert!(p.is_noop());
    assert_eq!(p.unchanged, 1);
    assert_eq!(p.summary, "Everything is up to date");
}

#[test]
fn rename_updates_the_same_extension() {
    let mut w = synced_pair();
    w.users[0].first_name = Some("Anna".into());
    let p = w.plan();
    assert!(p.creates.is_empty() && p.removes.is_empty());
    assert_eq!(p.updates.len(), 1);
    assert_eq!(p.updates[0].extension_id.as_str(), "e1");
    assert!(!p.updates[0].adopt);
    assert_eq!(
        p.updates[0].changes,
        FieldChanges {
            first_name: text("Ann", "Anna"),
            ..FieldChanges::default()
        }
    );
}

#[test]
fn email_change_is_an_update_not_a_recreate() {
    let mut w = synced_pair();
    w.users[0].email = Some("Ann.New@x.com".into());
    let p = w.plan();
    assert!(p.creates.is_empty() && p.removes.is_empty());
    assert_eq!(
        p.updates[0].changes.email,
        text("ann@x.com", "Ann.New@x.com")
    );
    // A case change is written too: emails are written as the directory has them.
    w.users[0].email = Some("ANN@x.com".into());
    assert!(w.plan().updates[0].changes.email.is_some());
}

#[test]
fn field_whose_sync_is_off_is_never_written() {
    let mut w = synced_pair();
    w.users[0].mobile = Some("+1555".into());
    w.users[0].last_name = None;
    w.users.push(user("u2", "Bob", "bob@x.com", "102"));
    w.users[1].mobile = Some("+1666".into());
    let p = w.plan();
    assert!(p.updates[0].changes.mobile.is_some());
    assert!(p.updates[0].changes.last_name.is_some());
    w.config.fields.mobile = Some(None);
    w.config.fields.last_name = Some(None);
    let p = w.plan();
    assert!(p.updates.is_empty(), "{:?}", p.updates);
    assert_eq!(p.unchanged, 1);
    assert_eq!(p.creates[0].request.mobile, None);
    assert_eq!(p.creates[0].request.last_name, None);
}

#[test]
fn removal_for_each_state_and_action() {
    let cases = [
        (UserState::Disabled, true, RemovalCause::Disabled),
        (UserState::Expired, true, RemovalCause::Expired),
        (UserState::Deleted, true, RemovalCause::Deleted),
        (UserState::Active, false, RemovalCause::OutOfScope),
    ];
    for action in [OnRemove::Delete, OnRemove::Disable, OnRemove::Keep] {
        for (state, in_scope, reason) in cases {
            let mut w = synced_pair();
            w.config.on_remove = action;
            w.users[0].state = state;
            w.users[0].in_scope = in_scope;
            let p = w.plan();
            assert_eq!(p.removes.len(), 1, "{action:?} {reason:?}");
            let r = &p.removes[0];
            assert_eq!(
                (r.action, r.reason, r.extension_id.as_str()),
                (action, reason, "e1")
            );
            assert_eq!(r.name, "Ann Last");
            assert!(p.updates.is_empty() && p.creates.is_empty());
        }
    }
}

#[test]
fn state_not_in_remove_when() {
    // Disabled but "disabled" not a removal reason: treated like an active user (updated).
    let mut w = synced_pair();
    w.config.remove_when = vec![RemoveReason::Deleted];
    w.users[0].state = UserState::Disabled;
    w.users[0].first_name = Some("Anna".into());
    assert_eq!(w.plan().updates.len(), 1);
    // ...and then the scope still counts: out of scope without out_of_scope is frozen.
    w.users[0].in_scope = false;
    let p = w.plan();
    assert!(p.is_noop() && p.skipped.is_empty() && p.unchanged == 0);
    // An unmapped frozen user is not created.
    w.mappings.clear();
    w.extensions.clear();
    assert!(w.plan().creates.is_empty());
    // Deleted without "deleted" in remove_when: frozen, never created.
    w.config.remove_when = vec![];
    w.users[0].in_scope = true;
    w.users[0].state = UserState::Deleted;
    assert!(w.plan().is_noop());
}

#[test]
fn absent_user_with_each_coverage() {
    let mut w = synced_pair();
    w.users.clear();
    w.mappings[0].first_name = Some("Stored".into());
    let p = w.plan();
    assert_eq!(p.removes.len(), 1);
    assert_eq!(
        (p.removes[0].reason, p.removes[0].name.as_str()),
        (RemovalCause::Deleted, "Stored")
    );
    w.config.remove_when = vec![RemoveReason::OutOfScope];
    assert!(
        w.plan().removes.is_empty(),
        "whole directory: absent means deleted"
    );

    w.coverage = Coverage::ScopeOnly;
    w.config.remove_when = vec![RemoveReason::Deleted];
    assert!(w.plan().removes.is_empty(), "scope only needs both reasons");
    w.config.remove_when = vec![RemoveReason::Deleted, RemoveReason::OutOfScope];
    let p = w.plan();
    assert_eq!(p.removes.len(), 1);
    assert_eq!(p.removes[0].reason, RemovalCause::Deleted);
}

#[test]
fn disable_then_reenable_when_the_user_returns() {
    let mut w = synced_pair();
    w.config.on_remove = OnRemove::Disable;
    w.users[0].state = UserState::Disabled;
    let p = w.plan();
    assert_eq!(p.removes[0].action, OnRemove::Disable);
    w.apply(&p);
    assert!(!w.extensions[0].enabled);
    assert!(w.plan().is_noop(), "already disabled by sync: nothing more");

    w.users[0].state = UserState::Active;
    let p = w.plan();
    assert_eq!(p.updates.len(), 1);
    assert_eq!(
        p.updates[0].changes.enabled,
        Some(FieldChange {
            old: false,
            new: true
        })
    );
    w.apply(&p);
    assert!(w.extensions[0].enabled);
    assert!(w.plan().is_noop());
}

#[test]
fn extension_disabled_by_an_admin_is_not_reenabled() {
    let mut w = synced_pair();
    w.extensions[0].enabled = false;
    assert!(w.plan().is_noop());
}
