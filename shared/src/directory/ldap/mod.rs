//! The LDAP directory (`provider.type = "ldap"`): OpenLDAP or Active Directory over
//! `ldaps://`, `ldap://` + StartTLS or (only with `allow_plaintext`) plain `ldap://`, directly
//! or through an SSH tunnel. Each read opens a connection, binds, reads every user under
//! `base_dn` with paged searches, marks who is in scope, and closes it all.

mod check;
mod errors;
mod search;
pub mod ssh_tunnel;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, StdStream};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use secrecy::{ExposeSecret, SecretString};

pub use search::DEFAULT_PAGE_SIZE;

use crate::directory::entry::attributes::UserMapper;
use crate::domain::config::{LdapConfig, ProviderConfig, SshTunnel as TunnelConfig};
use crate::domain::{ConnectionReport, DirectoryConfig, Snapshot};
use crate::error::DirectoryError;
use crate::ports::{Directory, TenantSecrets};
use errors::{client_error, timeout_error, Phase};
use search::{read_snapshot, SearchPlan};
use ssh_tunnel::{connect_tcp, SshTunnel, TunnelTarget};

/// How long each step may take.
#[derive(Debug, Clone, Copy)]
pub struct LdapTimeouts {
    /// TCP connect to the directory or the bastion.
    pub connect: Duration,
    /// TLS handshake (and StartTLS), SSH handshake and login, and the bind.
    pub handshake: Duration,
    /// The wait for each search result entry or page.
    pub operation: Duration,
}

impl Default for LdapTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            handshake: Duration::from_secs(20),
            operation: Duration::from_secs(60),
        }
    }
}

/// Operator settings of the LDAP provider.
#[derive(Debug, Clone, Copy, Default)]
pub struct LdapOptions {
    /// `DIRSYNC_ALLOW_PRIVATE_ENDPOINTS=1`: loopback and link-local hosts are allowed.
    pub allow_private: bool,
    pub timeouts: LdapTimeouts,
    /// Entries per page; `None` takes [`DEFAULT_PAGE_SIZE`].
    pub page_size: Option<i32>,
}

pub struct LdapDirectory {
    config: LdapConfig,
    /// Scheme, host and port only (validated config).
    host: String,
    port: u16,
    tls: Option<Arc<ClientConfig>>,
    bind_password: SecretString,
    ssh_private_key: Option<SecretString>,
    search: SearchPlan,
    options: LdapOptions,
}

impl std::fmt::Debug for LdapDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapDirectory")
            .field("url", &self.config.url)
            .field("bind_dn", &self.config.bind_dn)
            .finish_non_exhaustive()
    }
}

/// An open, bound connection; dropping `ldap` ends the connection's driver task. The tunnel
/// (if any) lives as long as the connection.
struct Session {
    ldap: Ldap,
    _tunnel: Option<SshTunnel>,
}

impl LdapDirectory {
    pub fn new(
        config: &DirectoryConfig,
        secrets: &TenantSecrets,
        options: LdapOptions,
    ) -> Result<Self, DirectoryError> {
        let ProviderConfig::Ldap(ldap) = &config.provider else {
            return Err(DirectoryError::NotAvailable(format!(
                "the LDAP reader cannot read a '{}' directory",
                config.provider.kind()
            )));
        };
        let url = url::Url::parse(&ldap.url)
            .map_err(|e| DirectoryError::NotAvailable(format!("provider.url: {e}")))?;
        let encrypted = match url.scheme() {
            "ldaps" => true,
            "ldap" if ldap.starttls => true,
            "ldap" if ldap.allow_plaintext => false,
            "ldap" => {
                return Err(DirectoryError::NotAvailable(
                    "ldap:// without starttls needs allow_plaintext".into(),
                ))
            }
            other => {
                return Err(DirectoryError::NotAvailable(format!(
                    "provider.url: unknown scheme {other}"
                )))
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| DirectoryError::NotAvailable("provider.url has no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url
            .port()
            .unwrap_or(if url.scheme() == "ldaps" { 636 } else { 389 });
        let bind_password = secrets
            .bind_password
            .clone()
            .filter(|p| !p.expose_secret().is_empty())
            // An empty password would make the simple bind anonymous (RFC 4513 5.1.2).
            .ok_or_else(|| DirectoryError::Credentials("the bind password is not set".into()))?;
        let ssh_private_key = match &ldap.tunnel {
            Some(_) => Some(secrets.ssh_private_key.clone().ok_or_else(|| {
                DirectoryError::Credentials("the SSH private key of the tunnel is not set".into())
            })?),
            None => None,
        };
        let tls = if encrypted {
            Some(tls_config(ldap.ca_pem.as_deref())?)
        } else {
            None
        };
        let mapper = UserMapper::new(config, ldap.flavor).with_disabled_rule(ldap.disabled.clone());
        Ok(Self {
            search: SearchPlan::new(ldap, &config.scope, mapper, options.page_size)?,
            config: ldap.clone(),
            host,
            port,
            tls,
            bind_password,
            ssh_private_key,
            options,
        })
    }

    fn tunnel_target(&self) -> Option<TunnelTarget> {
        self.config.tunnel.as_ref().map(|t| match t {
            TunnelConfig::Ssh {
                host,
                port,
                user,
                host_key,
            } => TunnelTarget {
                host: host.clone(),
                port: *port,
                user: user.clone(),
                host_key: host_key.clone(),
            },
        })
    }

    async fn open_tunnel(&self) -> Result<Option<SshTunnel>, DirectoryError> {
        let (Some(target), Some(key)) = (self.tunnel_target(), &self.ssh_private_key) else {
            return Ok(None);
        };
        let timeouts = self.options.timeouts;
        let handshake = timeouts.connect.max(timeouts.handshake);
        SshTunnel::open(&target, key, self.options.allow_private, handshake)
            .await
            .map(Some)
    }

    /// A TCP stream to the directory: direct, or a channel through the tunnel.
    async fn connect(
        &self,
        tunnel: Option<&SshTunnel>,
    ) -> Result<std::net::TcpStream, DirectoryError> {
        let timeout = self.options.timeouts.connect;
        match tunnel {
            Some(tunnel) => tunnel.connect(&self.host, self.port, timeout).await,
            None => {
                let stream =
                    connect_tcp(&self.host, self.port, self.options.allow_private, timeout).await?;
                stream.into_std().map_err(|e| {
                    DirectoryError::Unreachable(format!("cannot use the connection: {e}"))
                })
            }
        }
    }

    /// StartTLS or the TLS handshake (`ldaps://`), with the URL's host as the name checked.
    async fn start(&self, stream: std::net::TcpStream) -> Result<Ldap, DirectoryError> {
        let mut settings = LdapConnSettings::new()
            .set_std_stream(StdStream::Tcp(stream))
            .set_starttls(self.config.starttls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        let timeout = self.options.timeouts.handshake;
        let (conn, ldap) = tokio::time::timeout(
            timeout,
            LdapConnAsync::with_settings(settings, &self.config.url),
        )
        .await
        .map_err(|_| timeout_error(Phase::Tls, "the TLS handshake", timeout, 0))?
        .map_err(|e| client_error(Phase::Tls, e, timeout, 0))?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "LDAP connection ended");
            }
        });
        Ok(ldap)
    }

    async fn bind(&self, ldap: &mut Ldap) -> Result<(), DirectoryError> {
        let timeout = self.options.timeouts.handshake;
        let result = ldap
            .with_timeout(timeout)
            .simple_bind(&self.config.bind_dn, self.bind_password.expose_secret())
            .await
            .map_err(|e| client_error(Phase::Bind, e, timeout, 0))?;
        result
            .success()
            .map(|_| ())
            .map_err(|e| client_error(Phase::Bind, e, timeout, 0))
    }

    fn tls_note(&self) -> String {
        match (&self.tls, self.config.starttls) {
            (None, _) => "WARNING: no TLS: the bind password and the directory's data cross the \
                          network in clear (allow_plaintext is set)"
                .into(),
            (Some(_), true) => format!("StartTLS with {} verified", self.host),
            (Some(_), false) => format!("TLS (ldaps) with {} verified", self.host),
        }
    }

    fn trust_note(&self) -> &'static str {
        if self.config.ca_pem.is_some() {
            "against the configured ca_pem"
        } else {
            "against the public root CAs"
        }
    }

    async fn session(&self) -> Result<Session, DirectoryError> {
        let tunnel = self.open_tunnel().await?;
        let stream = self.connect(tunnel.as_ref()).await?;
        let mut ldap = self.start(stream).await?;
        self.bind(&mut ldap).await?;
        Ok(Session {
            ldap,
            _tunnel: tunnel,
        })
    }
}

/// Trusts the tenant's `ca_pem` when set, else the public roots of `webpki-roots` (the same
/// set reqwest uses here): built in, so a read does not depend on the runtime image's CA files.
fn tls_config(ca_pem: Option<&str>) -> Result<Arc<ClientConfig>, DirectoryError> {
    let mut roots = RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|_| {
                    DirectoryError::NotAvailable("ca_pem holds a malformed certificate".into())
                })?;
                roots.add(cert).map_err(|e| {
                    DirectoryError::NotAvailable(format!("ca_pem cannot be used as a CA: {e}"))
                })?;
                added += 1;
            }
            if added == 0 {
                return Err(DirectoryError::NotAvailable(
                    "ca_pem holds no certificate".into(),
                ));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DirectoryError::NotAvailable(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[async_trait]
impl Directory for LdapDirectory {
    async fn read_users(&self) -> Result<Snapshot, DirectoryError> {
        let mut session = self.session().await?;
        read_snapshot(
            &self.search,
            &mut session.ldap,
            self.options.timeouts.operation,
        )
        .await
    }

    async fn test_connection(&self) -> ConnectionReport {
        check::test_connection(self).await
    }
}

#[cfg(test)]
mod tests;
