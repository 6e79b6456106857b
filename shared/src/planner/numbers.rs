//! Who holds which number and email on the PBX, and the `auto` number allocator.

use std::collections::{HashMap, HashSet};

use super::eligibility::clean;
use crate::domain::extension::{is_valid_number, Extension};
use crate::domain::ids::{ExtensionId, ObjectId};
use crate::domain::mapping::{Mapping, MappingLink};

/// A holder of a number or an email: a PBX extension, or `None` for a pending create intent.
pub(super) type Holder<'a> = Option<&'a ExtensionId>;

/// The PBX as it stands once this plan's removals (when not held) and updates are applied:
/// creates are checked against it, so that a number or email freed by the same plan is
/// taken in the same run and a second plan has nothing left to do. (Should the engine create
/// before it deletes, the PBX answers 409 and the create becomes a conflict, retried next run.)
pub(super) struct Holders<'a> {
    numbers: HashMap<&'a str, Holder<'a>>,
    emails: HashMap<String, Holder<'a>>,
    /// Lowercase email -> an extension that no mapping links after this plan.
    adoptable: HashMap<String, &'a Extension>,
}

/// What the plan does to the PBX and the mappings before its creates.
pub(super) struct PlanEffects<'a> {
    /// Mappings the plan ends (removals by `delete` or `keep`).
    pub dropped: HashSet<&'a ObjectId>,
    /// Extensions the plan deletes.
    pub deleted: HashSet<&'a ExtensionId>,
    /// Extensions the plan releases to manual management (`on_remove: keep`).
    pub released: HashSet<&'a ExtensionId>,
    /// New email of extensions whose email the plan updates.
    pub emails: HashMap<&'a ExtensionId, Option<&'a str>>,
}

impl<'a> Holders<'a> {
    pub fn new(extensions: &'a [Extension], mappings: &'a [Mapping], fx: &PlanEffects<'a>) -> Self {
        let linked: HashSet<&ExtensionId> = mappings
            .iter()
            .filter_map(Mapping::extension_id)
            .filter(|id| !fx.released.contains(id))
            .collect();
        // Sorted so that the holder reported is the smallest extension id: deterministic.
        let mut sorted: Vec<&Extension> = extensions
            .iter()
            .filter(|e| !fx.deleted.contains(&e.id))
            .collect();
        sorted.sort_by(|a, b| a.id.cmp(&b.id));

        let mut holders = Holders {
            numbers: HashMap::with_capacity(sorted.len()),
            emails: HashMap::with_capacity(sorted.len()),
            adoptable: HashMap::new(),
        };
        for ext in sorted {
            holders
                .numbers
                .entry(ext.number.trim())
                .or_insert(Some(&ext.id));
            let email = match fx.emails.get(&ext.id) {
                Some(updated) => *updated,
                None => clean(ext.email.as_deref()),
            };
            if let Some(email) = email {
                let key = email.to_lowercase();
                if !linked.contains(&ext.id) {
                    holders.adoptable.entry(key.clone()).or_insert(ext);
                }
                holders.emails.entry(key).or_insert(Some(&ext.id));
            }
        }
        for mapping in mappings {
            if let MappingLink::Pending { request, .. } = &mapping.link {
                for number in [mapping.number.trim(), request.number.trim()] {
                    holders.numbers.entry(number).or_insert(None);
                }
                if let Some(email) = clean(request.email.as_deref()) {
                    holders.emails.entry(email.to_lowercase()).or_insert(None);
                }
            }
        }
        holders
    }

    pub fn number(&self, number: &str) -> Option<Holder<'a>> {
        self.numbers.get(number).copied()
    }

    pub fn email(&self, email_key: &str) -> Option<Holder<'a>> {
        self.emails.get(email_key).copied()
    }

    pub fn adoptable(&self, email_key: &str) -> Option<&'a Extension> {
        self.adoptable.get(email_key).copied()
    }
}

/// Hands out the lowest free numbers of `start..=end`, in increasing order: a number a PBX
/// extension or a mapping holds is never given, nor one given before in the same plan. As for
/// conflicts, what this plan's applied removals free counts as free.
pub(super) struct AutoNumbers<'a> {
    held: HashSet<&'a str>,
    next: u64,
    end: u64,
}

impl<'a> AutoNumbers<'a> {
    pub fn new(
        start: u32,
        end: u32,
        extensions: &'a [Extension],
        mappings: &'a [Mapping],
        fx: &PlanEffects<'a>,
    ) -> Self {
        let mut held: HashSet<&str> = extensions
            .iter()
            .filter(|e| !fx.deleted.contains(&e.id))
            .map(|e| e.number.trim())
            .collect();
        for mapping in mappings
            .iter()
            .filter(|m| !fx.dropped.contains(&m.object_id))
        {
            held.insert(mapping.number.trim());
            if let MappingLink::Pending { request, .. } = &mapping.link {
                held.insert(request.number.trim());
            }
        }
        Self {
            held,
            next: u64::from(start),
            end: u64::from(end),
        }
    }

    /// The next free number; `None` once the range is used up. Numbers given out are
    /// passed over for good, since the cursor only moves forward.
    pub fn take(&mut self) -> Option<String> {
        while self.next <= self.end {
            let candidate = self.next.to_string();
            self.next += 1;
            if is_valid_number(&candidate) && !self.held.contains(candidate.as_str()) {
                return Some(candidate);
            }
        }
        None
    }
}
