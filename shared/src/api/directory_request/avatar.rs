//! `fields.avatar`: which providers have photos, and a safe attribute name.

use crate::domain::config::{AvatarField, FieldSources};

/// The error of `fields.avatar` for a provider of kind `kind`, if any. Okta keeps no photos.
pub(super) fn avatar_error(fields: &FieldSources, kind: &str) -> Option<&'static str> {
    match &fields.avatar {
        None | Some(AvatarField::On(false)) => None,
        Some(_) if kind == "okta" => Some("is not available: Okta keeps no user photos"),
        Some(_) if kind == "scim" => Some("is not available: SCIM pushes carry no user photos"),
        // Graph has one photo per user (`/users/{id}/photo`), no photo attributes to name.
        Some(AvatarField::Attribute(_)) if kind == "azure" => {
            Some("must be true or null for Microsoft Graph (it keeps one photo per user)")
        }
        Some(AvatarField::Attribute(name)) if !super::convert::is_attribute_name(name) => {
            Some("must be true, null or an attribute name (letters, digits, '-', '_', '.', ';')")
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::domain::config::EndpointPolicy;
    use crate::domain::DirectoryConfig;

    fn parse(
        fields: serde_json::Value,
        provider: serde_json::Value,
    ) -> Result<DirectoryConfig, Vec<String>> {
        let body = json!({"provider": provider, "fields": fields});
        DirectoryConfig::from_json(body.to_string().as_bytes(), EndpointPolicy::default()).map_err(
            |e| {
                e.0.into_iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect()
            },
        )
    }

    fn ldap(flavor: &str) -> serde_json::Value {
        json!({"type": "ldap", "url": "ldaps://dc1.corp.example:636", "bind_dn": "svc@corp.example",
               "base_dn": "dc=corp,dc=example", "flavor": flavor})
    }

    #[test]
    fn off_by_default_true_takes_the_directorys_attribute_okta_is_refused() {
        let source = |fields, provider| parse(fields, provider).unwrap().avatar_source();
        assert_eq!(source(json!({}), ldap("active_directory")), None);
        assert_eq!(source(json!({"avatar": null}), ldap("openldap")), None);
        assert_eq!(source(json!({"avatar": false}), ldap("openldap")), None);
        assert_eq!(
            source(json!({"avatar": true}), ldap("active_directory")).as_deref(),
            Some("thumbnailPhoto")
        );
        assert_eq!(
            source(json!({"avatar": true}), ldap("openldap")).as_deref(),
            Some("jpegPhoto")
        );
        assert_eq!(
            source(json!({"avatar": "photo;binary"}), ldap("openldap")).as_deref(),
            Some("photo;binary")
        );
        let okta = json!({"type": "okta", "org_url": "https://acme.okta.com"});
        let refused = parse(json!({"avatar": true}), okta.clone()).unwrap_err();
        assert!(refused[0].starts_with("fields.avatar: "), "{refused:?}");
        assert!(parse(json!({"avatar": null}), okta).is_ok());
        let azure = json!({"type": "azure", "tenant_id": "contoso.onmicrosoft.com",
                           "client_id": "00000000-0000-0000-0000-000000000001"});
        assert!(parse(json!({}), azure.clone()).is_ok());
        assert_eq!(
            source(json!({"avatar": true}), azure.clone()).as_deref(),
            Some("photo")
        );
        let refused = parse(json!({"avatar": "thumbnailPhoto"}), azure).unwrap_err();
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert!(refused[0].starts_with("fields.avatar: "), "{refused:?}");
        let bad = parse(json!({"avatar": "x)(cn=*"}), ldap("openldap")).unwrap_err();
        assert!(bad[0].starts_with("fields.avatar: "), "{bad:?}");
    }
}
