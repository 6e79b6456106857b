//! Strict parsing of organization and extension-group bodies, as for extensions: unknown
//! fields, wrong types and invalid values are refused with 422 naming the field.

use serde_json::{Map, Value};

use crate::model::ApiError;
use crate::validate::{id, managed_by, name, parse_object};

/// The fields of an organization request; `parent_id: Some(None)` is the top level.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct OrganizationValues {
    pub name: Option<String>,
    pub parent_id: Option<Option<String>>,
    pub managed_by: Option<String>,
}

/// The fields of an extension-group request; `members` replaces the whole list.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct GroupValues {
    pub name: Option<String>,
    pub members: Option<Vec<String>>,
    pub managed_by: Option<String>,
}

/// `POST` (name required, `managed_by` allowed) or `PATCH` (at least one field) of an
/// organization.
pub(crate) fn parse_organization(
    body: &[u8],
    create: bool,
) -> Result<OrganizationValues, ApiError> {
    let object = parse_body(body, create)?;
    let mut values = OrganizationValues::default();
    for (key, value) in &object {
        match key.as_str() {
            "name" => values.name = Some(required_name(value)?),
            "parent_id" => values.parent_id = Some(id(key, value)?),
            "managed_by" if create => values.managed_by = managed_by(value)?,
            _ => return Err(unknown(key)),
        }
    }
    if create && values.name.is_none() {
        return Err(ApiError::invalid("name", "`name` is required"));
    }
    Ok(values)
}

/// `POST` (name required, `managed_by` allowed) or `PATCH` (at least one field) of an
/// extension group.
pub(crate) fn parse_group(body: &[u8], create: bool) -> Result<GroupValues, ApiError> {
    let object = parse_body(body, create)?;
    let mut values = GroupValues::default();
    for (key, value) in &object {
        match key.as_str() {
            "name" => values.name = Some(required_name(value)?),
            "members" => values.members = Some(members(value)?),
            "managed_by" if create => values.managed_by = managed_by(value)?,
            _ => return Err(unknown(key)),
        }
    }
    if create && values.name.is_none() {
        return Err(ApiError::invalid("name", "`name` is required"));
    }
    Ok(values)
}

fn parse_body(body: &[u8], create: bool) -> Result<Map<String, Value>, ApiError> {
    let object = parse_object(body)?;
    if !create && object.is_empty() {
        return Err(ApiError::invalid(
            "body",
            "the PATCH body must set at least one field",
        ));
    }
    Ok(object)
}

fn unknown(key: &str) -> ApiError {
    ApiError::invalid(key, format!("unknown field `{key}`"))
}

fn required_name(value: &Value) -> Result<String, ApiError> {
    match name("name", value)? {
        Some(name) if !name.trim().is_empty() => Ok(name),
        _ => Err(ApiError::invalid(
            "name",
            "`name` must be a non-empty string",
        )),
    }
}

/// Extension ids; one listed twice is one member.
fn members(value: &Value) -> Result<Vec<String>, ApiError> {
    let Value::Array(items) = value else {
        return Err(ApiError::invalid("members", "`members` must be an array"));
    };
    let mut members: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::String(member) if !member.is_empty() => {
                if !members.contains(member) {
                    members.push(member.clone());
                }
            }
            _ => {
                return Err(ApiError::invalid(
                    "members",
                    "`members` must hold extension ids",
                ))
            }
        }
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of<T: std::fmt::Debug>(result: Result<T, ApiError>) -> String {
        result.unwrap_err().field.unwrap_or_default()
    }

    #[test]
    fn organization_bodies_are_strict() {
        assert_eq!(
            field_of(parse_organization(br#"{"parent_id":null}"#, true)),
            "name"
        );
        assert_eq!(
            field_of(parse_organization(br#"{"name":" "}"#, true)),
            "name"
        );
        assert_eq!(
            field_of(parse_organization(br#"{"name":"A","x":1}"#, true)),
            "x"
        );
        assert_eq!(field_of(parse_organization(b"{}", false)), "body");
        assert_eq!(
            field_of(parse_organization(br#"{"managed_by":null}"#, false)),
            "managed_by"
        );
        let ok = parse_organization(
            br#"{"name":"Sales","parent_id":null,"managed_by":"directory-sync"}"#,
            true,
        )
        .unwrap();
        assert_eq!(ok.name.as_deref(), Some("Sales"));
        assert_eq!(ok.parent_id, Some(None));
        let patch = parse_organization(br#"{"parent_id":"org-1"}"#, false).unwrap();
        assert_eq!(patch.parent_id, Some(Some("org-1".into())));
        assert_eq!(patch.name, None);
    }

    #[test]
    fn group_bodies_are_strict_and_members_dedupe() {
        assert_eq!(field_of(parse_group(br#"{"members":[]}"#, true)), "name");
        assert_eq!(
            field_of(parse_group(br#"{"name":"G","members":[1]}"#, true)),
            "members"
        );
        assert_eq!(
            field_of(parse_group(br#"{"name":"G","members":"a"}"#, true)),
            "members"
        );
        let ok = parse_group(br#"{"name":"G","members":["a","b","a"]}"#, true).unwrap();
        assert_eq!(ok.members, Some(vec!["a".to_string(), "b".to_string()]));
    }
}
