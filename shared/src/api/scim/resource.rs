//! SCIM JSON ↔ [`PushedResource`]: request bodies read into the kept attributes (schema names,
//! typed values, Entra's string booleans, sizes checked, attributes dirsync does not keep
//! dropped), and stored resources answered with `schemas`, `id` and `meta`.

use chrono::SecondsFormat;
use serde_json::{json, Map, Value};

use super::error::{ScimError, ScimType};
use super::schema::{self, Attr, Mutability, Type, ENTERPRISE, ENTERPRISE_SCHEMA, EXTERNAL_ID};
use crate::domain::{PushedKind, PushedResource};

/// Longest string value taken (bytes).
pub const MAX_STRING: usize = 1024;
/// Most values of `emails`, `phoneNumbers` and the like.
pub const MAX_VALUES: usize = 50;
/// Most members of one group.
pub const MAX_MEMBERS: usize = 10_000;

/// A resource's writable attributes in their kept form: core attributes and `externalId` at
/// the top, the enterprise extension as an object under its URN.
pub type Document = Map<String, Value>;

fn invalid(detail: String) -> ScimError {
    ScimError::bad(ScimType::InvalidValue, detail)
}

/// `value` as a value of `attr` (`at` names it in errors): `Null` when it is null or holds
/// nothing dirsync keeps.
pub fn coerce(attr: &Attr, value: &Value, at: &str) -> Result<Value, ScimError> {
    if !attr.multi {
        return coerce_one(attr, value, at);
    }
    let items: Vec<&Value> = match value {
        Value::Null => return Ok(Value::Null),
        Value::Array(items) => items.iter().collect(),
        // One value where a list is due: taken as a list of one, as identity providers send.
        other => vec![other],
    };
    let max = if attr.name == "members" {
        MAX_MEMBERS
    } else {
        MAX_VALUES
    };
    if items.len() > max {
        return Err(invalid(format!("{at} takes at most {max} values")));
    }
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        let one = coerce_one(attr, item, at)?;
        if !one.is_null() && !out.contains(&one) {
            out.push(one);
        }
    }
    let primaries = out.iter().filter(|v| v["primary"] == true).count();
    if primaries > 1 {
        return Err(invalid(format!("{at}: at most one value may be primary")));
    }
    Ok(if out.is_empty() {
        Value::Null
    } else {
        Value::Array(out)
    })
}

fn coerce_one(attr: &Attr, value: &Value, at: &str) -> Result<Value, ScimError> {
    match (attr.kind, value) {
        (_, Value::Null) => Ok(Value::Null),
        (Type::String | Type::Reference(_), Value::String(s)) => {
            if s.len() > MAX_STRING {
                return Err(invalid(format!("{at} is longer than {MAX_STRING} bytes")));
            }
            Ok(Value::String(s.clone()))
        }
        // Some identity providers send numbers for string attributes (employeeNumber).
        (Type::String, Value::Number(n)) => Ok(Value::String(n.to_string())),
        (Type::Boolean, Value::Bool(b)) => Ok(Value::Bool(*b)),
        // Entra ID sends "True" and "False".
        (Type::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
            Ok(Value::Bool(true))
        }
        (Type::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
            Ok(Value::Bool(false))
        }
        (Type::Complex, Value::Object(object)) => {
            let mut out = Map::new();
            for (key, value) in object {
                let Some(sub) = schema::find(attr.sub, key) else {
                    continue;
                };
                // `$ref` is dirsync's to answer (the member's location), not kept.
                if sub.mutability == Mutability::ReadOnly || matches!(sub.kind, Type::Reference(_))
                {
                    continue;
                }
                let value = coerce_one(sub, value, &format!("{at}.{}", sub.name))?;
                if !value.is_null() {
                    out.insert(sub.name.to_string(), value);
                }
            }
            Ok(if out.is_empty() {
                Value::Null
            } else {
                Value::Object(out)
            })
        }
        (kind, _) => Err(invalid(format!(
            "{at} must be {}",
            match kind {
                Type::String | Type::Reference(_) => "a string",
                Type::Boolean => "a boolean",
                Type::Complex => "an object",
            }
        ))),
    }
}

/// Sets `attr` in `object` to `value`, or removes it when `value` is null.
pub fn set(object: &mut Map<String, Value>, attr: &Attr, value: Value) {
    if value.is_null() {
        object.remove(attr.name);
    } else {
        object.insert(attr.name.to_string(), value);
    }
}

/// The document a POST or PUT body describes (`id`, `meta`, `schemas` and unknown attributes
/// are not read).
pub fn read(kind: PushedKind, body: &Value) -> Result<Document, ScimError> {
    let Value::Object(body) = body else {
        return Err(ScimError::bad(
            ScimType::InvalidSyntax,
            "the body must be a JSON object",
        ));
    };
    let mut doc = Document::new();
    for (key, value) in body {
        if key.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) && kind == PushedKind::User {
            let ext = extension(value)?;
            if !ext.is_empty() {
                doc.insert(ENTERPRISE_SCHEMA.to_string(), Value::Object(ext));
            }
        } else if let Some(attr) = schema::top_level(kind, key) {
            let value = coerce(attr, value, attr.name)?;
            set(&mut doc, attr, value);
        }
    }
    required(kind, &doc)?;
    Ok(doc)
}

/// The enterprise extension object of a request.
pub fn extension(value: &Value) -> Result<Map<String, Value>, ScimError> {
    let mut ext = Map::new();
    match value {
        Value::Null => {}
        Value::Object(object) => {
            for (key, value) in object {
                if let Some(attr) = schema::find(ENTERPRISE, key) {
                    let value = coerce(attr, value, attr.name)?;
                    set(&mut ext, attr, value);
                }
            }
        }
        _ => return Err(invalid(format!("{ENTERPRISE_SCHEMA} must be an object"))),
    }
    Ok(ext)
}

/// The required attribute of `kind` (`userName`, `displayName`) is a non-empty string.
pub fn required(kind: PushedKind, doc: &Document) -> Result<(), ScimError> {
    let attr = schema::core(kind)
        .iter()
        .find(|a| a.required)
        .map_or("userName", |a| a.name);
    match doc.get(attr) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
        _ => Err(invalid(format!("{attr} is required"))),
    }
}

/// The unique name of a document: `userName` or `displayName`.
pub fn name_of(kind: PushedKind, doc: &Document) -> String {
    let attr = if kind == PushedKind::User {
        "userName"
    } else {
        "displayName"
    };
    doc.get(attr)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The stored resource's document: its attributes with `externalId`.
pub fn document(resource: &PushedResource) -> Document {
    let mut doc = match &resource.attributes {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    if let Some(external) = &resource.external_id {
        doc.insert(EXTERNAL_ID.name.to_string(), json!(external));
    }
    doc
}

/// Splits a document into what [`PushedResource`] keeps: `externalId` and the attributes.
pub fn into_parts(mut doc: Document) -> (Option<String>, Value) {
    let external = match doc.remove(EXTERNAL_ID.name) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    (external, Value::Object(doc))
}

/// The weak ETag of a version: `W/"3"`.
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// The resource as SCIM answers it; `base` is the tenant's SCIM base URL.
pub fn render(resource: &PushedResource, base: &str) -> Value {
    let kind = resource.kind;
    let mut out = Map::new();
    let mut schemas = vec![json!(schema::core_schema(kind))];
    let mut attributes = document(resource);
    if attributes.contains_key(ENTERPRISE_SCHEMA) {
        schemas.push(json!(ENTERPRISE_SCHEMA));
    }
    if let Some(Value::Array(members)) = attributes.get_mut("members") {
        for member in members.iter_mut() {
            if let Some(id) = member.get("value").and_then(Value::as_str) {
                let location = format!("{base}/Users/{id}");
                member["$ref"] = json!(location);
            }
        }
    }
    out.insert("schemas".into(), json!(schemas));
    out.insert("id".into(), json!(resource.id.as_str()));
    out.extend(attributes);
    let endpoint = schema::endpoint(kind);
    out.insert(
        "meta".into(),
        json!({
            "resourceType": schema::resource_type(kind),
            "created": resource.created.to_rfc3339_opts(SecondsFormat::Millis, true),
            "lastModified": resource.last_modified.to_rfc3339_opts(SecondsFormat::Millis, true),
            "location": format!("{base}/{endpoint}/{}", resource.id),
            "version": etag(resource.version),
        }),
    );
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ObjectId;

    #[test]
    fn a_body_is_read_into_schema_names_and_types() {
        let body = json!({
            "schemas": [schema::USER_SCHEMA, ENTERPRISE_SCHEMA],
            "id": "ignored", "meta": {"version": "W/\"9\""},
            "UserName": "ann@example.com",
            "externalId": "e-1",
            "active": "False",
            "name": {"givenName": "Ann", "FAMILYNAME": "Lee", "unknown": "x"},
            "emails": [{"value": "ann@example.com", "type": "work", "primary": "True"}],
            "phoneNumbers": {"value": "1234", "type": "work"},
            "addresses": [{"street": "kept nowhere"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "Sales", "employeeNumber": 42},
        });
        let doc = read(PushedKind::User, &body).unwrap();
        assert_eq!(
            Value::Object(doc.clone()),
            json!({
                "userName": "ann@example.com",
                "externalId": "e-1",
                "active": false,
                "name": {"givenName": "Ann", "familyName": "Lee"},
                "emails": [{"value": "ann@example.com", "type": "work", "primary": true}],
                "phoneNumbers": [{"value": "1234", "type": "work"}],
                ENTERPRISE_SCHEMA: {"department": "Sales", "employeeNumber": "42"},
            })
        );
        assert_eq!(name_of(PushedKind::User, &doc), "ann@example.com");
    }

    #[test]
    fn bad_values_are_invalid_value_errors() {
        for body in [
            json!({"active": true}),
            json!({"userName": ""}),
            json!({"userName": 7.5e3, "active": "maybe"}),
            json!({"userName": "a", "name": "Ann"}),
            json!({"userName": "a", "title": "x".repeat(MAX_STRING + 1)}),
            json!({"userName": "a", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}),
            json!({"userName": "a", "emails": (0..=MAX_VALUES).map(|i| json!({"value": i.to_string()})).collect::<Vec<_>>()}),
        ] {
            let error = read(PushedKind::User, &body).unwrap_err();
            assert_eq!(error.scim_type, Some(ScimType::InvalidValue), "{body}");
        }
        assert_eq!(
            read(PushedKind::User, &json!([1])).unwrap_err().scim_type,
            Some(ScimType::InvalidSyntax)
        );
    }

    #[test]
    fn a_stored_group_is_answered_with_member_references_and_meta() {
        let doc = read(
            PushedKind::Group,
            &json!({"displayName": "Sales", "externalId": "x", "members": [{"value": "u-1", "$ref": "https://elsewhere/u-1"}, {"value": "u-1"}]}),
        )
        .unwrap();
        let (external_id, attributes) = into_parts(doc);
        let at = "2031-01-02T03:04:05Z".parse().unwrap();
        let group = PushedResource {
            kind: PushedKind::Group,
            id: ObjectId::parse("g-1").unwrap(),
            external_id,
            name: "Sales".into(),
            version: 3,
            created: at,
            last_modified: at,
            attributes,
        };
        let out = render(&group, "https://h/scim/v2/acme");
        assert_eq!(
            out,
            json!({
                "schemas": [schema::GROUP_SCHEMA],
                "id": "g-1", "externalId": "x", "displayName": "Sales",
                "members": [{"value": "u-1", "$ref": "https://h/scim/v2/acme/Users/u-1"}],
                "meta": {"resourceType": "Group", "created": "2031-01-02T03:04:05.000Z",
                         "lastModified": "2031-01-02T03:04:05.000Z",
                         "location": "https://h/scim/v2/acme/Groups/g-1", "version": "W/\"3\""},
            })
        );
    }
}
