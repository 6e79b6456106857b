//! One simulated PBX tenant: its extensions and the rules a real PBX enforces on them
//! (unique numbers and emails, quota, idempotent creates). Synchronous: the routes call it
//! under a lock and never hold the lock across an await.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::model::{ApiError, Forwarding, SimExtension, SimStats, Voicemail};
use crate::validate::FieldValues;

pub(crate) struct Account {
    pub token: String,
    pub quota: usize,
    /// By id; ids grow with creation, so this order is also the listing order.
    extensions: BTreeMap<String, SimExtension>,
    /// `Idempotency-Key` of each create, and the id of the extension it made.
    idempotency: HashMap<String, String>,
    next_id: u64,
    pub stats: SimStats,
    /// Start and count of the current one-second rate-limit window.
    window: Option<(Instant, u32)>,
}

impl Account {
    pub fn new(token: &str, quota: usize) -> Self {
        Self {
            token: token.to_string(),
            quota,
            extensions: BTreeMap::new(),
            idempotency: HashMap::new(),
            next_id: 1,
            stats: SimStats::default(),
            window: None,
        }
    }

    pub fn all(&self) -> Vec<SimExtension> {
        self.extensions.values().cloned().collect()
    }

    /// Up to `limit` extensions after the id `after`, and the id to continue after when more
    /// remain.
    pub fn page(&self, limit: usize, after: Option<&str>) -> (Vec<SimExtension>, Option<String>) {
        use std::ops::Bound::{Excluded, Unbounded};
        let start = after.map_or(Unbounded, |id| Excluded(id.to_string()));
        let mut rest = self.extensions.range((start, Unbounded)).map(|(_, e)| e);
        let items: Vec<SimExtension> = rest.by_ref().take(limit).cloned().collect();
        let next = match (rest.next(), items.last()) {
            (Some(_), Some(last)) => Some(last.id.clone()),
            _ => None,
        };
        (items, next)
    }

    /// Inserts a manual extension as given, assigning an id when it has none.
    pub fn seed(&mut self, mut extension: SimExtension) -> String {
        if extension.id.is_empty() {
            extension.id = self.fresh_id();
        }
        let id = extension.id.clone();
        self.extensions.insert(id.clone(), extension);
        id
    }

    /// Creates an extension, or answers a repeat of `key` with the extension it created.
    /// The flag says whether state changed.
    pub fn create(
        &mut self,
        key: &str,
        values: FieldValues,
    ) -> Result<(SimExtension, bool), ApiError> {
        // A repeat answers with the first create's extension, whatever its body (as the
        // contract says); only a deleted one cannot be answered.
        if let Some(created_id) = self.idempotency.get(key) {
            return match self.extensions.get(created_id) {
                Some(existing) => Ok((existing.clone(), false)),
                None => Err(ApiError::conflict(
                    "idempotency_key_reused",
                    "the extension created with this Idempotency-Key was deleted",
                )),
            };
        }
        let number = values.number.clone().unwrap_or_default();
        self.check_unique(Some(&number), flatten(&values.email), None)?;
        if self.extensions.len() >= self.quota {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "limit_reached",
                format!("the account holds its limit of {} extensions", self.quota),
            ));
        }
        let extension = SimExtension {
            id: self.fresh_id(),
            number,
            first_name: values.first_name.clone().flatten(),
            last_name: values.last_name.clone().flatten(),
            email: values.email.clone().flatten(),
            mobile: values.mobile.clone().flatten(),
            enabled: values.enabled.unwrap_or(true),
            managed_by: values.managed_by.clone().flatten(),
            voicemail: Voicemail {
                enabled: true,
                pin_set: false,
            },
            forwarding: Forwarding::default(),
            did: None,
        };
        self.extensions
            .insert(extension.id.clone(), extension.clone());
        self.idempotency
            .insert(key.to_string(), extension.id.clone());
        Ok((extension, true))
    }

    /// Applies the given fields; the flag says whether anything changed.
    pub fn update(
        &mut self,
        id: &str,
        values: FieldValues,
    ) -> Result<(SimExtension, bool), ApiError> {
        if !self.extensions.contains_key(id) {
            return Err(ApiError::not_found("no extension with this id"));
        }
        if let Some(email) = &values.email {
            self.check_unique(None, email.as_deref(), Some(id))?;
        }
        let Some(extension) = self.extensions.get_mut(id) else {
            return Err(ApiError::not_found("no extension with this id"));
        };
        let before = extension.clone();
        let FieldValues {
            number: _,
            first_name,
            last_name,
            email,
            mobile,
            enabled,
            managed_by,
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
        set(&mut extension.managed_by, managed_by);
        if let Some(enabled) = enabled {
            extension.enabled = enabled;
        }
        let changed = *extension != before;
        Ok((extension.clone(), changed))
    }

    pub fn delete(&mut self, id: &str) -> Result<(), ApiError> {
        match self.extensions.remove(id) {
            Some(_) => Ok(()),
            None => Err(ApiError::not_found("no extension with this id")),
        }
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

    fn fresh_id(&mut self) -> String {
        loop {
            let id = format!("ext-{:06}", self.next_id);
            self.next_id += 1;
            if !self.extensions.contains_key(&id) {
                return id;
            }
        }
    }
}

fn flatten(value: &Option<Option<String>>) -> Option<&str> {
    value.as_ref().and_then(|v| v.as_deref())
}
