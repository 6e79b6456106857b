//! The LDAP directory (`provider.type = "ldap"`): OpenLDAP or Active Directory over
//! `ldaps://`, `ldap://` + StartTLS or (only with `allow_plaintext`) plain `ldap://`, directly
//! or through an SSH tunnel. Each read opens a connection, binds, reads every user under
//! `base_dn` with paged searches, marks who is in scope, reads the OUs and groups that
//! `organizations` and `extension_groups` ask for, and closes it all. A change-only read
//! ([`changes`]) reads only what changed since the position a read kept.

mod changes;
mod changes_ad;
mod changes_openldap;
mod check;
mod connection;
mod errors;
mod login;
mod options;
mod organisation;
mod photo;
mod search;
pub mod ssh_tunnel;
mod write_back;

use std::collections::HashSet;

use async_trait::async_trait;
use secrecy::SecretString;

pub use options::{LdapOptions, LdapTimeouts};
pub use search::DEFAULT_PAGE_SIZE;

use crate::directory::entry::attributes::UserMapper;
use crate::domain::config::LdapConfig;
use crate::domain::{
    ChangeCursor, ConnectionReport, DirectoryChanges, DirectoryConfig, DirectoryUser, ObjectId,
    Snapshot,
};
use crate::error::DirectoryError;
use crate::ports::{Directory, LoginOutcome, TenantSecrets};
use connection::Connection;
use search::{read_snapshot, SearchPlan};

pub struct LdapDirectory {
    connection: Connection,
    search: SearchPlan,
    photos: photo::PhotoSession,
}

impl std::fmt::Debug for LdapDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapDirectory")
            .field("url", &self.connection.config.url)
            .field("bind_dn", &self.connection.config.bind_dn)
            .finish_non_exhaustive()
    }
}

impl LdapDirectory {
    /// The reader of `ldap`, the provider part of `config`.
    pub fn new(
        ldap: &LdapConfig,
        config: &DirectoryConfig,
        secrets: &TenantSecrets,
        options: LdapOptions,
    ) -> Result<Self, DirectoryError> {
        let connection = Connection::new(ldap, secrets, options)?;
        let mapper = UserMapper::new(config, ldap.flavor).with_disabled_rule(ldap.disabled.clone());
        Ok(Self {
            search: SearchPlan::new(ldap, config, mapper, options.page_size)?,
            connection,
            photos: photo::PhotoSession::default(),
        })
    }
}

#[async_trait]
impl Directory for LdapDirectory {
    async fn read_users(&self) -> Result<Snapshot, DirectoryError> {
        let mut session = self.connection.session().await?;
        let timeout = self.connection.options.timeouts.operation;
        // The position is taken before the read: what changes during it is read again.
        let position = changes::start(&self.search, &mut session.ldap, timeout).await?;
        let mut snapshot = read_snapshot(&self.search, &mut session.ldap, timeout).await?;
        snapshot.change_cursor = position.map(|p| p.into_cursor()).transpose()?;
        Ok(snapshot)
    }

    async fn read_changes(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<DirectoryChanges, DirectoryError> {
        let mut session = self.connection.session().await?;
        let timeout = self.connection.options.timeouts.operation;
        changes::read(&self.search, &mut session.ldap, timeout, cursor).await
    }

    async fn read_photo(
        &self,
        user: &ObjectId,
        dn: Option<&str>,
    ) -> Result<Option<Vec<u8>>, DirectoryError> {
        match dn {
            Some(dn) => {
                self.photos
                    .read(&self.connection, &self.search, user, dn)
                    .await
            }
            None => Ok(None),
        }
    }

    async fn test_connection(&self) -> ConnectionReport {
        check::test_connection(&self.connection, &self.search).await
    }

    async fn write_back(
        &self,
        attribute: &str,
        writes: &[(&DirectoryUser, &str)],
    ) -> Vec<Result<(), DirectoryError>> {
        let mut session = match self.connection.session().await {
            Ok(session) => session,
            Err(error) => {
                let message = error.to_string();
                return writes
                    .iter()
                    .map(|_| Err(DirectoryError::Unreachable(message.clone())))
                    .collect();
            }
        };
        let timeout = self.connection.options.timeouts.operation;
        write_back::write_all(&mut session.ldap, timeout, attribute, writes).await
    }

    async fn verify_login(
        &self,
        username: &str,
        password: &SecretString,
        mapped: &HashSet<ObjectId>,
    ) -> Result<LoginOutcome, DirectoryError> {
        login::verify(&self.connection, &self.search, username, password, mapped).await
    }
}

#[cfg(test)]
mod tests;
