//! `extension_groups.sync` over LDAP-style entries, shared by the LDAP and LDIF readers: which
//! group entries it selects, and each selected group as a [`DirectoryGroup`] of user ids.

use std::collections::{HashMap, HashSet};

use super::attributes::{Attributes, UserMapper};
use super::scope::normalize_dn;
use super::Entry;
use crate::domain::config::{AdGroupType, GroupSync, LdapFlavor};
use crate::domain::{DirectoryGroup, DirectoryUser, ObjectId};

/// `groupType` bit of a security group (otherwise a distribution group).
const SECURITY_ENABLED: i64 = 0x8000_0000;

/// The object classes of the groups `extension_groups` selects from.
pub fn group_classes(flavor: LdapFlavor) -> &'static [&'static str] {
    match flavor {
        LdapFlavor::ActiveDirectory => &["group"],
        LdapFlavor::Openldap => &["groupOfNames", "groupOfUniqueNames"],
    }
}

/// The attributes a group search must request to select and name groups, and on OpenLDAP
/// to walk their members ([`super::scope::MembershipGraph`]; AD asks the in-chain rule).
pub fn group_attributes(mapper: &UserMapper, flavor: LdapFlavor) -> Vec<String> {
    let rest: &[&str] = match flavor {
        LdapFlavor::ActiveDirectory => &["cn", "groupType"],
        LdapFlavor::Openldap => &["cn", "objectClass", "member", "uniqueMember"],
    };
    std::iter::once(mapper.id_attribute())
        .chain(rest.iter().copied())
        .map(String::from)
        .collect()
}

/// A group entry, as far as selecting and naming it goes.
#[derive(Debug, Clone)]
pub struct GroupEntry {
    pub dn: String,
    pub object_id: ObjectId,
    pub name: String,
    group_type: Option<i64>,
}

impl GroupEntry {
    pub fn new(dn: &str, attributes: &Attributes, mapper: &UserMapper) -> Result<Self, String> {
        let object_id = mapper
            .object_id(attributes)
            .map_err(|m| format!("{dn}: {m}"))?;
        let group_type = match attributes.get_str("groupType") {
            None => None,
            Some(raw) => Some(
                raw.trim()
                    .parse::<i64>()
                    .map_err(|_| format!("{dn}: groupType is not a number"))?,
            ),
        };
        let name = attributes
            .get_str("cn")
            .map(str::trim)
            .filter(|cn| !cn.is_empty())
            .ok_or_else(|| format!("{dn}: the group has no cn"))?
            .to_string();
        Ok(Self {
            dn: dn.to_string(),
            object_id,
            name,
            group_type,
        })
    }
}

/// The groups of `entries` that `flavor` counts as groups.
pub fn group_entries(
    entries: &[Entry],
    flavor: LdapFlavor,
    mapper: &UserMapper,
) -> Result<Vec<GroupEntry>, String> {
    entries
        .iter()
        .filter(|e| e.attributes.has_object_class(group_classes(flavor)))
        .map(|e| GroupEntry::new(&e.dn, &e.attributes, mapper))
        .collect()
}

/// The groups `sync` selects from `groups` (every group under `base_dn`). `filtered`: the
/// normalized DNs an LDAP `filter` found (`None` where there is no server to ask). A
/// configured group that is not there is an `Err`, as is a duplicate id: a read that cannot
/// tell which groups exist must not report any as gone.
pub fn select_groups(
    sync: &GroupSync,
    groups: Vec<GroupEntry>,
    filtered: Option<&HashSet<String>>,
) -> Result<Vec<GroupEntry>, String> {
    let mut owners: HashMap<&ObjectId, &str> = HashMap::new();
    for group in &groups {
        if let Some(other) = owners.insert(&group.object_id, &group.dn) {
            return Err(format!(
                "{} and {other} have the same id {}",
                group.dn, group.object_id
            ));
        }
    }
    match sync {
        GroupSync::None => Ok(Vec::new()),
        GroupSync::All => Ok(groups),
        GroupSync::Type { types } => {
            let mut selected = Vec::new();
            for group in groups {
                let Some(bits) = group.group_type else {
                    return Err(format!(
                        "extension_groups type needs Active Directory's groupType, which {} lacks",
                        group.dn
                    ));
                };
                let kind = if bits & SECURITY_ENABLED != 0 {
                    AdGroupType::Security
                } else {
                    AdGroupType::Distribution
                };
                if types.contains(&kind) {
                    selected.push(group);
                }
            }
            Ok(selected)
        }
        GroupSync::Filter { .. } => {
            let dns = filtered.ok_or("extension_groups filter needs an LDAP directory")?;
            Ok(groups
                .into_iter()
                .filter(|g| dns.contains(&normalize_dn(&g.dn)))
                .collect())
        }
        GroupSync::Groups { groups: wanted } => {
            let mut selected: Vec<GroupEntry> = Vec::new();
            for name in wanted {
                let found = if name.contains('=') {
                    let dn = normalize_dn(name);
                    groups.iter().find(|g| normalize_dn(&g.dn) == dn)
                } else {
                    let id = name.trim().to_lowercase();
                    groups.iter().find(|g| g.object_id.as_str() == id)
                };
                let group = found.ok_or_else(|| {
                    format!("the extension group '{name}' is not a group under base_dn")
                })?;
                if !selected.iter().any(|s| s.object_id == group.object_id) {
                    selected.push(group.clone());
                }
            }
            Ok(selected)
        }
    }
}

/// The users' ids by normalized DN.
pub fn user_ids(users: &[DirectoryUser]) -> HashMap<String, ObjectId> {
    users
        .iter()
        .filter_map(|u| Some((normalize_dn(u.dn.as_deref()?), u.object_id.clone())))
        .collect()
}

/// `group` with the ids of the users among `members` (normalized DNs of its transitive
/// members), sorted. Members that are not users of the read are left out.
pub fn directory_group(
    group: GroupEntry,
    members: &HashSet<String>,
    user_ids: &HashMap<String, ObjectId>,
) -> DirectoryGroup {
    let mut ids: Vec<ObjectId> = members
        .iter()
        .filter_map(|dn| user_ids.get(dn).cloned())
        .collect();
    ids.sort();
    ids.dedup();
    DirectoryGroup {
        object_id: group.object_id,
        name: group.name,
        members: ids,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ad_group(cn: &str, guid: &str, group_type: &str) -> GroupEntry {
        let mut attributes = Attributes::new();
        attributes.insert("cn", cn.as_bytes().to_vec());
        attributes.insert("objectGUID", guid.as_bytes().to_vec());
        attributes.insert("groupType", group_type.as_bytes().to_vec());
        let config: crate::domain::DirectoryConfig = serde_json::from_value(serde_json::json!({
            "provider": {"type": "ldif", "path": "x.ldif", "flavor": "active_directory"}}))
        .unwrap();
        let mapper = UserMapper::new(&config, LdapFlavor::ActiveDirectory);
        GroupEntry::new(&format!("CN={cn},DC=x"), &attributes, &mapper).unwrap()
    }

    #[test]
    fn group_type_bit_31_tells_security_from_distribution() {
        let groups = vec![
            ad_group(
                "global-security",
                "6f1c1a52-0d7e-4b8c-9a55-000000000001",
                "-2147483646",
            ),
            ad_group(
                "universal-distribution",
                "6f1c1a52-0d7e-4b8c-9a55-000000000002",
                "8",
            ),
            ad_group(
                "unsigned-security",
                "6f1c1a52-0d7e-4b8c-9a55-000000000003",
                "2147483652",
            ),
        ];
        let pick = |kind| {
            let sync = GroupSync::Type { types: vec![kind] };
            let picked = select_groups(&sync, groups.clone(), None).unwrap();
            picked.into_iter().map(|g| g.name).collect::<Vec<_>>()
        };
        assert_eq!(
            pick(AdGroupType::Security),
            ["global-security", "unsigned-security"]
        );
        assert_eq!(pick(AdGroupType::Distribution), ["universal-distribution"]);
    }

    #[test]
    fn two_groups_with_one_id_fail_the_selection() {
        let guid = "6f1c1a52-0d7e-4b8c-9a55-000000000001";
        let groups = vec![ad_group("a", guid, "2"), ad_group("b", guid, "2")];
        assert!(select_groups(&GroupSync::All, groups, None).is_err());
    }
}
