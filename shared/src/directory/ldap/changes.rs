//! Change-only reads of an LDAP directory ([`Directory::read_changes`]): what changed since
//! the position a read kept, Active Directory by `uSNChanged` (see [`super::changes_ad`]),
//! OpenLDAP by `entryCSN` (see [`super::changes_openldap`]).
//!
//! Both search from the whole naming context (not only `base_dn`): a user moved out of
//! `base_dn` is then still seen, and reported out of scope. Users are mapped exactly as a
//! full read maps them. What cannot be followed exactly makes the read
//! [`DirectoryError::ChangesUnavailable`], and the engine reads in full: a changed OU or
//! container (its users' DNs change without touching the users), and configs whose scope or
//! objects hang on groups or OUs (a membership change moves the group, not the user).
//!
//! [`Directory::read_changes`]: crate::ports::Directory::read_changes

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ldap3::{Ldap, Scope as SearchScope};
use serde::{Deserialize, Serialize};

use super::errors::{client_error, result_error, Phase};
use super::search::{exists, into_attributes, matching_dns, SearchPlan, NO_SUCH_OBJECT};
use super::{changes_ad, changes_openldap};
use crate::directory::entry::attributes::Attributes;
use crate::directory::entry::scope::{in_subtree, normalize_dn, ScopeMatch};
use crate::domain::config::{GroupSync, LdapFlavor, OrganizationSync, Scope};
use crate::domain::{ChangeCursor, DirectoryChanges, DirectoryUser, ObjectId};
use crate::error::DirectoryError;

/// [`ChangeCursor::provider`] of LDAP cursors.
pub(super) const PROVIDER: &str = "ldap";

/// Where the next change-only read starts, kept JSON in [`ChangeCursor::position`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "flavor", rename_all = "snake_case")]
pub(super) enum Position {
    ActiveDirectory {
        base_dn: String,
        /// `defaultNamingContext`: where the change searches start.
        naming_context: String,
        /// The domain controller's `invocationId`: USNs are that DC's own counter.
        invocation_id: String,
        /// Its `highestCommittedUSN` before the read: everything at or below was read.
        usn: u64,
        /// The clock the read mapped users with (expiry is decided on it).
        read_at: DateTime<Utc>,
    },
    Openldap {
        base_dn: String,
        /// The naming context holding `base_dn`, whose `contextCSN` marks the position.
        suffix: String,
        /// Its smallest `contextCSN` before the read: every change up to it was read.
        csn: String,
        read_at: DateTime<Utc>,
    },
}

impl Position {
    pub(super) fn into_cursor(self) -> Result<ChangeCursor, DirectoryError> {
        let position = serde_json::to_string(&self)
            .map_err(|e| DirectoryError::Protocol(format!("cannot keep the read position: {e}")))?;
        Ok(ChangeCursor {
            provider: PROVIDER.into(),
            position,
        })
    }

    /// The position `cursor` holds, if an LDAP read of this plan's flavor and base made it.
    fn from_cursor(cursor: &ChangeCursor, plan: &SearchPlan) -> Result<Self, DirectoryError> {
        let unusable = |why: &str| DirectoryError::ChangesUnavailable(why.into());
        if cursor.provider != PROVIDER {
            return Err(unusable("the kept position is not an LDAP read's"));
        }
        let position: Position = serde_json::from_str(&cursor.position)
            .map_err(|_| unusable("the kept LDAP read position cannot be read"))?;
        let (flavor, base) = match &position {
            Position::ActiveDirectory { base_dn, .. } => (LdapFlavor::ActiveDirectory, base_dn),
            Position::Openldap { base_dn, .. } => (LdapFlavor::Openldap, base_dn),
        };
        if flavor != plan.flavor || normalize_dn(base) != normalize_dn(&plan.base_dn) {
            return Err(unusable(
                "the kept position is of another directory flavor or base_dn",
            ));
        }
        Ok(position)
    }
}

/// Why this config is only ever read in full, if it is.
pub(super) fn unsupported(plan: &SearchPlan) -> Option<&'static str> {
    let filter_uses_groups = matches!(&plan.scope, Scope::Filter { filter }
        if filter.to_ascii_lowercase().contains("memberof"));
    if matches!(plan.scope, Scope::Groups { .. }) || filter_uses_groups {
        Some("the scope follows group membership, which changes the groups, not the users")
    } else if plan.groups != GroupSync::None {
        Some("extension_groups are synced: their members are read in full")
    } else if plan.organizations != OrganizationSync::None {
        Some("organizations are synced: they are read in full")
    } else {
        None
    }
}

/// The position to keep from a full read about to start, or `None` when this config or
/// server allows no change-only read (then every read is full).
pub(super) async fn start(
    plan: &SearchPlan,
    ldap: &mut Ldap,
    timeout: Duration,
) -> Result<Option<Position>, DirectoryError> {
    if unsupported(plan).is_some() {
        return Ok(None);
    }
    let read_at = Utc::now();
    match plan.flavor {
        LdapFlavor::ActiveDirectory => changes_ad::start(plan, ldap, timeout, read_at).await,
        LdapFlavor::Openldap => changes_openldap::start(plan, ldap, timeout, read_at).await,
    }
}

/// The changes since `cursor`.
pub(super) async fn read(
    plan: &SearchPlan,
    ldap: &mut Ldap,
    timeout: Duration,
    cursor: &ChangeCursor,
) -> Result<DirectoryChanges, DirectoryError> {
    if let Some(why) = unsupported(plan) {
        return Err(DirectoryError::ChangesUnavailable(why.into()));
    }
    match Position::from_cursor(cursor, plan)? {
        Position::ActiveDirectory {
            naming_context,
            invocation_id,
            usn,
            read_at,
            ..
        } => {
            let last = changes_ad::Last {
                naming_context,
                invocation_id,
                usn,
                read_at,
            };
            changes_ad::read(plan, ldap, timeout, last).await
        }
        Position::Openldap {
            suffix,
            csn,
            read_at,
            ..
        } => changes_openldap::read(plan, ldap, timeout, &suffix, &csn, read_at).await,
    }
}

/// The users a change search found, mapped as a full read maps them, and the requests made.
pub(super) struct Found {
    pub users: Vec<DirectoryUser>,
    pub requests: usize,
    ids: HashSet<ObjectId>,
    now: DateTime<Utc>,
}

impl Found {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            users: Vec::new(),
            requests: 0,
            ids: HashSet::new(),
            now,
        }
    }

    pub fn user(
        &mut self,
        plan: &SearchPlan,
        dn: &str,
        attributes: &Attributes,
    ) -> Result<(), DirectoryError> {
        let user = plan
            .mapper
            .map_user(dn, attributes, self.now)
            .map_err(|m| DirectoryError::Protocol(format!("{dn}: {m}")))?;
        // As in a full read: two entries with one id cannot be told apart.
        if !self.ids.insert(user.object_id.clone()) {
            return Err(DirectoryError::Protocol(format!(
                "{dn} has the id {} of another entry",
                user.object_id
            )));
        }
        self.users.push(user);
        Ok(())
    }

    /// Counts a paged search that returned `entries` entries.
    pub fn pages(&mut self, plan: &SearchPlan, entries: usize) {
        self.requests += pages(plan, entries);
    }

    /// Marks each found user in or out of scope, as a full read would, and returns them.
    /// `changed` is the search clause that found them (the `filter` scope is matched on the
    /// server, among them only).
    pub async fn scoped(
        mut self,
        plan: &SearchPlan,
        ldap: &mut Ldap,
        timeout: Duration,
        changed: &str,
    ) -> Result<(Vec<DirectoryUser>, usize), DirectoryError> {
        if self.users.is_empty() {
            return Ok((self.users, self.requests));
        }
        let base = normalize_dn(&plan.base_dn);
        let scope = match &plan.scope {
            Scope::All => ScopeMatch::Everything,
            Scope::Users { users } => ScopeMatch::users(users),
            Scope::Ous { ous } => {
                for ou in ous {
                    self.requests += 1;
                    if !exists(ldap, timeout, ou, "(objectClass=*)").await? {
                        return Err(DirectoryError::ChangesUnavailable(format!(
                            "the scope OU '{ou}' is gone"
                        )));
                    }
                }
                ScopeMatch::Subtrees(ous.iter().map(|ou| normalize_dn(ou)).collect())
            }
            Scope::Filter { filter } => {
                let filter = plan.users_and(&format!("{filter}{changed}"));
                let dns = matching_dns(plan, ldap, timeout, &filter).await?;
                self.requests += pages(plan, dns.len());
                ScopeMatch::Members(dns)
            }
            Scope::Groups { .. } => {
                return Err(DirectoryError::ChangesUnavailable(
                    "the scope follows groups".into(),
                ))
            }
        };
        for user in &mut self.users {
            let dn = user.dn.as_deref().map(normalize_dn).unwrap_or_default();
            user.in_scope = in_subtree(&dn, &base) && scope.contains(&dn, &user.object_id);
        }
        Ok((self.users, self.requests))
    }
}

/// The pages a paged search of `entries` entries took (at least one).
pub(super) fn pages(plan: &SearchPlan, entries: usize) -> usize {
    entries / plan.page_size.max(1) as usize + 1
}

/// One base search of `dn` for `attributes`: the entry's attributes, `None` when it does not
/// exist or is not visible.
pub(super) async fn read_entry(
    ldap: &mut Ldap,
    timeout: Duration,
    dn: &str,
    attributes: &[&str],
) -> Result<Option<Attributes>, DirectoryError> {
    let found = ldap
        .with_timeout(timeout)
        .search(
            dn,
            SearchScope::Base,
            "(objectClass=*)",
            attributes.to_vec(),
        )
        .await
        .map_err(|e| client_error(Phase::Search, e, timeout, 0))?;
    match found.1.rc {
        0 => Ok(found
            .0
            .into_iter()
            .find(|e| !e.is_ref() && !e.is_intermediate())
            .and_then(into_attributes)
            .map(|(_, attributes)| attributes)),
        NO_SUCH_OBJECT => Ok(None),
        _ => Err(result_error(Phase::Search, &found.1, 0)),
    }
}
