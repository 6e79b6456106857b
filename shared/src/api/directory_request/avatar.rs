//! `fields.avatar`: which providers have photos, and a safe attribute name.

use crate::domain::config::{AvatarField, FieldSources};

/// The error of `fields.avatar` for a provider of kind `kind`, if any. Okta keeps no photos.
pub(super) fn avatar_error(fields: &FieldSources, kind: &str) -> Option<&'static str> {
    match &fields.avatar {
        None | Some(AvatarField::On(false)) => None,
        Some(_) if kind == "okta" => Some("is not available: Okta keeps no user photos"),
        Some(AvatarField::Attribute(name)) if !super::convert::is_attribute_name(name) => {
            Some("must be true, null or an attribute name (letters, digits, '-', '_', '.', ';')")
        }
        Some(_) => None,
    }
}
