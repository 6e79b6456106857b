//! What a directory provider reports about one user, already mapped to PBX fields.

use serde::{Deserialize, Serialize};

use super::ids::ObjectId;
use super::organization::{DirectoryGroup, DirectoryOrganization};
use super::phonebook::ExtraNumber;
use super::sip_password::SipPassword;

/// The account state the directory reports. `Deleted` is for providers that list soft-deleted
/// users (Okta's DEPROVISIONED); a user absent from a complete read counts as deleted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserState {
    Active,
    Disabled,
    Expired,
    Deleted,
}

/// One directory user with its values for the PBX identity fields. A field whose sync is off
/// (`null` in `fields`) is `None` here; the planner also knows from the config not to write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryUser {
    pub object_id: ObjectId,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    #[serde(default)]
    pub job_title: Option<String>,
    /// The raw value of the `extension` source attribute, before `extension_numbers.pattern`.
    pub extension: Option<String>,
    pub state: UserState,
    /// When the account expires, where the directory says (AD `accountExpires`, OpenLDAP
    /// `shadowExpire`). `state` is already `Expired` once it has passed at the read; kept with
    /// the read state so that a change-only run expires the account on time even though the
    /// directory records no change when the moment passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether the user is inside the configured `scope`. Providers that read the whole
    /// directory report out-of-scope users with `false`; providers that read only the scope
    /// report only in-scope users (see [`Coverage`]).
    pub in_scope: bool,
    /// The user's DN where the directory has one (LDAP, LDIF).
    pub dn: Option<String>,
    /// Group ids or DNs the provider reported for the user (informational).
    pub groups: Vec<String>,
    /// The object id of the user's organization source (see [`DirectoryOrganization`]): the
    /// nearest OU of `snapshot.organizations` above the user's DN, or its attribute value's.
    /// `None` when organizations are not synced or the user has none.
    #[serde(default)]
    pub organization: Option<ObjectId>,
    /// The current value of `write_back.attribute` (`None` when unset or write-back is off):
    /// the planner writes the extension's number where it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_back: Option<String>,
    /// `fields.sip_password`'s value. Never serialized: a user is shown in samples and
    /// explanations and held in tests' JSON, and the password must be in none of them.
    #[serde(skip)]
    pub sip_password: Option<SipPassword>,
    /// With `fields.avatar` on: the user's photo as read (hashed, never its bytes).
    #[serde(default)]
    pub avatar: Option<super::avatar::Photo>,
    /// Graph: the photo's version as the read saw it, before it is resolved into `avatar`.
    /// While `avatar` is `None`, a reference means "unknown": the photo is left as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_ref: Option<super::avatar::PhotoRef>,
    /// The values of the `extra_numbers` attributes the user has, in config order, raw.
    #[serde(default)]
    pub extra_numbers: Vec<ExtraNumber>,
}

impl DirectoryUser {
    /// A name for people: "First Last", else the email, else the object id.
    pub fn display_name(&self) -> String {
        display_name(
            self.first_name.as_deref(),
            self.last_name.as_deref(),
            self.email.as_deref(),
            self.object_id.as_str(),
        )
    }
}

/// "First Last", else the email, else the fallback id.
pub fn display_name(
    first: Option<&str>,
    last: Option<&str>,
    email: Option<&str>,
    id: &str,
) -> String {
    let joined = [first, last]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if !joined.is_empty() {
        joined
    } else if let Some(email) = email.filter(|e| !e.trim().is_empty()) {
        email.trim().to_string()
    } else {
        id.to_string()
    }
}

/// What part of the directory a read covered; decides what an absent mapped user means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// Every user of the directory was read; an absent user was deleted.
    WholeDirectory,
    /// Only the users in scope were read; an absent user was deleted *or* left the scope, and
    /// since the two cannot be told apart it is removed only when `remove_when` holds both.
    ScopeOnly,
}

/// The result of reading a directory. `complete` is false when any page or request failed or
/// the read was cut short: the planner then removes nothing, and the engine fails the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub users: Vec<DirectoryUser>,
    /// With `organizations.sync` on: every OU under `base_dn` (with its parent), or every
    /// attribute value. The planner picks those that hold synced users, and their parents.
    #[serde(default)]
    pub organizations: Vec<DirectoryOrganization>,
    /// With `extension_groups.sync` on: the groups it selects, members resolved.
    #[serde(default)]
    pub groups: Vec<DirectoryGroup>,
    pub coverage: Coverage,
    pub complete: bool,
    /// Where a change-only read after this one starts; `None` from providers that only read
    /// in full (then every run reads in full).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_cursor: Option<super::changes::ChangeCursor>,
}

impl Snapshot {
    /// The earliest expiry time of an active user: a run at or after it expires that
    /// account (see [`DirectoryUser::expires_at`]).
    pub fn next_expiry(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.users
            .iter()
            .filter(|u| u.state == UserState::Active)
            .filter_map(|u| u.expires_at)
            .min()
    }

    /// How many users are expired.
    pub fn expired(&self) -> usize {
        self.users
            .iter()
            .filter(|u| u.state == UserState::Expired)
            .count()
    }
}
