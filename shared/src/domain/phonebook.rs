//! The PBX phonebook (issue 14, CONTRACTS sections 2 and 4): a user's further numbers
//! (`extra_numbers`) become phonebook entries named "{first} {last} {suffix}". Sync keeps
//! the entries it created as object mappings of kind [`ObjectKind::PhonebookEntry`] keyed by
//! [`entry_key`]; an entry it did not create is never changed or deleted.
//!
//! [`ObjectKind::PhonebookEntry`]: super::organization::ObjectKind::PhonebookEntry

use serde::{Deserialize, Serialize};

use super::ids::ObjectId;

/// The longest entry name the PBX takes (like extension names).
pub const MAX_ENTRY_NAME_CHARS: usize = 64;
/// The digits a phone number may hold (E.164 allows 15; a little room for national prefixes).
pub const MAX_NUMBER_DIGITS: usize = 20;
const MIN_NUMBER_DIGITS: usize = 3;

/// One further number of a directory user, as read: the raw value of the configured
/// attribute with that entry's suffix. The planner normalises it ([`normalize_number`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraNumber {
    pub suffix: String,
    pub number: String,
}

/// A phonebook entry as the PBX lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhonebookEntry {
    pub id: String,
    pub name: String,
    pub number: String,
    #[serde(default)]
    pub managed_by: Option<String>,
}

/// The body of `POST /v1/phonebook`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPhonebookEntry {
    pub name: String,
    pub number: String,
    pub managed_by: String,
}

/// What the plan does with the phonebook entries sync keeps. Creates are applied before
/// removes, so that a changed number is never missing from the phonebook.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PhonebookChanges {
    pub creates: Vec<PlannedEntry>,
    pub removes: Vec<EntryRemove>,
    pub skipped: Vec<EntrySkip>,
    /// Entries sync keeps that stay as they are.
    pub unchanged: usize,
}

impl PhonebookChanges {
    pub fn is_noop(&self) -> bool {
        self.creates.is_empty() && self.removes.is_empty()
    }
}

/// An entry to create: new, renamed (the old one in `replaces`), gone from the PBX, or
/// taking over a number one of sync's own entries held for another user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedEntry {
    /// The user.
    pub object_id: ObjectId,
    /// The object id of the entry's mapping ([`entry_key`]).
    pub key: ObjectId,
    pub name: String,
    pub number: String,
    /// The key of a create an earlier run began (a pending mapping): posted again with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// An entry of sync's holding this number, deleted just before the create (the PBX
    /// refuses a second entry with one number): the old name of a renamed user, or a number
    /// that passed from another user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<EntryRemove>,
}

/// An entry sync created that goes: its user left or lost the number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRemove {
    /// The user.
    pub object_id: ObjectId,
    pub key: ObjectId,
    pub entry_id: String,
    pub name: String,
    pub number: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntrySkipReason {
    /// The value is not a phone number ([`normalize_number`]).
    InvalidNumber,
    /// An entry sync did not create (or keeps for another user) has the number.
    NumberTaken,
    /// "{first} {last} {suffix}" is longer than [`MAX_ENTRY_NAME_CHARS`].
    NameTooLong,
    /// The user's object id leaves no room for the number in the mapping's key.
    IdTooLong,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntrySkip {
    /// The user.
    pub object_id: ObjectId,
    pub name: String,
    /// The number as the directory holds it.
    pub number: String,
    pub reason: EntrySkipReason,
    /// With `number_taken`: the PBX entry that has the number, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_id: Option<String>,
}

/// A directory phone number as the PBX phonebook takes it: the digits with an optional
/// leading `+`, after dropping the spaces, dashes, dots, slashes and parentheses people
/// write. `None` for anything else (an extension suffix "x12", letters, too few or too many
/// digits): that entry is skipped with `invalid_number`.
pub fn normalize_number(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let (plus, rest) = match raw.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", raw),
    };
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '/' | '(' | ')' => {}
            _ => return None,
        }
    }
    (MIN_NUMBER_DIGITS..=MAX_NUMBER_DIGITS)
        .contains(&digits.len())
        .then(|| format!("{plus}{digits}"))
}

/// Whether `number` is one [`normalize_number`] gives (what the PBX accepts).
pub fn is_phonebook_number(number: &str) -> bool {
    normalize_number(number).as_deref() == Some(number)
}

/// The entry's name: "{first} {last} {suffix}", the parts that are there.
pub fn entry_name(first: Option<&str>, last: Option<&str>, suffix: &str) -> String {
    [first, last, Some(suffix)]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The object id of the mapping of a user's entry for one number: `{number}@{user}`. Keyed
/// by number (not suffix) so that a number change is a new entry created before the old one
/// goes, and a user's two attributes holding one number make one entry. `None` when the
/// user's id is too long to leave room for the number.
pub fn entry_key(number: &str, user: &ObjectId) -> Option<ObjectId> {
    ObjectId::parse(format!("{number}@{user}")).ok()
}

/// The user and number of an [`entry_key`]; `None` for another shape.
pub fn split_entry_key(key: &ObjectId) -> Option<(&str, ObjectId)> {
    let (number, user) = key.as_str().split_once('@')?;
    is_phonebook_number(number)
        .then(|| ObjectId::parse(user).ok().map(|user| (number, user)))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalised_or_refused() {
        assert_eq!(
            normalize_number(" +49 (0)30-1234.56/7 ").as_deref(),
            Some("+490301234567")
        );
        assert_eq!(normalize_number("0171 555").as_deref(), Some("0171555"));
        assert_eq!(normalize_number("+1 555 0100 x12"), None);
        assert_eq!(normalize_number("12"), None);
        assert_eq!(normalize_number("++123"), None);
        assert_eq!(normalize_number("1".repeat(21).as_str()), None);
        assert_eq!(normalize_number("１２３"), None);
        assert!(is_phonebook_number("+4930123"));
        assert!(!is_phonebook_number("+49 30123"));
    }

    #[test]
    fn names_skip_missing_parts() {
        assert_eq!(
            entry_name(Some(" Ada "), Some("Lovelace"), "M"),
            "Ada Lovelace M"
        );
        assert_eq!(entry_name(None, Some("Lovelace"), "M"), "Lovelace M");
    }

    #[test]
    fn keys_round_trip() {
        let user = ObjectId::parse("u@1").unwrap();
        let key = entry_key("+4930123", &user).unwrap();
        assert_eq!(key.as_str(), "+4930123@u@1");
        assert_eq!(split_entry_key(&key), Some(("+4930123", user)));
        assert_eq!(split_entry_key(&ObjectId::parse("ou=x").unwrap()), None);
        let long = ObjectId::parse("u".repeat(250)).unwrap();
        assert_eq!(entry_key("+4930123", &long), None);
    }
}
