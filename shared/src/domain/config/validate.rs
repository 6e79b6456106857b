//! The checks of a directory config, each bad field reported with its path.

use super::*;
use crate::domain::endpoint_policy::{check_host, HostUse};

impl DirectoryConfig {
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
                if let Err(message) = crate::domain::ldap_filter::check(filter) {
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
