//! `extra_numbers` (CONTRACTS section 2): the attributes whose values become PBX phonebook
//! entries "{first} {last} {suffix}", and their checks.

use serde::{Deserialize, Serialize};

use super::FieldError;

/// The most `extra_numbers` entries a config may hold.
pub const MAX_EXTRA_NUMBERS: usize = 10;
/// The longest suffix, in characters.
pub const MAX_SUFFIX_CHARS: usize = 16;
/// The highest index `attribute[N]` may name (a user has a handful of phones).
pub const MAX_VALUE_INDEX: usize = 9;

/// One entry of `extra_numbers`: `{"attribute": "mobile", "suffix": "M"}`. `attribute` may
/// end in `[N]` to take the N-th value (0-based) of a multi-valued attribute, e.g.
/// `businessPhones[1]` for Graph's second business phone; without it the first value is taken.
/// Unknown keys are refused in a request (the request's unknown-field check) and ignored in a
/// stored config, like every other section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraNumberSource {
    pub attribute: String,
    pub suffix: String,
}

impl ExtraNumberSource {
    /// The attribute's name and the index of the value taken. Meaningful once checked.
    pub fn attribute_and_index(&self) -> (&str, usize) {
        split_index(&self.attribute).unwrap_or((self.attribute.as_str(), 0))
    }
}

/// `name[N]` -> (`name`, N); a name without brackets -> (`name`, 0); `None` for a malformed
/// index.
fn split_index(attribute: &str) -> Option<(&str, usize)> {
    let Some(open) = attribute.find('[') else {
        return Some((attribute, 0));
    };
    let index = attribute[open + 1..].strip_suffix(']')?;
    if index.is_empty() || index.len() > 1 || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let index: usize = index.parse().ok()?;
    (index <= MAX_VALUE_INDEX).then_some((&attribute[..open], index))
}

/// Checks `extra_numbers`: at most [`MAX_EXTRA_NUMBERS`] entries, each an attribute name
/// (as `is_attribute_name` tells) with an optional `[0-9]` index and a non-empty suffix of at
/// most [`MAX_SUFFIX_CHARS`] characters without control characters, no two alike.
pub fn check_extra_numbers(
    sources: &[ExtraNumberSource],
    is_attribute_name: impl Fn(&str) -> bool,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if sources.len() > MAX_EXTRA_NUMBERS {
        errors.push(FieldError::new(
            "extra_numbers",
            format!("must hold at most {MAX_EXTRA_NUMBERS} entries"),
        ));
    }
    for (i, source) in sources.iter().enumerate() {
        // A whole name first: SCIM's `phoneNumbers[type eq "mobile"]` has brackets too.
        let attribute_ok = is_attribute_name(&source.attribute)
            || split_index(&source.attribute).is_some_and(|(name, _)| is_attribute_name(name));
        if !attribute_ok {
            errors.push(FieldError::new(
                format!("extra_numbers[{i}].attribute"),
                format!(
                    "must be an attribute name, optionally with a value index [0] to \
                     [{MAX_VALUE_INDEX}] (e.g. mobile or businessPhones[1])"
                ),
            ));
        }
        let suffix = source.suffix.trim();
        if suffix.is_empty()
            || suffix.chars().count() > MAX_SUFFIX_CHARS
            || suffix.chars().any(char::is_control)
            || suffix != source.suffix
        {
            errors.push(FieldError::new(
                format!("extra_numbers[{i}].suffix"),
                format!(
                    "must be 1 to {MAX_SUFFIX_CHARS} characters without control characters \
                     or surrounding spaces"
                ),
            ));
        }
        let same = |other: &ExtraNumberSource| {
            other.attribute.eq_ignore_ascii_case(&source.attribute) && other.suffix == source.suffix
        };
        if sources[..i].iter().any(same) {
            errors.push(FieldError::new(
                format!("extra_numbers[{i}]"),
                "repeats an earlier entry (same attribute and suffix)",
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(attribute: &str, suffix: &str) -> ExtraNumberSource {
        ExtraNumberSource {
            attribute: attribute.into(),
            suffix: suffix.into(),
        }
    }

    fn fields(sources: &[ExtraNumberSource]) -> Vec<String> {
        let name = |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric());
        check_extra_numbers(sources, name)
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn indexes_are_split() {
        assert_eq!(
            source("businessPhones[1]", "B").attribute_and_index(),
            ("businessPhones", 1)
        );
        assert_eq!(source("mobile", "M").attribute_and_index(), ("mobile", 0));
        assert_eq!(split_index("a[10]"), None);
        assert_eq!(split_index("a[x]"), None);
        assert_eq!(split_index("a[1"), None);
        assert_eq!(split_index("a[]"), None);
    }

    #[test]
    fn each_bad_entry_is_named() {
        assert!(fields(&[source("mobile", "M"), source("homePhone", "H")]).is_empty());
        assert_eq!(
            fields(&[
                source("mobile", "M"),
                source("mob ile", ""),
                source("MOBILE", "M"),
                source("tel[1]x", &"x".repeat(17)),
                source("tel", " M"),
            ]),
            [
                "extra_numbers[1].attribute",
                "extra_numbers[1].suffix",
                "extra_numbers[2]",
                "extra_numbers[3].attribute",
                "extra_numbers[3].suffix",
                "extra_numbers[4].suffix",
            ]
        );
        let many: Vec<_> = (0..11).map(|i| source("tel", &format!("T{i}"))).collect();
        assert_eq!(fields(&many), ["extra_numbers"]);
    }
}
