//! Rule tests for creates: conflicts, adoption, duplicates, record limit, numbers, size.

use super::model::*;
use crate::domain::config::{ExtensionNumbers, ExtensionRange, OnRemove, RemoveReason};
use crate::domain::mapping::MappingLink;
use crate::domain::plan::{ConflictReason, FieldChanges, SkipReason};
use crate::domain::user::UserState;

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
    assert_eq!(
        u.changes,
        FieldChanges {
            first_name: text("Annie", "Ann"),
            email: text("ann@x.com", "Ann@X.com"),
            ..FieldChanges::default()
        },
        "the number is never changed"
    );
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
            user("d", "D", "d@x.com", "300"),
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
            ("d".into(), SkipReason::DuplicateExtension),
        ],
        "the mapped user z keeps its email over a0 and its number over d"
    );
    assert!(
        p.conflicts.is_empty(),
        "a directory duplicate is no PBX conflict"
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

    // Approving two of the three leaves one unapproved removal, within the guard of 2.
    w.approved_removals = [oid("gone0"), oid("gone1")].into_iter().collect();
    let p = w.plan();
    assert!(!p.removals_held);
    assert_eq!(p.summary, "1 new, 0 updated, 3 removed");
    // An approval of other users does not lift the guard.
    w.config.deletion_guard.max_deletes = 0;
    w.approved_removals = [oid("gone0"), oid("someone-else")].into_iter().collect();
    assert!(w.plan().removals_held);
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
    w.config.extension_numbers = ExtensionNumbers::Auto(ExtensionRange::new(1000, 1005).unwrap());
    w.config.remove_when = vec![]; // the absent mapped user keeps its mapping and number
    let p = w.plan();
    let numbers: Vec<_> = p.creates.iter().map(|c| c.number.as_str()).collect();
    assert_eq!(numbers, vec!["1002", "1004", "1005"]);
    w.config.extension_numbers = ExtensionNumbers::Auto(ExtensionRange::new(1000, 1004).unwrap());
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

#[test]
fn welcome_email_is_in_create_bodies_only_when_on() {
    let mut w = World::new(vec![user("u1", "Ann", "ann@x.com", "101")], vec![], vec![]);
    let off = serde_json::to_value(&w.plan().creates[0].request).unwrap();
    assert!(
        off.get("send_welcome_email").is_none(),
        "bodies stay as before"
    );
    w.config.welcome_email = true;
    let on = serde_json::to_value(&w.plan().creates[0].request).unwrap();
    assert_eq!(on["send_welcome_email"], true);
}
