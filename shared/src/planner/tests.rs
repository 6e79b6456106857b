//! One test per planner rule (CONTRACTS section 3); each fails if its rule breaks.

use serde_json::json;

use super::model::*;
use crate::domain::config::{ExtensionNumbers, OnRemove, RemoveReason};
use crate::domain::mapping::MappingLink;
use crate::domain::plan::{ConflictReason, Plan, SkipReason};
use crate::domain::user::{Coverage, UserState};

fn skips(plan: &Plan) -> Vec<(String, SkipReason)> {
    plan.skipped
        .iter()
        .map(|s| (s.object_id.to_string(), s.reason))
        .collect()
}

fn synced_pair() -> World {
    World::new(
        vec![user("u1", "Ann", "ann@x.com", "101")],
        vec![linked("u1", "e1", "101")],
        vec![ext("e1", "101", "Ann", "ann@x.com")],
    )
}

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
        pattern: Some(r"(\d{3,6})$".into()),
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
        p.updates[0].changes["first_name"],
        [json!("Ann"), json!("Anna")]
    );
    assert_eq!(p.updates[0].changes.len(), 1);
}

#[test]
fn email_change_is_an_update_not_a_recreate() {
    let mut w = synced_pair();
    w.users[0].email = Some("Ann.New@x.com".into());
    let p = w.plan();
    assert!(p.creates.is_empty() && p.removes.is_empty());
    assert_eq!(
        p.updates[0].changes["email"],
        [json!("ann@x.com"), json!("Ann.New@x.com")]
    );
    // A case change is written too: emails are written as the directory has them.
    w.users[0].email = Some("ANN@x.com".into());
    assert!(w.plan().updates[0].changes.contains_key("email"));
}

#[test]
fn field_whose_sync_is_off_is_never_written() {
    let mut w = synced_pair();
    w.users[0].mobile = Some("+1555".into());
    w.users[0].last_name = None;
    w.users.push(user("u2", "Bob", "bob@x.com", "102"));
    w.users[1].mobile = Some("+1666".into());
    let p = w.plan();
    assert!(p.updates[0].changes.contains_key("mobile"));
    assert!(p.updates[0].changes.contains_key("last_name"));
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
        (UserState::Disabled, true, "disabled"),
        (UserState::Expired, true, "expired"),
        (UserState::Deleted, true, "deleted"),
        (UserState::Active, false, "out_of_scope"),
    ];
    for action in [OnRemove::Delete, OnRemove::Disable, OnRemove::Keep] {
        for (state, in_scope, reason) in cases {
            let mut w = synced_pair();
            w.config.on_remove = action;
            w.users[0].state = state;
            w.users[0].in_scope = in_scope;
            let p = w.plan();
            assert_eq!(p.removes.len(), 1, "{action:?} {reason}");
            let r = &p.removes[0];
            assert_eq!(
                (r.action, r.reason.as_str(), r.extension_id.as_str()),
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
        (p.removes[0].reason.as_str(), p.removes[0].name.as_str()),
        ("deleted", "Stored")
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
    assert_eq!(p.removes[0].reason, "deleted");
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
    assert_eq!(p.updates[0].changes["enabled"], [json!(false), json!(true)]);
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

#[test]
fn manual_extension_with_same_number_or_email_is_a_conflict() {
    let w = World::new(
        vec![
            user("u1", "Ann", "ann@x.com", "101"),
            user("u2", "Bob", "BOB@x.com", "102"),
        ],
        vec![],
        vec![
            ext("m1", "101", "Manual", "other@x.com"),
            ext("m2", "900", "Manual", "bob@X.com"),
        ],
    );
    let p = w.plan();
    assert!(p.is_noop(), "a manual extension is never changed: {p:?}");
    let got: Vec<_> = p
        .conflicts
        .iter()
        .map(|c| {
            (
                c.object_id.as_str(),
                c.reason,
                c.holder_extension_id.as_ref().map(|e| e.as_str()),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("u1", ConflictReason::NumberTaken, Some("m1")),
            ("u2", ConflictReason::EmailTaken, Some("m2"))
        ]
    );
}

#[test]
fn adopt_by_email_and_adopt_off() {
    let mut w = World::new(
        vec![user("u1", "Ann", "Ann@X.com", "101")],
        vec![],
        vec![ext("m1", "555", "Annie", "ann@x.com")],
    );
    let p = w.plan();
    assert_eq!(
        p.conflicts[0].reason,
        ConflictReason::EmailTaken,
        "adopt off"
    );
    assert!(p.updates.is_empty());

    w.config.adopt_existing_by_email = true;
    let p = w.plan();
    assert!(p.creates.is_empty() && p.conflicts.is_empty());
    let u = &p.updates[0];
    assert!(u.adopt);
    assert_eq!(u.extension_id.as_str(), "m1");
    assert_eq!(u.changes["first_name"], [json!("Annie"), json!("Ann")]);
    assert_eq!(u.changes["email"], [json!("ann@x.com"), json!("Ann@X.com")]);
    assert!(!u.changes.contains_key("number"));
    w.apply(&p);
    assert_eq!(w.mapping("u1").unwrap().number, "555", "keeps its number");
    assert!(w.plan().is_noop());
}

#[test]
fn an_extension_linked_to_another_user_is_not_adopted() {
    let mut w = synced_pair();
    w.users[0].email = None; // u1 skipped, its extension stays linked
    w.users.push(user("u2", "Ann2", "ann@x.com", "102"));
    w.config.adopt_existing_by_email = true;
    let p = w.plan();
    assert!(p.updates.is_empty());
    assert_eq!(p.conflicts[0].reason, ConflictReason::EmailTaken);
}

#[test]
fn duplicates_inside_the_directory() {
    let mut w = World::new(
        vec![
            user("a", "A", "new@x.com", "200"),
            user("b", "B", "NEW@x.com", "201"),
            user("c", "C", "c@x.com", "200"),
            user("z", "Z", "A@x.com", "300"),
        ],
        vec![linked("z", "e1", "300")],
        vec![ext("e1", "300", "Z", "A@x.com")],
    );
    w.users.push(user("a0", "A0", "a@x.com", "301"));
    let p = w.plan();
    assert_eq!(
        skips(&p),
        vec![
            ("a0".into(), SkipReason::DuplicateEmail),
            ("b".into(), SkipReason::DuplicateEmail),
            ("c".into(), SkipReason::DuplicateExtension),
        ],
        "the mapped user z keeps its email over a0, which sorts first"
    );
    assert_eq!(p.creates.len(), 1);
    assert_eq!(p.creates[0].object_id.as_str(), "a");
}

#[test]
fn record_limit_keeps_mapped_and_fills_by_object_id() {
    let mut w = World::new(
        vec![
            user("d", "D", "d@x.com", "104"),
            user("b", "B", "b@x.com", "102"),
            user("m", "M", "m@x.com", "100"),
            user("c", "C", "c@x.com", "103"),
            user("a", "A", "a@x.com", "101"),
        ],
        vec![linked("m", "e1", "100"), pending("p", "199", "p@x.com")],
        vec![ext("e1", "100", "M", "m@x.com")],
    );
    w.users.push(user("a2", "A2", "a2@x.com", "199")); // conflicts with the pending intent: no place used
    w.config.record_limit = 4;
    let p = w.plan();
    let created: Vec<_> = p.creates.iter().map(|c| c.object_id.as_str()).collect();
    assert_eq!(created, vec!["a", "b"]);
    assert_eq!(p.conflicts[0].object_id.as_str(), "a2");
    assert_eq!(p.conflicts[0].holder_extension_id, None);
    assert_eq!(
        skips(&p),
        vec![
            ("c".into(), SkipReason::RecordLimit),
            ("d".into(), SkipReason::RecordLimit)
        ]
    );
    assert_eq!(p, w.plan(), "stable");
    w.config.record_limit = 1; // fewer places than mappings: nothing mapped is removed
    let p = w.plan();
    assert!(p.creates.is_empty() && p.removes.is_empty());
    assert_eq!(p.unchanged, 1);
}

#[test]
fn removals_that_drop_mappings_free_places_unless_held() {
    let mut w = synced_pair();
    w.users[0].state = UserState::Deleted;
    w.users.push(user("u2", "Bob", "bob@x.com", "102"));
    w.config.record_limit = 1;
    assert_eq!(w.plan().creates.len(), 1, "the delete frees a place");
    w.config.on_remove = OnRemove::Disable;
    assert_eq!(
        skips(&w.plan()),
        vec![("u2".into(), SkipReason::RecordLimit)]
    );
    w.config.on_remove = OnRemove::Delete;
    w.config.deletion_guard.max_deletes = 0;
    let p = w.plan();
    assert!(p.removals_held);
    assert_eq!(
        skips(&p),
        vec![("u2".into(), SkipReason::RecordLimit)],
        "held removes free nothing"
    );
}

#[test]
fn deletion_guard_holds_and_summarises() {
    let mut w = World::new(vec![user("n", "N", "n@x.com", "109")], vec![], vec![]);
    for i in 0..3 {
        w.mappings.push(linked(
            &format!("gone{i}"),
            &format!("e{i}"),
            &format!("10{i}"),
        ));
        w.extensions.push(ext(
            &format!("e{i}"),
            &format!("10{i}"),
            "G",
            &format!("g{i}@x.com"),
        ));
    }
    w.config.deletion_guard.max_deletes = 3;
    let p = w.plan();
    assert!(!p.removals_held);
    assert_eq!(p.summary, "1 new, 0 updated, 3 removed");
    w.config.deletion_guard.max_deletes = 2;
    let p = w.plan();
    assert!(p.removals_held);
    assert_eq!(p.removes.len(), 3, "held removes are still listed");
    assert_eq!(p.creates.len(), 1);
    assert_eq!(
        p.summary,
        "1 new, 0 updated, 0 removed (3 removals held for approval)"
    );
}

#[test]
fn incomplete_snapshot_plans_no_removes() {
    let mut w = synced_pair();
    w.users[0].state = UserState::Disabled;
    w.mappings.push(linked("absent", "e2", "102"));
    w.extensions.push(ext("e2", "102", "X", "x@x.com"));
    w.users.push(user("n", "N", "n@x.com", "103"));
    assert_eq!(w.plan().removes.len(), 2);
    w.complete = false;
    let p = w.plan();
    assert!(p.removes.is_empty());
    assert_eq!(p.creates.len(), 1, "creates are still planned");
}

#[test]
fn auto_numbers_skip_held_numbers() {
    let mut w = World::new(
        vec![
            user("a", "A", "a@x.com", ""),
            user("b", "B", "b@x.com", ""),
            user("c", "C", "c@x.com", ""),
        ],
        vec![linked("m", "gone", "1001"), pending("p", "1003", "p@x.com")],
        vec![ext("m1", "1000", "Manual", "man@x.com")],
    );
    w.config.extension_numbers = ExtensionNumbers::Auto {
        start: 1000,
        end: 1005,
    };
    w.config.remove_when = vec![]; // the absent mapped user keeps its mapping and number
    let p = w.plan();
    let numbers: Vec<_> = p.creates.iter().map(|c| c.number.as_str()).collect();
    assert_eq!(numbers, vec!["1002", "1004", "1005"]);
    w.config.extension_numbers = ExtensionNumbers::Auto {
        start: 1000,
        end: 1004,
    };
    let p = w.plan();
    assert_eq!(skips(&p), vec![("c".into(), SkipReason::NoFreeNumber)]);
    // Once its removal drops the mapping, the number is free in the same run.
    w.config.remove_when = RemoveReason::all();
    let numbers: Vec<_> = w.plan().creates.iter().map(|c| c.number.clone()).collect();
    assert_eq!(numbers, vec!["1001", "1002", "1004"]);
}

#[test]
fn mapped_extension_missing_on_the_pbx_is_recreated_with_its_number() {
    let mut w = synced_pair();
    w.users[0].extension = Some("999".into());
    w.extensions.clear();
    let p = w.plan();
    assert_eq!(p.creates.len(), 1);
    assert_eq!(p.creates[0].number, "101");
    w.config.record_limit = 1;
    w.users.push(user("u2", "B", "b@x.com", "102"));
    assert_eq!(w.plan().creates.len(), 1, "the recreate keeps its place");
    w.apply(&w.plan());
    assert!(matches!(
        w.mapping("u1").unwrap().link,
        MappingLink::Linked { .. }
    ));
    assert!(w.plan().is_noop());
    // Conflicts still apply to a recreate.
    w.extensions.clear();
    w.extensions.push(ext("m1", "101", "Manual", "m@x.com"));
    let p = w.plan();
    assert!(p.creates.is_empty());
    assert_eq!(p.conflicts[0].reason, ConflictReason::NumberTaken);
}

#[test]
fn pending_mapping_holds_its_place_and_does_nothing() {
    let mut w = World::new(
        vec![
            user("p", "P", "p@x.com", "150"),
            user("q", "Q", "Q@x.com", "151"),
        ],
        vec![
            pending("p", "150", "p@x.com"),
            pending("gone", "152", "q@x.com"),
        ],
        vec![],
    );
    let p = w.plan();
    assert!(p.is_noop(), "{p:?}");
    assert_eq!(p.conflicts[0].reason, ConflictReason::EmailTaken);
    w.users[0].state = UserState::Deleted;
    assert!(w.plan().removes.is_empty());
}

#[test]
fn a_freed_number_is_reused_in_the_same_run() {
    let mut w = synced_pair();
    w.users[0].state = UserState::Deleted;
    w.users.push(user("u2", "Bob", "bob@x.com", "101"));
    let p = w.plan();
    assert_eq!((p.removes.len(), p.creates.len()), (1, 1));
    w.config.deletion_guard.max_deletes = 0;
    let p = w.plan();
    assert_eq!(
        p.conflicts[0].reason,
        ConflictReason::NumberTaken,
        "held: still taken"
    );
}

#[test]
fn plans_ten_thousand_renames() {
    let n = 10_000;
    let users = (0..n).map(|i| {
        user(
            &format!("u{i:05}"),
            "F",
            &format!("u{i}@x.com"),
            &format!("{}", 10_000 + i),
        )
    });
    let mut w = World::new(users.collect(), vec![], vec![]);
    for i in 0..n {
        w.mappings.push(linked(
            &format!("u{i:05}"),
            &format!("e{i}"),
            &format!("{}", 10_000 + i),
        ));
        w.extensions.push(ext(
            &format!("e{i}"),
            &format!("{}", 10_000 + i),
            "G",
            &format!("u{i}@x.com"),
        ));
    }
    // Speed is the benchmark's business (dirsync-bench planner); here only the counts.
    let p = w.plan();
    assert_eq!(p.updates.len(), n);
    assert_eq!(p.unchanged, 0);
}
