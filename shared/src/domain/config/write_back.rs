//! `write_back`: the directory attribute an extension's number is written to.

use serde::{Deserialize, Serialize};

use super::ProviderConfig;

/// `{"attribute": "ipPhone"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteBack {
    pub attribute: String,
}

/// The Graph user properties a write-back may set: plain string properties an application
/// with `User.ReadWrite.All` can `PATCH` (plus directory extensions, `extension_{app}_{name}`).
/// Not `businessPhones` (a list the `extension` field usually reads), nor the
/// `onPremisesExtensionAttributes` (read-only for users synced from AD).
pub const GRAPH_WRITABLE: [&str; 8] = [
    "companyName",
    "department",
    "employeeId",
    "employeeType",
    "faxNumber",
    "jobTitle",
    "mobilePhone",
    "officeLocation",
];

impl WriteBack {
    /// Whether `provider` can write the attribute: LDAP any attribute name; Graph the
    /// [`GRAPH_WRITABLE`] properties and directory extensions; Okta a profile property name;
    /// never an LDIF file (read-only) nor a SCIM directory (pushed, not pulled).
    pub fn check(&self, provider: &ProviderConfig) -> Result<(), String> {
        let name = self.attribute.as_str();
        let plain = |extra: &[u8]| {
            (1..=128).contains(&name.len())
                && name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
        };
        match provider {
            ProviderConfig::Ldif(_) => Err("an LDIF file is read-only: use null".into()),
            ProviderConfig::Scim(_) => {
                Err("a SCIM directory is pushed to dirsync and cannot be written: use null".into())
            }
            ProviderConfig::Ldap(_) if plain(b"-;") => Ok(()),
            ProviderConfig::Okta(_) if plain(b"_") => Ok(()),
            ProviderConfig::Azure(_)
                if GRAPH_WRITABLE.contains(&name) || is_graph_extension(name) =>
            {
                Ok(())
            }
            ProviderConfig::Azure(_) => Err(format!(
                "Graph can write back to {} or a directory extension (extension_<app id>_<name>)",
                GRAPH_WRITABLE.join(", ")
            )),
            ProviderConfig::Ldap(_) | ProviderConfig::Okta(_) => {
                Err("must be an attribute name (letters, digits, '-', '_')".into())
            }
        }
    }
}

/// `extension_{app id without dashes}_{name}`.
fn is_graph_extension(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("extension_") else {
        return false;
    };
    let Some((app, property)) = rest.split_once('_') else {
        return false;
    };
    app.len() == 32
        && app.bytes().all(|b| b.is_ascii_hexdigit())
        && (1..=100).contains(&property.len())
        && property
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(kind: &str) -> ProviderConfig {
        let body = match kind {
            "ldap" => serde_json::json!({"type": "ldap", "url": "ldaps://h:636", "bind_dn": "cn=a",
                                         "base_dn": "dc=x"}),
            "azure" => serde_json::json!({"type": "azure", "tenant_id": "t", "client_id": "c"}),
            "okta" => serde_json::json!({"type": "okta", "org_url": "https://x.okta.com"}),
            _ => serde_json::json!({"type": "ldif", "path": "x.ldif"}),
        };
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn each_provider_takes_what_it_can_write() {
        let check = |kind, attribute: &str| {
            WriteBack {
                attribute: attribute.into(),
            }
            .check(&provider(kind))
        };
        assert!(check("ldap", "ipPhone").is_ok());
        assert!(check("ldap", "ip)Phone").is_err());
        assert!(check("ldap", "").is_err());
        assert!(check("ldif", "ipPhone").is_err());
        assert!(check("azure", "officeLocation").is_ok());
        assert!(check(
            "azure",
            "extension_0123456789abcdef0123456789abcdef_pbxNumber"
        )
        .is_ok());
        assert!(check("azure", "businessPhones").is_err());
        assert!(check("azure", "extension_xyz_pbx").is_err());
        assert!(check("okta", "pbxExtension").is_ok());
        assert!(check("okta", "profile.x").is_err());
    }
}
