//! The LDAP searches behind `organizations.sync = ous` and `extension_groups`: the OUs under
//! `base_dn`, the groups, and their members. Selection and resolution are the pure code of
//! [`crate::directory::entry`], shared with LDIF. Both syncs off costs no search at all.

use std::time::Duration;

use ldap3::{Ldap, Scope as SearchScope};

use super::search::{matching_dns, paged, Search, SearchPlan, IN_CHAIN};
use crate::directory::entry::attributes::Attributes;
use crate::directory::entry::groups::{
    directory_group, group_attributes, group_classes, select_groups, user_ids, GroupEntry,
};
use crate::directory::entry::organisation::{Organizer, OuTree, OU_CLASS};
use crate::directory::entry::scope::{normalize_dn, MembershipGraph};
use crate::directory::entry::Entry;
use crate::domain::config::{GroupSync, LdapFlavor, OrganizationSync};
use crate::domain::ldap_filter::escape;
use crate::domain::{DirectoryGroup, DirectoryUser};
use crate::error::DirectoryError;

/// What sets each user's organization: with `ous`, the tree of every OU under `base_dn`
/// (`base_dn` itself left out), read with the users' paging and id attribute.
pub(super) async fn organizer(
    plan: &SearchPlan,
    ldap: &mut Ldap,
    timeout: Duration,
) -> Result<Organizer, DirectoryError> {
    if plan.organizations != OrganizationSync::Ous {
        return Ok(Organizer::without_ous(&plan.organizations));
    }
    let base = normalize_dn(&plan.base_dn);
    let filter = format!("(objectClass={OU_CLASS})");
    let attributes = [plan.mapper.id_attribute(), "ou"].map(String::from);
    let mut ous = Vec::new();
    let search = Search {
        base: &plan.base_dn,
        scope: SearchScope::Subtree,
        filter: &filter,
        attributes: &attributes,
    };
    paged(ldap, plan.page_size, timeout, search, |dn, attributes| {
        if normalize_dn(&dn) != base {
            ous.push(Entry { dn, attributes });
        }
        Ok(())
    })
    .await?;
    let tree = OuTree::new(&ous, &plan.mapper).map_err(DirectoryError::Protocol)?;
    Ok(Organizer::Ous(tree))
}

/// The groups `extension_groups` selects, each with the ids of its users, nested groups
/// followed: on AD through the in-chain rule (as the `groups` scope), on OpenLDAP through
/// the groups' member lists and the users' `memberOf`.
pub(super) async fn read_groups(
    plan: &SearchPlan,
    ldap: &mut Ldap,
    timeout: Duration,
    users: &[DirectoryUser],
) -> Result<Vec<DirectoryGroup>, DirectoryError> {
    if plan.groups == GroupSync::None {
        return Ok(Vec::new());
    }
    let class_filter = class_filter(plan.flavor);
    let entries = group_search(plan, ldap, timeout, &class_filter).await?;
    let all = entries
        .iter()
        .map(|e| GroupEntry::new(&e.dn, &e.attributes, &plan.mapper))
        .collect::<Result<Vec<_>, _>>()
        .map_err(DirectoryError::Protocol)?;
    let filtered = match &plan.groups {
        GroupSync::Filter { filter } => {
            let filter = format!("(&{class_filter}{filter})");
            Some(matching_dns(plan, ldap, timeout, &filter).await?)
        }
        _ => None,
    };
    let selected = select_groups(&plan.groups, all, filtered.as_ref())
        .map_err(DirectoryError::NotAvailable)?;
    let ids = user_ids(users);
    let mut groups = Vec::with_capacity(selected.len());
    match plan.flavor {
        LdapFlavor::ActiveDirectory => {
            for group in selected {
                let rule = format!("(memberOf:{IN_CHAIN}:={})", escape(&group.dn));
                let members = matching_dns(plan, ldap, timeout, &plan.users_and(&rule)).await?;
                groups.push(directory_group(group, &members, &ids));
            }
        }
        LdapFlavor::Openldap => {
            let graph = MembershipGraph::new(&with_member_of(entries, users));
            for group in selected {
                let members = graph.reach(vec![normalize_dn(&group.dn)]);
                groups.push(directory_group(group, &members, &ids));
            }
        }
    }
    Ok(groups)
}

/// `(objectClass=group)`, or the OR of the OpenLDAP group classes.
fn class_filter(flavor: LdapFlavor) -> String {
    let classes: String = group_classes(flavor)
        .iter()
        .map(|c| format!("(objectClass={c})"))
        .collect();
    match group_classes(flavor).len() {
        1 => classes,
        _ => format!("(|{classes})"),
    }
}

/// Every group entry under `base_dn`, with what selecting and resolving it needs.
async fn group_search(
    plan: &SearchPlan,
    ldap: &mut Ldap,
    timeout: Duration,
    filter: &str,
) -> Result<Vec<Entry>, DirectoryError> {
    let attributes = group_attributes(&plan.mapper, plan.flavor);
    let mut entries = Vec::new();
    let search = Search {
        base: &plan.base_dn,
        scope: SearchScope::Subtree,
        filter,
        attributes: &attributes,
    };
    paged(ldap, plan.page_size, timeout, search, |dn, attributes| {
        entries.push(Entry { dn, attributes });
        Ok(())
    })
    .await?;
    Ok(entries)
}

/// The group entries plus one `memberOf`-only entry per user who reports groups: the other
/// side of the membership relation, for servers whose groups list only some members.
pub(super) fn with_member_of(mut entries: Vec<Entry>, users: &[DirectoryUser]) -> Vec<Entry> {
    for user in users.iter().filter(|u| !u.groups.is_empty()) {
        let mut attributes = Attributes::new();
        for group in &user.groups {
            attributes.insert("memberOf", group.as_bytes().to_vec());
        }
        entries.push(Entry {
            dn: user.dn.clone().unwrap_or_default(),
            attributes,
        });
    }
    entries
}
