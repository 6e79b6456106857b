//! The phonebook side of the plan (issue 14): each synced user's `extra_numbers` become
//! entries "{first} {last} {suffix}". Only entries in the mappings are ever deleted; an
//! entry sync did not create that has a wanted number makes that entry a `number_taken`
//! skip. The PBX has no PATCH for entries: a rename is delete then create (the number must be
//! free), a number change is a new entry (new key) created before the old one goes.

use std::collections::{HashMap, HashSet};

use crate::domain::ids::ObjectId;
use crate::domain::organization::{ObjectKind, ObjectLink, ObjectMapping};
use crate::domain::phonebook::{
    entry_key, entry_name, normalize_number, split_entry_key, EntryRemove, EntrySkip,
    EntrySkipReason, PhonebookChanges, PhonebookEntry, PlannedEntry, MAX_ENTRY_NAME_CHARS,
};
use crate::domain::plan::Plan;
use crate::domain::user::DirectoryUser;

use super::objects::SyncedUser;
use super::PlanInput;

/// One entry a synced user should have.
struct Wanted<'a> {
    user: &'a DirectoryUser,
    key: ObjectId,
    name: String,
    number: String,
}

/// Plans `plan.phonebook` from the users the plan keeps synced. Entries of users that are
/// neither synced nor removed (skipped, frozen) stay as they are; those of removed users stay
/// while the deletion guard holds the removals.
pub(super) fn plan_phonebook(input: &PlanInput<'_>, synced: &[SyncedUser<'_>], plan: &mut Plan) {
    let ours: Vec<&ObjectMapping> = input
        .object_mappings
        .iter()
        .filter(|m| m.kind == ObjectKind::PhonebookEntry)
        .collect();
    // A read cut short says nothing about anyone's numbers; a tenant without the feature
    // (and nothing left to clean up) has nothing to plan.
    if !input.snapshot.complete || (input.config.extra_numbers.is_empty() && ours.is_empty()) {
        return;
    }
    let mut changes = PhonebookChanges::default();
    let listed: HashMap<&str, &PhonebookEntry> =
        input.phonebook.iter().map(|e| (e.id.as_str(), e)).collect();
    let by_key: HashMap<&ObjectId, &ObjectMapping> =
        ours.iter().map(|m| (&m.object_id, *m)).collect();
    let owned: HashMap<&str, &ObjectMapping> = ours
        .iter()
        .filter_map(|m| m.pbx_id().map(|id| (id, *m)))
        .collect();
    let holder_of: HashMap<&str, &PhonebookEntry> = input
        .phonebook
        .iter()
        .map(|e| (e.number.as_str(), e))
        .collect();

    let mut users: Vec<&DirectoryUser> = synced.iter().map(|s| s.user).collect();
    users.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    users.dedup_by(|a, b| a.object_id == b.object_id);
    let wanted = wanted_entries(&users, &mut changes.skipped);
    let wanted_keys: HashSet<&ObjectId> = wanted.iter().map(|w| &w.key).collect();

    // A number stays with the entry that has it now; the others queue behind it.
    let mut claimed: HashSet<&str> = wanted
        .iter()
        .filter(|w| {
            by_key
                .get(&w.key)
                .and_then(|m| m.pbx_id())
                .and_then(|id| listed.get(id))
                .is_some_and(|e| e.number == w.number)
        })
        .map(|w| w.number.as_str())
        .collect();
    let removable = Removable::new(input, &users, plan);
    let mut replaced: HashSet<&ObjectId> = HashSet::new();
    for w in &wanted {
        let mapping = by_key.get(&w.key).copied();
        let current = mapping
            .and_then(|m| m.pbx_id())
            .and_then(|id| listed.get(id).copied());
        let create = |replaces| PlannedEntry {
            object_id: w.user.object_id.clone(),
            key: w.key.clone(),
            name: w.name.clone(),
            number: w.number.clone(),
            idempotency_key: None,
            replaces,
        };
        if let Some(ObjectLink::Pending { idempotency_key }) = mapping.map(|m| &m.link) {
            // Normally finished before planning; posted again with its key if not.
            claimed.insert(&w.number);
            changes.creates.push(PlannedEntry {
                idempotency_key: Some(idempotency_key.clone()),
                ..create(None)
            });
            continue;
        }
        // The entry sync keeps for this key, when its number was changed on the PBX: it
        // makes way for one with the directory's number.
        let mut edited = None;
        if let (Some(entry), Some(mapping)) = (current, mapping) {
            if entry.number != w.number {
                edited = Some(remove_of(mapping, entry));
            } else {
                if entry.name == w.name {
                    changes.unchanged += 1;
                } else {
                    changes
                        .creates
                        .push(create(Some(remove_of(mapping, entry))));
                }
                continue;
            }
        }
        let holder = holder_of.get(w.number.as_str()).copied();
        let skip = |holder: Option<&PhonebookEntry>| EntrySkip {
            object_id: w.user.object_id.clone(),
            name: w.name.clone(),
            number: w.number.clone(),
            reason: EntrySkipReason::NumberTaken,
            holder_id: holder.map(|h| h.id.clone()),
        };
        if !claimed.insert(&w.number) {
            changes.skipped.push(skip(holder));
            continue;
        }
        match holder {
            None => changes.creates.push(create(edited)),
            Some(entry) => match owned.get(entry.id.as_str()).copied() {
                // One of sync's entries no one wants any more (and this plan may remove): it
                // makes room first. Not when this key's own entry must go too (one at a time).
                Some(theirs)
                    if edited.is_none()
                        && !wanted_keys.contains(&theirs.object_id)
                        && removable.allows(&theirs.object_id) =>
                {
                    replaced.insert(&theirs.object_id);
                    changes.creates.push(create(Some(remove_of(theirs, entry))));
                }
                _ => changes.skipped.push(skip(Some(entry))),
            },
        }
    }

    for mapping in ours {
        let key = &mapping.object_id;
        if wanted_keys.contains(key) || replaced.contains(key) || !removable.allows(key) {
            continue;
        }
        let Some(pbx_id) = mapping.pbx_id() else {
            // A pending create no one wants: the engine finishes it first, so it is
            // removed by the next run.
            continue;
        };
        let (user, number) = owner_of(mapping);
        changes.removes.push(EntryRemove {
            object_id: user,
            key: key.clone(),
            entry_id: pbx_id.to_string(),
            name: mapping.name.clone(),
            number: listed
                .get(pbx_id)
                .map_or(number, |entry| entry.number.clone()),
        });
    }
    changes.creates.sort_by(|a, b| a.key.cmp(&b.key));
    changes.removes.sort_by(|a, b| a.key.cmp(&b.key));
    plan.phonebook = changes;
}

/// Each user's numbers in config order, normalised; a number the user has twice is one
/// entry (the first attribute's suffix). Bad ones are skipped with their reason.
fn wanted_entries<'a>(
    users: &[&'a DirectoryUser],
    skipped: &mut Vec<EntrySkip>,
) -> Vec<Wanted<'a>> {
    let mut wanted = Vec::new();
    for &user in users {
        let mut seen: HashSet<String> = HashSet::new();
        for extra in &user.extra_numbers {
            let name = entry_name(
                user.first_name.as_deref(),
                user.last_name.as_deref(),
                &extra.suffix,
            );
            let mut skip = |number: &str, reason| {
                skipped.push(EntrySkip {
                    object_id: user.object_id.clone(),
                    name: name.clone(),
                    number: number.to_string(),
                    reason,
                    holder_id: None,
                })
            };
            let Some(number) = normalize_number(&extra.number) else {
                skip(&extra.number, EntrySkipReason::InvalidNumber);
                continue;
            };
            if !seen.insert(number.clone()) {
                continue;
            }
            let Some(key) = entry_key(&number, &user.object_id) else {
                skip(&number, EntrySkipReason::IdTooLong);
                continue;
            };
            if name.chars().count() > MAX_ENTRY_NAME_CHARS {
                skip(&number, EntrySkipReason::NameTooLong);
                continue;
            }
            wanted.push(Wanted {
                user,
                key,
                name,
                number,
            });
        }
    }
    wanted
}

/// Which users' entries this plan may remove: synced users' (numbers they lost), removed
/// users' unless the removals are held, and entries whose user has no mapping any more.
struct Removable<'a> {
    synced: HashSet<&'a ObjectId>,
    removed: HashSet<&'a ObjectId>,
    mapped: HashSet<&'a ObjectId>,
}

impl<'a> Removable<'a> {
    fn new(input: &PlanInput<'a>, users: &[&'a DirectoryUser], plan: &'a Plan) -> Self {
        Self {
            synced: users.iter().map(|u| &u.object_id).collect(),
            removed: match plan.removals_held {
                true => HashSet::new(),
                false => plan.removes.iter().map(|r| &r.object_id).collect(),
            },
            mapped: input.mappings.iter().map(|m| &m.object_id).collect(),
        }
    }

    fn allows(&self, key: &ObjectId) -> bool {
        let Some((_, user)) = split_entry_key(key) else {
            // Not a key this release writes: leave it alone.
            return false;
        };
        self.synced.contains(&user) || self.removed.contains(&user) || !self.mapped.contains(&user)
    }
}

/// The user and number of a mapping's key (the key itself when it has another shape).
fn owner_of(mapping: &ObjectMapping) -> (ObjectId, String) {
    match split_entry_key(&mapping.object_id) {
        Some((number, user)) => (user, number.to_string()),
        None => (mapping.object_id.clone(), String::new()),
    }
}

fn remove_of(mapping: &ObjectMapping, entry: &PhonebookEntry) -> EntryRemove {
    let (user, _) = owner_of(mapping);
    EntryRemove {
        object_id: user,
        key: mapping.object_id.clone(),
        entry_id: entry.id.clone(),
        name: entry.name.clone(),
        number: entry.number.clone(),
    }
}
