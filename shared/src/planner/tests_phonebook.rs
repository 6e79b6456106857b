//! The phonebook side of the plan: entries for synced users' `extra_numbers`, renames,
//! number changes, removals with their user, an admin's entries never touched, and (as a
//! proptest) convergence: applying plans reaches a state whose plan changes nothing.

use proptest::collection::vec;
use proptest::prelude::*;

use super::model::*;
use super::proptests::world_strategy;
use crate::domain::config::ExtraNumberSource;
use crate::domain::organization::ObjectKind;
use crate::domain::phonebook::{EntrySkipReason, ExtraNumber, PhonebookEntry};
use crate::domain::plan::Plan;

fn numbers_on(w: &mut World) {
    w.config.extra_numbers = vec![
        ExtraNumberSource {
            attribute: "mobile".into(),
            suffix: "M".into(),
        },
        ExtraNumberSource {
            attribute: "homePhone".into(),
            suffix: "H".into(),
        },
    ];
}

fn extra(suffix: &str, number: &str) -> ExtraNumber {
    ExtraNumber {
        suffix: suffix.into(),
        number: number.into(),
    }
}

fn manual(id: &str, name: &str, number: &str) -> PhonebookEntry {
    PhonebookEntry {
        id: id.into(),
        name: name.into(),
        number: number.into(),
        managed_by: None,
    }
}

/// (name, number) of every PBX entry, sorted.
fn book(w: &World) -> Vec<(String, String)> {
    let mut all: Vec<_> = w
        .objects
        .phonebook
        .iter()
        .map(|e| (e.name.clone(), e.number.clone()))
        .collect();
    all.sort();
    all
}

fn entry_mappings(w: &World) -> usize {
    w.objects
        .mappings
        .iter()
        .filter(|m| m.kind == ObjectKind::PhonebookEntry)
        .count()
}

/// Plans and applies once, returning the plan.
fn run(w: &mut World) -> Plan {
    let plan = w.plan();
    w.apply(&plan);
    plan
}

/// Ann (synced) with a mobile and a home phone, entries made.
fn ann_with_entries() -> World {
    let mut w = synced_pair();
    numbers_on(&mut w);
    w.users[0].extra_numbers = vec![extra("M", "+49 171 555-01"), extra("H", "030 1234")];
    let plan = run(&mut w);
    assert_eq!(plan.phonebook.creates.len(), 2);
    w
}

#[test]
fn synced_users_get_entries_and_a_second_run_changes_nothing() {
    let w = ann_with_entries();
    assert_eq!(
        book(&w),
        [
            ("Ann Last H".to_string(), "0301234".to_string()),
            ("Ann Last M".to_string(), "+4917155501".to_string())
        ]
    );
    assert_eq!(entry_mappings(&w), 2);
    let again = w.plan();
    assert!(again.phonebook.is_noop(), "{:?}", again.phonebook);
    assert_eq!(again.phonebook.unchanged, 2);
    assert!(again.is_noop());
}

#[test]
fn a_new_user_gets_entries_with_the_extension_create() {
    let mut w = World::new(vec![user("u1", "Bea", "bea@x.com", "102")], vec![], vec![]);
    numbers_on(&mut w);
    w.users[0].extra_numbers = vec![extra("M", "+1 555 0100")];
    let plan = run(&mut w);
    assert_eq!(plan.creates.len(), 1);
    assert_eq!(plan.phonebook.creates[0].name, "Bea Last M");
    assert_eq!(
        book(&w),
        [("Bea Last M".to_string(), "+15550100".to_string())]
    );
}

#[test]
fn a_rename_replaces_the_entry_and_a_number_change_adds_before_it_removes() {
    let mut w = ann_with_entries();
    w.users[0].first_name = Some("Anna".into());
    w.users[0].extra_numbers[1].number = "030 9999".into();
    let plan = run(&mut w);
    let ph = &plan.phonebook;
    // The mobile is renamed (same number: the old one goes first); the home phone is new.
    assert_eq!(ph.creates.len(), 2, "{ph:?}");
    let renamed = ph
        .creates
        .iter()
        .find(|c| c.number == "+4917155501")
        .unwrap();
    assert_eq!(renamed.name, "Anna Last M");
    assert_eq!(renamed.replaces.as_ref().unwrap().name, "Ann Last M");
    let moved = ph.creates.iter().find(|c| c.number == "0309999").unwrap();
    assert!(moved.replaces.is_none());
    assert_eq!(ph.removes.len(), 1);
    assert_eq!(ph.removes[0].number, "0301234");
    assert_eq!(
        book(&w),
        [
            ("Anna Last H".to_string(), "0309999".to_string()),
            ("Anna Last M".to_string(), "+4917155501".to_string())
        ]
    );
    assert_eq!(entry_mappings(&w), 2);
    assert!(w.plan().phonebook.is_noop());
}

#[test]
fn entries_go_with_their_user_unless_the_guard_holds_the_removal() {
    let mut w = ann_with_entries();
    w.users[0].state = crate::domain::user::UserState::Disabled;
    w.config.deletion_guard.max_deletes = 0;
    let held = w.plan();
    assert!(held.removals_held);
    assert!(held.phonebook.is_noop(), "{:?}", held.phonebook);
    w.config.deletion_guard.max_deletes = 5;
    let plan = run(&mut w);
    assert_eq!(plan.phonebook.removes.len(), 2);
    assert!(book(&w).is_empty());
    assert_eq!(entry_mappings(&w), 0);
}

#[test]
fn a_lost_number_is_removed_and_an_incomplete_read_changes_nothing() {
    let mut w = ann_with_entries();
    w.users[0].extra_numbers.truncate(1);
    w.complete = false;
    assert!(w.plan().phonebook.is_noop());
    w.complete = true;
    let plan = run(&mut w);
    assert_eq!(plan.phonebook.removes.len(), 1);
    assert_eq!(book(&w).len(), 1);
}

#[test]
fn an_admins_entry_is_never_touched_and_its_number_is_a_skip() {
    let mut w = synced_pair();
    numbers_on(&mut w);
    w.objects
        .phonebook
        .push(manual("pb-admin", "Reception", "+4930123"));
    w.users[0].extra_numbers = vec![extra("M", "+49 30 123")];
    let plan = run(&mut w);
    assert!(plan.phonebook.creates.is_empty());
    let skip = &plan.phonebook.skipped[0];
    assert_eq!(skip.reason, EntrySkipReason::NumberTaken);
    assert_eq!(skip.holder_id.as_deref(), Some("pb-admin"));
    // The user leaves: the admin's entry stays.
    w.users.clear();
    let plan = run(&mut w);
    assert!(plan.phonebook.removes.is_empty());
    assert_eq!(
        book(&w),
        [("Reception".to_string(), "+4930123".to_string())]
    );
}

#[test]
fn bad_numbers_are_skipped_and_a_number_held_twice_is_one_entry() {
    let mut w = synced_pair();
    numbers_on(&mut w);
    w.users[0].extra_numbers = vec![
        extra("M", "+1 555 0100 x12"),
        extra("H", "12345"),
        extra("M2", "12-345"),
    ];
    let plan = run(&mut w);
    assert_eq!(plan.phonebook.creates.len(), 1);
    assert_eq!(plan.phonebook.creates[0].name, "Ann Last H");
    assert_eq!(plan.phonebook.skipped.len(), 1);
    assert_eq!(
        plan.phonebook.skipped[0].reason,
        EntrySkipReason::InvalidNumber
    );
    w.users[0].last_name = Some("L".repeat(70));
    let plan = w.plan();
    assert_eq!(
        plan.phonebook.skipped.last().unwrap().reason,
        EntrySkipReason::NameTooLong
    );
}

#[test]
fn an_entry_deleted_on_the_pbx_is_made_again() {
    let mut w = ann_with_entries();
    w.objects.phonebook.remove(0);
    let plan = run(&mut w);
    assert_eq!(plan.phonebook.creates.len(), 1);
    assert_eq!(book(&w).len(), 2);
    assert_eq!(entry_mappings(&w), 2);
}

#[test]
fn a_number_passing_to_another_user_replaces_the_old_entry() {
    let mut w = ann_with_entries();
    w.users.push(user("u2", "Bob", "bob@x.com", "102"));
    run(&mut w);
    let mobile = w.users[0].extra_numbers.remove(0);
    w.users[1].extra_numbers = vec![mobile];
    let plan = run(&mut w);
    let create = &plan.phonebook.creates[0];
    assert_eq!(create.name, "Bob Last M");
    assert_eq!(create.replaces.as_ref().unwrap().name, "Ann Last M");
    assert!(plan.phonebook.removes.is_empty());
    assert!(book(&w).contains(&("Bob Last M".to_string(), "+4917155501".to_string())));
    assert_eq!(entry_mappings(&w), 2);
}

#[test]
fn a_held_removal_keeps_its_users_number_from_another_user() {
    let mut w = ann_with_entries();
    w.users.push(user("u2", "Bob", "bob@x.com", "102"));
    run(&mut w);
    w.users[0].state = crate::domain::user::UserState::Disabled;
    w.users[1].extra_numbers = vec![w.users[0].extra_numbers[0].clone()];
    w.config.deletion_guard.max_deletes = 0;
    let plan = run(&mut w);
    assert!(plan.removals_held);
    assert!(plan.phonebook.is_noop(), "{:?}", plan.phonebook);
    assert_eq!(
        plan.phonebook.skipped[0].reason,
        EntrySkipReason::NumberTaken
    );
    assert!(book(&w).contains(&("Ann Last M".to_string(), "+4917155501".to_string())));
}

#[test]
fn a_tenant_without_extra_numbers_plans_no_phonebook() {
    let mut w = synced_pair();
    w.users[0].extra_numbers = vec![extra("M", "+4930123")];
    w.objects.phonebook.push(manual("pb-1", "X", "+4930999"));
    let plan = w.plan();
    assert_eq!(plan.phonebook, Default::default());
}

const POOL: [&str; 6] = [
    "+4930100", "+4930101", "+4930102", "030 103", "x", "+4930100",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the tenant, numbers and admin entries: the model PBX never sees a second
    /// entry with one number, admin entries survive, and plans converge to no change.
    #[test]
    fn phonebook_plans_converge(
        mut w in world_strategy(),
        numbers in vec(vec((0..6usize, 0..2usize), 0..3), 40),
        mut admins in vec(0..4usize, 0..3),
    ) {
        // A real PBX holds one entry per number, admin entries too.
        admins.sort();
        admins.dedup();
        numbers_on(&mut w);
        w.complete = true;
        for (user, specs) in w.users.iter_mut().zip(numbers) {
            user.extra_numbers = specs
                .into_iter()
                .map(|(n, s)| extra(["M", "H"][s], POOL[n]))
                .collect();
        }
        for (i, n) in admins.iter().enumerate() {
            w.objects.phonebook.push(manual(&format!("pb-admin-{i}"), "Admin", POOL[*n]));
        }
        let admin_ids: Vec<String> = w.objects.phonebook.iter().map(|e| e.id.clone()).collect();
        for _ in 0..4 {
            run(&mut w);
        }
        let last = w.plan();
        prop_assert!(last.phonebook.is_noop(), "{:?}", last.phonebook);
        for id in admin_ids {
            prop_assert!(w.objects.phonebook.iter().any(|e| e.id == id));
        }
        let mut numbers: Vec<&str> = w.objects.phonebook.iter().map(|e| e.number.as_str()).collect();
        numbers.sort();
        let all = numbers.len();
        numbers.dedup();
        prop_assert_eq!(all, numbers.len());
    }
}
