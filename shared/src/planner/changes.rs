//! What sync writes: the field differences of an update and the body of a create.

use super::eligibility::{clean, Fields, Synced};
use crate::domain::extension::{Extension, NewExtension, MANAGED_BY};
use crate::domain::plan::{FieldChange, FieldChanges, TextChange, REDACTED};
use crate::domain::DirectoryUser;

/// The synced identity fields whose directory value differs from the extension's. Both sides
/// are compared trimmed with empty read as none, so that a PBX that stores "" for null does
/// not cause an update on every run; the old value is kept as the PBX has it. Fields whose
/// sync is off are never compared and so never written.
pub(super) fn field_changes(synced: Synced, fields: &Fields<'_>, ext: &Extension) -> FieldChanges {
    let change = |on: bool, new: Option<&str>, old: &Option<String>| -> Option<TextChange> {
        (on && new != clean(old.as_deref())).then(|| FieldChange {
            old: old.clone(),
            new: new.map(str::to_string),
        })
    };
    FieldChanges {
        avatar: None,
        email: change(synced.email, fields.email, &ext.email),
        enabled: None,
        first_name: change(synced.first_name, fields.first_name, &ext.first_name),
        last_name: change(synced.last_name, fields.last_name, &ext.last_name),
        mobile: change(synced.mobile, fields.mobile, &ext.mobile),
        job_title: change(synced.job_title, fields.job_title, &ext.job_title),
        organization: None,
        sip_password: None,
    }
}

/// `fields.sip_password`: the user's password is sent when its keyed hash differs from the
/// one the mapping keeps of the password last sent (`None`: none sent yet). Shown redacted:
/// the plan holds neither the password nor its hash. A user without a password (the attribute
/// cleared) sends nothing: the PBX keeps the password it has.
pub(super) fn sip_password_change(
    on: bool,
    user: &DirectoryUser,
    sent: Option<&str>,
) -> Option<TextChange> {
    let hash = user.sip_password.as_ref()?.keyed_hash()?;
    (on && Some(hash) != sent).then(|| FieldChange {
        old: sent.map(|_| REDACTED.to_string()),
        new: Some(REDACTED.to_string()),
    })
}

/// Adds the re-enable of an extension that `on_remove: disable` disabled, now that its user
/// is back.
pub(super) fn add_reenable(changes: &mut FieldChanges) {
    changes.enabled = Some(FieldChange {
        old: false,
        new: true,
    });
}

/// The `POST /v1/extensions` body: fields whose sync is off are already `None` in `fields`.
pub(super) fn create_request(
    number: &str,
    fields: &Fields<'_>,
    send_welcome_email: bool,
) -> NewExtension {
    NewExtension {
        number: number.to_string(),
        first_name: fields.first_name.map(str::to_string),
        last_name: fields.last_name.map(str::to_string),
        email: fields.email.map(str::to_string),
        mobile: fields.mobile.map(str::to_string),
        job_title: fields.job_title.map(str::to_string),
        organization_id: None,
        managed_by: MANAGED_BY.to_string(),
        send_welcome_email,
    }
}
