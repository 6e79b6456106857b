//! `provider.type = "scim"` (CONTRACTS sections 2 and 6): the directory is what the tenant's
//! identity provider pushed. No connection fields and no credentials; `fields`,
//! `organizations.attribute` and `extra_numbers` name SCIM user attributes from the closed
//! list of [`ScimAttribute`], read from the pushed RFC 7643 resources as the SCIM routes keep
//! them (core schema, the enterprise extension nested under its URN).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The RFC 7643 enterprise user extension's schema URN.
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// `{"type": "scim"}`: nothing to connect to. A struct (not a unit) so that a later release
/// can add optional settings without changing the stored form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimConfig {}

/// A SCIM user attribute a PBX field can take its value from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimAttribute {
    UserName,
    DisplayName,
    GivenName,
    FamilyName,
    /// `emails[primary]`: the email marked primary, else the first one.
    PrimaryEmail,
    /// `phoneNumbers[type eq "work"]`.
    WorkPhone,
    /// `phoneNumbers[type eq "mobile"]`.
    MobilePhone,
    Title,
    /// The enterprise extension's `department`.
    Department,
}

impl ScimAttribute {
    pub const ALL: [ScimAttribute; 9] = [
        ScimAttribute::UserName,
        ScimAttribute::DisplayName,
        ScimAttribute::GivenName,
        ScimAttribute::FamilyName,
        ScimAttribute::PrimaryEmail,
        ScimAttribute::WorkPhone,
        ScimAttribute::MobilePhone,
        ScimAttribute::Title,
        ScimAttribute::Department,
    ];

    /// How a config names it (the SCIM attribute path).
    pub fn as_str(self) -> &'static str {
        match self {
            ScimAttribute::UserName => "userName",
            ScimAttribute::DisplayName => "displayName",
            ScimAttribute::GivenName => "name.givenName",
            ScimAttribute::FamilyName => "name.familyName",
            ScimAttribute::PrimaryEmail => "emails[primary]",
            ScimAttribute::WorkPhone => "phoneNumbers[type eq \"work\"]",
            ScimAttribute::MobilePhone => "phoneNumbers[type eq \"mobile\"]",
            ScimAttribute::Title => "title",
            ScimAttribute::Department => {
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
            }
        }
    }

    /// The attribute a config names: one of [`ScimAttribute::as_str`] (attribute names
    /// without case, as RFC 7643 compares them), or `department` for the enterprise one.
    pub fn parse(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("department") {
            return Some(ScimAttribute::Department);
        }
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(name))
    }

    /// The names a config may use, for error messages.
    pub fn names() -> String {
        Self::ALL
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The attribute's value in a pushed user, trimmed; blank counts as missing.
    pub fn read(self, user: &Map<String, Value>) -> Option<String> {
        let value = match self {
            ScimAttribute::UserName => get(user, "userName"),
            ScimAttribute::DisplayName => get(user, "displayName"),
            ScimAttribute::GivenName => get(user, "name").and_then(|n| member(n, "givenName")),
            ScimAttribute::FamilyName => get(user, "name").and_then(|n| member(n, "familyName")),
            ScimAttribute::PrimaryEmail => primary_email(get(user, "emails")?),
            ScimAttribute::WorkPhone => typed(get(user, "phoneNumbers")?, "work"),
            ScimAttribute::MobilePhone => typed(get(user, "phoneNumbers")?, "mobile"),
            ScimAttribute::Title => get(user, "title"),
            ScimAttribute::Department => get(user, ENTERPRISE_USER)
                .and_then(|e| member(e, "department"))
                // The flat form of a PATCH path, in case a resource keeps it so.
                .or_else(|| get(user, &format!("{ENTERPRISE_USER}:department"))),
        };
        text(value?)
    }
}

/// Whether a pushed user is active: only `false` (or Entra's string `"False"`, any case)
/// disables; RFC 7643 gives `active` no default, and a user pushed without it is taken as the
/// identity provider's active user.
pub fn is_active(user: &Map<String, Value>) -> bool {
    !get(user, "active").is_some_and(is_false)
}

fn is_false(value: &Value) -> bool {
    match value {
        Value::Bool(b) => !b,
        Value::String(s) => s.trim().eq_ignore_ascii_case("false"),
        _ => false,
    }
}

fn is_true(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// An attribute by name, without case (RFC 7643 section 2.1).
pub fn get<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

fn member<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    get(value.as_object()?, name)
}

/// The `value` of the email marked primary, else of the first email that has one.
fn primary_email(emails: &Value) -> Option<&Value> {
    let emails = emails.as_array()?;
    let valued = |e: &&Value| member(e, "value").and_then(text).is_some();
    emails
        .iter()
        .filter(valued)
        .find(|e| member(e, "primary").is_some_and(is_true))
        .or_else(|| emails.iter().find(valued))
        .and_then(|e| member(e, "value"))
}

/// The `value` of the first entry whose `type` is `kind` (without case).
fn typed<'a>(values: &'a Value, kind: &str) -> Option<&'a Value> {
    values
        .as_array()?
        .iter()
        .filter(|v| {
            member(v, "type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(kind))
        })
        .find_map(|v| member(v, "value").filter(|v| text(v).is_some()))
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn names_parse_without_case_and_department_has_a_short_form() {
        for attribute in ScimAttribute::ALL {
            assert_eq!(ScimAttribute::parse(attribute.as_str()), Some(attribute));
            let upper = attribute.as_str().to_uppercase();
            assert_eq!(ScimAttribute::parse(&upper), Some(attribute));
        }
        assert_eq!(
            ScimAttribute::parse("department"),
            Some(ScimAttribute::Department)
        );
        assert_eq!(ScimAttribute::parse("telephoneNumber"), None);
        assert_eq!(ScimAttribute::parse("phoneNumbers"), None);
        assert_eq!(ScimAttribute::parse("name"), None);
    }

    #[test]
    fn an_entra_user_reads_as_its_attributes() {
        let entra = user(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER],
            "userName": "Test_User_dfeef4c5@contoso.com", "active": true,
            "displayName": "Ada Lovelace",
            "emails": [{"primary": false, "type": "home", "value": "ada@home.example"},
                       {"primary": true, "type": "work", "value": " Ada@contoso.com "}],
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "phoneNumbers": [{"type": "mobile", "value": "+1 555 0199"},
                             {"type": "Work", "value": "2001"}],
            "title": "Engineer",
            ENTERPRISE_USER: {"department": "Sales"}
        }));
        let read = |a| ScimAttribute::read(a, &entra);
        assert_eq!(read(ScimAttribute::GivenName).as_deref(), Some("Ada"));
        assert_eq!(read(ScimAttribute::FamilyName).as_deref(), Some("Lovelace"));
        assert_eq!(
            read(ScimAttribute::PrimaryEmail).as_deref(),
            Some("Ada@contoso.com")
        );
        assert_eq!(read(ScimAttribute::WorkPhone).as_deref(), Some("2001"));
        assert_eq!(
            read(ScimAttribute::MobilePhone).as_deref(),
            Some("+1 555 0199")
        );
        assert_eq!(read(ScimAttribute::Title).as_deref(), Some("Engineer"));
        assert_eq!(read(ScimAttribute::Department).as_deref(), Some("Sales"));
        assert!(is_active(&entra));
    }

    #[test]
    fn without_a_primary_the_first_email_counts_and_blanks_are_missing() {
        let u = user(json!({"emails": [{"value": " "}, {"value": "b@x.com"}],
            "phoneNumbers": [{"type": "work", "value": ""}], "name": {"givenName": 7}}));
        assert_eq!(
            ScimAttribute::PrimaryEmail.read(&u).as_deref(),
            Some("b@x.com")
        );
        assert_eq!(ScimAttribute::WorkPhone.read(&u), None);
        assert_eq!(ScimAttribute::GivenName.read(&u).as_deref(), Some("7"));
        assert_eq!(ScimAttribute::Title.read(&u), None);
        let flat = user(json!({format!("{ENTERPRISE_USER}:department"): "Ops"}));
        assert_eq!(
            ScimAttribute::Department.read(&flat).as_deref(),
            Some("Ops")
        );
    }

    #[test]
    fn only_false_in_either_form_disables() {
        assert!(!is_active(&user(json!({"active": false}))));
        assert!(!is_active(&user(json!({"active": "False"}))));
        assert!(!is_active(&user(json!({"Active": " false "}))));
        assert!(is_active(&user(json!({"active": "True"}))));
        assert!(is_active(&user(json!({"active": true}))));
        assert!(is_active(&user(json!({}))));
    }
}
