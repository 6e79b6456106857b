//! `organizations.sync` over LDAP-style entries, shared by the LDAP and LDIF readers: the OU
//! tree (each OU keyed by its id, with its nearest enclosing OU as parent) and each user's
//! organization (the nearest OU above the user's DN, or the value of the attribute).

use std::collections::HashMap;

use super::attributes::{Attributes, UserMapper};
use super::scope::normalize_dn;
use super::Entry;
use crate::domain::config::OrganizationSync;
use crate::domain::organization::AttributeOrganizations;
use crate::domain::{DirectoryOrganization, DirectoryUser, ObjectId};

pub const OU_CLASS: &str = "organizationalUnit";

/// The OUs of a directory, by normalized DN.
#[derive(Debug, Default)]
pub struct OuTree {
    ids: HashMap<String, ObjectId>,
    organizations: Vec<DirectoryOrganization>,
}

impl OuTree {
    /// The tree of `ous` (the caller leaves out `base_dn` itself). An OU without a usable id,
    /// or two with one id, is an `Err`.
    pub fn new(ous: &[Entry], mapper: &UserMapper) -> Result<Self, String> {
        let mut ids = HashMap::new();
        let mut owners: HashMap<ObjectId, &str> = HashMap::new();
        for ou in ous {
            let id = mapper
                .object_id(&ou.attributes)
                .map_err(|m| format!("{}: {m}", ou.dn))?;
            if let Some(other) = owners.insert(id.clone(), &ou.dn) {
                return Err(format!("{} and {other} have the same id {id}", ou.dn));
            }
            ids.insert(normalize_dn(&ou.dn), id);
        }
        let mut tree = Self {
            ids,
            organizations: Vec::with_capacity(ous.len()),
        };
        for ou in ous {
            let dn = normalize_dn(&ou.dn);
            tree.organizations.push(DirectoryOrganization {
                object_id: tree.ids[&dn].clone(),
                name: ou_name(&ou.dn, &ou.attributes),
                parent: tree.nearest(&dn),
            });
        }
        Ok(tree)
    }

    /// The nearest OU strictly above `dn` (any spacing or case).
    pub fn organization_of(&self, dn: &str) -> Option<ObjectId> {
        self.nearest(&normalize_dn(dn))
    }

    fn nearest(&self, normalized_dn: &str) -> Option<ObjectId> {
        ancestors(normalized_dn).find_map(|dn| self.ids.get(dn).cloned())
    }

    pub fn into_organizations(self) -> Vec<DirectoryOrganization> {
        self.organizations
    }
}

/// The DNs above `dn`, nearest first: what follows each unescaped comma.
fn ancestors(dn: &str) -> impl Iterator<Item = &str> {
    let bytes = dn.as_bytes();
    (0..bytes.len())
        .filter(move |&i| bytes[i] == b',' && (i == 0 || bytes[i - 1] != b'\\'))
        .map(move |i| &dn[i + 1..])
}

/// The OU's name: the `ou` value its RDN names (an OU may hold other `ou` values, such as
/// an old name kept by a rename), else its first `ou`, else the RDN's value.
fn ou_name(dn: &str, attributes: &Attributes) -> String {
    let rdn = dn.split(',').next().unwrap_or_default();
    let rdn_value = rdn.split_once('=').map_or(rdn, |(_, v)| v).trim();
    let values = attributes.get_all_str("ou");
    values
        .iter()
        .find(|v| v.trim().eq_ignore_ascii_case(rdn_value))
        .or(values.first())
        .map_or(rdn_value, |v| v.trim())
        .to_string()
}

/// Each user's organization during one read, per `organizations.sync`.
#[derive(Debug)]
pub enum Organizer {
    Off,
    Attribute(AttributeOrganizations),
    Ous(OuTree),
}

impl Organizer {
    /// `Off` and `Attribute` need nothing more from the directory; `Ous` needs the tree.
    pub fn without_ous(sync: &OrganizationSync) -> Self {
        match sync {
            OrganizationSync::Attribute { .. } => Organizer::Attribute(Default::default()),
            OrganizationSync::None | OrganizationSync::Ous => Organizer::Off,
        }
    }

    /// Sets `user.organization` from the user's entry.
    pub fn assign(
        &mut self,
        user: &mut DirectoryUser,
        attributes: &Attributes,
        mapper: &UserMapper,
    ) {
        user.organization = match self {
            Organizer::Off => None,
            Organizer::Attribute(values) => values.of(mapper.organization_value(attributes)),
            Organizer::Ous(tree) => user.dn.as_deref().and_then(|dn| tree.organization_of(dn)),
        };
    }

    pub fn into_organizations(self) -> Vec<DirectoryOrganization> {
        match self {
            Organizer::Off => Vec::new(),
            Organizer::Attribute(values) => values.into_organizations(),
            Organizer::Ous(tree) => tree.into_organizations(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_skip_escaped_commas() {
        let up: Vec<&str> = ancestors(r"cn=a\,b,ou=x,dc=y").collect();
        assert_eq!(up, ["ou=x,dc=y", "dc=y"]);
    }

    #[test]
    fn the_rdn_value_names_the_ou() {
        let mut attributes = Attributes::new();
        attributes.insert("ou", b"Old".to_vec());
        attributes.insert("ou", b"New".to_vec());
        assert_eq!(ou_name("ou=new,dc=x", &attributes), "New");
        assert_eq!(ou_name("ou=other,dc=x", &attributes), "Old");
        assert_eq!(ou_name("ou=bare,dc=x", &Attributes::new()), "bare");
    }
}
