//! One directory user explained (`GET .../users/{object_id}`): what the directory holds for
//! them, whether they are in the scope and why, eligible or why not, their mapping, and what
//! the plan of the next run does to them. Pure: it reads the plan the planner makes.

use serde::Serialize;

use super::eligibility::{standing, Standing};
use super::{plan, PlanInput};
use crate::domain::config::Scope;
use crate::domain::ids::ObjectId;
use crate::domain::mapping::Mapping;
use crate::domain::plan::{Conflict, PlannedCreate, PlannedRemove, PlannedUpdate, SkipReason};
use crate::domain::user::{Coverage, DirectoryUser, UserState};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserExplanation {
    pub object_id: ObjectId,
    /// The user as read, with the synced fields only; `None` when the read did not find them.
    pub directory: Option<DirectoryUser>,
    pub in_scope: bool,
    /// Why the user is in the scope or not, in words.
    pub scope: String,
    /// In the scope, not removed, and with what a create needs (email, number).
    pub eligible: bool,
    pub skip_reason: Option<SkipReason>,
    pub mapping: Option<Mapping>,
    pub next_run: NextRun,
}

/// What the next run does to the user, with the plan's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum NextRun {
    Create {
        create: PlannedCreate,
    },
    Update {
        update: PlannedUpdate,
    },
    Remove {
        remove: PlannedRemove,
    },
    /// A removal the deletion guard holds until an admin approves the run.
    RemoveHeld {
        remove: PlannedRemove,
    },
    Conflict {
        conflict: Conflict,
    },
    Skip {
        reason: SkipReason,
    },
    /// Mapped and up to date, or not synced and not to be (with why).
    Nothing {
        why: String,
    },
}

/// The explanation of `object_id`, or `None` when neither the directory nor the mappings
/// know the user.
pub fn explain(input: &PlanInput<'_>, object_id: &ObjectId) -> Option<UserExplanation> {
    let user = input
        .snapshot
        .users
        .iter()
        .find(|u| &u.object_id == object_id);
    let mapping = input.mappings.iter().find(|m| &m.object_id == object_id);
    if user.is_none() && mapping.is_none() {
        return None;
    }
    let plan = plan(input);
    let of = |id: &ObjectId| id == object_id;
    let skip_reason = plan
        .skipped
        .iter()
        .find(|s| of(&s.object_id))
        .map(|s| s.reason);
    let next_run = if let Some(c) = plan.creates.iter().find(|c| of(&c.object_id)) {
        NextRun::Create { create: c.clone() }
    } else if let Some(u) = plan.updates.iter().find(|u| of(&u.object_id)) {
        NextRun::Update { update: u.clone() }
    } else if let Some(r) = plan.removes.iter().find(|r| of(&r.object_id)) {
        match plan.removals_held {
            true => NextRun::RemoveHeld { remove: r.clone() },
            false => NextRun::Remove { remove: r.clone() },
        }
    } else if let Some(c) = plan.conflicts.iter().find(|c| of(&c.object_id)) {
        NextRun::Conflict {
            conflict: c.clone(),
        }
    } else if let Some(reason) = skip_reason {
        NextRun::Skip { reason }
    } else {
        NextRun::Nothing {
            why: nothing_because(user, mapping),
        }
    };
    // Past `remove_when` and the scope, and past the eligibility checks.
    let active = user.is_some_and(|u| standing(u, input.config) == Standing::Active);
    Some(UserExplanation {
        object_id: object_id.clone(),
        directory: user.cloned(),
        in_scope: user.is_some_and(|u| u.in_scope),
        scope: scope_reason(input, user),
        // A photo skip leaves the user synced (a user skipped otherwise gets no photo step).
        eligible: active && skip_reason.is_none_or(super::avatars::is_photo_skip),
        skip_reason,
        // The keyed hash of the SIP password last sent is the store's business, never shown.
        mapping: mapping.cloned().map(|mut m| {
            m.sip_password_hash = None;
            m
        }),
        next_run,
    })
}

fn nothing_because(user: Option<&DirectoryUser>, mapping: Option<&Mapping>) -> String {
    match (user, mapping) {
        (Some(_), Some(m)) if m.extension_id().is_some() => {
            "mapped, and the extension matches the directory".into()
        }
        (Some(_), Some(_)) => {
            "a create an earlier run began: the next run finishes it with the same key".into()
        }
        (Some(u), None) if u.state != UserState::Active || !u.in_scope => {
            "not synced: the account is not active or not in the scope, and has no extension".into()
        }
        _ => "not in the directory read, and remove_when keeps its extension".into(),
    }
}

/// The scope's verdict on the user, in words.
fn scope_reason(input: &PlanInput<'_>, user: Option<&DirectoryUser>) -> String {
    let Some(user) = user else {
        return match input.snapshot.coverage {
            Coverage::WholeDirectory => "not in the directory: deleted".into(),
            Coverage::ScopeOnly => "not in the scope's read: deleted or left the scope".into(),
        };
    };
    let verdict =
        |inside: &str, outside: &str| if user.in_scope { inside } else { outside }.to_string();
    match &input.config.scope {
        Scope::All => "the scope is every user".into(),
        Scope::Ous { .. } => verdict(
            "under one of the OUs of scope.ous",
            "not under any OU of scope.ous",
        ),
        Scope::Groups { .. } => verdict(
            "a member (nested membership counts) of a group of scope.groups",
            "not a member of any group of scope.groups",
        ),
        Scope::Filter { .. } => verdict("matches scope.filter", "does not match scope.filter"),
        Scope::Users { .. } => verdict("listed in scope.users", "not listed in scope.users"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::planner::model::*;

    fn explained(w: &World, id: &str) -> Option<UserExplanation> {
        let snapshot = crate::domain::user::Snapshot {
            users: w.users.clone(),
            organizations: Vec::new(),
            groups: Vec::new(),
            coverage: w.coverage,
            complete: w.complete,
            change_cursor: None,
        };
        explain(
            &PlanInput {
                snapshot: &snapshot,
                mappings: &w.mappings,
                extensions: &w.extensions,
                config: &w.config,
                approved_removals: &HashSet::new(),
                object_mappings: &[],
                organizations: &[],
                groups: &[],
                phonebook: &[],
            },
            &oid(id),
        )
    }

    #[test]
    fn each_user_is_told_what_the_next_run_does() {
        let mut w = synced_pair();
        w.users.push(user("u2", "Bob", "bob@x.com", "102"));
        w.users.push(user("u3", "Cy", "", "103"));
        w.mappings.push(linked("u9", "e9", "109"));
        w.extensions.push(ext("e9", "109", "Gone", "gone@x.com"));
        let up_to_date = explained(&w, "u1").expect("u1");
        assert!(up_to_date.eligible && up_to_date.in_scope);
        assert_eq!(up_to_date.scope, "the scope is every user");
        assert!(matches!(up_to_date.next_run, NextRun::Nothing { .. }));
        assert!(up_to_date.mapping.is_some());
        let new = explained(&w, "u2").expect("u2");
        assert!(matches!(&new.next_run, NextRun::Create { create } if create.number == "102"));
        let no_email = explained(&w, "u3").expect("u3");
        assert_eq!(no_email.skip_reason, Some(SkipReason::MissingEmail));
        assert!(!no_email.eligible);
        let deleted = explained(&w, "u9").expect("u9");
        assert!(deleted.directory.is_none());
        assert_eq!(deleted.scope, "not in the directory: deleted");
        assert!(matches!(deleted.next_run, NextRun::Remove { .. }));
        assert!(explained(&w, "nobody").is_none());
        w.config.deletion_guard.max_deletes = 0;
        let held = explained(&w, "u9").expect("u9");
        assert!(matches!(held.next_run, NextRun::RemoveHeld { .. }));
        w.users[1].state = UserState::Disabled;
        let disabled = explained(&w, "u2").expect("u2");
        assert!(!disabled.eligible, "remove_when holds disabled");
        assert!(matches!(disabled.next_run, NextRun::Nothing { .. }));
    }
}
