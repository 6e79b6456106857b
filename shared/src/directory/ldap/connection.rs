//! The connection steps of an LDAP read: the SSH tunnel if any, TCP, TLS (ldaps or
//! StartTLS) and the simple bind, each bounded by its timeout.

use std::sync::Arc;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, StdStream};
use rustls::{ClientConfig, RootCertStore};
use secrecy::{ExposeSecret, SecretString};

use super::errors::{client_error, timeout_error, Phase};
use super::options::LdapOptions;
use super::ssh_tunnel::{connect_tcp, SshTunnel, TunnelTarget};
use crate::domain::config::{CaPem, LdapConfig, SshTunnel as TunnelConfig};
use crate::error::DirectoryError;
use crate::ports::TenantSecrets;

/// How to reach and bind to one tenant's directory, checked once from its config.
pub(super) struct Connection {
    pub config: LdapConfig,
    /// Scheme, host and port only (validated config).
    pub host: String,
    pub port: u16,
    pub tls: Option<Arc<ClientConfig>>,
    bind_password: SecretString,
    ssh_private_key: Option<SecretString>,
    pub options: LdapOptions,
}

/// An open, bound connection; dropping `ldap` ends the connection's driver task. The tunnel
/// (if any) lives as long as the connection.
pub(super) struct Session {
    pub ldap: Ldap,
    _tunnel: Option<SshTunnel>,
}

impl Connection {
    pub fn new(
        ldap: &LdapConfig,
        secrets: &TenantSecrets,
        options: LdapOptions,
    ) -> Result<Self, DirectoryError> {
        // The request's conversion made sure that plain ldap:// is allowed when neither
        // ldaps:// nor StartTLS encrypts.
        let encrypted = ldap.url.is_ldaps() || ldap.starttls;
        let host = ldap.url.host().to_string();
        let port = ldap.url.port();
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
            Some(tls_config(ldap.ca_pem.as_ref())?)
        } else {
            None
        };
        Ok(Self {
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
                host_key: host_key.to_string(),
            },
        })
    }

    pub async fn open_tunnel(&self) -> Result<Option<SshTunnel>, DirectoryError> {
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
    pub async fn connect(
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
    pub async fn start(&self, stream: std::net::TcpStream) -> Result<Ldap, DirectoryError> {
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

    pub async fn bind(&self, ldap: &mut Ldap) -> Result<(), DirectoryError> {
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

    pub fn tls_note(&self) -> String {
        match (&self.tls, self.config.starttls) {
            (None, _) => "WARNING: no TLS: the bind password and the directory's data cross the \
                          network in clear (allow_plaintext is set)"
                .into(),
            (Some(_), true) => format!("StartTLS with {} verified", self.host),
            (Some(_), false) => format!("TLS (ldaps) with {} verified", self.host),
        }
    }

    pub fn trust_note(&self) -> &'static str {
        if self.config.ca_pem.is_some() {
            "against the configured ca_pem"
        } else {
            "against the public root CAs"
        }
    }

    pub async fn session(&self) -> Result<Session, DirectoryError> {
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
fn tls_config(ca_pem: Option<&CaPem>) -> Result<Arc<ClientConfig>, DirectoryError> {
    let mut roots = RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            for cert in pem.certificates() {
                roots.add(cert.clone()).map_err(|e| {
                    DirectoryError::NotAvailable(format!("ca_pem cannot be used as a CA: {e}"))
                })?;
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
