//! What the LDAP and LDIF providers share: an entry (a DN and its attribute bag), the mapping
//! of an entry to a directory user, the tenant's scope evaluated over DNs, and the OUs and
//! groups that become PBX organizations and extension groups.

pub mod attributes;
pub mod groups;
pub mod organisation;
pub mod scope;

use attributes::Attributes;

/// One directory entry: a record of an LDIF export, or a search result of an LDAP read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub dn: String,
    pub attributes: Attributes,
}
