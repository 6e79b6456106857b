//! Directory providers (implementations of [`crate::ports::Directory`]) and what they share:
//! the LDAP-style attribute bag and its mapping to users, the LDIF parser, and the HTTP
//! plumbing of the cloud directories (Graph, Okta).

pub mod attributes;
mod cloud_http;
mod cloud_read;
mod graph;
mod graph_token;
mod json_fields;
pub mod ldap;
mod ldap_errors;
mod ldap_search;
pub mod ldif;
pub mod ldif_parser;
mod ldif_scope;
mod okta;
mod okta_auth;
mod okta_wire;
pub mod ssh_tunnel;

pub use attributes::{guid_to_string, Attributes, UserMapper};
pub use cloud_http::CloudOptions;
pub use graph::GraphDirectory;
pub use ldap::{LdapDirectory, LdapOptions, LdapTimeouts};
pub use ldif::LdifDirectory;
pub use ldif_parser::{parse_ldif, LdifEntry, LdifError};
pub use ldif_scope::normalize_dn;
pub use okta::OktaDirectory;
