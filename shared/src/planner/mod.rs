//! The sync planner: from a directory snapshot, the mappings, the PBX extensions and the
//! config to a [`Plan`] (CONTRACTS section 3). Pure: no I/O, no clock, no randomness; every
//! list of the plan is sorted by object id. Hash maps keep it linear in the input size.

mod changes;
mod eligibility;
mod numbers;
mod removals;

#[cfg(test)]
mod model;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_creates;

use std::collections::{HashMap, HashSet};

use crate::domain::config::{DirectoryConfig, ExtensionNumbers};
use crate::domain::extension::Extension;
use crate::domain::ids::{ExtensionId, ObjectId};
use crate::domain::mapping::{Mapping, MappingLink};
use crate::domain::plan::{
    Conflict, ConflictReason, Plan, PlannedCreate, PlannedUpdate, SkipReason, Skipped,
};
use crate::domain::user::{DirectoryUser, Snapshot};

use eligibility::{checked_email, standing, Fields, Rules, Standing};
use numbers::{AutoNumbers, Holders, PlanEffects};

/// Everything the planner looks at.
pub struct PlanInput<'a> {
    pub snapshot: &'a Snapshot,
    pub mappings: &'a [Mapping],
    /// Every PBX extension of the tenant, manual ones included.
    pub extensions: &'a [Extension],
    pub config: &'a DirectoryConfig,
    /// Removals an admin approved after the deletion guard held them: they do not count
    /// towards `deletion_guard.max_deletes`.
    pub approved_removals: &'a HashSet<ObjectId>,
}

/// An eligible user and what it needs.
struct Candidate<'a> {
    user: &'a DirectoryUser,
    fields: Fields<'a>,
    email: &'a str,
    email_key: String,
    need: Need<'a>,
}

enum Need<'a> {
    /// A pending create intent holds the user's place; the engine reconciles it.
    Hold,
    /// Compare with the linked extension.
    Compare {
        ext: &'a Extension,
        disabled_by_sync: bool,
    },
    /// The linked extension was deleted on the PBX: create it again with its number.
    Recreate { mapping: &'a Mapping },
    /// Unmapped: adopt or create; `number` is `None` in `auto` mode.
    New { number: Option<String> },
}

impl Candidate<'_> {
    /// The number a create for this user would carry, when known before allocation.
    fn create_number(&self) -> Option<&str> {
        match &self.need {
            Need::Recreate { mapping } => Some(mapping.number.trim()),
            Need::New { number } => number.as_deref(),
            Need::Hold | Need::Compare { .. } => None,
        }
    }
}

pub fn plan(input: &PlanInput<'_>) -> Plan {
    let config = input.config;
    let rules = Rules::new(config);
    let extensions: HashMap<&ExtensionId, &Extension> =
        input.extensions.iter().map(|e| (&e.id, e)).collect();
    let mut mapping_of: HashMap<&ObjectId, &Mapping> = HashMap::with_capacity(input.mappings.len());
    for mapping in input.mappings {
        mapping_of.entry(&mapping.object_id).or_insert(mapping);
    }
    // Object id order; a repeated object id keeps its first occurrence (the sort is stable).
    let mut users: Vec<&DirectoryUser> = input.snapshot.users.iter().collect();
    users.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    users.dedup_by(|later, first| later.object_id == first.object_id);

    let mut plan = Plan::default();
    // Kept apart from `plan` until the end: what they free is borrowed while creates are planned.
    let mut removes = Vec::new();
    let may_remove = input.snapshot.complete;

    // 1. Removal standing; removals of mapped users.
    let mut active = Vec::with_capacity(users.len());
    for &user in &users {
        let mapping = mapping_of.get(&user.object_id).copied();
        match standing(user, config) {
            Standing::Remove(reason) => {
                if let (Some(mapping), true) = (mapping, may_remove) {
                    removes.extend(removals::remove_of(
                        mapping,
                        user.display_name(),
                        reason,
                        config.on_remove,
                    ));
                }
            }
            Standing::Frozen => {}
            Standing::Active => active.push((user, mapping)),
        }
    }
    if may_remove {
        if let Some(reason) = removals::absent_reason(input.snapshot.coverage, config) {
            let present: HashSet<&ObjectId> = users.iter().map(|u| &u.object_id).collect();
            for (object_id, mapping) in &mapping_of {
                if !present.contains(object_id) {
                    removes.extend(removals::remove_of(
                        mapping,
                        mapping.display_name(),
                        reason,
                        config.on_remove,
                    ));
                }
            }
        }
    }
    plan.removals_held = removals::held(&removes, config, input.approved_removals);

    // 2. Eligibility; mapped users come first so that they keep their email and number.
    let mut mapped = Vec::new();
    let mut unmapped = Vec::new();
    for (user, mapping) in active {
        let fields = rules.fields(user);
        let checked = checked_email(&fields).and_then(|email| {
            let need = match mapping.map(|m| (m, &m.link)) {
                Some((_, MappingLink::Pending { .. })) => Need::Hold,
                Some((
                    mapping,
                    MappingLink::Linked {
                        extension_id,
                        disabled_by_sync,
                    },
                )) => match extensions.get(extension_id) {
                    Some(ext) => Need::Compare {
                        ext,
                        disabled_by_sync: *disabled_by_sync,
                    },
                    None => Need::Recreate { mapping },
                },
                None => Need::New {
                    number: rules.new_number(user)?,
                },
            };
            Ok((email, need))
        });
        match checked {
            Err(reason) => skip(&mut plan, user, reason),
            Ok((email, need)) => {
                let candidate = Candidate {
                    user,
                    fields,
                    email,
                    email_key: email.to_lowercase(),
                    need,
                };
                if mapping.is_some() {
                    mapped.push(candidate);
                } else {
                    unmapped.push(candidate);
                }
            }
        }
    }

    // 3. Duplicate emails inside the directory: the earlier user keeps the email. (Duplicate
    // numbers are found among the users that really create, in step 5: an adopter needs none.)
    let mut emails_seen = HashSet::new();
    let mut kept_mapped = Vec::with_capacity(mapped.len());
    let mut kept_new = Vec::with_capacity(unmapped.len());
    for (is_mapped, candidate) in mapped
        .into_iter()
        .map(|c| (true, c))
        .chain(unmapped.into_iter().map(|c| (false, c)))
    {
        if !emails_seen.insert(candidate.email_key.clone()) {
            skip(&mut plan, candidate.user, SkipReason::DuplicateEmail);
        } else if is_mapped {
            kept_mapped.push(candidate);
        } else {
            kept_new.push(candidate);
        }
    }

    // 4. Mapped users: updates (with re-enables); recreates wait for the PBX view.
    let mut updated_emails = HashMap::new();
    let mut recreates = Vec::new();
    // The directory numbers of mapped users: a new user with one of them is a duplicate inside
    // the directory, whatever the PBX holds. (Only new users look: most runs have none.)
    let mut mapped_numbers = HashSet::new();
    for candidate in kept_mapped {
        if !kept_new.is_empty() {
            if let Ok(Some(number)) = rules.new_number(candidate.user) {
                mapped_numbers.insert(number);
            }
        }
        match candidate.need {
            Need::Hold | Need::New { .. } => {}
            Need::Recreate { mapping } => recreates.push((candidate, mapping.number.trim())),
            Need::Compare {
                ext,
                disabled_by_sync,
            } => {
                let mut changes = changes::field_changes(rules.synced, &candidate.fields, ext);
                if changes.contains_key("email") {
                    updated_emails.insert(&ext.id, candidate.fields.email);
                }
                if disabled_by_sync && !ext.enabled {
                    changes::add_reenable(&mut changes);
                }
                if changes.is_empty() {
                    plan.unchanged += 1;
                } else {
                    plan.updates.push(PlannedUpdate {
                        object_id: candidate.user.object_id.clone(),
                        extension_id: ext.id.clone(),
                        name: candidate.user.display_name(),
                        changes,
                        adopt: false,
                    });
                }
            }
        }
    }

    // Most runs create nobody: nothing more to check, and no holders of the PBX to build.
    if recreates.is_empty() && kept_new.is_empty() {
        plan.removes = removes;
        return finish(plan);
    }

    // 5. Creates, checked against the PBX as this plan leaves it.
    let freed = removals::freed(&removes, plan.removals_held);
    let effects = PlanEffects {
        dropped: freed.dropped,
        deleted: freed.deleted,
        released: freed.released,
        emails: updated_emails,
    };
    let holders = Holders::new(input.extensions, input.mappings, &effects);
    // Numbers claimed by earlier users that create (whatever then becomes of the create).
    let mut numbers_claimed = HashSet::new();
    for (candidate, number) in &recreates {
        if !numbers_claimed.insert(*number) {
            skip(&mut plan, candidate.user, SkipReason::DuplicateExtension);
        } else if let Err(conflict) = free_of_holders(&holders, candidate, Some(number)) {
            plan.conflicts.push(conflict);
        } else {
            push_create(&mut plan, candidate, number);
        }
    }

    let mut places = (config.record_limit as usize)
        .saturating_sub(input.mappings.len().saturating_sub(effects.dropped.len()));
    let mut auto = match config.extension_numbers {
        ExtensionNumbers::Auto { start, end } => Some(AutoNumbers::new(
            start,
            end,
            input.extensions,
            input.mappings,
            &effects,
        )),
        ExtensionNumbers::Attribute { .. } => None,
    };
    for candidate in &kept_new {
        let attribute_number = candidate.create_number();
        let adopt = config
            .adopt_existing_by_email
            .then(|| holders.adoptable(&candidate.email_key))
            .flatten();
        if adopt.is_none() {
            if attribute_number
                .is_some_and(|n| mapped_numbers.contains(n) || !numbers_claimed.insert(n))
            {
                skip(&mut plan, candidate.user, SkipReason::DuplicateExtension);
                continue;
            }
            if let Err(conflict) = free_of_holders(&holders, candidate, attribute_number) {
                plan.conflicts.push(conflict);
                continue;
            }
        }
        if places == 0 {
            skip(&mut plan, candidate.user, SkipReason::RecordLimit);
            continue;
        }
        if let Some(ext) = adopt {
            places -= 1;
            plan.updates.push(PlannedUpdate {
                object_id: candidate.user.object_id.clone(),
                extension_id: ext.id.clone(),
                name: candidate.user.display_name(),
                changes: changes::field_changes(rules.synced, &candidate.fields, ext),
                adopt: true,
            });
            continue;
        }
        let number = match (attribute_number, auto.as_mut()) {
            (Some(number), _) => number.to_string(),
            (None, Some(auto)) => match auto.take() {
                Some(number) => number,
                None => {
                    skip(&mut plan, candidate.user, SkipReason::NoFreeNumber);
                    continue;
                }
            },
            // Unreachable: attribute mode always has a number here; skip rather than panic.
            (None, None) => {
                skip(&mut plan, candidate.user, SkipReason::MissingExtension);
                continue;
            }
        };
        places -= 1;
        push_create(&mut plan, candidate, &number);
    }

    plan.removes = removes;
    finish(plan)
}

fn skip(plan: &mut Plan, user: &DirectoryUser, reason: SkipReason) {
    plan.skipped.push(Skipped {
        object_id: user.object_id.clone(),
        name: user.display_name(),
        reason,
    });
}

/// A create is a conflict when the PBX (or a pending create) already holds its number, else
/// its email. Conflicts are recorded, never forced.
fn free_of_holders(
    holders: &Holders<'_>,
    candidate: &Candidate<'_>,
    number: Option<&str>,
) -> Result<(), Conflict> {
    let taken = number
        .and_then(|n| holders.number(n))
        .map(|holder| (ConflictReason::NumberTaken, holder))
        .or_else(|| {
            holders
                .email(&candidate.email_key)
                .map(|holder| (ConflictReason::EmailTaken, holder))
        });
    match taken {
        None => Ok(()),
        Some((reason, holder)) => Err(Conflict {
            object_id: candidate.user.object_id.clone(),
            name: candidate.user.display_name(),
            reason,
            holder_extension_id: holder.cloned(),
        }),
    }
}

fn push_create(plan: &mut Plan, candidate: &Candidate<'_>, number: &str) {
    plan.creates.push(PlannedCreate {
        object_id: candidate.user.object_id.clone(),
        name: candidate.user.display_name(),
        number: number.to_string(),
        email: candidate.email.to_string(),
        request: changes::create_request(number, &candidate.fields),
    });
}

/// Sorts every list by object id and writes the summary.
fn finish(mut plan: Plan) -> Plan {
    plan.creates.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    plan.updates.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    plan.removes.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    plan.skipped.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    plan.conflicts.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    plan.summary = removals::summary(
        plan.creates.len(),
        plan.updates.len(),
        plan.removes.len(),
        plan.removals_held,
    );
    plan
}
