//! What sync writes: the field differences of an update and the body of a create.

use std::collections::BTreeMap;

use serde_json::Value;

use super::eligibility::{clean, Fields, Synced};
use crate::domain::extension::{Extension, NewExtension, PbxField, MANAGED_BY};

pub(super) type Changes = BTreeMap<String, [Value; 2]>;

fn json(value: Option<&str>) -> Value {
    value.map_or(Value::Null, |v| Value::String(v.to_string()))
}

/// The synced identity fields whose directory value differs from the extension's, as
/// `field -> [old, new]`. Both sides are trimmed with empty read as none, so that a PBX that
/// stores "" for null does not cause an update on every run. Fields whose sync is off are
/// never compared and so never written.
pub(super) fn field_changes(synced: Synced, fields: &Fields<'_>, ext: &Extension) -> Changes {
    let pairs = [
        (
            PbxField::FirstName,
            synced.first_name,
            fields.first_name,
            &ext.first_name,
        ),
        (
            PbxField::LastName,
            synced.last_name,
            fields.last_name,
            &ext.last_name,
        ),
        (PbxField::Email, synced.email, fields.email, &ext.email),
        (PbxField::Mobile, synced.mobile, fields.mobile, &ext.mobile),
    ];
    pairs
        .into_iter()
        .filter(|(_, on, new, old)| *on && *new != clean(old.as_deref()))
        .map(|(field, _, new, old)| {
            (
                field.as_str().to_string(),
                [json(old.as_deref()), json(new)],
            )
        })
        .collect()
}

/// Adds the re-enable of an extension that `on_remove: disable` disabled, now that its user
/// is back.
pub(super) fn add_reenable(changes: &mut Changes) {
    changes.insert(
        PbxField::Enabled.as_str().to_string(),
        [Value::Bool(false), Value::Bool(true)],
    );
}

/// The `POST /v1/extensions` body: fields whose sync is off are already `None` in `fields`.
pub(super) fn create_request(number: &str, fields: &Fields<'_>) -> NewExtension {
    NewExtension {
        number: number.to_string(),
        first_name: fields.first_name.map(str::to_string),
        last_name: fields.last_name.map(str::to_string),
        email: fields.email.map(str::to_string),
        mobile: fields.mobile.map(str::to_string),
        managed_by: MANAGED_BY.to_string(),
    }
}
