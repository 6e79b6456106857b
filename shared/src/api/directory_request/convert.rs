//! A request into the domain's config: every value checked once (with the rules of
//! `domain::config::values` and the operator's endpoint policy), every bad field reported
//! with its path.

use super::{
    DirectoryRequest, ExtensionGroupsRequest, GroupSyncRequest, LdapRequest, NumbersRequest,
    OktaRequest, ProviderRequest, ScopeRequest, TunnelRequest,
};
use crate::domain::config::{
    check_extra_numbers, credential_names_of, CaPem, CaptureRegex, DirectoryConfig, Dn,
    ExtensionGroupsConfig, ExtensionNumbers, ExtensionRange, FieldError, FieldSources, GroupSync,
    HostKey, HttpUrl, LdapConfig, LdapFilter, LdapFlavor, LdapUrl, OktaAuth, OktaConfig,
    OrganizationSync, OrganizationsConfig, ProviderConfig, Scope, SourceField, SshTunnel,
    MAX_RECORDS,
};
use crate::domain::endpoint_policy::{check_host, check_http_url, HostUse};
use crate::domain::EndpointPolicy;
use crate::domain::ObjectId;

/// The bad fields found so far.
#[derive(Default)]
struct Findings(Vec<FieldError>);

impl Findings {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// The checked value, or `None` with the field's error noted.
    fn check<T>(&mut self, field: impl Into<String>, checked: Result<T, String>) -> Option<T> {
        checked.map_err(|message| self.push(field, message)).ok()
    }
}

impl DirectoryRequest {
    pub(super) fn into_config(
        self,
        policy: EndpointPolicy,
    ) -> Result<DirectoryConfig, Vec<FieldError>> {
        let mut found = Findings::default();
        let kind = self.provider.kind();
        // A SCIM directory names SCIM attributes, checked on their own.
        let scim = kind == "scim";
        if scim {
            found.0.extend(super::scim::scim_errors(&self));
        }
        let provider = provider(self.provider, policy, &mut found);
        let scope = scope(self.scope, provider.as_ref(), &mut found);
        check_fields(&self.fields, &self.extension_numbers, !scim, &mut found);
        if let Some(message) = super::avatar::avatar_error(&self.fields, kind) {
            found.push("fields.avatar", message);
        }
        let extension_numbers = numbers(self.extension_numbers, &mut found);
        let organizations = organizations(self.organizations, provider.as_ref(), &mut found);
        let extra_number_name = if scim {
            super::scim::is_scim_attribute
        } else {
            is_attribute_name
        };
        let extension_groups =
            extension_groups(self.extension_groups, provider.as_ref(), &mut found);
        found
            .0
            .extend(check_extra_numbers(&self.extra_numbers, extra_number_name));
        if let Some(credentials) = &self.credentials {
            let allowed = credential_names_of(kind);
            for (name, set) in credentials.named() {
                if set && !allowed.contains(&name) {
                    found.push(
                        format!("credentials.{name}"),
                        format!("is not used by provider '{kind}'"),
                    );
                }
            }
        }
        if let (Some(write_back), Some(provider)) = (&self.write_back, &provider) {
            found.check("write_back.attribute", write_back.check(provider));
        }
        // Its errors were noted as the request was read.
        let schedule = self.schedule.check().ok();
        match (
            provider,
            scope,
            extension_numbers,
            extension_groups,
            schedule,
        ) {
            (
                Some(provider),
                Some(scope),
                Some(extension_numbers),
                Some(extension_groups),
                Some(schedule),
            ) if found.0.is_empty() => Ok(DirectoryConfig {
                provider,
                scope,
                fields: self.fields,
                extension_numbers,
                remove_when: self.remove_when,
                on_remove: self.on_remove,
                adopt_existing_by_email: self.adopt_existing_by_email,
                deletion_guard: self.deletion_guard,
                schedule,
                record_limit: self.record_limit,
                organizations,
                extension_groups,
                welcome_email: self.welcome_email,
                write_back: self.write_back,
                extra_numbers: self.extra_numbers,
                login: self.login,
                credentials: self.credentials,
            }),
            _ => Err(found.0),
        }
    }
}

fn provider(
    request: ProviderRequest,
    policy: EndpointPolicy,
    found: &mut Findings,
) -> Option<ProviderConfig> {
    match request {
        ProviderRequest::Ldap(ldap) => ldap_provider(ldap, policy, found).map(ProviderConfig::Ldap),
        ProviderRequest::Azure(azure) => {
            if azure.tenant_id.trim().is_empty() || azure.tenant_id.contains('/') {
                found.push(
                    "provider.tenant_id",
                    "must be the Entra tenant id or domain",
                );
            }
            if uuid::Uuid::parse_str(&azure.client_id).is_err() {
                found.push(
                    "provider.client_id",
                    "must be the application (client) id, a GUID",
                );
            }
            Some(ProviderConfig::Azure(azure))
        }
        ProviderRequest::Okta(okta) => okta_provider(okta, policy, found).map(ProviderConfig::Okta),
        ProviderRequest::Ldif(ldif) => {
            if ldif.path.trim().is_empty() {
                found.push("provider.path", "must name an LDIF file");
            }
            Some(ProviderConfig::Ldif(ldif))
        }
        ProviderRequest::Scim(scim) => Some(ProviderConfig::Scim(scim)),
    }
}

fn ldap_provider(
    c: LdapRequest,
    policy: EndpointPolicy,
    found: &mut Findings,
) -> Option<LdapConfig> {
    let url = found.check("provider.url", LdapUrl::parse(&c.url));
    if let Some(url) = &url {
        if url.is_ldaps() && c.starttls {
            found.push("provider.starttls", "cannot be used with ldaps://");
        } else if !url.is_ldaps() && !c.starttls && !c.allow_plaintext {
            found.push(
                "provider.url",
                "ldap:// without starttls sends the bind password in clear: use ldaps://, \
                 set starttls, or set allow_plaintext",
            );
        }
        if let Err(message) = check_host(url.host(), HostUse::Directory, policy) {
            found.push("provider.url", message);
        }
    }
    if c.bind_dn.trim().is_empty() {
        found.push("provider.bind_dn", "must be a DN or a UPN");
    }
    let base_dn = found.check("provider.base_dn", Dn::parse(&c.base_dn));
    if let Some(rule) = &c.disabled {
        if c.flavor == LdapFlavor::ActiveDirectory {
            found.push(
                "provider.disabled",
                "is for openldap: Active Directory uses userAccountControl",
            );
        } else if !is_attribute_name(&rule.attribute) {
            found.push("provider.disabled.attribute", "must be an attribute name");
        }
    }
    let ca_pem = match &c.ca_pem {
        None => Some(None),
        Some(pem) => found.check("provider.ca_pem", CaPem::parse(pem)).map(Some),
    };
    let tunnel = match c.tunnel {
        None => Some(None),
        Some(TunnelRequest::Ssh {
            host,
            port,
            user,
            host_key,
        }) => {
            if host.trim().is_empty() {
                found.push("provider.tunnel.host", "must name the SSH bastion");
            } else if let Err(message) = check_host(&host, HostUse::Directory, policy) {
                found.push("provider.tunnel.host", message);
            }
            if port == 0 {
                found.push("provider.tunnel.port", "must be between 1 and 65535");
            }
            if user.trim().is_empty() {
                found.push("provider.tunnel.user", "must name the SSH user");
            }
            found
                .check("provider.tunnel.host_key", HostKey::parse(&host_key))
                .map(|host_key| {
                    Some(SshTunnel::Ssh {
                        host,
                        port,
                        user,
                        host_key,
                    })
                })
        }
    };
    Some(LdapConfig {
        url: url?,
        starttls: c.starttls,
        ca_pem: ca_pem?,
        bind_dn: c.bind_dn,
        base_dn: base_dn?,
        allow_plaintext: c.allow_plaintext,
        flavor: c.flavor,
        tunnel: tunnel?,
        disabled: c.disabled,
    })
}

fn okta_provider(
    c: OktaRequest,
    policy: EndpointPolicy,
    found: &mut Findings,
) -> Option<OktaConfig> {
    let org_url = check_http_url(&c.org_url, policy).and_then(|()| HttpUrl::parse(&c.org_url));
    let org_url = found.check("provider.org_url", org_url);
    if c.auth == OktaAuth::PrivateKeyJwt
        && c.client_id.as_deref().is_none_or(|s| s.trim().is_empty())
    {
        found.push(
            "provider.client_id",
            "is needed with auth 'private_key_jwt'",
        );
    }
    Some(OktaConfig {
        org_url: org_url?,
        auth: c.auth,
        client_id: c.client_id,
    })
}

/// The scope, checked against the provider (when that is known to be good).
fn scope(
    request: ScopeRequest,
    provider: Option<&ProviderConfig>,
    found: &mut Findings,
) -> Option<Scope> {
    match request {
        ScopeRequest::All => Some(Scope::All),
        ScopeRequest::Ous { ous } => {
            if provider.is_some_and(|p| !p.is_ldap_like()) {
                found.push("scope.type", "'ous' scope needs an LDAP or LDIF directory");
            }
            if ous.is_empty() {
                found.push("scope.ous", "must name at least one OU");
            }
            let checked: Vec<Option<Dn>> = ous
                .iter()
                .enumerate()
                .map(|(i, ou)| found.check(format!("scope.ous[{i}]"), Dn::parse(ou)))
                .collect();
            checked
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(|ous| Scope::Ous { ous })
        }
        ScopeRequest::Groups { groups } => {
            check_group_ids("scope.groups", &groups, provider, found);
            Some(Scope::Groups { groups })
        }
        ScopeRequest::Filter { filter } => {
            if provider.is_some_and(|p| !matches!(p, ProviderConfig::Ldap(_))) {
                found.push("scope.type", "'filter' scope needs an LDAP directory");
            }
            found
                .check("scope.filter", LdapFilter::parse(&filter))
                .map(|filter| Scope::Filter { filter })
        }
        ScopeRequest::Users { users } => scope_users(users, provider, found),
    }
}

/// The most ids a `users` scope takes: the record limit, since more could never sync.
const MAX_SCOPE_USERS: usize = MAX_RECORDS as usize;

/// `users` scope: object ids, GUIDs for Entra (kept in Graph's lowercase form, so that they
/// compare equal to the ids Graph answers).
fn scope_users(
    users: Vec<String>,
    provider: Option<&ProviderConfig>,
    found: &mut Findings,
) -> Option<Scope> {
    if users.is_empty() {
        found.push("scope.users", "must name at least one user");
    }
    if users.len() > MAX_SCOPE_USERS {
        found.push(
            "scope.users",
            format!("must name at most {MAX_SCOPE_USERS} users"),
        );
        return None;
    }
    let azure = matches!(provider, Some(ProviderConfig::Azure(_)));
    let checked: Vec<Option<ObjectId>> = users
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let field = format!("scope.users[{i}]");
            if azure {
                match uuid::Uuid::parse_str(user) {
                    Ok(guid) => ObjectId::parse(guid.to_string()).ok(),
                    Err(_) => {
                        found.push(field, "must be an Entra user object id (a GUID)");
                        None
                    }
                }
            } else {
                found.check(field, ObjectId::parse(user.as_str()).map_err(|e| e.message))
            }
        })
        .collect();
    checked
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .map(|users| Scope::Users { users })
}

/// `organizations`: OUs exist only in LDAP-style directories; an attribute must be a name.
fn organizations(
    request: OrganizationsConfig,
    provider: Option<&ProviderConfig>,
    found: &mut Findings,
) -> OrganizationsConfig {
    match &request.sync {
        OrganizationSync::Ous if provider.is_some_and(|p| !p.is_ldap_like()) => found.push(
            "organizations.sync",
            "'ous' needs an LDAP or LDIF directory; use 'attribute' (e.g. department)",
        ),
        // SCIM attributes: `super::scim`.
        OrganizationSync::Attribute { .. } if matches!(provider, Some(ProviderConfig::Scim(_))) => {
        }
        OrganizationSync::Attribute { attribute } if !is_attribute_name(attribute) => found.push(
            "organizations.attribute",
            "must be an attribute name (letters, digits, '-', '_', '.', ';')",
        ),
        _ => {}
    }
    request
}

/// Groups named by id or DN (`scope.groups`, `extension_groups.groups`): between 1 and
/// [`MAX_NAMED_GROUPS`] of them, each an Entra object id (a GUID) for Entra, else an id or DN
/// of at most 1024 bytes without control characters.
fn check_group_ids(
    field: &str,
    groups: &[String],
    provider: Option<&ProviderConfig>,
    found: &mut Findings,
) {
    if groups.is_empty() || groups.len() > MAX_NAMED_GROUPS {
        let message = format!("must name between 1 and {MAX_NAMED_GROUPS} groups");
        found.push(field, message);
    }
    let azure = matches!(provider, Some(ProviderConfig::Azure(_)));
    for (i, group) in groups.iter().enumerate() {
        let message = if azure {
            uuid::Uuid::parse_str(group)
                .is_err()
                .then_some("must be an Entra group object id (a GUID)")
        } else {
            (group.trim().is_empty() || group.len() > 1024 || group.chars().any(char::is_control))
                .then_some("must be a group id or DN of at most 1024 bytes")
        };
        if let Some(message) = message {
            found.push(format!("{field}[{i}]"), message);
        }
    }
}

/// The most groups `scope.groups` or `extension_groups.groups` may name.
const MAX_NAMED_GROUPS: usize = 1000;

/// `extension_groups`: group types exist only in Active Directory, filters only in
/// LDAP-style directories.
fn extension_groups(
    request: ExtensionGroupsRequest,
    provider: Option<&ProviderConfig>,
    found: &mut Findings,
) -> Option<ExtensionGroupsConfig> {
    let active_directory = |p: &ProviderConfig| match p {
        ProviderConfig::Ldap(c) => c.flavor == LdapFlavor::ActiveDirectory,
        ProviderConfig::Ldif(c) => c.flavor == LdapFlavor::ActiveDirectory,
        _ => false,
    };
    let sync = match request.sync {
        GroupSyncRequest::None => Some(GroupSync::None),
        GroupSyncRequest::All => Some(GroupSync::All),
        GroupSyncRequest::Groups { groups } => {
            check_group_ids("extension_groups.groups", &groups, provider, found);
            Some(GroupSync::Groups { groups })
        }
        GroupSyncRequest::Type { types } => {
            if provider.is_some_and(|p| !active_directory(p)) {
                found.push(
                    "extension_groups.sync",
                    "'type' needs an Active Directory (flavor 'active_directory')",
                );
            }
            if types.is_empty() {
                found.push("extension_groups.types", "must name at least one type");
            }
            Some(GroupSync::Type { types })
        }
        GroupSyncRequest::Filter { filter } => {
            if provider.is_some_and(|p| !p.is_ldap_like()) {
                found.push(
                    "extension_groups.sync",
                    "'filter' needs an LDAP or LDIF directory",
                );
            }
            found
                .check("extension_groups.filter", LdapFilter::parse(&filter))
                .map(|filter| GroupSync::Filter { filter })
        }
    };
    sync.map(|sync| ExtensionGroupsConfig {
        sync,
        delete_when_unused: request.delete_when_unused,
    })
}

/// `names`: whether attribute names are checked here (not for SCIM: `super::scim`).
fn check_fields(
    fields: &FieldSources,
    numbers: &NumbersRequest,
    names: bool,
    found: &mut Findings,
) {
    for field in SourceField::ALL.into_iter().filter(|_| names) {
        if let Some(Some(attribute)) = fields.get(field) {
            if !is_attribute_name(attribute) {
                found.push(
                    format!("fields.{}", field.as_str()),
                    "must be an attribute name (letters, digits, '-', '_', '.', ';')",
                );
            }
        }
    }
    if let Some(Some(attribute)) = fields.sip_password.as_ref().filter(|_| names) {
        if !is_attribute_name(attribute) {
            found.push(
                "fields.sip_password",
                "must be an attribute name (letters, digits, '-', '_', '.', ';')",
            );
        }
    }
    // `null` turns a field's sync off; left out, the provider's default attribute is synced.
    let off = |field| matches!(fields.get(field), Some(None));
    if off(SourceField::Email) {
        found.push(
            "fields.email",
            "cannot be null: every synced user needs an email",
        );
    }
    if matches!(numbers, NumbersRequest::Attribute { .. }) && off(SourceField::Extension) {
        found.push(
            "fields.extension",
            "cannot be null while extension_numbers.mode is 'attribute'",
        );
    }
}

fn numbers(request: NumbersRequest, found: &mut Findings) -> Option<ExtensionNumbers> {
    match request {
        NumbersRequest::Attribute { pattern: None } => {
            Some(ExtensionNumbers::Attribute { pattern: None })
        }
        NumbersRequest::Attribute {
            pattern: Some(pattern),
        } => found
            .check("extension_numbers.pattern", CaptureRegex::parse(&pattern))
            .map(|pattern| ExtensionNumbers::Attribute {
                pattern: Some(pattern),
            }),
        NumbersRequest::Auto { start, end } => match ExtensionRange::new(start, end) {
            Ok(range) => Some(ExtensionNumbers::Auto(range)),
            Err((bound, message)) => {
                found.push(format!("extension_numbers.{bound}"), message);
                None
            }
        },
    }
}

pub(super) fn is_attribute_name(attribute: &str) -> bool {
    !attribute.is_empty()
        && attribute.len() <= 128
        && attribute
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ';'))
}
