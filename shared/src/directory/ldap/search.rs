//! What an LDAP read asks the server: every user under `base_dn` (paged, streamed, only the
//! mapped attributes), then which of them are in the tenant's scope; the OU and group
//! searches of `organizations` and `extension_groups` are in [`super::organisation`].
//!
//! Reading all users and marking `in_scope` (rather than reading only the scope) makes the
//! read [`Coverage::WholeDirectory`]: a user who left the scope is told apart from a deleted
//! one, as with LDIF. The scope itself costs DN-only searches (attribute `1.1`).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::Utc;
use ldap3::adapters::PagedResults;
use ldap3::asn1::StructureTag;
use ldap3::{Ldap, ResultEntry, Scope as SearchScope};

use super::errors::{client_error, result_error, Phase};
use super::organisation::{organizer, read_groups, with_member_of};
use crate::directory::entry::attributes::{Attributes, UserMapper};
use crate::directory::entry::scope::{normalize_dn, scoped_dns, ScopeMatch};
use crate::directory::entry::Entry;
use crate::domain::config::{GroupSync, LdapConfig, LdapFlavor, OrganizationSync, Scope};
use crate::domain::ldap_filter::escape;
use crate::domain::{Coverage, DirectoryConfig, DirectoryUser, Snapshot};
use crate::error::DirectoryError;

/// "Return no attributes" (RFC 4511 section 4.5.1.8).
pub(super) const NO_ATTRIBUTES: &str = "1.1";
/// Active Directory returns at most 1,000 entries per page (MaxPageSize).
pub const DEFAULT_PAGE_SIZE: i32 = 1000;
/// LDAP result noSuchObject.
pub(super) const NO_SUCH_OBJECT: u32 = 32;
/// Active Directory's transitive membership rule.
pub(super) const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";
const GROUP_FILTER: &str =
    "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=group))";

/// The searches of one tenant's read, built once from the config.
#[derive(Debug, Clone)]
pub struct SearchPlan {
    pub(super) base_dn: String,
    pub(super) flavor: LdapFlavor,
    pub(super) user_filter: String,
    pub(super) attributes: Vec<String>,
    pub(super) mapper: UserMapper,
    pub(super) scope: Scope,
    pub(super) organizations: OrganizationSync,
    pub(super) groups: GroupSync,
    pub(super) page_size: i32,
}

impl SearchPlan {
    pub fn new(
        config: &LdapConfig,
        directory: &DirectoryConfig,
        mapper: UserMapper,
        page_size: Option<i32>,
    ) -> Result<Self, DirectoryError> {
        let user_filter = match config.flavor {
            LdapFlavor::ActiveDirectory => "(&(objectCategory=person)(objectClass=user))",
            LdapFlavor::Openldap => "(objectClass=inetOrgPerson)",
        };
        Ok(Self {
            base_dn: config.base_dn.to_string(),
            flavor: config.flavor,
            user_filter: user_filter.into(),
            attributes: mapper.attributes_needed(),
            mapper,
            scope: directory.scope.clone(),
            organizations: directory.organizations.sync.clone(),
            groups: directory.extension_groups.sync.clone(),
            page_size: page_size.unwrap_or(DEFAULT_PAGE_SIZE).max(1),
        })
    }

    /// The users' filter combined with `extra` (already escaped or checked).
    pub(super) fn users_and(&self, extra: &str) -> String {
        format!("(&{}{extra})", self.user_filter)
    }
}

/// Reads every user under `base_dn` and marks who is in scope. Any failed page, timeout or
/// broken connection is an `Err`: never a shorter list.
pub async fn read_snapshot(
    plan: &SearchPlan,
    ldap: &mut Ldap,
    timeout: Duration,
) -> Result<Snapshot, DirectoryError> {
    // OUs first, so that each user's organization is set as the user arrives.
    let mut organizer = organizer(plan, ldap, timeout).await?;
    let now = Utc::now();
    let mut users: Vec<DirectoryUser> = Vec::new();
    let mut seen_ids: HashMap<String, String> = HashMap::new();
    let search = Search {
        base: &plan.base_dn,
        scope: SearchScope::Subtree,
        filter: &plan.user_filter,
        attributes: &plan.attributes,
    };
    paged(ldap, plan.page_size, timeout, search, |dn, attributes| {
        let mut user = plan
            .mapper
            .map_user(&dn, &attributes, now)
            .map_err(|m| DirectoryError::Protocol(format!("{dn}: {m}")))?;
        if let Some(other) = seen_ids.insert(user.object_id.to_string(), dn) {
            return Err(DirectoryError::Protocol(format!(
                "{} and {other} have the same id {}",
                user.dn.as_deref().unwrap_or_default(),
                user.object_id
            )));
        }
        organizer.assign(&mut user, &attributes, &plan.mapper);
        users.push(user);
        Ok(())
    })
    .await?;

    // `map_user` marks everyone in scope; only a narrower scope needs the DNs compared.
    let in_scope = scope_match(plan, ldap, timeout, &users).await?;
    if !matches!(in_scope, ScopeMatch::Everything) {
        for user in &mut users {
            let dn = user.dn.as_deref().map(normalize_dn).unwrap_or_default();
            user.in_scope = in_scope.contains(&dn, &user.object_id);
        }
    }
    let groups = read_groups(plan, ldap, timeout, &users).await?;
    Ok(Snapshot {
        users,
        coverage: Coverage::WholeDirectory,
        complete: true,
        organizations: organizer.into_organizations(),
        groups,
        change_cursor: None,
    })
}

async fn scope_match(
    plan: &SearchPlan,
    ldap: &mut Ldap,
    timeout: Duration,
    users: &[DirectoryUser],
) -> Result<ScopeMatch, DirectoryError> {
    match &plan.scope {
        Scope::All => Ok(ScopeMatch::Everything),
        Scope::Ous { ous } => {
            for ou in ous {
                // A renamed or deleted OU must fail the read, not empty the scope.
                if !exists(ldap, timeout, ou, "(objectClass=*)").await? {
                    return Err(missing("OU", ou));
                }
            }
            Ok(ScopeMatch::Subtrees(
                ous.iter().map(|ou| normalize_dn(ou)).collect(),
            ))
        }
        Scope::Users { users } => Ok(ScopeMatch::users(users)),
        Scope::Filter { filter } => {
            let dns = matching_dns(plan, ldap, timeout, &plan.users_and(filter)).await?;
            Ok(ScopeMatch::Members(dns))
        }
        Scope::Groups { groups } => match plan.flavor {
            LdapFlavor::ActiveDirectory => {
                let mut members = HashSet::new();
                for group in groups {
                    let dn = group_dn(plan, ldap, timeout, group).await?;
                    let rule = format!("(memberOf:{IN_CHAIN}:={})", escape(&dn));
                    members
                        .extend(matching_dns(plan, ldap, timeout, &plan.users_and(&rule)).await?);
                }
                Ok(ScopeMatch::Members(members))
            }
            LdapFlavor::Openldap => {
                let entries = membership_graph(plan, ldap, timeout, users).await?;
                scoped_dns(&plan.scope, &entries).map_err(DirectoryError::NotAvailable)
            }
        },
    }
}

fn missing(what: &str, name: &str) -> DirectoryError {
    DirectoryError::NotAvailable(format!(
        "the scope {what} '{name}' does not exist in the directory"
    ))
}

/// Whether `dn` exists and matches `filter` (a base search; result 32 means no).
pub(super) async fn exists(
    ldap: &mut Ldap,
    timeout: Duration,
    dn: &str,
    filter: &str,
) -> Result<bool, DirectoryError> {
    let found = ldap
        .with_timeout(timeout)
        .search(dn, SearchScope::Base, filter, vec![NO_ATTRIBUTES])
        .await
        .map_err(|e| client_error(Phase::Search, e, timeout, 0))?;
    match found.1.rc {
        0 => Ok(!found.0.is_empty()),
        NO_SUCH_OBJECT => Ok(false),
        _ => Err(result_error(Phase::Search, &found.1, 0)),
    }
}

/// A scope group given as a DN (checked to exist) or as a name (`cn` or `sAMAccountName`).
async fn group_dn(
    plan: &SearchPlan,
    ldap: &mut Ldap,
    timeout: Duration,
    group: &str,
) -> Result<String, DirectoryError> {
    if group.contains('=') {
        return if exists(ldap, timeout, group, GROUP_FILTER).await? {
            Ok(group.to_string())
        } else {
            Err(missing("group", group))
        };
    }
    let name = escape(group.trim());
    let filter = format!("(&{GROUP_FILTER}(|(cn={name})(sAMAccountName={name})))");
    let mut found = Vec::new();
    let search = Search {
        base: &plan.base_dn,
        scope: SearchScope::Subtree,
        filter: &filter,
        attributes: &[NO_ATTRIBUTES.to_string()],
    };
    paged(ldap, plan.page_size, timeout, search, |dn, _| {
        found.push(dn);
        Ok(())
    })
    .await?;
    match found.as_slice() {
        [dn] => Ok(dn.clone()),
        [] => Err(missing("group", group)),
        _ => Err(DirectoryError::NotAvailable(format!(
            "the scope group name '{group}' matches {} groups: give its DN instead",
            found.len()
        ))),
    }
}

/// The normalized DNs of the entries under `base_dn` matching `filter`.
pub(super) async fn matching_dns(
    plan: &SearchPlan,
    ldap: &mut Ldap,
    timeout: Duration,
    filter: &str,
) -> Result<HashSet<String>, DirectoryError> {
    let mut dns = HashSet::new();
    let search = Search {
        base: &plan.base_dn,
        scope: SearchScope::Subtree,
        filter,
        attributes: &[NO_ATTRIBUTES.to_string()],
    };
    paged(ldap, plan.page_size, timeout, search, |dn, _| {
        dns.insert(normalize_dn(&dn));
        Ok(())
    })
    .await?;
    Ok(dns)
}

/// Every group under `base_dn` with its members, plus the users' `memberOf`, in the shape the
/// LDIF scope evaluation walks (nested groups, both sides of the relation).
async fn membership_graph(
    plan: &SearchPlan,
    ldap: &mut Ldap,
    timeout: Duration,
    users: &[DirectoryUser],
) -> Result<Vec<Entry>, DirectoryError> {
    let mut entries = Vec::new();
    let attributes = ["objectClass", "cn", "member", "uniqueMember"].map(String::from);
    let search = Search {
        base: &plan.base_dn,
        scope: SearchScope::Subtree,
        filter: GROUP_FILTER,
        attributes: &attributes,
    };
    paged(ldap, plan.page_size, timeout, search, |dn, attributes| {
        entries.push(Entry { dn, attributes });
        Ok(())
    })
    .await?;
    Ok(with_member_of(entries, users))
}

pub(super) struct Search<'a> {
    pub(super) base: &'a str,
    pub(super) scope: SearchScope,
    pub(super) filter: &'a str,
    pub(super) attributes: &'a [String],
}

/// One paged search (Simple Paged Results, RFC 2696), entries handed to `each` as they
/// arrive: at most one page of raw messages is buffered. Returns the number of entries.
pub(super) async fn paged(
    ldap: &mut Ldap,
    page_size: i32,
    timeout: Duration,
    search: Search<'_>,
    mut each: impl FnMut(String, Attributes) -> Result<(), DirectoryError>,
) -> Result<usize, DirectoryError> {
    let attributes = search.attributes.to_vec();
    let mut stream = ldap
        .with_timeout(timeout)
        .streaming_search_with(
            PagedResults::new(page_size),
            search.base,
            search.scope,
            search.filter,
            attributes,
        )
        .await
        .map_err(|e| client_error(Phase::Search, e, timeout, 0))?;
    let mut count = 0;
    loop {
        let next = stream
            .next()
            .await
            .map_err(|e| client_error(Phase::Search, e, timeout, count))?;
        let Some(entry) = next else { break };
        // Continuation references (other naming contexts) are not followed.
        if entry.is_ref() || entry.is_intermediate() {
            continue;
        }
        let (dn, attributes) = into_attributes(entry).ok_or_else(|| {
            DirectoryError::Protocol("the server sent a malformed search entry".into())
        })?;
        each(dn, attributes)?;
        count += 1;
    }
    let result = stream.finish().await;
    if result.rc != 0 {
        return Err(result_error(Phase::Search, &result, count));
    }
    Ok(count)
}

/// The DN and attributes of a SearchResultEntry (RFC 4511 section 4.5.2), values moved, not
/// copied; `None` when it is malformed. Used instead of ldap3's `SearchEntry::construct`,
/// which panics on a malformed entry and copies every value once more.
pub(super) fn into_attributes(entry: ResultEntry) -> Option<(String, Attributes)> {
    let mut parts = entry.0.match_id(4)?.expect_constructed()?.into_iter();
    let dn = String::from_utf8(parts.next()?.expect_primitive()?).ok()?;
    let mut attributes = Attributes::new();
    for attribute in parts.next()?.expect_constructed()? {
        let mut attribute = attribute.expect_constructed()?.into_iter();
        let name = String::from_utf8(attribute.next()?.expect_primitive()?).ok()?;
        for value in attribute.next()?.expect_constructed()? {
            attributes.insert(&name, StructureTag::expect_primitive(value)?);
        }
    }
    Some((dn, attributes))
}
