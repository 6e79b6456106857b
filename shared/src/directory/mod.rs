//! Directory providers (implementations of [`crate::ports::Directory`]) and what they share:
//! - [`ldap`]: LDAP and Active Directory, directly or through an SSH tunnel;
//! - [`ldif`]: an LDIF export file;
//! - [`entry`]: what those two share: the LDAP-style entry, its attribute bag and mapping to
//!   users, and the DN-based scope;
//! - `cloud`: Microsoft Graph and Okta, one paging reader over their HTTP APIs;
//! - [`scim`]: what the tenant's identity provider pushed over SCIM, read from the store.

mod cloud;
pub mod entry;
pub mod ldap;
pub mod ldif;
pub mod scim;

pub use cloud::{CloudOptions, GraphDirectory, OktaDirectory};
pub use entry::attributes::{guid_to_string, Attributes, UserMapper};
pub use entry::scope::normalize_dn;
pub use entry::Entry as LdifEntry;
pub use ldap::{LdapDirectory, LdapOptions, LdapTimeouts};
pub use ldif::parser::{parse_ldif, LdifError};
pub use ldif::LdifDirectory;
pub use scim::ScimDirectory;
