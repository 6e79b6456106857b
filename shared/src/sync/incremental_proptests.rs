//! Change-only reads against full reads over random change sequences: creates, renames,
//! field changes, disables, scope exits, expiry times passing, and deletions with and without
//! the directory's deletion record. At every step the plan made on the kept snapshot merged
//! with the step's changes is the plan a full read gives, once the users whose deletion went
//! unrecorded are counted as still there (as last seen); such a user is never removed for
//! being gone, and the next full read converges.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;

use super::incremental::merge_changes;
use crate::domain::plan::RemovalCause;
use crate::domain::{
    Coverage, DirectoryChanges, DirectoryUser, ObjectId, Plan, Snapshot, UserState,
};
use crate::planner::model::{oid, user, World};

static NAMES: [&str; 3] = ["Ann", "Bob", "Cy"];
static EMAILS: [&str; 5] = ["a@x.com", "b@x.com", "c@x.com", "A@x.com", ""];
static NUMBERS: [&str; 5] = ["100", "101", "102", "x", ""];

#[derive(Debug, Clone)]
enum Step {
    Create {
        id: u8,
        name: usize,
        email: usize,
        number: usize,
    },
    Rename {
        id: u8,
        name: usize,
    },
    Email {
        id: u8,
        email: usize,
    },
    Number {
        id: u8,
        number: usize,
    },
    Disable {
        id: u8,
        disabled: bool,
    },
    Scope {
        id: u8,
        in_scope: bool,
    },
    ExpiresIn {
        id: u8,
        hours: i64,
    },
    Delete {
        id: u8,
        recorded: bool,
    },
    Hours(i64),
}

fn step() -> impl Strategy<Value = Step> {
    let id = 0..8u8;
    prop_oneof![
        3 => (id.clone(), 0..3usize, 0..5usize, 0..5usize)
            .prop_map(|(id, name, email, number)| Step::Create { id, name, email, number }),
        1 => (id.clone(), 0..3usize).prop_map(|(id, name)| Step::Rename { id, name }),
        1 => (id.clone(), 0..5usize).prop_map(|(id, email)| Step::Email { id, email }),
        1 => (id.clone(), 0..5usize).prop_map(|(id, number)| Step::Number { id, number }),
        1 => (id.clone(), any::<bool>()).prop_map(|(id, disabled)| Step::Disable { id, disabled }),
        1 => (id.clone(), any::<bool>()).prop_map(|(id, in_scope)| Step::Scope { id, in_scope }),
        1 => (id.clone(), -3..6i64).prop_map(|(id, hours)| Step::ExpiresIn { id, hours }),
        1 => (id, any::<bool>()).prop_map(|(id, recorded)| Step::Delete { id, recorded }),
        1 => (1..5i64).prop_map(Step::Hours),
    ]
}

/// A directory that stores users with their expiry times, read as a provider reads it: an
/// active account whose time has passed is expired.
#[derive(Default)]
struct Directory {
    users: BTreeMap<ObjectId, DirectoryUser>,
    /// Deleted without a deletion record: the kept snapshot still has them as last seen.
    ghosts: BTreeMap<ObjectId, DirectoryUser>,
}

fn read(stored: &DirectoryUser, now: DateTime<Utc>) -> DirectoryUser {
    let mut user = stored.clone();
    if user.state == UserState::Active && user.expires_at.is_some_and(|at| at <= now) {
        user.state = UserState::Expired;
    }
    user
}

fn snapshot<'a>(users: impl Iterator<Item = &'a DirectoryUser>, now: DateTime<Utc>) -> Snapshot {
    Snapshot {
        users: users.map(|u| read(u, now)).collect(),
        organizations: Vec::new(),
        groups: Vec::new(),
        coverage: Coverage::WholeDirectory,
        complete: true,
        change_cursor: None,
    }
}

impl Directory {
    /// Plays one step at `now`; returns the changes a change-only read sees.
    fn play(&mut self, step: &Step, now: DateTime<Utc>) -> DirectoryChanges {
        let mut changes = DirectoryChanges::default();
        let key = |id: &u8| oid(&format!("u{id}"));
        let touched = match step {
            Step::Create {
                id,
                name,
                email,
                number,
            } => {
                let mut created = user(
                    &format!("u{id}"),
                    NAMES[*name],
                    EMAILS[*email],
                    NUMBERS[*number],
                );
                created.email = Some(EMAILS[*email].to_string()).filter(|e| !e.is_empty());
                self.ghosts.remove(&key(id));
                self.users.insert(key(id), created);
                Some(key(id))
            }
            Step::Delete { id, recorded } => {
                if let Some(gone) = self.users.remove(&key(id)) {
                    if *recorded {
                        changes.deleted.push(key(id));
                    } else {
                        self.ghosts.insert(key(id), gone);
                    }
                }
                None
            }
            Step::Hours(_) => None,
            other => {
                let id = match other {
                    Step::Rename { id, .. }
                    | Step::Email { id, .. }
                    | Step::Number { id, .. }
                    | Step::Disable { id, .. }
                    | Step::Scope { id, .. }
                    | Step::ExpiresIn { id, .. } => key(id),
                    _ => return changes,
                };
                let Some(u) = self.users.get_mut(&id) else {
                    return changes;
                };
                match other {
                    Step::Rename { name, .. } => u.first_name = Some(NAMES[*name].into()),
                    Step::Email { email, .. } => {
                        u.email = Some(EMAILS[*email].to_string()).filter(|e| !e.is_empty())
                    }
                    Step::Number { number, .. } => u.extension = Some(NUMBERS[*number].into()),
                    Step::Disable { disabled, .. } => {
                        u.state = if *disabled {
                            UserState::Disabled
                        } else {
                            UserState::Active
                        }
                    }
                    Step::Scope { in_scope, .. } => u.in_scope = *in_scope,
                    Step::ExpiresIn { hours, .. } => {
                        u.expires_at = Some(now + TimeDelta::hours(*hours))
                    }
                    _ => {}
                }
                Some(id)
            }
        };
        if let Some(id) = touched {
            changes
                .changed
                .extend(self.users.get(&id).map(|u| read(u, now)));
        }
        changes
    }

    fn full_read(&self, now: DateTime<Utc>) -> Snapshot {
        snapshot(self.users.values(), now)
    }

    /// A full read that still shows the users deleted without a record, as last seen.
    fn with_ghosts(&self, now: DateTime<Utc>) -> Snapshot {
        let mut all = self.users.clone();
        all.extend(self.ghosts.clone());
        snapshot(all.values(), now)
    }
}

fn planned(world: &World, snapshot: &Snapshot) -> Plan {
    let mut world = world.clone();
    world.users = snapshot.users.clone();
    world.plan()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn incremental_runs_converge_with_full_reads(steps in proptest::collection::vec(step(), 1..25)) {
        let mut now = crate::planner::model::epoch();
        let mut directory = Directory::default();
        let mut kept = directory.full_read(now);
        let mut world = World::new(Vec::new(), Vec::new(), Vec::new());
        for step in &steps {
            if let Step::Hours(hours) = step {
                now += TimeDelta::hours(*hours);
            }
            let changes = directory.play(step, now);
            kept = merge_changes(kept, changes, now);
            let incremental = planned(&world, &kept);
            prop_assert_eq!(&incremental, &planned(&world, &directory.with_ghosts(now)), "step {:?}", step);
            for ghost in directory.ghosts.keys() {
                prop_assert!(
                    !incremental.removes.iter().any(|r| &r.object_id == ghost && r.reason == RemovalCause::Deleted),
                    "a deletion without a record removed {}", ghost
                );
            }
            if directory.ghosts.is_empty() {
                prop_assert_eq!(&incremental, &planned(&world, &directory.full_read(now)));
            }
            world.apply(&incremental);
        }
        // The full reconciliation removes what the deltas could not: every synced user
        // deleted without a record.
        let full = planned(&world, &directory.full_read(now));
        for ghost in directory.ghosts.keys().filter(|g| world.mapping(g.as_str()).is_some()) {
            prop_assert!(
                full.removes.iter().any(|r| &r.object_id == ghost && r.reason == RemovalCause::Deleted),
                "the full read removes {}", ghost
            );
        }
    }
}
