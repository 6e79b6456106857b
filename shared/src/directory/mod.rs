//! Directory providers (implementations of [`crate::ports::Directory`]) and what they share:
//! the LDAP-style attribute bag and its mapping to users, and the LDIF parser.

pub mod attributes;
pub mod ldap;
mod ldap_errors;
mod ldap_search;
pub mod ldif;
pub mod ldif_parser;
mod ldif_scope;
pub mod ssh_tunnel;

pub use attributes::{guid_to_string, Attributes, UserMapper};
pub use ldap::{LdapDirectory, LdapOptions, LdapTimeouts};
pub use ldif::LdifDirectory;
pub use ldif_parser::{parse_ldif, LdifEntry, LdifError};
pub use ldif_scope::normalize_dn;
