//! The directory config of CONTRACTS section 2, with serde and validation that reports every
//! bad field. Credentials are part of the request body only: they are taken out with
//! [`DirectoryConfig::take_credentials`] and go to the secret store, never into stored config.

use std::net::IpAddr;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};

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

/// Operator rules for tenant-supplied endpoints (CONTRACTS section 2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointPolicy {
    /// `DIRSYNC_ALLOW_PRIVATE_ENDPOINTS=1`: loopback, link-local and private hosts and plain
    /// `http://` are accepted (local mode and tests).
    pub allow_private: bool,
}

impl EndpointPolicy {
    pub fn from_env() -> Self {
        Self {
            allow_private: std::env::var("DIRSYNC_ALLOW_PRIVATE_ENDPOINTS").is_ok_and(|v| v == "1"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
}

impl ProviderConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderConfig::Ldap(_) => "ldap",
            ProviderConfig::Azure(_) => "azure",
            ProviderConfig::Okta(_) => "okta",
            ProviderConfig::Ldif(_) => "ldif",
        }
    }

    /// The server the status route shows: LDAP URL, Entra tenant, Okta org or LDIF path.
    pub fn server(&self) -> String {
        match self {
            ProviderConfig::Ldap(c) => c.url.clone(),
            ProviderConfig::Azure(c) => format!("{} ({})", c.tenant_id, c.cloud.as_str()),
            ProviderConfig::Okta(c) => c.org_url.clone(),
            ProviderConfig::Ldif(c) => c.path.clone(),
        }
    }

    /// LDAP-style directories have DNs, OUs and filters.
    fn is_ldap_like(&self) -> bool {
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
#[serde(deny_unknown_fields)]
pub struct LdapConfig {
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
    pub tunnel: Option<SshTunnel>,
    /// `openldap` only: which attribute marks a disabled account, instead of the default
    /// (`pwdAccountLockedTime` present, the ppolicy lock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<DisabledRule>,
}

/// An account is disabled when `attribute` is present (`value` null) or has `value`
/// (case-insensitive), for example `{"attribute": "employeeStatus", "value": "inactive"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisabledRule {
    pub attribute: String,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SshTunnel {
    Ssh {
        host: String,
        #[serde(default = "default_ssh_port")]
        port: u16,
        user: String,
        host_key: String,
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
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
pub struct OktaConfig {
    pub org_url: String,
    #[serde(default)]
    pub auth: OktaAuth,
    #[serde(default)]
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdifConfig {
    pub path: String,
    #[serde(default)]
    pub flavor: LdapFlavor,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Scope {
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

/// The PBX fields whose source attributes `fields` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceField {
    FirstName,
    LastName,
    Email,
    Mobile,
    Extension,
}

impl SourceField {
    pub const ALL: [SourceField; 5] = [
        SourceField::FirstName,
        SourceField::LastName,
        SourceField::Email,
        SourceField::Mobile,
        SourceField::Extension,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceField::FirstName => "first_name",
            SourceField::LastName => "last_name",
            SourceField::Email => "email",
            SourceField::Mobile => "mobile",
            SourceField::Extension => "extension",
        }
    }
}

/// Source attribute per PBX field. A field left out takes the provider's default; `null` turns
/// its sync off, so the PBX keeps what an admin typed there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
}

/// Tells a present `null` (`Some(None)`) from an absent field (`None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl FieldSources {
    fn get(&self, field: SourceField) -> &Option<Option<String>> {
        match field {
            SourceField::FirstName => &self.first_name,
            SourceField::LastName => &self.last_name,
            SourceField::Email => &self.email,
            SourceField::Mobile => &self.mobile,
            SourceField::Extension => &self.extension,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExtensionNumbers {
    /// The number comes from the `extension` field, through `pattern`'s one capture group when set.
    Attribute {
        #[serde(default)]
        pattern: Option<String>,
    },
    /// The lowest number in `start..=end` that no extension holds.
    Auto { start: u32, end: u32 },
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
#[serde(deny_unknown_fields)]
pub struct DeletionGuard {
    pub max_deletes: u32,
}

impl Default for DeletionGuard {
    fn default() -> Self {
        Self { max_deletes: 50 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub every_hours: u32,
}

impl Default for Schedule {
    fn default() -> Self {
        Self { every_hours: 1 }
    }
}

/// Write-only directory credentials. Which ones a provider takes: see [`credential_names`].
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
    fn named(&self) -> [(&'static str, bool); 5] {
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
    match provider {
        ProviderConfig::Ldap(_) => &["bind_password", "ssh_private_key"],
        ProviderConfig::Azure(_) => &["client_secret"],
        ProviderConfig::Okta(_) => &["api_token", "private_key_pem"],
        ProviderConfig::Ldif(_) => &[],
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
        ProviderConfig::Ldif(_) => Vec::new(),
    }
}

impl DirectoryConfig {
    /// Parses and validates a request body. A structural error (wrong type, unknown field)
    /// names its field path; otherwise every semantic problem is reported at once.
    pub fn from_json(body: &[u8], policy: EndpointPolicy) -> Result<Self, InvalidConfig> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let config: DirectoryConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                "body".to_string()
            } else {
                path
            };
            InvalidConfig(vec![FieldError::new(field, e.inner().to_string())])
        })?;
        de.end()
            .map_err(|e| InvalidConfig(vec![FieldError::new("body", e.to_string())]))?;
        config.validate(policy)?;
        Ok(config)
    }

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

    /// Whether sync writes this field at all.
    pub fn syncs(&self, field: SourceField) -> bool {
        self.field_source(field).is_some()
    }

    pub fn removes_on(&self, reason: RemoveReason) -> bool {
        self.remove_when.contains(&reason)
    }

    pub fn validate(&self, policy: EndpointPolicy) -> Result<(), InvalidConfig> {
        let mut errors = Vec::new();
        validate_provider(&self.provider, policy, &mut errors);
        self.validate_scope(&mut errors);
        self.validate_fields(&mut errors);
        self.validate_numbers(&mut errors);
        if !(1..=MAX_RECORDS).contains(&self.record_limit) {
            errors.push(FieldError::new(
                "record_limit",
                format!("must be between 1 and {MAX_RECORDS}"),
            ));
        }
        if !(1..=168).contains(&self.schedule.every_hours) {
            errors.push(FieldError::new(
                "schedule.every_hours",
                "must be between 1 and 168",
            ));
        }
        let mut seen = Vec::new();
        for reason in &self.remove_when {
            if seen.contains(reason) {
                errors.push(FieldError::new(
                    "remove_when",
                    format!("'{}' is listed twice", reason.as_str()),
                ));
            }
            seen.push(*reason);
        }
        if let Some(credentials) = &self.credentials {
            let allowed = credential_names(&self.provider);
            for (name, set) in credentials.named() {
                if set && !allowed.contains(&name) {
                    errors.push(FieldError::new(
                        format!("credentials.{name}"),
                        format!("is not used by provider '{}'", self.provider.kind()),
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(InvalidConfig(errors))
        }
    }

    fn validate_scope(&self, errors: &mut Vec<FieldError>) {
        let ldap_like = self.provider.is_ldap_like();
        match &self.scope {
            Scope::All => {}
            Scope::Ous { ous } => {
                if !ldap_like {
                    errors.push(FieldError::new(
                        "scope.type",
                        "'ous' scope needs an LDAP or LDIF directory",
                    ));
                }
                if ous.is_empty() {
                    errors.push(FieldError::new("scope.ous", "must name at least one OU"));
                }
                for (i, ou) in ous.iter().enumerate() {
                    if let Err(message) = check_dn(ou) {
                        errors.push(FieldError::new(format!("scope.ous[{i}]"), message));
                    }
                }
            }
            Scope::Groups { groups } => {
                if groups.is_empty() {
                    errors.push(FieldError::new(
                        "scope.groups",
                        "must name at least one group",
                    ));
                }
                let azure = matches!(self.provider, ProviderConfig::Azure(_));
                for (i, group) in groups.iter().enumerate() {
                    if azure && uuid::Uuid::parse_str(group).is_err() {
                        errors.push(FieldError::new(
                            format!("scope.groups[{i}]"),
                            "must be an Entra group object id (a GUID)",
                        ));
                    } else if group.trim().is_empty() || group.len() > 1024 {
                        errors.push(FieldError::new(
                            format!("scope.groups[{i}]"),
                            "must be a group id or DN of at most 1024 bytes",
                        ));
                    }
                }
            }
            Scope::Filter { filter } => {
                if !matches!(self.provider, ProviderConfig::Ldap(_)) {
                    errors.push(FieldError::new(
                        "scope.type",
                        "'filter' scope needs an LDAP directory",
                    ));
                }
                if let Err(message) = super::ldap_filter::check(filter) {
                    errors.push(FieldError::new("scope.filter", message));
                }
            }
        }
    }

    fn validate_fields(&self, errors: &mut Vec<FieldError>) {
        for field in SourceField::ALL {
            if let Some(Some(attribute)) = self.fields.get(field) {
                if !is_attribute_name(attribute) {
                    errors.push(FieldError::new(
                        format!("fields.{}", field.as_str()),
                        "must be an attribute name (letters, digits, '-', '_', '.', ';')",
                    ));
                }
            }
        }
        if !self.syncs(SourceField::Email) {
            errors.push(FieldError::new(
                "fields.email",
                "cannot be null: every synced user needs an email",
            ));
        }
        if matches!(self.extension_numbers, ExtensionNumbers::Attribute { .. })
            && !self.syncs(SourceField::Extension)
        {
            errors.push(FieldError::new(
                "fields.extension",
                "cannot be null while extension_numbers.mode is 'attribute'",
            ));
        }
    }

    fn validate_numbers(&self, errors: &mut Vec<FieldError>) {
        match &self.extension_numbers {
            ExtensionNumbers::Attribute {
                pattern: Some(pattern),
            } => {
                if pattern.len() > 512 {
                    errors.push(FieldError::new(
                        "extension_numbers.pattern",
                        "must be at most 512 characters",
                    ));
                } else {
                    match regex::Regex::new(pattern) {
                        Err(e) => errors.push(FieldError::new(
                            "extension_numbers.pattern",
                            format!("does not compile: {e}"),
                        )),
                        Ok(re) if re.captures_len() != 2 => errors.push(FieldError::new(
                            "extension_numbers.pattern",
                            "must have exactly one capture group",
                        )),
                        Ok(_) => {}
                    }
                }
            }
            ExtensionNumbers::Attribute { pattern: None } => {}
            ExtensionNumbers::Auto { start, end } => {
                if start > end {
                    errors.push(FieldError::new(
                        "extension_numbers.start",
                        "must not be greater than end",
                    ));
                } else if end - start >= 1_000_000 {
                    errors.push(FieldError::new(
                        "extension_numbers.end",
                        "the range may hold at most 1,000,000 numbers",
                    ));
                }
                if *start == 0 {
                    errors.push(FieldError::new(
                        "extension_numbers.start",
                        "must be at least 1",
                    ));
                }
            }
        }
    }
}

fn is_attribute_name(attribute: &str) -> bool {
    !attribute.is_empty()
        && attribute.len() <= 128
        && attribute
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ';'))
}

fn default_source(provider: &ProviderConfig, field: SourceField) -> &'static str {
    match (provider, field) {
        (ProviderConfig::Azure(_), SourceField::FirstName) => "givenName",
        (ProviderConfig::Azure(_), SourceField::LastName) => "surname",
        (ProviderConfig::Azure(_), SourceField::Email) => "mail",
        (ProviderConfig::Azure(_), SourceField::Mobile) => "mobilePhone",
        (ProviderConfig::Azure(_), SourceField::Extension) => "businessPhones",
        (ProviderConfig::Okta(_), SourceField::FirstName) => "firstName",
        (ProviderConfig::Okta(_), SourceField::LastName) => "lastName",
        (ProviderConfig::Okta(_), SourceField::Email) => "email",
        (ProviderConfig::Okta(_), SourceField::Mobile) => "mobilePhone",
        (ProviderConfig::Okta(_), SourceField::Extension) => "primaryPhone",
        (_, SourceField::FirstName) => "givenName",
        (_, SourceField::LastName) => "sn",
        (_, SourceField::Email) => "mail",
        (_, SourceField::Mobile) => "mobile",
        (_, SourceField::Extension) => "telephoneNumber",
    }
}

fn validate_provider(
    provider: &ProviderConfig,
    policy: EndpointPolicy,
    errors: &mut Vec<FieldError>,
) {
    let mut push = |field: &str, message: String| {
        errors.push(FieldError::new(format!("provider.{field}"), message))
    };
    match provider {
        ProviderConfig::Ldap(c) => {
            match url::Url::parse(&c.url) {
                Err(e) => push("url", format!("is not a URL: {e}")),
                Ok(url) => {
                    let scheme = url.scheme();
                    if scheme != "ldap" && scheme != "ldaps" {
                        push("url", "must start with ldap:// or ldaps://".into());
                    } else if url.path() != "" && url.path() != "/" || url.query().is_some() {
                        push("url", "must hold only a host and a port".into());
                    } else if scheme == "ldaps" && c.starttls {
                        push("starttls", "cannot be used with ldaps://".into());
                    } else if scheme == "ldap" && !c.starttls && !c.allow_plaintext {
                        push(
                            "url",
                            "ldap:// without starttls sends the bind password in clear: use ldaps://, \
                             set starttls, or set allow_plaintext"
                                .into(),
                        );
                    }
                    match url.host_str() {
                        None | Some("") => push("url", "must name a host".into()),
                        Some(host) => {
                            if let Err(m) = check_host(host, HostUse::Directory, policy) {
                                push("url", m);
                            }
                        }
                    }
                }
            }
            if c.bind_dn.trim().is_empty() {
                push("bind_dn", "must be a DN or a UPN".into());
            }
            if let Err(m) = check_dn(&c.base_dn) {
                push("base_dn", m);
            }
            if let Some(rule) = &c.disabled {
                if c.flavor == LdapFlavor::ActiveDirectory {
                    push(
                        "disabled",
                        "is for openldap: Active Directory uses userAccountControl".into(),
                    );
                } else if !is_attribute_name(&rule.attribute) {
                    push("disabled.attribute", "must be an attribute name".into());
                }
            }
            if let Some(pem) = &c.ca_pem {
                if !pem.contains("-----BEGIN CERTIFICATE-----") {
                    push("ca_pem", "must be a PEM certificate".into());
                }
            }
            if let Some(SshTunnel::Ssh {
                host,
                port,
                user,
                host_key,
            }) = &c.tunnel
            {
                if host.trim().is_empty() {
                    push("tunnel.host", "must name the SSH bastion".into());
                } else if let Err(m) = check_host(host, HostUse::Directory, policy) {
                    push("tunnel.host", m);
                }
                if *port == 0 {
                    push("tunnel.port", "must be between 1 and 65535".into());
                }
                if user.trim().is_empty() {
                    push("tunnel.user", "must name the SSH user".into());
                }
                if let Err(m) = check_host_key(host_key) {
                    push("tunnel.host_key", m);
                }
            }
        }
        ProviderConfig::Azure(c) => {
            if c.tenant_id.trim().is_empty() || c.tenant_id.contains('/') {
                push("tenant_id", "must be the Entra tenant id or domain".into());
            }
            if uuid::Uuid::parse_str(&c.client_id).is_err() {
                push(
                    "client_id",
                    "must be the application (client) id, a GUID".into(),
                );
            }
        }
        ProviderConfig::Okta(c) => {
            if let Err(m) = check_http_url(&c.org_url, policy) {
                push("org_url", m);
            }
            if c.auth == OktaAuth::PrivateKeyJwt
                && c.client_id.as_deref().is_none_or(|s| s.trim().is_empty())
            {
                push("client_id", "is needed with auth 'private_key_jwt'".into());
            }
        }
        ProviderConfig::Ldif(c) => {
            if c.path.trim().is_empty() {
                push("path", "must name an LDIF file".into());
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum HostUse {
    /// LDAP and SSH: private addresses are fine (on-premises), loopback and link-local are not.
    Directory,
    /// Tenant-supplied HTTP endpoints: public addresses only.
    Http,
}

/// Checks a host as written; adapters check again after DNS resolution.
fn check_host(host: &str, usage: HostUse, policy: EndpointPolicy) -> Result<(), String> {
    if policy.allow_private {
        return Ok(());
    }
    let lowered = host.trim_end_matches('.').to_ascii_lowercase();
    if lowered == "localhost" || lowered.ends_with(".localhost") {
        return Err("must not be a loopback host".into());
    }
    let Ok(ip) = lowered
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    else {
        return Ok(());
    };
    address_allowed(ip, usage == HostUse::Http)
}

/// The address rules of CONTRACTS section 2, shared with the adapters' post-resolution checks.
pub fn address_allowed(ip: IpAddr, public_only: bool) -> Result<(), String> {
    let (loopback, link_local, private) = match ip {
        IpAddr::V4(v4) => (
            v4.is_loopback() || v4.is_unspecified(),
            v4.is_link_local(),
            v4.is_private() || v4.is_shared_like(),
        ),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return address_allowed(IpAddr::V4(v4), public_only);
            }
            let seg = v6.segments()[0];
            (
                v6.is_loopback() || v6.is_unspecified(),
                (seg & 0xffc0) == 0xfe80,
                (seg & 0xfe00) == 0xfc00,
            )
        }
    };
    if loopback {
        Err("must not be a loopback address".into())
    } else if link_local {
        Err("must not be a link-local address".into())
    } else if private && public_only {
        Err("must not be a private address".into())
    } else {
        Ok(())
    }
}

trait SharedLike {
    fn is_shared_like(&self) -> bool;
}

impl SharedLike for std::net::Ipv4Addr {
    /// 100.64.0.0/10 (carrier-grade NAT) is as private as RFC 1918 for our purposes.
    fn is_shared_like(&self) -> bool {
        let o = self.octets();
        o[0] == 100 && (o[1] & 0xc0) == 64
    }
}

/// A tenant-supplied HTTP URL: https, a host, and (unless the operator allows private
/// endpoints) not a loopback, link-local or private literal address.
pub fn check_http_url(raw: &str, policy: EndpointPolicy) -> Result<(), String> {
    let url = url::Url::parse(raw).map_err(|e| format!("is not a URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_private => {}
        _ => return Err("must start with https://".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("must name a host")?;
    check_host(host, HostUse::Http, policy)
}

fn check_dn(dn: &str) -> Result<(), String> {
    let dn = dn.trim();
    if dn.is_empty() || !dn.contains('=') || dn.len() > 1024 {
        Err("must be a DN such as ou=People,dc=example,dc=com".into())
    } else {
        Ok(())
    }
}

fn check_host_key(key: &str) -> Result<(), String> {
    use base64::Engine as _;
    let mut parts = key.split_whitespace();
    let (Some(kind), Some(blob)) = (parts.next(), parts.next()) else {
        return Err("must be an OpenSSH public key line such as 'ssh-ed25519 AAAA...'".into());
    };
    let known = [
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
    ];
    if !known.contains(&kind) {
        return Err(format!("key type must be one of {}", known.join(", ")));
    }
    base64::engine::general_purpose::STANDARD
        .decode(blob)
        .map(|_| ())
        .map_err(|_| "the key is not valid base64".into())
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "config_proptests.rs"]
mod proptests;
