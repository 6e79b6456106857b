//! The body of `PUT .../directory` (and of a candidate config in `POST .../directory/test`):
//! the request type, as the tenant sends it, and its conversion into the domain's checked
//! [`DirectoryConfig`]. Parsing is strict and complete: a body with three bad fields gets three
//! `details`, unknown fields included.

mod avatar;
mod convert;
#[cfg(test)]
mod proptests;
mod schedule;
mod scim;
#[cfg(test)]
mod tests;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::config::{
    AdGroupType, AzureConfig, DeletionGuard, DirectoryCredentials, DisabledRule, ExtraNumberSource,
    FieldSources, LdapFlavor, LdifConfig, LoginConfig, OktaAuth, OnRemove, OrganizationsConfig,
    RemoveReason, ScimConfig, WriteBack, MAX_RECORDS,
};
use crate::domain::{DirectoryConfig, EndpointPolicy, FieldError, InvalidConfig};
pub use schedule::ScheduleRequest;

/// The config as sent: text where the domain holds checked values. Read field by field
/// ([`DirectoryRequest::read`]), so that each bad top-level field is reported.
#[derive(Debug, Serialize)]
pub struct DirectoryRequest {
    pub provider: ProviderRequest,
    pub scope: ScopeRequest,
    pub fields: FieldSources,
    pub extension_numbers: NumbersRequest,
    pub remove_when: Vec<RemoveReason>,
    pub on_remove: OnRemove,
    pub adopt_existing_by_email: bool,
    pub deletion_guard: DeletionGuard,
    pub schedule: ScheduleRequest,
    pub record_limit: u32,
    pub organizations: OrganizationsConfig,
    pub extension_groups: ExtensionGroupsRequest,
    pub welcome_email: bool,
    pub write_back: Option<WriteBack>,
    pub extra_numbers: Vec<ExtraNumberSource>,
    pub login: LoginConfig,
    #[serde(skip_serializing)]
    pub credentials: Option<DirectoryCredentials>,
}

/// `extension_groups` as sent: the filter as text until it is checked.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ExtensionGroupsRequest {
    #[serde(flatten)]
    pub sync: GroupSyncRequest,
    #[serde(default)]
    pub delete_when_unused: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(tag = "sync", rename_all = "snake_case")]
pub enum GroupSyncRequest {
    #[default]
    None,
    Groups {
        groups: Vec<String>,
    },
    All,
    Type {
        types: Vec<AdGroupType>,
    },
    Filter {
        filter: String,
    },
}

/// The fields of a body read one by one, each failure noted with its path.
struct Fields<'a> {
    given: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Fields<'_> {
    /// The field as `T`; `None` when it is absent or bad (then noted).
    fn read<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        let value = self.given.get(key)?;
        match serde_path_to_error::deserialize(value) {
            Ok(read) => Some(read),
            Err(e) => {
                let inner = e.path().to_string();
                let field = if inner == "." {
                    key.to_string()
                } else if inner.starts_with('[') {
                    format!("{key}{inner}")
                } else {
                    format!("{key}.{inner}")
                };
                self.errors
                    .push(FieldError::new(field, e.inner().to_string()));
                None
            }
        }
    }
}

impl DirectoryRequest {
    /// Reads every field of the body (defaults for those left out), with the bad ones: the
    /// request is there when every field could be read, even if some value is out of range.
    fn read(given: &Map<String, Value>) -> (Option<Self>, Vec<FieldError>) {
        let mut fields = Fields {
            given,
            errors: Vec::new(),
        };
        let provider = fields.read("provider");
        if !given.contains_key("provider") {
            fields
                .errors
                .push(FieldError::new("provider", "is required"));
        }
        let scope = fields.read("scope").unwrap_or_default();
        let field_sources = fields.read("fields").unwrap_or_default();
        let extension_numbers = fields.read("extension_numbers").unwrap_or_default();
        let remove_when: Vec<RemoveReason> =
            fields.read("remove_when").unwrap_or_else(RemoveReason::all);
        let on_remove = fields.read("on_remove").unwrap_or_default();
        let adopt_existing_by_email = fields.read("adopt_existing_by_email").unwrap_or_default();
        let deletion_guard = fields.read("deletion_guard").unwrap_or_default();
        let schedule: ScheduleRequest = fields.read("schedule").unwrap_or_default();
        let record_limit: u32 = fields.read("record_limit").unwrap_or(MAX_RECORDS);
        let organizations = fields.read("organizations").unwrap_or_default();
        let extension_groups = fields.read("extension_groups").unwrap_or_default();
        let welcome_email = fields.read("welcome_email").unwrap_or_default();
        let write_back = fields.read("write_back").unwrap_or_default();
        let extra_numbers = fields.read("extra_numbers").unwrap_or_default();
        let login = fields.read("login").unwrap_or_default();
        let credentials = fields.read("credentials");
        let structural = fields.errors.len();
        // Checks of one field alone, here so that they join the others' structural errors.
        if !(1..=MAX_RECORDS).contains(&record_limit) {
            let message = format!("must be between 1 and {MAX_RECORDS}");
            fields.errors.push(FieldError::new("record_limit", message));
        }
        if let Err(errors) = schedule.check() {
            fields.errors.extend(errors);
        }
        for (i, reason) in remove_when.iter().enumerate() {
            if remove_when[..i].contains(reason) {
                let message = format!("'{}' is listed twice", reason.as_str());
                fields.errors.push(FieldError::new("remove_when", message));
            }
        }
        let request = match provider {
            Some(provider) if structural == 0 => Some(Self {
                provider,
                scope,
                fields: field_sources,
                extension_numbers,
                remove_when,
                on_remove,
                adopt_existing_by_email,
                deletion_guard,
                schedule,
                record_limit,
                organizations,
                extension_groups,
                welcome_email,
                write_back,
                extra_numbers,
                login,
                credentials,
            }),
            _ => None,
        };
        (request, fields.errors)
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProviderRequest {
    Ldap(LdapRequest),
    Azure(AzureConfig),
    Okta(OktaRequest),
    Ldif(LdifConfig),
    Scim(ScimConfig),
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
    Users {
        users: Vec<String>,
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
            ProviderRequest::Scim(_) => "scim",
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
        let body_error = |message: String| InvalidConfig(vec![FieldError::new("body", message)]);
        let given: Value = serde_json::from_slice(body).map_err(|e| body_error(e.to_string()))?;
        let Value::Object(given) = given else {
            return Err(body_error("must be a JSON object".into()));
        };
        let (request, mut errors) = DirectoryRequest::read(&given);
        let Some(request) = request else {
            return Err(InvalidConfig(errors));
        };
        // What the request type read, in the same shape: a given field missing from it was not.
        let read = serde_json::to_value(&request).map_err(|e| body_error(e.to_string()))?;
        if let Value::Object(read) = &read {
            for (key, value) in &given {
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
