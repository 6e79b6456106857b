//! What both backends do alike with a pushed SCIM resource (`domain::pushed`): its stored
//! JSON, kept within the size every backend can hold, and the key that makes names unique
//! without case.

use crate::domain::{PushedKind, PushedResource};
use crate::error::StoreError;

/// The largest JSON of one pushed resource a store keeps: one DynamoDB item holds 400 KB,
/// keys and attributes included. The SCIM routes cap request bodies far lower; this is the
/// store's own guard.
pub const MAX_PUSHED_BYTES: usize = 300 * 1024;

/// The resource's JSON, or [`StoreError::TooLarge`] when it is over [`MAX_PUSHED_BYTES`].
pub(super) fn encode(resource: &PushedResource) -> Result<String, StoreError> {
    let body = serde_json::to_string(resource)?;
    if body.len() > MAX_PUSHED_BYTES {
        return Err(StoreError::TooLarge {
            bytes: body.len(),
            max: MAX_PUSHED_BYTES,
        });
    }
    Ok(body)
}

/// The name as uniqueness and look-ups compare it: Unicode lowercase, computed here rather
/// than by SQLite's `lower()` (ASCII only), so that both backends fold case alike.
pub(super) fn name_key(name: &str) -> String {
    name.to_lowercase()
}

pub(super) fn kind_name(kind: PushedKind) -> &'static str {
    match kind {
        PushedKind::User => "user",
        PushedKind::Group => "group",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_case_beyond_ascii() {
        assert_eq!(name_key("Ann.O'Neil@Example.COM"), "ann.o'neil@example.com");
        assert_eq!(name_key("ÉMILE Ørsted"), name_key("émile ørsted"));
    }

    #[test]
    fn kind_names_are_serde_names() {
        for kind in [PushedKind::User, PushedKind::Group] {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, kind_name(kind));
        }
    }
}
