//! Strict parsing of POST and PATCH bodies, as a real PBX would do it: unknown fields, wrong
//! types and invalid values are refused with 422 naming the field.

use dirsync::domain::extension::{is_valid_email, is_valid_number};
use dirsync::domain::MANAGED_BY;
use serde_json::{Map, Value};

use crate::model::ApiError;

const MAX_NAME_CHARS: usize = 64;
const MAX_MOBILE_CHARS: usize = 32;
const MAX_JOB_TITLE_CHARS: usize = 128;
const MAX_SIP_PASSWORD_CHARS: usize = 128;

/// The fields a request sets; `Some(None)` clears a nullable field.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct FieldValues {
    pub number: Option<String>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub mobile: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub job_title: Option<Option<String>>,
    /// Checked against the account's organizations by the state, not here.
    pub organization_id: Option<Option<String>>,
    pub managed_by: Option<Option<String>>,
    /// Accepted on POST and PATCH, never stored nor returned (CONTRACTS section 4).
    pub send_welcome_email: bool,
    /// `sip_password`: accepted on POST and PATCH, never returned; kept as its SHA-256 only
    /// (hex), so that tests can check what was set.
    pub sip_password_sha256: Option<String>,
}

/// The body of a POST: `number` required, every other field optional.
pub(crate) fn parse_create(body: &[u8]) -> Result<FieldValues, ApiError> {
    let object = parse_object(body)?;
    let mut values = FieldValues::default();
    for (key, value) in &object {
        match key.as_str() {
            "number" => values.number = Some(number(value)?),
            _ => set_field(&mut values, key, value)?,
        }
    }
    if values.number.is_none() {
        return Err(ApiError::invalid("number", "`number` is required"));
    }
    Ok(values)
}

/// The body of a PATCH: at least one field, never `id` or `number`.
pub(crate) fn parse_patch(body: &[u8]) -> Result<FieldValues, ApiError> {
    let object = parse_object(body)?;
    if object.is_empty() {
        return Err(ApiError::invalid(
            "body",
            "the PATCH body must set at least one field",
        ));
    }
    let mut values = FieldValues::default();
    for (key, value) in &object {
        match key.as_str() {
            "id" | "number" => {
                return Err(ApiError::invalid(key, format!("`{key}` cannot be changed")));
            }
            _ => set_field(&mut values, key, value)?,
        }
    }
    Ok(values)
}

pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON body: {e}")))?;
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(ApiError::invalid("body", "the body must be a JSON object")),
    }
}

fn set_field(values: &mut FieldValues, key: &str, value: &Value) -> Result<(), ApiError> {
    match key {
        "first_name" => values.first_name = Some(name(key, value)?),
        "last_name" => values.last_name = Some(name(key, value)?),
        "email" => values.email = Some(email(value)?),
        "mobile" => values.mobile = Some(mobile(value)?),
        "enabled" => {
            let Value::Bool(enabled) = value else {
                return Err(ApiError::invalid(key, "`enabled` must be a boolean"));
            };
            values.enabled = Some(*enabled);
        }
        "send_welcome_email" => {
            let Value::Bool(send) = value else {
                return Err(ApiError::invalid(
                    key,
                    "`send_welcome_email` must be a boolean",
                ));
            };
            values.send_welcome_email = *send;
        }
        "sip_password" => values.sip_password_sha256 = Some(sip_password(value)?),
        "job_title" => values.job_title = Some(text(key, value, MAX_JOB_TITLE_CHARS)?),
        "organization_id" => values.organization_id = Some(id(key, value)?),
        "managed_by" => values.managed_by = Some(managed_by(value)?),
        _ => {
            return Err(ApiError::invalid(key, format!("unknown field `{key}`")));
        }
    }
    Ok(())
}

/// A SIP password: a string of 1 to 128 characters without control characters. The message
/// never repeats the value.
fn sip_password(value: &Value) -> Result<String, ApiError> {
    use sha2::{Digest, Sha256};
    let Value::String(password) = value else {
        return Err(ApiError::invalid(
            "sip_password",
            "`sip_password` must be a string",
        ));
    };
    let chars = password.chars().count();
    if !(1..=MAX_SIP_PASSWORD_CHARS).contains(&chars) || password.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "sip_password",
            format!("`sip_password` must be 1 to {MAX_SIP_PASSWORD_CHARS} characters, no control characters"),
        ));
    }
    Ok(format!("{:x}", Sha256::digest(password.as_bytes())))
}

pub(crate) fn nullable_string<'v>(
    field: &str,
    value: &'v Value,
) -> Result<Option<&'v str>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        _ => Err(ApiError::invalid(
            field,
            format!("`{field}` must be a string or null"),
        )),
    }
}

fn number(value: &Value) -> Result<String, ApiError> {
    let Value::String(number) = value else {
        return Err(ApiError::invalid("number", "`number` must be a string"));
    };
    if !is_valid_number(number) {
        return Err(ApiError::invalid(
            "number",
            "`number` must be 2 to 15 digits",
        ));
    }
    Ok(number.clone())
}

pub(crate) fn name(field: &str, value: &Value) -> Result<Option<String>, ApiError> {
    text(field, value, MAX_NAME_CHARS)
}

/// A nullable string of at most `max` characters, no control characters.
fn text(field: &str, value: &Value, max: usize) -> Result<Option<String>, ApiError> {
    let text = nullable_string(field, value)?;
    if let Some(text) = text {
        if text.chars().count() > max {
            return Err(ApiError::invalid(
                field,
                format!("`{field}` must be at most {max} characters"),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                field,
                format!("`{field}` must not contain control characters"),
            ));
        }
    }
    Ok(text.map(str::to_string))
}

/// A nullable reference to another object: a non-empty string or null.
pub(crate) fn id(field: &str, value: &Value) -> Result<Option<String>, ApiError> {
    match nullable_string(field, value)? {
        Some("") => Err(ApiError::invalid(
            field,
            format!("`{field}` must not be empty"),
        )),
        id => Ok(id.map(str::to_string)),
    }
}

fn email(value: &Value) -> Result<Option<String>, ApiError> {
    let email = nullable_string("email", value)?;
    if let Some(email) = email {
        if !is_valid_email(email) {
            return Err(ApiError::invalid("email", "`email` is not a valid address"));
        }
    }
    Ok(email.map(str::to_string))
}

fn mobile(value: &Value) -> Result<Option<String>, ApiError> {
    let mobile = nullable_string("mobile", value)?;
    if let Some(mobile) = mobile {
        // Lenient on format (directories hold "+1 (555) 010-0100 x2"), strict on size.
        if mobile.chars().count() > MAX_MOBILE_CHARS || mobile.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                "mobile",
                format!("`mobile` must be a phone number of at most {MAX_MOBILE_CHARS} characters"),
            ));
        }
    }
    Ok(mobile.map(str::to_string))
}

pub(crate) fn managed_by(value: &Value) -> Result<Option<String>, ApiError> {
    match nullable_string("managed_by", value)? {
        None => Ok(None),
        Some(marker) if marker == MANAGED_BY => Ok(Some(marker.to_string())),
        Some(_) => Err(ApiError::invalid(
            "managed_by",
            format!("`managed_by` must be null or \"{MANAGED_BY}\""),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<FieldValues, ApiError>) -> String {
        result.unwrap_err().field.unwrap_or_default()
    }

    #[test]
    fn create_needs_a_valid_number_and_refuses_unknown_fields() {
        assert_eq!(field_of(parse_create(br#"{"email":"a@b.co"}"#)), "number");
        assert_eq!(field_of(parse_create(br#"{"number":"1a"}"#)), "number");
        assert_eq!(field_of(parse_create(br#"{"number":"1"}"#)), "number");
        assert_eq!(
            field_of(parse_create(br#"{"number":"100","voicemail":{}}"#)),
            "voicemail"
        );
        assert_eq!(
            field_of(parse_create(br#"{"number":"100","id":"x"}"#)),
            "id"
        );
        let ok =
            parse_create(br#"{"number":"100","first_name":null,"managed_by":"directory-sync"}"#)
                .unwrap();
        assert_eq!(ok.number.as_deref(), Some("100"));
        assert_eq!(ok.first_name, Some(None));
        assert_eq!(ok.managed_by, Some(Some(MANAGED_BY.to_string())));
    }

    #[test]
    fn values_are_checked() {
        let long = "x".repeat(65);
        let body = format!(r#"{{"number":"100","last_name":"{long}"}}"#);
        assert_eq!(field_of(parse_create(body.as_bytes())), "last_name");
        assert_eq!(
            field_of(parse_create(br#"{"number":"100","email":"nope"}"#)),
            "email"
        );
        assert_eq!(
            field_of(parse_create(br#"{"number":"100","enabled":"yes"}"#)),
            "enabled"
        );
        assert_eq!(
            field_of(parse_create(br#"{"number":"100","managed_by":"someone"}"#)),
            "managed_by"
        );
        assert_eq!(
            field_of(parse_create(br#"{"number":"100","mobile":7}"#)),
            "mobile"
        );
        assert_eq!(field_of(parse_create(br#"[1]"#)), "body");
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        let error = parse_create(b"{").unwrap_err();
        assert_eq!(error.status, axum::http::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn patch_refuses_empty_bodies_and_immutable_fields() {
        assert_eq!(field_of(parse_patch(b"{}")), "body");
        assert_eq!(field_of(parse_patch(br#"{"number":"200"}"#)), "number");
        assert_eq!(field_of(parse_patch(br#"{"id":"e"}"#)), "id");
        assert_eq!(
            field_of(parse_patch(br#"{"forwarding":null}"#)),
            "forwarding"
        );
        let ok = parse_patch(br#"{"email":null,"enabled":false}"#).unwrap();
        assert_eq!(ok.email, Some(None));
        assert_eq!(ok.enabled, Some(false));
        assert_eq!(ok.first_name, None);
    }
}
