//! The directory config of CONTRACTS section 2, as the domain holds it: its values checked
//! (`values.rs`), so that adapters take them as they are. Its serde form is the stored one and
//! tolerant: a field this release does not know is ignored, so a record written by a newer
//! release still reads. Requests come through the API's strict request type
//! (`api::directory_request`), which reports every bad field. Credentials are part of the request body
//! only: they are taken out with [`DirectoryConfig::take_credentials`] and go to the secret
//! store, never into stored config.

use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};

use super::ids::ObjectId;

/// The largest `record_limit` a tenant may set, and the default.
pub const MAX_RECORDS: u32 = 10_000;

/// One bad field of a request, as the API's `details` entries show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A config that cannot be accepted, with one entry per bad field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct InvalidConfig(pub Vec<FieldError>);

mod extra_numbers;
mod login;
mod schedule;
mod scim;
mod values;
mod write_back;

pub use extra_numbers::{check_extra_numbers, ExtraNumberSource, MAX_EXTRA_NUMBERS};
pub use login::LoginConfig;
pub use schedule::{Day, LocalTime, Schedule};
pub use scim::{get as scim_get, is_active, ScimAttribute, ScimConfig, ENTERPRISE_USER};
pub use values::{CaPem, CaptureRegex, Dn, ExtensionRange, HostKey, HttpUrl, LdapFilter, LdapUrl};
pub use write_back::{WriteBack, GRAPH_WRITABLE};

pub use super::endpoint_policy::{address_allowed, check_http_url, EndpointPolicy};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DirectoryConfig {
    pub provider: ProviderConfig,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default)]
    pub fields: FieldSources,
    #[serde(default)]
    pub extension_numbers: ExtensionNumbers,
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
    #[serde(default = "default_record_limit")]
    pub record_limit: u32,
    #[serde(default)]
    pub organizations: OrganizationsConfig,
    #[serde(default)]
    pub extension_groups: ExtensionGroupsConfig,
    /// Extension creates ask the PBX to send its welcome email.
    #[serde(default)]
    pub welcome_email: bool,
    /// After an extension is created (and whenever the directory's value differs), its number
    /// is written to this attribute of the user.
    #[serde(default)]
    pub write_back: Option<WriteBack>,
    /// Further numbers of each user, kept as PBX phonebook entries.
    #[serde(default)]
    pub extra_numbers: Vec<ExtraNumberSource>,
    /// `login.enabled`: `POST .../auth/verify` checks passwords against this directory.
    #[serde(default)]
    pub login: LoginConfig,
    /// Write-only: never serialized, so never stored with the config nor returned.
    #[serde(default, skip_serializing)]
    pub credentials: Option<DirectoryCredentials>,
}

fn default_record_limit() -> u32 {
    MAX_RECORDS
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProviderConfig {
    Ldap(LdapConfig),
    Azure(AzureConfig),
    Okta(OktaConfig),
    Ldif(LdifConfig),
    /// The users and groups the tenant's identity provider pushes over SCIM.
    Scim(ScimConfig),
}

impl ProviderConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderConfig::Ldap(_) => "ldap",
            ProviderConfig::Azure(_) => "azure",
            ProviderConfig::Okta(_) => "okta",
            ProviderConfig::Ldif(_) => "ldif",
            ProviderConfig::Scim(_) => "scim",
        }
    }

    /// The server the status route shows: LDAP URL, Entra tenant, Okta org, LDIF path, or
    /// that the identity provider pushes.
    pub fn server(&self) -> String {
        match self {
            ProviderConfig::Ldap(c) => c.url.to_string(),
            ProviderConfig::Azure(c) => format!("{} ({})", c.tenant_id, c.cloud.as_str()),
            ProviderConfig::Okta(c) => c.org_url.to_string(),
            ProviderConfig::Ldif(c) => c.path.clone(),
            ProviderConfig::Scim(_) => "SCIM push".to_string(),
        }
    }

    /// LDAP-style directories have DNs, OUs and filters.
    pub fn is_ldap_like(&self) -> bool {
        matches!(self, ProviderConfig::Ldap(_) | ProviderConfig::Ldif(_))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LdapFlavor {
    ActiveDirectory,
    #[default]
    Openldap,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LdapConfig {
    pub url: LdapUrl,
    #[serde(default)]
    pub starttls: bool,
    #[serde(default)]
    pub ca_pem: Option<CaPem>,
    pub bind_dn: String,
    pub base_dn: Dn,
    #[serde(default)]
    pub allow_plaintext: bool,
    #[serde(default)]
    pub flavor: LdapFlavor,
    #[serde(default)]
    pub tunnel: Option<SshTunnel>,
    /// `openldap` only: which attribute marks a disabled account, instead of the default
    /// (`pwdAccountLockedTime` present, the ppolicy lock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<DisabledRule>,
}

/// An account is disabled when `attribute` is present (`value` null) or has `value`
/// (case-insensitive), for example `{"attribute": "employeeStatus", "value": "inactive"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisabledRule {
    pub attribute: String,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SshTunnel {
    Ssh {
        host: String,
        #[serde(default = "default_ssh_port")]
        port: u16,
        user: String,
        host_key: HostKey,
    },
}

fn default_ssh_port() -> u16 {
    22
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AzureCloud {
    #[default]
    Global,
    UsGov,
    China,
}

impl AzureCloud {
    pub fn as_str(self) -> &'static str {
        match self {
            AzureCloud::Global => "global",
            AzureCloud::UsGov => "us_gov",
            AzureCloud::China => "china",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AzureConfig {
    pub tenant_id: String,
    pub client_id: String,
    #[serde(default)]
    pub cloud: AzureCloud,
    /// Guests (`userType: Guest`) are left out unless this is on.
    #[serde(default)]
    pub include_guests: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OktaAuth {
    #[default]
    ApiToken,
    PrivateKeyJwt,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OktaConfig {
    pub org_url: HttpUrl,
    #[serde(default)]
    pub auth: OktaAuth,
    #[serde(default)]
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LdifConfig {
    pub path: String,
    #[serde(default)]
    pub flavor: LdapFlavor,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Scope {
    #[default]
    All,
    Ous {
        ous: Vec<Dn>,
    },
    Groups {
        groups: Vec<String>,
    },
    Filter {
        filter: LdapFilter,
    },
    /// Exactly these users, by the directory's object id.
    Users {
        users: Vec<ObjectId>,
    },
}

/// `organizations`: which directory objects become PBX organizations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationsConfig {
    #[serde(flatten)]
    pub sync: OrganizationSync,
    /// Organizations sync created whose source is gone are deleted; otherwise released.
    #[serde(default)]
    pub delete_when_unused: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "sync", rename_all = "snake_case")]
pub enum OrganizationSync {
    #[default]
    None,
    /// LDAP/AD and LDIF: every OU under `base_dn` that holds a synced user, nested.
    Ous,
    /// Any provider: one flat organization per value of the attribute.
    Attribute { attribute: String },
}

/// `extension_groups`: which directory groups become PBX extension groups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionGroupsConfig {
    #[serde(flatten)]
    pub sync: GroupSync,
    #[serde(default)]
    pub delete_when_unused: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "sync", rename_all = "snake_case")]
pub enum GroupSync {
    #[default]
    None,
    /// Group object ids (any provider) or DNs (LDAP-like).
    Groups {
        groups: Vec<String>,
    },
    All,
    /// AD only, from `groupType`.
    Type {
        types: Vec<AdGroupType>,
    },
    /// LDAP-like only: the groups this filter finds under `base_dn`.
    Filter {
        filter: LdapFilter,
    },
}

/// An Active Directory group's kind, from bit 0x80000000 of `groupType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdGroupType {
    Security,
    Distribution,
}

/// The PBX fields whose source attributes `fields` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceField {
    FirstName,
    LastName,
    Email,
    Mobile,
    Extension,
    JobTitle,
}

impl SourceField {
    pub const ALL: [SourceField; 6] = [
        SourceField::FirstName,
        SourceField::LastName,
        SourceField::Email,
        SourceField::Mobile,
        SourceField::Extension,
        SourceField::JobTitle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceField::FirstName => "first_name",
            SourceField::LastName => "last_name",
            SourceField::Email => "email",
            SourceField::Mobile => "mobile",
            SourceField::Extension => "extension",
            SourceField::JobTitle => "job_title",
        }
    }
}

/// Source attribute per PBX field. A field left out takes the provider's default; `null` turns
/// its sync off, so the PBX keeps what an admin typed there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSources {
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub first_name: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_name: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub email: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub mobile: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub extension: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub job_title: Option<Option<String>>,
    /// The attribute holding the user's SIP password: off unless set (no provider default),
    /// and not a [`SourceField`], so that no reader, sample or explanation treats it as text to
    /// show. Write-only: see `domain::sip_password`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub sip_password: Option<Option<String>>,
    /// The user's photo: off unless set (see [`AvatarField`]); never a PBX text field, so not
    /// a [`SourceField`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<AvatarField>,
}

/// Tells a present `null` (`Some(None)`) from an absent field (`None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl FieldSources {
    pub(crate) fn get(&self, field: SourceField) -> &Option<Option<String>> {
        match field {
            SourceField::FirstName => &self.first_name,
            SourceField::LastName => &self.last_name,
            SourceField::Email => &self.email,
            SourceField::Mobile => &self.mobile,
            SourceField::Extension => &self.extension,
            SourceField::JobTitle => &self.job_title,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ExtensionNumbers {
    /// The number comes from the `extension` field, through `pattern`'s one capture group when set.
    Attribute {
        #[serde(default)]
        pattern: Option<CaptureRegex>,
    },
    /// The lowest number of the range that no extension holds.
    Auto(ExtensionRange),
}

impl Default for ExtensionNumbers {
    fn default() -> Self {
        ExtensionNumbers::Attribute { pattern: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoveReason {
    Deleted,
    Disabled,
    Expired,
    OutOfScope,
}

impl RemoveReason {
    pub fn all() -> Vec<RemoveReason> {
        vec![
            RemoveReason::Deleted,
            RemoveReason::Disabled,
            RemoveReason::Expired,
            RemoveReason::OutOfScope,
        ]
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RemoveReason::Deleted => "deleted",
            RemoveReason::Disabled => "disabled",
            RemoveReason::Expired => "expired",
            RemoveReason::OutOfScope => "out_of_scope",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnRemove {
    #[default]
    Delete,
    Disable,
    Keep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionGuard {
    pub max_deletes: u32,
}

impl Default for DeletionGuard {
    fn default() -> Self {
        Self { max_deletes: 50 }
    }
}

/// Write-only directory credentials. Which ones a provider takes: see [`credential_names`].
/// Never stored, so strict: a misspelt credential name is an error, not a lost secret.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryCredentials {
    pub bind_password: Option<SecretString>,
    pub ssh_private_key: Option<SecretString>,
    pub client_secret: Option<SecretString>,
    pub api_token: Option<SecretString>,
    pub private_key_pem: Option<SecretString>,
}

impl std::fmt::Debug for DirectoryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DirectoryCredentials([REDACTED])")
    }
}

impl DirectoryCredentials {
    pub(crate) fn named(&self) -> [(&'static str, bool); 5] {
        [
            ("bind_password", self.bind_password.is_some()),
            ("ssh_private_key", self.ssh_private_key.is_some()),
            ("client_secret", self.client_secret.is_some()),
            ("api_token", self.api_token.is_some()),
            ("private_key_pem", self.private_key_pem.is_some()),
        ]
    }
}

/// The credential names a provider accepts.
pub fn credential_names(provider: &ProviderConfig) -> &'static [&'static str] {
    credential_names_of(provider.kind())
}

/// The credential names of a provider type (`ProviderConfig::kind`).
pub fn credential_names_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "ldap" => &["bind_password", "ssh_private_key"],
        "azure" => &["client_secret"],
        "okta" => &["api_token", "private_key_pem"],
        _ => &[],
    }
}

/// The credentials the provider cannot work without, as the config sets it up.
pub fn required_credentials(provider: &ProviderConfig) -> Vec<&'static str> {
    match provider {
        ProviderConfig::Ldap(c) if c.tunnel.is_some() => vec!["bind_password", "ssh_private_key"],
        ProviderConfig::Ldap(_) => vec!["bind_password"],
        ProviderConfig::Azure(_) => vec!["client_secret"],
        ProviderConfig::Okta(c) => match c.auth {
            OktaAuth::ApiToken => vec!["api_token"],
            OktaAuth::PrivateKeyJwt => vec!["private_key_pem"],
        },
        ProviderConfig::Ldif(_) | ProviderConfig::Scim(_) => Vec::new(),
    }
}

impl DirectoryConfig {
    /// Moves the write-only credentials out, leaving a config that is safe to store.
    pub fn take_credentials(&mut self) -> Option<DirectoryCredentials> {
        self.credentials.take()
    }

    /// The source attribute of a PBX field: the configured one, or the provider's default;
    /// `None` when the field's sync is off.
    pub fn field_source(&self, field: SourceField) -> Option<String> {
        match self.fields.get(field) {
            Some(explicit) => explicit.clone(),
            None => Some(default_source(&self.provider, field).to_string()),
        }
    }

    /// The attribute of `fields.sip_password`, when that sync is on.
    pub fn sip_password_source(&self) -> Option<&str> {
        self.fields.sip_password.as_ref()?.as_deref()
    }

    /// Whether sync writes this field at all.
    pub fn syncs(&self, field: SourceField) -> bool {
        self.field_source(field).is_some()
    }

    /// The attribute holding the user's photo (LDAP, AD, LDIF; `photo`, the navigation
    /// property, for Graph), or `None` while `fields.avatar` is off. Requests refuse it for
    /// Okta (no photos) and refuse attribute names for Graph.
    pub fn avatar_source(&self) -> Option<String> {
        match (&self.fields.avatar, &self.provider) {
            (None | Some(AvatarField::On(false)), _) => None,
            (Some(AvatarField::Attribute(attribute)), _) => Some(attribute.clone()),
            (Some(AvatarField::On(true)), ProviderConfig::Ldap(c)) => {
                Some(default_avatar(c.flavor).to_string())
            }
            (Some(AvatarField::On(true)), ProviderConfig::Ldif(c)) => {
                Some(default_avatar(c.flavor).to_string())
            }
            (Some(AvatarField::On(true)), ProviderConfig::Azure(_)) => Some("photo".to_string()),
            // Okta, SCIM: refused when the config is written (no photos).
            (Some(AvatarField::On(true)), _) => None,
        }
    }

    pub fn removes_on(&self, reason: RemoveReason) -> bool {
        self.remove_when.contains(&reason)
    }
}

/// `fields.avatar`: `true` takes the directory's usual photo attribute, a string names one;
/// absent, `null` or `false` is off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AvatarField {
    On(bool),
    Attribute(String),
}

fn default_avatar(flavor: LdapFlavor) -> &'static str {
    match flavor {
        LdapFlavor::ActiveDirectory => "thumbnailPhoto",
        LdapFlavor::Openldap => "jpegPhoto",
    }
}

fn default_source(provider: &ProviderConfig, field: SourceField) -> &'static str {
    match (provider, field) {
        (ProviderConfig::Azure(_), SourceField::FirstName) => "givenName",
        (ProviderConfig::Azure(_), SourceField::LastName) => "surname",
        (ProviderConfig::Azure(_), SourceField::Email) => "mail",
        (ProviderConfig::Azure(_), SourceField::Mobile) => "mobilePhone",
        (ProviderConfig::Azure(_), SourceField::Extension) => "businessPhones",
        (ProviderConfig::Azure(_), SourceField::JobTitle) => "jobTitle",
        (ProviderConfig::Okta(_), SourceField::FirstName) => "firstName",
        (ProviderConfig::Okta(_), SourceField::LastName) => "lastName",
        (ProviderConfig::Okta(_), SourceField::Email) => "email",
        (ProviderConfig::Okta(_), SourceField::Mobile) => "mobilePhone",
        (ProviderConfig::Okta(_), SourceField::Extension) => "primaryPhone",
        (ProviderConfig::Scim(_), field) => scim_default(field).as_str(),
        (_, SourceField::FirstName) => "givenName",
        (_, SourceField::LastName) => "sn",
        (_, SourceField::Email) => "mail",
        (_, SourceField::Mobile) => "mobile",
        (_, SourceField::Extension) => "telephoneNumber",
        (_, SourceField::JobTitle) => "title",
    }
}

/// What a `scim` directory's fields take unless the config names another attribute.
fn scim_default(field: SourceField) -> ScimAttribute {
    match field {
        SourceField::FirstName => ScimAttribute::GivenName,
        SourceField::LastName => ScimAttribute::FamilyName,
        SourceField::Email => ScimAttribute::PrimaryEmail,
        SourceField::Mobile => ScimAttribute::MobilePhone,
        SourceField::Extension => ScimAttribute::WorkPhone,
        SourceField::JobTitle => ScimAttribute::Title,
    }
}
