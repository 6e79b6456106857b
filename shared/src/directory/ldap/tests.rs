//! Construction checks of the LDAP provider; reads against real servers are in
//! `tests/ldap_*.rs`.

use super::*;
use crate::domain::{CheckName, EndpointPolicy};

const PASSWORD: &str = "s3cret-bind-password";

fn config(provider: serde_json::Value) -> DirectoryConfig {
    let body = serde_json::json!({ "provider": provider });
    DirectoryConfig::from_json(
        body.to_string().as_bytes(),
        EndpointPolicy {
            allow_private: true,
        },
    )
    .unwrap()
}

fn ldaps() -> serde_json::Value {
    serde_json::json!({"type": "ldap", "url": "ldaps://ldap.example.com", "bind_dn": "cn=sync,dc=example,dc=com",
                       "base_dn": "dc=example,dc=com"})
}

fn secrets(password: &str) -> TenantSecrets {
    TenantSecrets {
        bind_password: Some(password.to_string().into()),
        ..TenantSecrets::default()
    }
}

/// The LDAP reader of a config whose provider is `ldap`.
fn reader(
    config: &DirectoryConfig,
    secrets: &TenantSecrets,
    options: LdapOptions,
) -> Result<LdapDirectory, DirectoryError> {
    let crate::domain::config::ProviderConfig::Ldap(ldap) = &config.provider else {
        panic!("an ldap config");
    };
    LdapDirectory::new(ldap, config, secrets, options)
}

fn refused(config: &DirectoryConfig, secrets: &TenantSecrets) -> String {
    reader(config, secrets, LdapOptions::default())
        .unwrap_err()
        .to_string()
}

#[test]
fn an_empty_password_is_refused_since_it_would_bind_anonymously() {
    assert!(refused(&config(ldaps()), &secrets("")).contains("bind password is not set"));
    assert!(refused(&config(ldaps()), &TenantSecrets::default()).contains("not set"));
}

#[test]
fn a_tunnel_needs_the_ssh_private_key() {
    let mut provider = ldaps();
    provider["tunnel"] = serde_json::json!({"type": "ssh", "host": "bastion.example.com",
        "user": "sync", "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ"});
    assert!(refused(&config(provider), &secrets(PASSWORD)).contains("SSH private key"));
}

#[test]
fn a_ca_pem_that_is_no_certificate_is_refused_when_the_config_comes_in() {
    for junk in [
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        "not pem at all",
    ] {
        let mut provider = ldaps();
        provider["ca_pem"] = junk.into();
        let body = serde_json::json!({ "provider": provider });
        let error =
            DirectoryConfig::from_json(body.to_string().as_bytes(), EndpointPolicy::default())
                .unwrap_err();
        assert_eq!(error.0[0].field, "provider.ca_pem", "{junk}: {error}");
    }
}

#[test]
fn debug_output_never_shows_the_password() {
    let directory = reader(&config(ldaps()), &secrets(PASSWORD), LdapOptions::default()).unwrap();
    let shown = format!("{directory:?}");
    assert!(shown.contains("ldap.example.com"));
    assert!(!shown.contains(PASSWORD));
}

#[tokio::test]
async fn loopback_hosts_are_refused_after_resolution_unless_allowed() {
    let mut provider = ldaps();
    provider["url"] = "ldaps://localhost:1".into();
    let directory = reader(
        &config(provider),
        &secrets(PASSWORD),
        LdapOptions::default(),
    )
    .unwrap();
    let report = directory.test_connection().await;
    assert!(!report.ok);
    let connect = &report.checks[0];
    assert_eq!(connect.name, CheckName::Connect);
    assert!(connect.message.contains("loopback"), "{}", connect.message);
}

#[test]
fn a_disabled_rule_is_for_openldap_only() {
    let mut provider = ldaps();
    provider["flavor"] = "active_directory".into();
    provider["disabled"] = serde_json::json!({"attribute": "employeeType", "value": "x"});
    let body = serde_json::json!({ "provider": provider });
    let error = DirectoryConfig::from_json(body.to_string().as_bytes(), EndpointPolicy::default())
        .unwrap_err();
    assert_eq!(error.0[0].field, "provider.disabled");
}
