//! The body of `PUT .../directory` (and of a candidate config in `POST .../directory/test`):
//! the request type, as the tenant sends it, and its conversion into the domain's checked
//! [`DirectoryConfig`]. Parsing is strict and complete: a body with three bad fields gets three
//! `details`, unknown fields included.

mod convert;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::config::{
    AzureConfig, DeletionGuard, DirectoryCredentials, DisabledRule, FieldSources, LdapFlavor,
    LdifConfig, OktaAuth, OnRemove, RemoveReason, Schedule, MAX_RECORDS,
};
use crate::domain::{DirectoryConfig, EndpointPolicy, FieldError, InvalidConfig};

/// The config as sent: text where the domain holds checked values.
#[derive(Debug, Serialize, Deserialize)]
pub struct DirectoryRequest {
    pub provider: ProviderRequest,
    #[serde(default)]
    pub scope: ScopeRequest,
    #[serde(default)]
    pub fields: FieldSources,
    #[serde(default)]
    pub extension_numbers: NumbersRequest,
    #[serde(default = "RemoveReason::all")]
    pub remove_when: Vec<RemoveReason>,
    #[serde(default)]
    pub on_remove: OnRemove,
    #[serde(default)]
    pub adopt_existing_by_email: bool,
    #[serde(default)]
    pub deletion_guard: DeletionGuard,
    #[serde(default)]
    pub schedule: Schedule,
    #[serde(default = "max_records")]
    pub record_limit: u32,
    #[serde(default, skip_serializing)]
    pub credentials: Option<DirectoryCredentials>,
}

fn max_records() -> u32 {
    MAX_RECORDS
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProviderRequest {
    Ldap(LdapRequest),
    Azure(AzureConfig),
    Okta(OktaRequest),
    Ldif(LdifConfig),
}

#[derive(Debug, Serialize, Deserialize)]
pub struct LdapRequest {
    pub url: String,
    #[serde(default)]
    pub starttls: bool,
    #[serde(default)]
    pub ca_pem: Option<String>,
    pub bind_dn: String,
    pub base_dn: String,
    #[serde(default)]
    pub allow_plaintext: bool,
    #[serde(default)]
    pub flavor: LdapFlavor,
    #[serde(default)]
    pub tunnel: Option<TunnelRequest>,
    #[serde(default)]
    pub disabled: Option<DisabledRule>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TunnelRequest {
    Ssh {
        host: String,
        #[serde(default = "ssh_port")]
        port: u16,
        user: String,
        host_key: String,
    },
}

fn ssh_port() -> u16 {
    22
}

#[derive(Debug, Serialize, Deserialize)]
pub struct OktaRequest {
    pub org_url: String,
    #[serde(default)]
    pub auth: OktaAuth,
    #[serde(default)]
    pub client_id: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ScopeRequest {
    #[default]
    All,
    Ous {
        ous: Vec<String>,
    },
    Groups {
        groups: Vec<String>,
    },
    Filter {
        filter: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum NumbersRequest {
    Attribute {
        #[serde(default)]
        pattern: Option<String>,
    },
    Auto {
        start: u32,
        end: u32,
    },
}

impl ProviderRequest {
    /// The `type` tag, as `ProviderConfig::kind` names it.
    fn kind(&self) -> &'static str {
        match self {
            ProviderRequest::Ldap(_) => "ldap",
            ProviderRequest::Azure(_) => "azure",
            ProviderRequest::Okta(_) => "okta",
            ProviderRequest::Ldif(_) => "ldif",
        }
    }
}

impl Default for NumbersRequest {
    fn default() -> Self {
        NumbersRequest::Attribute { pattern: None }
    }
}

impl DirectoryConfig {
    /// Parses and checks a request body. A structural error (not JSON, a wrong type, a missing
    /// field) names its field path; otherwise every unknown field and every bad value is
    /// reported. The credentials stay in the config until `take_credentials`.
    pub fn from_json(body: &[u8], policy: EndpointPolicy) -> Result<Self, InvalidConfig> {
        let given: Value = serde_json::from_slice(body)
            .map_err(|e| InvalidConfig(vec![FieldError::new("body", e.to_string())]))?;
        let request: DirectoryRequest = serde_path_to_error::deserialize(&given).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                "body".to_string()
            } else {
                path
            };
            InvalidConfig(vec![FieldError::new(field, e.inner().to_string())])
        })?;
        let mut errors = Vec::new();
        // What the request type read, in the same shape: a given field missing from it was not.
        let read = serde_json::to_value(&request)
            .map_err(|e| InvalidConfig(vec![FieldError::new("body", e.to_string())]))?;
        if let (Value::Object(given), Value::Object(read)) = (&given, &read) {
            for (key, value) in given {
                // Write-only, so never serialized; its own type is strict.
                if key != CREDENTIALS {
                    unknown_fields(key, value, read.get(key), &mut errors);
                }
            }
        }
        match request.into_config(policy) {
            Ok(config) if errors.is_empty() => Ok(config),
            Ok(_) => Err(InvalidConfig(errors)),
            Err(invalid) => {
                errors.extend(invalid);
                Err(InvalidConfig(errors))
            }
        }
    }
}

const CREDENTIALS: &str = "credentials";

/// Every field under `path` that `given` has and `read` lacks. A `null` that the request type
/// does not keep (an optional field left unset) is no error.
fn unknown_fields(path: &str, given: &Value, read: Option<&Value>, errors: &mut Vec<FieldError>) {
    match (given, read) {
        (Value::Null, None) => {}
        (_, None) => errors.push(FieldError::new(path, "is not a known field")),
        (Value::Object(given), Some(Value::Object(read))) => {
            for (key, value) in given {
                unknown_fields(&format!("{path}.{key}"), value, read.get(key), errors);
            }
        }
        (Value::Array(given), Some(Value::Array(read))) => {
            for (i, (value, read)) in given.iter().zip(read).enumerate() {
                unknown_fields(&format!("{path}[{i}]"), value, Some(read), errors);
            }
        }
        _ => {}
    }
}
