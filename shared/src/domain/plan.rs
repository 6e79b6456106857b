//! A sync plan (CONTRACTS section 4): what a run will do, shown by preview and kept in the run.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::config::{OnRemove, RemoveReason};
use super::extension::NewExtension;
use super::ids::{ExtensionId, ObjectId, OrganizationId};
use super::object_plan::{GroupChanges, OrganizationChanges};
use super::phonebook::PhonebookChanges;
use super::sip_password::SipPassword;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub summary: String,
    pub creates: Vec<PlannedCreate>,
    pub updates: Vec<PlannedUpdate>,
    pub removes: Vec<PlannedRemove>,
    pub skipped: Vec<Skipped>,
    pub conflicts: Vec<Conflict>,
    /// Eligible, mapped users whose extension already matches.
    pub unchanged: usize,
    /// True when the removals exceed `deletion_guard.max_deletes`: the run applies creates and
    /// updates and holds `removes` until an admin approves.
    pub removals_held: bool,
    /// Organizations (`organizations.sync`); held with `removes` by the deletion guard.
    #[serde(default)]
    pub organizations: OrganizationChanges,
    /// Extension groups (`extension_groups.sync`); held with `removes` likewise.
    #[serde(default)]
    pub extension_groups: GroupChanges,
    /// Phonebook entries of `extra_numbers`; not counted by the deletion guard.
    #[serde(default)]
    pub phonebook: PhonebookChanges,
    /// `write_back`: numbers to write to the directory (those of creates once they succeed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub write_backs: Vec<PlannedWriteBack>,
}

/// The extension's number written to the user's `write_back.attribute`, which holds `old`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedWriteBack {
    pub object_id: ObjectId,
    pub name: String,
    pub number: String,
    pub old: Option<String>,
    /// The user's extension (`None` for a create's, not made yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_id: Option<ExtensionId>,
    /// Written only once this plan's create of the user's extension succeeded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub after_create: bool,
}

impl Plan {
    /// True when applying the plan would call the PBX for nothing.
    pub fn is_noop(&self) -> bool {
        self.creates.is_empty()
            && self.updates.is_empty()
            && self.removes.is_empty()
            && self.organizations.is_noop()
            && self.extension_groups.is_noop()
            && self.write_backs.is_empty()
            && self.phonebook.is_noop()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedCreate {
    pub object_id: ObjectId,
    pub name: String,
    pub number: String,
    pub email: String,
    /// The exact `POST /v1/extensions` body, but for `organization_id`: see
    /// `organization_source`.
    pub request: NewExtension,
    /// The organization source the extension joins: the run puts the PBX id its mapping
    /// links to (known only once this run has created it) into the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_source: Option<ObjectId>,
    /// The SHA-256 of the user's photo, uploaded once the extension exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedUpdate {
    pub object_id: ObjectId,
    pub extension_id: ExtensionId,
    pub name: String,
    pub changes: FieldChanges,
    /// The extension joins the mapping through `adopt_existing_by_email`.
    #[serde(default)]
    pub adopt: bool,
    /// With `changes.organization`: `Some(Some(source))` moves the extension into the PBX
    /// organization linked to that source, `Some(None)` takes it out of the one sync put it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_source: Option<Option<ObjectId>>,
}

/// One field's change; `[old, new]` in JSON (CONTRACTS section 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange<T> {
    pub old: T,
    pub new: T,
}

impl<T: Serialize> Serialize for FieldChange<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (&self.old, &self.new).serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for FieldChange<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (old, new) = <(T, T)>::deserialize(deserializer)?;
        Ok(Self { old, new })
    }
}

/// A text field's change: `None` is no value (JSON `null`).
pub type TextChange = FieldChange<Option<String>>;

/// The fields an update changes: the identity fields of CONTRACTS section 3, and `enabled`
/// for `on_remove: disable` and re-enabling. JSON `{"field": [old, new]}` with only the
/// changed fields, in alphabetical order like the map this replaced, so that stored runs read
/// back and new ones look the same.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChanges {
    /// The photo's SHA-256, old and new (`PUT`/`DELETE .../avatar`, never in the PATCH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<TextChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<TextChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<FieldChange<bool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<TextChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<TextChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<TextChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<TextChange>,
    /// The organization's names, old and new (for people; the PATCH carries the id the
    /// update's `organization_source` resolves to when the run applies it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<TextChange>,
    /// `fields.sip_password`: the password is sent; both values are [`REDACTED`] (old `null`
    /// when none was sent before). The PATCH gets the password from the run, never from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_password: Option<TextChange>,
}

/// What a plan shows for a SIP password.
pub const REDACTED: &str = "[redacted]";

impl FieldChanges {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// The `PATCH /v1/extensions/{id}` body: the changed fields with their new values.
    pub fn patch(&self) -> ExtensionPatch {
        let new = |change: &Option<TextChange>| change.as_ref().map(|c| c.new.clone());
        ExtensionPatch {
            email: new(&self.email),
            enabled: self.enabled.as_ref().map(|c| c.new),
            first_name: new(&self.first_name),
            job_title: new(&self.job_title),
            last_name: new(&self.last_name),
            mobile: new(&self.mobile),
            organization_id: None,
            sip_password: None,
        }
    }
}

/// The body of `PATCH /v1/extensions/{id}`: only the fields that change (an absent field is
/// left as it is; `Some(None)` clears a text field, sent as `null`). Fields in alphabetical
/// order, as the JSON map this replaced sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExtensionPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<Option<OrganizationId>>,
    /// Put in by the run at send time (`FieldChanges::sip_password`); written out only here.
    #[serde(
        serialize_with = "crate::domain::sip_password::serialize_exposed",
        skip_serializing_if = "Option::is_none"
    )]
    pub sip_password: Option<SipPassword>,
}

impl ExtensionPatch {
    /// `on_remove: disable`.
    pub fn disable() -> Self {
        Self {
            enabled: Some(false),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRemove {
    pub object_id: ObjectId,
    pub extension_id: ExtensionId,
    pub name: String,
    pub action: OnRemove,
    pub reason: RemovalCause,
}

/// Why an extension is removed: its user's `remove_when` state, or the tenant's disconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalCause {
    Deleted,
    Disabled,
    Expired,
    OutOfScope,
    /// The directory was disconnected with `delete_extensions=true`.
    Disconnect,
}

impl From<RemoveReason> for RemovalCause {
    fn from(reason: RemoveReason) -> Self {
        match reason {
            RemoveReason::Deleted => Self::Deleted,
            RemoveReason::Disabled => Self::Disabled,
            RemoveReason::Expired => Self::Expired,
            RemoveReason::OutOfScope => Self::OutOfScope,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    MissingEmail,
    /// The email is not a plausible address (see `extension::is_valid_email`).
    InvalidEmail,
    MissingExtension,
    InvalidExtension,
    RecordLimit,
    DuplicateEmail,
    DuplicateExtension,
    /// `extension_numbers.mode = auto` and every number of the range is taken.
    NoFreeNumber,
    /// The photo is over 256 KB: not uploaded, the user's other fields still sync.
    AvatarTooLarge,
    /// The photo is neither JPEG nor PNG: likewise.
    AvatarUnsupportedType,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub object_id: ObjectId,
    pub name: String,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictReason {
    NumberTaken,
    EmailTaken,
    /// The PBX refused the create: its extension quota is full (403 `limit_reached`).
    LimitReached,
    /// The directory refused to write the number to `write_back.attribute` (no write
    /// permission, ...): the extension stands, and the next run tries again.
    WriteBackFailed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub object_id: ObjectId,
    pub name: String,
    pub reason: ConflictReason,
    pub holder_extension_id: Option<ExtensionId>,
}

/// "3 new, 2 updated, 0 removed", or "Everything is up to date" when nothing changes.
pub fn summary_line(new: usize, updated: usize, removed: usize) -> String {
    if new + updated + removed == 0 {
        "Everything is up to date".to_string()
    } else {
        format!("{new} new, {updated} updated, {removed} removed")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A run stored before the typed changes and causes: its plan reads back and writes the
    /// same JSON.
    #[test]
    fn stored_plans_read_back_and_serialize_unchanged() {
        let stored = json!({
            "object_id": "u1", "extension_id": "e1", "name": "Ann Last",
            "changes": {"email": [null, "ann@x.com"], "enabled": [false, true],
                        "first_name": ["Ann", "Anna"], "mobile": ["+1555", null]},
            "adopt": false
        });
        let update: PlannedUpdate = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(
            update.changes.enabled,
            Some(FieldChange {
                old: false,
                new: true
            })
        );
        assert_eq!(update.changes.last_name, None);
        assert_eq!(serde_json::to_value(&update).unwrap(), stored);
        // Byte for byte: the fields in the order of the map the changes were before.
        assert_eq!(
            serde_json::to_string(&update.changes).unwrap(),
            serde_json::to_string(&stored["changes"]).unwrap()
        );
        for cause in [
            "deleted",
            "disabled",
            "expired",
            "out_of_scope",
            "disconnect",
        ] {
            let stored = json!({"object_id": "u1", "extension_id": "e1", "name": "Ann Last",
                                "action": "delete", "reason": cause});
            let remove: PlannedRemove = serde_json::from_value(stored.clone()).unwrap();
            assert_eq!(serde_json::to_value(&remove).unwrap(), stored);
        }
    }

    /// The PATCH body is the changed fields with their new values, as the JSON map it
    /// replaced: `null` clears a field, unchanged ones are absent.
    #[test]
    fn the_patch_holds_only_the_changed_fields() {
        let changes: FieldChanges = serde_json::from_value(json!({
            "email": [null, "ann@x.com"], "enabled": [false, true], "mobile": ["+1555", null]
        }))
        .unwrap();
        assert_eq!(
            serde_json::to_string(&changes.patch()).unwrap(),
            r#"{"email":"ann@x.com","enabled":true,"mobile":null}"#
        );
        assert_eq!(
            serde_json::to_string(&ExtensionPatch::disable()).unwrap(),
            r#"{"enabled":false}"#
        );
        assert!(FieldChanges::default().is_empty() && !changes.is_empty());
    }
}
