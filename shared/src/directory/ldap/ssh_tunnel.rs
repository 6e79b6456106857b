//! The SSH tunnel to an on-premises directory (`provider.tunnel.type = "ssh"`): key
//! authentication to a bastion whose host key is pinned in the config, and `direct-tcpip`
//! channels from the bastion to the LDAP host.
//!
//! ldap3 takes only a `std::net::TcpStream`, so each channel is handed over through a
//! 127.0.0.1 listener that accepts exactly one connection (ours, checked by address) and is
//! closed right after; the copying task lives as long as the tunnel.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{Algorithm, HashAlg, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::domain::config::address_allowed;
use crate::error::DirectoryError;

/// Where the bastion is and which host key it must show.
#[derive(Debug, Clone)]
pub struct TunnelTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// An OpenSSH public key line (`ssh-ed25519 AAAA...`).
    pub host_key: String,
}

/// An open tunnel. Dropping it closes every forwarded connection and the SSH session.
pub struct SshTunnel {
    session: Handle<PinnedHostKey>,
    forwards: Mutex<JoinSet<()>>,
    host_key_fingerprint: String,
}

/// Accepts only the pinned key and remembers the fingerprint the bastion showed.
struct PinnedHostKey {
    pinned: PublicKey,
    shown: Arc<Mutex<Option<String>>>,
}

impl client::Handler for PinnedHostKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = server_key else {
            return Ok(false);
        };
        if let Ok(mut shown) = self.shown.lock() {
            *shown = Some(describe_key(key));
        }
        Ok(key.key_data() == self.pinned.key_data())
    }
}

fn describe_key(key: &PublicKey) -> String {
    format!(
        "{} {}",
        key.algorithm().as_str(),
        key.fingerprint(HashAlg::Sha256)
    )
}

/// The host key algorithms to offer: only the pinned key's, so that a bastion with several
/// host keys shows the one that was pinned.
fn preferred_host_keys(pinned: &PublicKey) -> Vec<Algorithm> {
    match pinned.algorithm() {
        Algorithm::Rsa { .. } => vec![
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha512),
            },
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha256),
            },
        ],
        other => vec![other],
    }
}

/// Resolves `host:port` and connects to the first address the endpoint policy allows.
pub async fn connect_tcp(
    host: &str,
    port: u16,
    allow_private: bool,
    timeout: Duration,
) -> Result<TcpStream, DirectoryError> {
    let unreachable = || {
        DirectoryError::Unreachable(format!(
            "host not reachable in {} s: {host}:{port}",
            timeout.as_secs()
        ))
    };
    let attempt = async {
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| DirectoryError::Unreachable(format!("cannot resolve host {host}: {e}")))?
            .collect();
        let mut last_error = None;
        for address in &addresses {
            if !allow_private {
                if let Err(m) = address_allowed(address.ip(), false) {
                    last_error = Some(DirectoryError::NotAvailable(format!(
                        "{host} resolves to {}, which {m}",
                        address.ip()
                    )));
                    continue;
                }
            }
            match TcpStream::connect(address).await {
                Ok(stream) => {
                    // LDAP sends small requests and waits for each answer: without this,
                    // Nagle's algorithm and delayed ACKs add ~40 ms to a bind or a page.
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Err(e) => {
                    last_error = Some(DirectoryError::Unreachable(format!(
                        "cannot connect to {host}:{port}: {e}"
                    )))
                }
            }
        }
        Err(last_error
            .unwrap_or_else(|| DirectoryError::Unreachable(format!("host {host} has no address"))))
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| unreachable())?
}

impl SshTunnel {
    /// Connects to the bastion, checks its host key against the pinned one and logs in with
    /// the tenant's private key (ed25519, ECDSA or RSA, unencrypted OpenSSH or PEM format).
    pub async fn open(
        target: &TunnelTarget,
        private_key: &SecretString,
        allow_private: bool,
        timeout: Duration,
    ) -> Result<Self, DirectoryError> {
        let pinned = PublicKey::from_openssh(target.host_key.trim()).map_err(|_| {
            DirectoryError::NotAvailable("tunnel.host_key is not an OpenSSH public key line".into())
        })?;
        let key =
            russh::keys::decode_secret_key(private_key.expose_secret(), None).map_err(|_| {
                DirectoryError::Credentials(
                    "the SSH private key cannot be read: give an unencrypted OpenSSH or PEM \
                     private key (ed25519, ECDSA or RSA)"
                        .into(),
                )
            })?;
        let stream = connect_tcp(&target.host, target.port, allow_private, timeout).await?;
        let mut config = client::Config {
            inactivity_timeout: None,
            keepalive_interval: Some(Duration::from_secs(15)),
            ..client::Config::default()
        };
        config.preferred.key = preferred_host_keys(&pinned).into();
        let shown = Arc::new(Mutex::new(None));
        let handler = PinnedHostKey {
            pinned: pinned.clone(),
            shown: shown.clone(),
        };
        let bastion = format!("{}:{}", target.host, target.port);
        let handshake = client::connect_stream(Arc::new(config), stream, handler);
        let connected = tokio::time::timeout(timeout, handshake)
            .await
            .map_err(|_| {
                DirectoryError::Unreachable(format!(
                    "the SSH bastion {bastion} did not complete the handshake within {} s",
                    timeout.as_secs()
                ))
            })?;
        let shown_key = shown.lock().ok().and_then(|s| s.clone());
        let mut session = match connected {
            Ok(session) => session,
            Err(russh::Error::UnknownKey) => {
                return Err(DirectoryError::NotAvailable(format!(
                    "the SSH bastion {bastion} showed host key {}, which is not the pinned \
                     tunnel.host_key ({}); if the bastion's key really changed, pin the new one",
                    shown_key.as_deref().unwrap_or("(a certificate)"),
                    describe_key(&pinned)
                )))
            }
            Err(e) => {
                return Err(DirectoryError::Unreachable(format!(
                    "SSH to {bastion} failed: {e}"
                )))
            }
        };
        let hash = if key.algorithm().is_rsa() {
            session
                .best_supported_rsa_hash()
                .await
                .ok()
                .flatten()
                .flatten()
        } else {
            None
        };
        let login = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
        let auth = tokio::time::timeout(
            timeout,
            session.authenticate_publickey(target.user.clone(), login),
        )
        .await
        .map_err(|_| DirectoryError::Unreachable(format!("SSH login to {bastion} timed out")))?
        .map_err(|e| DirectoryError::Unreachable(format!("SSH login to {bastion} failed: {e}")))?;
        if !auth.success() {
            return Err(DirectoryError::Credentials(format!(
                "the SSH bastion {bastion} refused the key for user '{}': add the tenant's \
                 public key to that user's authorized_keys",
                target.user
            )));
        }
        Ok(Self {
            session,
            forwards: Mutex::new(JoinSet::new()),
            host_key_fingerprint: shown_key.unwrap_or_default(),
        })
    }

    /// The bastion's host key as checked, `ssh-ed25519 SHA256:...`.
    pub fn host_key_fingerprint(&self) -> &str {
        &self.host_key_fingerprint
    }

    /// Opens a `direct-tcpip` channel from the bastion to `host:port` and returns a local
    /// stream connected to it.
    pub async fn connect(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<std::net::TcpStream, DirectoryError> {
        let open = self
            .session
            .channel_open_direct_tcpip(host, u32::from(port), "127.0.0.1", 0);
        let channel = tokio::time::timeout(timeout, open)
            .await
            .map_err(|_| {
                DirectoryError::Unreachable(format!(
                    "the bastion did not open a channel to {host}:{port} within {} s",
                    timeout.as_secs()
                ))
            })?
            .map_err(|e| {
                DirectoryError::Unreachable(format!(
                    "the SSH bastion could not connect to {host}:{port}: {e}"
                ))
            })?;
        let handover = |e: std::io::Error| {
            DirectoryError::Unreachable(format!("local tunnel endpoint failed: {e}"))
        };
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(handover)?;
        let client = TcpStream::connect(listener.local_addr().map_err(handover)?)
            .await
            .map_err(handover)?;
        let ours = client.local_addr().map_err(handover)?;
        // Another local process could race us to the port: accept only our own socket.
        let mut accepted = loop {
            let (socket, peer) = tokio::time::timeout(timeout, listener.accept())
                .await
                .map_err(|_| handover(std::io::ErrorKind::TimedOut.into()))?
                .map_err(handover)?;
            if peer == ours {
                break socket;
            }
        };
        drop(listener);
        let _ = accepted.set_nodelay(true);
        let _ = client.set_nodelay(true);
        let mut channel = channel.into_stream();
        if let Ok(mut forwards) = self.forwards.lock() {
            forwards.spawn(async move {
                let _ = tokio::io::copy_bidirectional(&mut accepted, &mut channel).await;
            });
        }
        client.into_std().map_err(handover)
    }
}

impl Drop for SshTunnel {
    fn drop(&mut self) {
        if let Ok(mut forwards) = self.forwards.lock() {
            forwards.abort_all();
        }
    }
}
