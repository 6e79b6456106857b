//! The request checks of `provider.type = "scim"`: its `fields`, `organizations.attribute`
//! and `extra_numbers` name SCIM attributes ([`ScimAttribute`]), and what only a pulled
//! directory can do (passwords, photos, SIP passwords) is refused with the field named.
//! Scopes and group syncs that need LDAP (`ous`, `filter`, `type`) are refused by the
//! provider-independent checks, as for Entra and Okta.

use super::DirectoryRequest;
use crate::domain::config::{FieldError, OrganizationSync, ScimAttribute, SourceField};

/// Whether `name` is an attribute a `scim` directory reads.
pub(super) fn is_scim_attribute(name: &str) -> bool {
    ScimAttribute::parse(name).is_some()
}

/// The message of an attribute a `scim` directory does not read.
pub(super) fn unknown_attribute() -> String {
    format!(
        "must be a SCIM attribute dirsync reads: {}",
        ScimAttribute::names()
    )
}

/// Every field of a `scim` request that names something no SCIM push carries.
pub(super) fn scim_errors(request: &DirectoryRequest) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for field in SourceField::ALL {
        if let Some(Some(attribute)) = request.fields.get(field) {
            if !is_scim_attribute(attribute) {
                errors.push(FieldError::new(
                    format!("fields.{}", field.as_str()),
                    unknown_attribute(),
                ));
            }
        }
    }
    if let Some(Some(_)) = &request.fields.sip_password {
        errors.push(FieldError::new(
            "fields.sip_password",
            "is not available for a SCIM directory: identity providers push no passwords",
        ));
    }
    if let OrganizationSync::Attribute { attribute } = &request.organizations.sync {
        if !is_scim_attribute(attribute) {
            errors.push(FieldError::new(
                "organizations.attribute",
                unknown_attribute(),
            ));
        }
    }
    for (i, source) in request.extra_numbers.iter().enumerate() {
        if !is_scim_attribute(&source.attribute) {
            errors.push(FieldError::new(
                format!("extra_numbers[{i}].attribute"),
                unknown_attribute(),
            ));
        }
    }
    if request.login.enabled {
        errors.push(FieldError::new(
            "login.enabled",
            "is not available for a SCIM directory: it checks no passwords (use SSO)",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::domain::config::{EndpointPolicy, ProviderConfig, ScimAttribute, SourceField};
    use crate::domain::DirectoryConfig;

    fn parse(extra: Value) -> Result<DirectoryConfig, Vec<String>> {
        let mut body = json!({"provider": {"type": "scim"}});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        DirectoryConfig::from_json(body.to_string().as_bytes(), EndpointPolicy::default())
            .map_err(|e| e.0.into_iter().map(|f| f.field).collect())
    }

    #[test]
    fn a_bare_scim_provider_takes_the_scim_defaults() {
        let config = parse(json!({})).unwrap();
        assert_eq!(config.provider, ProviderConfig::Scim(Default::default()));
        assert_eq!(config.provider.kind(), "scim");
        assert_eq!(
            config.field_source(SourceField::Extension).as_deref(),
            Some(ScimAttribute::WorkPhone.as_str())
        );
        assert_eq!(
            config.field_source(SourceField::Email).as_deref(),
            Some("emails[primary]")
        );
    }

    #[test]
    fn scim_attributes_are_taken_where_attributes_are_named() {
        let config = parse(json!({
            "fields": {"first_name": "displayName", "mobile": null, "job_title": "title"},
            "organizations": {"sync": "attribute", "attribute": "department"},
            "extension_groups": {"sync": "all"},
            "scope": {"type": "groups", "groups": ["Sales"]},
            "extra_numbers": [{"attribute": "phoneNumbers[type eq \"mobile\"]", "suffix": "M"}]
        }));
        assert!(config.is_ok(), "{config:?}");
    }

    #[test]
    fn what_a_push_cannot_carry_is_refused_by_field() {
        let errors = parse(json!({
            "provider": {"type": "scim", "url": "ldap://x"},
            "fields": {"extension": "telephoneNumber", "sip_password": "x", "avatar": true},
            "organizations": {"sync": "ous"},
            "extension_groups": {"sync": "filter", "filter": "(cn=*)"},
            "scope": {"type": "filter", "filter": "(cn=*)"},
            "extra_numbers": [{"attribute": "mobile", "suffix": "M"}],
            "write_back": {"attribute": "title"},
            "login": {"enabled": true},
            "credentials": {"api_token": "secret"}
        }))
        .unwrap_err();
        for field in [
            "provider.url",
            "fields.extension",
            "fields.sip_password",
            "fields.avatar",
            "organizations.sync",
            "extension_groups.sync",
            "scope.type",
            "extra_numbers[0].attribute",
            "write_back.attribute",
            "login.enabled",
            "credentials.api_token",
        ] {
            assert!(errors.contains(&field.to_string()), "{field}: {errors:?}");
        }
        let errors = parse(
            json!({"organizations": {"sync": "attribute", "attribute": "ou"},
            "extension_groups": {"sync": "type", "types": ["security"]}}),
        )
        .unwrap_err();
        let mut errors = errors;
        errors.sort();
        assert_eq!(errors, ["extension_groups.sync", "organizations.attribute"]);
    }
}
