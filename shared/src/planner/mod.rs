//! The sync planner: from a directory snapshot, the mappings, the PBX extensions and the
//! config to a [`Plan`] (CONTRACTS section 3). Pure: no I/O, no clock, no randomness; every
//! list of the plan is sorted by object id. Hash maps keep it linear in the input size.

mod avatars;
mod changes;
mod eligibility;
mod explain;
mod numbers;
mod objects;
mod phonebook;
mod removals;
mod write_back;

#[cfg(test)]
pub(crate) mod model;
#[cfg(test)]
mod model_objects;
#[cfg(test)]
mod model_phonebook;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod proptests_objects;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_creates;
#[cfg(test)]
mod tests_organizations;
#[cfg(test)]
mod tests_phonebook;
#[cfg(test)]
mod tests_sip;
#[cfg(test)]
mod tests_write_back;

use std::collections::{HashMap, HashSet};

pub use explain::{explain, NextRun, UserExplanation};

use crate::domain::config::{DirectoryConfig, ExtensionNumbers};
use crate::domain::extension::Extension;
use crate::domain::ids::{ExtensionId, ObjectId};
use crate::domain::mapping::{Mapping, MappingLink};
use crate::domain::organization::{ExtensionGroup, ObjectMapping, Organization};
use crate::domain::phonebook::PhonebookEntry;
use crate::domain::plan::{
    Conflict, ConflictReason, Plan, PlannedCreate, PlannedRemove, PlannedUpdate, SkipReason,
    Skipped,
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
    /// The organization and group mappings.
    pub object_mappings: &'a [ObjectMapping],
    /// Every PBX organization and extension group, manual ones included.
    pub organizations: &'a [Organization],
    pub groups: &'a [ExtensionGroup],
    /// Every PBX phonebook entry, manual ones included (empty when `extra_numbers` is off
    /// and sync keeps no entries).
    pub phonebook: &'a [PhonebookEntry],
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
        /// The keyed hash of the SIP password last sent.
        sip_sent: Option<&'a str>,
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

/// The plan of CONTRACTS section 3, one step per rule: removals and the deletion guard,
/// eligibility, duplicate emails, the updates of mapped users, then (only when someone is to
/// be created) recreates and new users, with conflicts, adoption and the record limit; then
/// organizations, extension groups and phonebook entries. The deletion guard counts the organizations and
/// groups a plan deletes too: when they tip it, the plan is made again with removals held.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let plan = plan_held(input, false);
    if !plan.removals_held && removals::held_with_objects(&plan, input) {
        return plan_held(input, true);
    }
    plan
}

fn plan_held(input: &PlanInput<'_>, hold: bool) -> Plan {
    let config = input.config;
    let rules = Rules::new(config);
    let index = Index::new(input);
    let Standings { active, removes } = removal_standings(&index, input);
    let removals_held = hold || removals::held(&removes, config, input.approved_removals);
    let eligible = unique_emails(eligibility(active, &index, &rules));
    let mapped = mapped_users(eligible.mapped, &rules, !eligible.new.is_empty());
    let mut plan = Plan {
        updates: mapped.updates,
        unchanged: mapped.unchanged,
        skipped: eligible.skipped,
        removals_held,
        ..Plan::default()
    };

    // Most runs create nobody: nothing more to check, and no holders of the PBX to build.
    if mapped.recreates.is_empty() && eligible.new.is_empty() {
        plan.removes = removes;
        let plan = with_objects(plan, input, &index, &mapped.kept);
        return finish(write_back::plan_write_backs(
            plan,
            config,
            &index,
            &mapped.kept,
        ));
    }

    // Creates are checked against the PBX as this plan leaves it.
    let freed = removals::freed(&removes, removals_held);
    let effects = PlanEffects {
        dropped: freed.dropped,
        deleted: freed.deleted,
        released: freed.released,
        emails: mapped.updated_emails,
    };
    let holders = Holders::new(input.extensions, input.mappings, &effects);
    let recreated = recreates(&mapped.recreates, &holders, &rules);
    let mut new_users = NewUsers {
        holders: &holders,
        directory_numbers: &mapped.directory_numbers,
        // Numbers claimed by users that create before them (whatever becomes of the create).
        claimed: mapped.recreates.iter().map(|(_, number)| *number).collect(),
        places: free_places(input, &effects),
        auto: match config.extension_numbers {
            ExtensionNumbers::Auto(range) => Some(AutoNumbers::new(
                range.start(),
                range.end(),
                input.extensions,
                input.mappings,
                &effects,
            )),
            ExtensionNumbers::Attribute { .. } => None,
        },
        adopt_by_email: config.adopt_existing_by_email,
        rules: &rules,
    };
    let created: Vec<Decision> = eligible
        .new
        .iter()
        .map(|candidate| new_users.decide(candidate))
        .collect();
    for decision in recreated.into_iter().chain(created) {
        decision.record(&mut plan);
    }

    plan.removes = removes;
    let plan = with_objects(plan, input, &index, &mapped.kept);
    finish(write_back::plan_write_backs(
        plan,
        config,
        &index,
        &mapped.kept,
    ))
}

/// The organisation side, planned from the users this plan keeps synced.
fn with_objects(
    mut plan: Plan,
    input: &PlanInput<'_>,
    index: &Index<'_>,
    kept: &[(&DirectoryUser, &Extension)],
) -> Plan {
    let user = |id: &ObjectId| {
        index
            .users
            .binary_search_by(|u| u.object_id.cmp(id))
            .ok()
            .map(|i| index.users[i])
    };
    let mut synced: Vec<objects::SyncedUser<'_>> = kept
        .iter()
        .map(|(user, ext)| objects::SyncedUser {
            user,
            extension: Some(ext),
        })
        .collect();
    for update in plan.updates.iter().filter(|u| u.adopt) {
        if let (Some(user), Some(ext)) = (
            user(&update.object_id),
            index.extensions.get(&update.extension_id),
        ) {
            synced.push(objects::SyncedUser {
                user,
                extension: Some(ext),
            });
        }
    }
    for create in &plan.creates {
        if let Some(user) = user(&create.object_id) {
            synced.push(objects::SyncedUser {
                user,
                extension: None,
            });
        }
    }
    avatars::plan_avatars(&mut plan, input, index, kept);
    objects::plan_objects(input, &synced, &mut plan);
    phonebook::plan_phonebook(input, &synced, &mut plan);
    plan
}

/// The input indexed for lookups, its users in object id order.
struct Index<'a> {
    users: Vec<&'a DirectoryUser>,
    mapping_of: HashMap<&'a ObjectId, &'a Mapping>,
    extensions: HashMap<&'a ExtensionId, &'a Extension>,
}

impl<'a> Index<'a> {
    fn new(input: &PlanInput<'a>) -> Self {
        let extensions = input.extensions.iter().map(|e| (&e.id, e)).collect();
        let mut mapping_of = HashMap::with_capacity(input.mappings.len());
        for mapping in input.mappings {
            mapping_of.entry(&mapping.object_id).or_insert(mapping);
        }
        // A repeated object id keeps its first occurrence (the sort is stable).
        let mut users: Vec<&DirectoryUser> = input.snapshot.users.iter().collect();
        users.sort_by(|a, b| a.object_id.cmp(&b.object_id));
        users.dedup_by(|later, first| later.object_id == first.object_id);
        Self {
            users,
            mapping_of,
            extensions,
        }
    }
}

/// Users by removal standing: the removals of mapped users, and the users that go on.
struct Standings<'a> {
    active: Vec<(&'a DirectoryUser, Option<&'a Mapping>)>,
    removes: Vec<PlannedRemove>,
}

/// `remove_when` and `on_remove`: mapped users in a removal state, and mapped users absent
/// from a read that proves their deletion. A read cut short removes nobody.
fn removal_standings<'a>(index: &Index<'a>, input: &PlanInput<'a>) -> Standings<'a> {
    let config = input.config;
    let may_remove = input.snapshot.complete;
    let mut standings = Standings {
        active: Vec::with_capacity(index.users.len()),
        removes: Vec::new(),
    };
    for &user in &index.users {
        let mapping = index.mapping_of.get(&user.object_id).copied();
        match standing(user, config) {
            Standing::Remove(reason) => {
                if let (Some(mapping), true) = (mapping, may_remove) {
                    standings.removes.extend(removals::remove_of(
                        mapping,
                        user.display_name(),
                        reason,
                        config.on_remove,
                    ));
                }
            }
            Standing::Frozen => {}
            Standing::Active => standings.active.push((user, mapping)),
        }
    }
    let absent_reason = removals::absent_reason(input.snapshot.coverage, config);
    if let (Some(reason), true) = (absent_reason, may_remove) {
        let present: HashSet<&ObjectId> = index.users.iter().map(|u| &u.object_id).collect();
        for (object_id, mapping) in &index.mapping_of {
            if !present.contains(object_id) {
                standings.removes.extend(removals::remove_of(
                    mapping,
                    mapping.display_name(),
                    reason,
                    config.on_remove,
                ));
            }
        }
    }
    standings
}

/// Eligible users, mapped ones apart (they come first, so that they keep their email and
/// number), and the skips of the others.
struct Eligible<'a> {
    mapped: Vec<Candidate<'a>>,
    new: Vec<Candidate<'a>>,
    skipped: Vec<Skipped>,
}

/// Eligibility: an email, and a number for a user that would be created; what each mapped
/// user needs follows from its link.
fn eligibility<'a>(
    active: Vec<(&'a DirectoryUser, Option<&'a Mapping>)>,
    index: &Index<'a>,
    rules: &Rules,
) -> Eligible<'a> {
    let mut eligible = Eligible {
        mapped: Vec::new(),
        new: Vec::new(),
        skipped: Vec::new(),
    };
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
                )) => match index.extensions.get(extension_id) {
                    Some(ext) => Need::Compare {
                        ext,
                        disabled_by_sync: *disabled_by_sync,
                        sip_sent: mapping.sip_password_hash.as_deref(),
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
            Err(reason) => eligible.skipped.push(skipped(user, reason)),
            Ok((email, need)) => {
                let candidate = Candidate {
                    user,
                    fields,
                    email,
                    email_key: email.to_lowercase(),
                    need,
                };
                if mapping.is_some() {
                    eligible.mapped.push(candidate);
                } else {
                    eligible.new.push(candidate);
                }
            }
        }
    }
    eligible
}

/// Duplicate emails inside the directory: the earlier user keeps the email. (Duplicate
/// numbers are found among the users that really create: an adopter needs none.)
fn unique_emails<'a>(mut eligible: Eligible<'a>) -> Eligible<'a> {
    let mut emails_seen = HashSet::new();
    let mut unique = |candidates: Vec<Candidate<'a>>, skips: &mut Vec<Skipped>| {
        let mut kept = Vec::with_capacity(candidates.len());
        for candidate in candidates {
            if emails_seen.insert(candidate.email_key.clone()) {
                kept.push(candidate);
            } else {
                skips.push(skipped(candidate.user, SkipReason::DuplicateEmail));
            }
        }
        kept
    };
    eligible.mapped = unique(std::mem::take(&mut eligible.mapped), &mut eligible.skipped);
    eligible.new = unique(std::mem::take(&mut eligible.new), &mut eligible.skipped);
    eligible
}

/// What mapped users need: updates (with re-enables), and recreates, which wait for the PBX
/// view.
struct Mapped<'a> {
    updates: Vec<PlannedUpdate>,
    unchanged: usize,
    /// The new email of each extension whose email an update changes.
    updated_emails: HashMap<&'a ExtensionId, Option<&'a str>>,
    /// Users whose linked extension is gone, with the number to create it again with.
    recreates: Vec<(Candidate<'a>, &'a str)>,
    /// The directory numbers of mapped users: a new user with one of them is a duplicate
    /// inside the directory, whatever the PBX holds. Only gathered when there are new users
    /// to check (most runs have none).
    directory_numbers: HashSet<String>,
    /// Users whose linked extension stays, with it.
    kept: Vec<(&'a DirectoryUser, &'a Extension)>,
}

/// Updates: the synced fields that differ from the linked extension, and the re-enable of
/// one that `on_remove: disable` disabled.
fn mapped_users<'a>(mapped: Vec<Candidate<'a>>, rules: &Rules, any_new: bool) -> Mapped<'a> {
    let mut out = Mapped {
        updates: Vec::new(),
        unchanged: 0,
        updated_emails: HashMap::new(),
        recreates: Vec::new(),
        directory_numbers: HashSet::new(),
        kept: Vec::new(),
    };
    for candidate in mapped {
        if any_new {
            if let Ok(Some(number)) = rules.new_number(candidate.user) {
                out.directory_numbers.insert(number);
            }
        }
        match candidate.need {
            Need::Hold | Need::New { .. } => {}
            Need::Recreate { mapping } => out.recreates.push((candidate, mapping.number.trim())),
            Need::Compare {
                ext,
                disabled_by_sync,
                sip_sent,
            } => {
                out.kept.push((candidate.user, ext));
                let mut changes = changes::field_changes(rules.synced, &candidate.fields, ext);
                changes.sip_password =
                    changes::sip_password_change(rules.sip_password, candidate.user, sip_sent);
                if changes.email.is_some() {
                    out.updated_emails.insert(&ext.id, candidate.fields.email);
                }
                if disabled_by_sync && !ext.enabled {
                    changes::add_reenable(&mut changes);
                }
                if changes.is_empty() {
                    out.unchanged += 1;
                } else {
                    out.updates.push(PlannedUpdate {
                        object_id: candidate.user.object_id.clone(),
                        extension_id: ext.id.clone(),
                        name: candidate.user.display_name(),
                        changes,
                        adopt: false,
                        organization_source: None,
                    });
                }
            }
        }
    }
    out
}

/// The record places free for new users: mapped users keep theirs, and a mapping this plan
/// ends frees its place.
fn free_places(input: &PlanInput<'_>, effects: &PlanEffects<'_>) -> usize {
    let kept = input.mappings.len().saturating_sub(effects.dropped.len());
    (input.config.record_limit as usize).saturating_sub(kept)
}

/// What the plan does with one user that would be created.
enum Decision {
    Create(PlannedCreate),
    /// `adopt_existing_by_email`: the extension joins the mapping, updated.
    Adopt(PlannedUpdate),
    Conflict(Conflict),
    Skip(Skipped),
}

impl Decision {
    fn record(self, plan: &mut Plan) {
        match self {
            Decision::Create(create) => plan.creates.push(create),
            Decision::Adopt(update) => plan.updates.push(update),
            Decision::Conflict(conflict) => plan.conflicts.push(conflict),
            Decision::Skip(skip) => plan.skipped.push(skip),
        }
    }
}

/// Recreates of extensions deleted on the PBX: with their mapped number, unless an earlier
/// recreate claims it or the PBX holds it or the email.
fn recreates(
    recreates: &[(Candidate<'_>, &str)],
    holders: &Holders<'_>,
    rules: &Rules,
) -> Vec<Decision> {
    let mut claimed = HashSet::new();
    recreates
        .iter()
        .map(|(candidate, number)| {
            if !claimed.insert(*number) {
                Decision::Skip(skipped(candidate.user, SkipReason::DuplicateExtension))
            } else if let Err(conflict) = free_of_holders(holders, candidate, Some(number)) {
                Decision::Conflict(conflict)
            } else {
                Decision::Create(planned_create(candidate, number, rules))
            }
        })
        .collect()
}

/// New users, decided one at a time in object id order: each takes a record place and a
/// number that earlier ones leave.
struct NewUsers<'p, 'a> {
    holders: &'p Holders<'a>,
    directory_numbers: &'p HashSet<String>,
    /// Numbers claimed by earlier users that create.
    claimed: HashSet<&'p str>,
    places: usize,
    /// The allocator of `extension_numbers.mode = auto`.
    auto: Option<AutoNumbers<'a>>,
    adopt_by_email: bool,
    rules: &'p Rules,
}

impl<'p> NewUsers<'p, '_> {
    /// Adoption by email, else a create: a duplicate number or a PBX holder stops it; then
    /// the record limit; then, in `auto` mode, the number.
    fn decide(&mut self, candidate: &'p Candidate<'_>) -> Decision {
        let skip = |reason| Decision::Skip(skipped(candidate.user, reason));
        let attribute_number = candidate.create_number();
        let adopt = self
            .adopt_by_email
            .then(|| self.holders.adoptable(&candidate.email_key))
            .flatten();
        if adopt.is_none() {
            if attribute_number
                .is_some_and(|n| self.directory_numbers.contains(n) || !self.claimed.insert(n))
            {
                return skip(SkipReason::DuplicateExtension);
            }
            if let Err(conflict) = free_of_holders(self.holders, candidate, attribute_number) {
                return Decision::Conflict(conflict);
            }
        }
        if self.places == 0 {
            return skip(SkipReason::RecordLimit);
        }
        if let Some(ext) = adopt {
            self.places -= 1;
            let mut changes = changes::field_changes(self.rules.synced, &candidate.fields, ext);
            changes.sip_password =
                changes::sip_password_change(self.rules.sip_password, candidate.user, None);
            return Decision::Adopt(PlannedUpdate {
                object_id: candidate.user.object_id.clone(),
                extension_id: ext.id.clone(),
                name: candidate.user.display_name(),
                changes,
                adopt: true,
                organization_source: None,
            });
        }
        let number = match (attribute_number, self.auto.as_mut()) {
            (Some(number), _) => number.to_string(),
            (None, Some(auto)) => match auto.take() {
                Some(number) => number,
                None => return skip(SkipReason::NoFreeNumber),
            },
            // Unreachable: attribute mode always has a number here; skip rather than panic.
            (None, None) => return skip(SkipReason::MissingExtension),
        };
        self.places -= 1;
        Decision::Create(planned_create(candidate, &number, self.rules))
    }
}

fn skipped(user: &DirectoryUser, reason: SkipReason) -> Skipped {
    Skipped {
        object_id: user.object_id.clone(),
        name: user.display_name(),
        reason,
    }
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

fn planned_create(candidate: &Candidate<'_>, number: &str, rules: &Rules) -> PlannedCreate {
    PlannedCreate {
        object_id: candidate.user.object_id.clone(),
        name: candidate.user.display_name(),
        number: number.to_string(),
        email: candidate.email.to_string(),
        request: changes::create_request(number, &candidate.fields, rules.welcome_email),
        organization_source: None,
        avatar: None,
    }
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
