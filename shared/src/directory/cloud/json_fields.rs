//! The tenant's `fields` applied to a JSON user (a Graph user, an Okta profile): the cloud
//! counterpart of [`crate::directory::UserMapper`].

use serde_json::{Map, Value};

use crate::domain::config::{OrganizationSync, SourceField};
use crate::domain::organization::AttributeOrganizations;
use crate::domain::phonebook::ExtraNumber;
use crate::domain::sip_password::SipPassword;
use crate::domain::{DirectoryConfig, DirectoryUser, ObjectId, UserState};

/// The PBX identity fields of one user, before id, state and scope are added.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct MappedFields {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub extension: Option<String>,
    pub job_title: Option<String>,
    /// The value of `organizations.sync = attribute`'s attribute.
    pub organization: Option<String>,
    /// `fields.sip_password`'s value.
    pub sip_password: Option<SipPassword>,
    /// `write_back.attribute`'s current value.
    pub write_back: Option<String>,
    pub extra_numbers: Vec<ExtraNumber>,
}

impl MappedFields {
    /// The directory user with these fields, its attribute value recorded in `organizations`:
    /// a cloud user has no DN, and the group reader adds the groups.
    pub fn into_user(
        self,
        object_id: ObjectId,
        state: UserState,
        in_scope: bool,
        organizations: &mut AttributeOrganizations,
    ) -> DirectoryUser {
        DirectoryUser {
            avatar_ref: None,
            avatar: None,
            object_id,
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            mobile: self.mobile,
            extension: self.extension,
            state,
            expires_at: None,
            in_scope,
            dn: None,
            groups: Vec::new(),
            job_title: self.job_title,
            organization: organizations.of(self.organization.as_deref()),
            sip_password: self.sip_password,
            write_back: self.write_back,
            extra_numbers: self.extra_numbers,
        }
    }
}

/// The source property of each PBX field (`None`: the field's sync is off).
#[derive(Debug, Clone)]
pub(crate) struct JsonFields {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    mobile: Option<String>,
    extension: Option<String>,
    job_title: Option<String>,
    /// `organizations.sync = attribute`'s attribute; `ous` does not apply to a cloud directory.
    organization: Option<String>,
    /// `fields.sip_password`'s property.
    sip_password: Option<String>,
    /// `write_back.attribute`.
    write_back: Option<String>,
    /// `extra_numbers`: each property, the index of its value taken, and the suffix.
    extra_numbers: Vec<(String, usize, String)>,
}

impl JsonFields {
    pub fn new(config: &DirectoryConfig) -> Self {
        Self {
            first_name: config.field_source(SourceField::FirstName),
            last_name: config.field_source(SourceField::LastName),
            email: config.field_source(SourceField::Email),
            mobile: config.field_source(SourceField::Mobile),
            extension: config.field_source(SourceField::Extension),
            job_title: config.field_source(SourceField::JobTitle),
            organization: match &config.organizations.sync {
                OrganizationSync::Attribute { attribute } => Some(attribute.clone()),
                OrganizationSync::None | OrganizationSync::Ous => None,
            },
            sip_password: config.sip_password_source().map(str::to_string),
            write_back: config.write_back.as_ref().map(|w| w.attribute.clone()),
            extra_numbers: config
                .extra_numbers
                .iter()
                .map(|source| {
                    let (property, index) = source.attribute_and_index();
                    (property.to_string(), index, source.suffix.clone())
                })
                .collect(),
        }
    }

    /// The mapped property names, without duplicates, in field order.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        let all = [
            &self.first_name,
            &self.last_name,
            &self.email,
            &self.mobile,
            &self.extension,
            &self.job_title,
            &self.organization,
            &self.sip_password,
            &self.write_back,
        ];
        let extra = self.extra_numbers.iter().map(|(name, _, _)| name);
        for name in all.into_iter().flatten().chain(extra) {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        names
    }

    pub fn map(&self, object: &Map<String, Value>) -> MappedFields {
        let field = |source: &Option<String>| source.as_deref().and_then(|n| text(get(object, n)?));
        MappedFields {
            first_name: field(&self.first_name),
            last_name: field(&self.last_name),
            email: field(&self.email),
            mobile: field(&self.mobile),
            extension: field(&self.extension),
            job_title: field(&self.job_title),
            organization: field(&self.organization),
            write_back: field(&self.write_back),
            // A string as it is (spaces may be part of a password); anything else is none.
            sip_password: self
                .sip_password
                .as_deref()
                .and_then(|n| get(object, n)?.as_str())
                .and_then(SipPassword::new),
            extra_numbers: self
                .extra_numbers
                .iter()
                .filter_map(|(name, index, suffix)| {
                    Some(ExtraNumber {
                        suffix: suffix.clone(),
                        number: nth_text(get(object, name)?, *index)?,
                    })
                })
                .collect(),
        }
    }
}

/// The `index`-th element of an array property (Graph's `businessPhones[1]`); a single value
/// is element 0. Blank values count as missing.
fn nth_text(value: &Value, index: usize) -> Option<String> {
    match value {
        Value::Array(items) => text(items.get(index)?),
        single if index == 0 => text(single),
        _ => None,
    }
}

/// A property by name; Graph matches `$select` names case-insensitively and answers in its
/// own casing, so a differently cased name still finds the value.
fn get<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

/// A property as text: a string, a number, or the first usable element of an array (Graph's
/// `businessPhones`). Blank values count as missing.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) => items.iter().find_map(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EndpointPolicy;
    use serde_json::json;

    fn fields(extra: Value) -> JsonFields {
        let mut body = json!({"provider": {"type": "azure", "tenant_id": "contoso.onmicrosoft.com",
            "client_id": "00000000-0000-0000-0000-000000000001"}});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let config =
            DirectoryConfig::from_json(body.to_string().as_bytes(), EndpointPolicy::default())
                .unwrap();
        JsonFields::new(&config)
    }

    #[test]
    fn graph_defaults_take_the_first_business_phone() {
        let user = json!({"givenName": " Ada ", "surname": "Lovelace", "mail": "ada@x.com",
            "mobilePhone": null, "businessPhones": ["", "+1 555 0100 ext 2001", "other"]});
        let mapped = fields(json!({})).map(user.as_object().unwrap());
        assert_eq!(mapped.first_name.as_deref(), Some("Ada"));
        assert_eq!(mapped.mobile, None);
        assert_eq!(mapped.extension.as_deref(), Some("+1 555 0100 ext 2001"));
    }

    #[test]
    fn fields_turned_off_or_renamed_follow_the_config() {
        let f = fields(json!({"fields": {"email": "userPrincipalName", "mobile": null}}));
        assert_eq!(
            f.names(),
            [
                "givenName",
                "surname",
                "userPrincipalName",
                "businessPhones",
                "jobTitle"
            ]
        );
        let user =
            json!({"userPrincipalName": "a@x.com", "mail": "other@x.com", "mobilePhone": "1"});
        let mapped = f.map(user.as_object().unwrap());
        assert_eq!(mapped.email.as_deref(), Some("a@x.com"));
        assert_eq!(mapped.mobile, None);
    }

    #[test]
    fn names_match_whatever_their_case() {
        let f = fields(json!({"fields": {"email": "Mail"}}));
        let user = json!({"mail": "a@x.com"});
        assert_eq!(
            f.map(user.as_object().unwrap()).email.as_deref(),
            Some("a@x.com")
        );
    }

    #[test]
    fn extra_numbers_take_the_indexed_value() {
        let f = fields(json!({"extra_numbers": [
            {"attribute": "mobilePhone", "suffix": "M"},
            {"attribute": "businessPhones[1]", "suffix": "B2"},
            {"attribute": "businessPhones[2]", "suffix": "B3"},
            {"attribute": "mobilePhone[1]", "suffix": "X"}]}));
        assert!(f.names().contains(&"businessPhones"));
        let user = json!({"mobilePhone": " +1 555 ", "businessPhones": ["1001", "+1 555 0200"]});
        let numbers: Vec<(String, String)> = f
            .map(user.as_object().unwrap())
            .extra_numbers
            .into_iter()
            .map(|n| (n.suffix, n.number))
            .collect();
        assert_eq!(
            numbers,
            [
                ("M".to_string(), "+1 555".to_string()),
                ("B2".to_string(), "+1 555 0200".to_string())
            ]
        );
    }

    #[test]
    fn numbers_count_and_other_shapes_are_missing() {
        assert_eq!(text(&json!(2001)).as_deref(), Some("2001"));
        assert_eq!(text(&json!({"a": 1})), None);
        assert_eq!(text(&json!(true)), None);
        assert_eq!(text(&json!([])), None);
    }
}
