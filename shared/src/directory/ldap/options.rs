//! Operator settings of the LDAP provider.

use std::time::Duration;

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
    /// Entries per page; `None` takes [`super::DEFAULT_PAGE_SIZE`].
    pub page_size: Option<i32>,
}
