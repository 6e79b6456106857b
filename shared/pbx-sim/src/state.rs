//! One simulated PBX tenant: its extensions, organizations and groups, and the rules a real
//! PBX enforces on extensions (unique numbers and emails, quota, idempotent creates); the
//! organization and group rules are in `objects`. Synchronous: the routes call it
//! under a lock and never hold the lock across an await.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use dirsync::domain::organization::MAX_EXTENSION_GROUPS;

use crate::collection::Collection;
use crate::model::{
    ApiError, Forwarding, SimExtension, SimGroup, SimOrganization, SimStats, SipPasswordSet,
    Voicemail,
};
use crate::phonebook::SimPhonebookEntry;
use crate::validate::FieldValues;

/// Organizations an account may hold unless a test sets another limit.
pub(crate) const DEFAULT_ORGANIZATION_LIMIT: usize = 1000;

/// The object a write answers with, and whether state changed (an idempotent replay or a
/// PATCH to the same values does not).
pub(crate) type Applied<T> = Result<(T, bool), ApiError>;

pub(crate) struct Account {
    pub token: String,
    pub extensions: Collection<SimExtension>,
    pub organizations: Collection<SimOrganization>,
    pub groups: Collection<SimGroup>,
    pub phonebook: Collection<SimPhonebookEntry>,
    pub stats: SimStats,
    /// The SIP password each extension was last given, by extension id.
    pub sip_passwords: HashMap<String, SipPasswordSet>,
    /// Start and count of the current one-second rate-limit window.
    window: Option<(Instant, u32)>,
}

impl Account {
    pub fn new(token: &str, quota: usize) -> Self {
        Self {
            token: token.to_string(),
            extensions: Collection::new(quota),
            organizations: Collection::new(DEFAULT_ORGANIZATION_LIMIT),
            groups: Collection::new(MAX_EXTENSION_GROUPS),
            // The contract has no phonebook limit.
            phonebook: Collection::new(usize::MAX),
            stats: SimStats::default(),
            sip_passwords: HashMap::new(),
            window: None,
        }
    }

    /// Creates an extension, or answers a repeat of `key` with the extension it created.
    /// The flag says whether state changed.
    pub fn create(&mut self, key: &str, values: FieldValues) -> Applied<SimExtension> {
        if let Some(replayed) = self.extensions.replay(key) {
            return replayed.map(|extension| (extension, false));
        }
        let number = values.number.clone().unwrap_or_default();
        self.check_unique(Some(&number), flatten(&values.email), None)?;
        self.extensions.check_room()?;
        self.check_organization(&values.organization_id)?;
        let extension = SimExtension {
            id: String::new(),
            number,
            first_name: values.first_name.flatten(),
            last_name: values.last_name.flatten(),
            email: values.email.flatten(),
            mobile: values.mobile.flatten(),
            enabled: values.enabled.unwrap_or(true),
            job_title: values.job_title.flatten(),
            organization_id: values.organization_id.flatten(),
            managed_by: values.managed_by.flatten(),
            voicemail: Voicemail {
                enabled: true,
                pin_set: false,
            },
            forwarding: Forwarding::default(),
            did: None,
            avatar_sha256: None,
        };
        if values.send_welcome_email {
            self.stats.welcome_emails += 1;
        }
        let created = self.extensions.create(key, extension);
        self.set_sip_password(&created.id, values.sip_password_sha256);
        Ok((created, true))
    }

    /// Applies the given fields; the flag says whether anything changed.
    pub fn update(&mut self, id: &str, values: FieldValues) -> Applied<SimExtension> {
        self.extensions.get_mut(id)?;
        if let Some(email) = &values.email {
            self.check_unique(None, email.as_deref(), Some(id))?;
        }
        self.check_organization(&values.organization_id)?;
        let extension = self.extensions.get_mut(id)?;
        let before = extension.clone();
        let FieldValues {
            number: _,
            first_name,
            last_name,
            email,
            mobile,
            enabled,
            job_title,
            organization_id,
            managed_by,
            // An update never sends a welcome email: the user has had one.
            send_welcome_email: _,
            sip_password_sha256,
        } = values;
        let set = |slot: &mut Option<String>, value: Option<Option<String>>| {
            if let Some(value) = value {
                *slot = value;
            }
        };
        set(&mut extension.first_name, first_name);
        set(&mut extension.last_name, last_name);
        set(&mut extension.email, email);
        set(&mut extension.mobile, mobile);
        set(&mut extension.job_title, job_title);
        set(&mut extension.organization_id, organization_id);
        set(&mut extension.managed_by, managed_by);
        if let Some(enabled) = enabled {
            extension.enabled = enabled;
        }
        let changed = *extension != before || sip_password_sha256.is_some();
        let extension = extension.clone();
        self.set_sip_password(id, sip_password_sha256);
        Ok((extension, changed))
    }

    fn set_sip_password(&mut self, id: &str, sha256: Option<String>) {
        if let Some(sha256) = sha256 {
            let set = self.sip_passwords.entry(id.to_string()).or_default();
            set.sha256 = sha256;
            set.times += 1;
        }
    }

    /// Deletes an extension and takes it out of every group, as a real PBX does.
    pub fn delete(&mut self, id: &str) -> Result<(), ApiError> {
        self.extensions.remove(id)?;
        self.sip_passwords.remove(id);
        for group in self.groups.values_mut() {
            group.members.retain(|member| member != id);
        }
        Ok(())
    }

    /// Counts a request in the current one-second window; `Err(retry_after_seconds)` beyond
    /// `per_second`.
    pub fn admit(&mut self, now: Instant, per_second: u32) -> Result<(), u64> {
        match &mut self.window {
            Some((start, count)) if now.duration_since(*start) < Duration::from_secs(1) => {
                if *count >= per_second {
                    return Err(1);
                }
                *count += 1;
            }
            _ => self.window = Some((now, 1)),
        }
        Ok(())
    }

    /// 422 for an `organization_id` the account does not hold.
    fn check_organization(&self, organization_id: &Option<Option<String>>) -> Result<(), ApiError> {
        match organization_id {
            Some(Some(id)) if !self.organizations.contains(id) => Err(ApiError::unprocessable(
                "organization_id",
                "unknown_organization",
                "`organization_id` is not an organization of this account",
            )),
            _ => Ok(()),
        }
    }

    fn check_unique(
        &self,
        number: Option<&str>,
        email: Option<&str>,
        except_id: Option<&str>,
    ) -> Result<(), ApiError> {
        let others = self
            .extensions
            .values()
            .filter(|e| Some(e.id.as_str()) != except_id);
        for other in others {
            if number.is_some() && number == Some(other.number.as_str()) {
                return Err(ApiError::conflict(
                    "number_taken",
                    format!("number is held by extension {}", other.id),
                ));
            }
            let same_email = match (email, other.email.as_deref()) {
                (Some(mine), Some(theirs)) => mine.to_lowercase() == theirs.to_lowercase(),
                _ => false,
            };
            if same_email {
                return Err(ApiError::conflict(
                    "email_taken",
                    format!("email is held by extension {}", other.id),
                ));
            }
        }
        Ok(())
    }
}

fn flatten(value: &Option<Option<String>>) -> Option<&str> {
    value.as_ref().and_then(|v| v.as_deref())
}
