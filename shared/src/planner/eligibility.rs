//! Who may be synced: a user's removal standing, the normalised values the planner writes, and
//! the email and extension-number checks of CONTRACTS section 3.

use crate::domain::config::{
    CaptureRegex, DirectoryConfig, ExtensionNumbers, RemoveReason, SourceField,
};
use crate::domain::extension::{is_valid_email, is_valid_number};
use crate::domain::plan::SkipReason;
use crate::domain::user::{DirectoryUser, UserState};

/// A directory (or PBX) value trimmed, with the empty string read as "no value".
pub(super) fn clean(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// What the removal rules make of a user, before any eligibility check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Standing {
    /// A `remove_when` state holds: a mapped user's extension is removed.
    Remove(RemoveReason),
    /// Out of scope (or deleted) but `remove_when` does not say to remove: left as it is.
    Frozen,
    /// Goes on to the eligibility checks.
    Active,
}

/// The removal standing: the account state first, then the scope. A disabled or expired user
/// whose state is not in `remove_when` is treated like an active one (so the scope still
/// counts); a deleted one is never created or updated, so it is frozen instead.
pub(super) fn standing(user: &DirectoryUser, config: &DirectoryConfig) -> Standing {
    let by_state = match user.state {
        UserState::Active => None,
        UserState::Disabled => Some(RemoveReason::Disabled),
        UserState::Expired => Some(RemoveReason::Expired),
        UserState::Deleted => Some(RemoveReason::Deleted),
    };
    if let Some(reason) = by_state {
        if config.removes_on(reason) {
            return Standing::Remove(reason);
        }
        if reason == RemoveReason::Deleted {
            return Standing::Frozen;
        }
    }
    if !user.in_scope {
        return if config.removes_on(RemoveReason::OutOfScope) {
            Standing::Remove(RemoveReason::OutOfScope)
        } else {
            Standing::Frozen
        };
    }
    Standing::Active
}

/// Which identity fields sync writes (and compares).
#[derive(Debug, Clone, Copy)]
pub(super) struct Synced {
    pub first_name: bool,
    pub last_name: bool,
    pub email: bool,
    pub mobile: bool,
    pub job_title: bool,
}

/// A user's values as sync writes them: trimmed, `None` when empty or when the field's sync
/// is off.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fields<'a> {
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub mobile: Option<&'a str>,
    pub job_title: Option<&'a str>,
}

/// How a new user's extension number is found.
enum NumberRule {
    /// From the `extension` attribute, through the pattern's capture group when set.
    Attribute { pattern: Option<CaptureRegex> },
    /// Assigned later from the range.
    Auto,
}

/// The per-plan view of the config, with the pattern compiled once.
pub(super) struct Rules {
    pub synced: Synced,
    numbers: NumberRule,
    /// Config `welcome_email`: carried by creates only.
    pub welcome_email: bool,
    /// Config `fields.sip_password` is set.
    pub sip_password: bool,
}

impl Rules {
    pub fn new(config: &DirectoryConfig) -> Self {
        let synced = Synced {
            first_name: config.syncs(SourceField::FirstName),
            last_name: config.syncs(SourceField::LastName),
            email: config.syncs(SourceField::Email),
            mobile: config.syncs(SourceField::Mobile),
            job_title: config.syncs(SourceField::JobTitle),
        };
        let numbers = match &config.extension_numbers {
            ExtensionNumbers::Attribute { pattern } => NumberRule::Attribute {
                pattern: pattern.clone(),
            },
            ExtensionNumbers::Auto(_) => NumberRule::Auto,
        };
        Self {
            synced,
            numbers,
            welcome_email: config.welcome_email,
            sip_password: config.sip_password_source().is_some(),
        }
    }

    pub fn fields<'a>(&self, user: &'a DirectoryUser) -> Fields<'a> {
        let pick = |on: bool, value: &'a Option<String>| {
            if on {
                clean(value.as_deref())
            } else {
                None
            }
        };
        Fields {
            first_name: pick(self.synced.first_name, &user.first_name),
            last_name: pick(self.synced.last_name, &user.last_name),
            email: pick(self.synced.email, &user.email),
            mobile: pick(self.synced.mobile, &user.mobile),
            job_title: pick(self.synced.job_title, &user.job_title),
        }
    }

    /// The number a new user's extension is created with: `Ok(None)` in `auto` mode, where
    /// the number is assigned once the user has a place.
    pub fn new_number(&self, user: &DirectoryUser) -> Result<Option<String>, SkipReason> {
        let NumberRule::Attribute { pattern } = &self.numbers else {
            return Ok(None);
        };
        let raw = clean(user.extension.as_deref()).ok_or(SkipReason::MissingExtension)?;
        let number = match pattern {
            None => raw,
            Some(pattern) => pattern.capture(raw).ok_or(SkipReason::InvalidExtension)?,
        };
        if is_valid_number(number) {
            Ok(Some(number.to_string()))
        } else {
            Err(SkipReason::InvalidExtension)
        }
    }
}

/// The trimmed email of an eligible user, or why there is none.
pub(super) fn checked_email<'a>(fields: &Fields<'a>) -> Result<&'a str, SkipReason> {
    let email = fields.email.ok_or(SkipReason::MissingEmail)?;
    if is_valid_email(email) {
        Ok(email)
    } else {
        Err(SkipReason::InvalidEmail)
    }
}
