//! Which entries of an LDIF export are inside the tenant's `scope`: OU subtrees, or nested
//! group membership (group `member`/`uniqueMember` lists and entries' `memberOf`).

use std::collections::{HashMap, HashSet, VecDeque};

use super::Entry;
use crate::domain::config::Scope;
use crate::domain::ObjectId;

const GROUP_CLASSES: [&str; 3] = ["groupOfNames", "groupOfUniqueNames", "group"];

/// A DN in a form that compares equal however it was spaced or cased:
/// `CN=Ann , OU=Sales` and `cn=ann,ou=sales` give the same string.
pub fn normalize_dn(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| rdn.split('=').map(str::trim).collect::<Vec<_>>().join("="))
        .collect::<Vec<_>>()
        .join(",")
        .to_lowercase()
}

/// The normalized DNs of the entries inside `scope`. `Err` carries a message for the admin
/// (a scope that cannot be evaluated must fail the read, never empty the scope).
pub fn scoped_dns(scope: &Scope, entries: &[Entry]) -> Result<ScopeMatch, String> {
    match scope {
        Scope::All => Ok(ScopeMatch::Everything),
        Scope::Ous { ous } => {
            let dns: Vec<String> = entries.iter().map(|e| normalize_dn(&e.dn)).collect();
            let mut subtrees = Vec::new();
            for ou in ous {
                let normalized = normalize_dn(ou);
                // A renamed or missing OU must not read as "everyone left the scope".
                if !dns.iter().any(|dn| in_subtree(dn, &normalized)) {
                    return Err(format!("the scope OU '{ou}' has no entries in the export"));
                }
                subtrees.push(normalized);
            }
            Ok(ScopeMatch::Subtrees(subtrees))
        }
        Scope::Groups { groups } => group_members(groups, entries).map(ScopeMatch::Members),
        Scope::Filter { .. } => Err("filter scope needs an LDAP directory".into()),
        Scope::Users { users } => Ok(ScopeMatch::users(users)),
    }
}

/// The evaluated scope.
pub enum ScopeMatch {
    Everything,
    /// Normalized OU DNs; an entry equal to one or under it is in scope.
    Subtrees(Vec<String>),
    /// Normalized DNs of every transitive member.
    Members(HashSet<String>),
    /// Object ids of the `users` scope. A listed id that no entry has is no error: that user
    /// was deleted.
    Users(HashSet<ObjectId>),
}

impl ScopeMatch {
    pub fn users(users: &[ObjectId]) -> Self {
        ScopeMatch::Users(users.iter().cloned().collect())
    }

    /// Whether the entry with this normalized DN and object id is in scope.
    pub fn contains(&self, normalized_dn: &str, object_id: &ObjectId) -> bool {
        match self {
            ScopeMatch::Everything => true,
            ScopeMatch::Subtrees(ous) => ous.iter().any(|ou| in_subtree(normalized_dn, ou)),
            ScopeMatch::Members(members) => members.contains(normalized_dn),
            ScopeMatch::Users(users) => users.contains(object_id),
        }
    }
}

/// Whether a normalized DN is the normalized OU or under it.
pub(crate) fn in_subtree(normalized_dn: &str, ou: &str) -> bool {
    normalized_dn == ou
        || normalized_dn
            .strip_suffix(ou)
            .is_some_and(|head| head.ends_with(','))
}

/// `uniqueMember` may carry an optional `#'0101'B` uid after the DN.
fn strip_unique_id(member: &str) -> &str {
    match member.rfind("#'") {
        Some(at) if member.ends_with("'B") => &member[..at],
        _ => member,
    }
}

/// Who is a direct member of which group, from both sides of the relation: the groups'
/// `member`/`uniqueMember` lists and the entries' `memberOf`. DNs normalized.
pub struct MembershipGraph {
    members: HashMap<String, Vec<String>>,
}

impl MembershipGraph {
    pub fn new(entries: &[Entry]) -> Self {
        let mut members: HashMap<String, Vec<String>> = HashMap::new();
        for entry in entries {
            let dn = normalize_dn(&entry.dn);
            if entry.attributes.has_object_class(&GROUP_CLASSES) {
                let listed = entry
                    .attributes
                    .get_all_str("member")
                    .into_iter()
                    .chain(entry.attributes.get_all_str("uniqueMember"))
                    .map(|m| normalize_dn(strip_unique_id(m)));
                members.entry(dn.clone()).or_default().extend(listed);
            }
            for parent in entry.attributes.get_all_str("memberOf") {
                members
                    .entry(normalize_dn(parent))
                    .or_default()
                    .push(dn.clone());
            }
        }
        Self { members }
    }

    /// Whether the normalized DN is a group entry or named in some `memberOf`.
    pub fn knows(&self, normalized_dn: &str) -> bool {
        self.members.contains_key(normalized_dn)
    }

    /// The normalized DNs reached from `seeds` through nested membership, seeds included.
    /// Breadth-first; `reached` also guards against cycles.
    pub fn reach(&self, seeds: Vec<String>) -> HashSet<String> {
        let mut reached: HashSet<String> = seeds.iter().cloned().collect();
        let mut queue: VecDeque<String> = seeds.into_iter().collect();
        while let Some(group) = queue.pop_front() {
            for member in self.members.get(&group).into_iter().flatten() {
                if reached.insert(member.clone()) {
                    queue.push_back(member.clone());
                }
            }
        }
        reached
    }
}

fn group_members(groups: &[String], entries: &[Entry]) -> Result<HashSet<String>, String> {
    let graph = MembershipGraph::new(entries);
    let mut seeds = Vec::new();
    for wanted in groups {
        let found: Vec<String> = if wanted.contains('=') {
            let dn = normalize_dn(wanted);
            if graph.knows(&dn) {
                vec![dn]
            } else {
                Vec::new()
            }
        } else {
            entries
                .iter()
                .filter(|e| e.attributes.has_object_class(&GROUP_CLASSES))
                .filter(|e| {
                    e.attributes
                        .get_all_str("cn")
                        .iter()
                        .any(|cn| cn.trim().to_lowercase() == wanted.trim().to_lowercase())
                })
                .map(|e| normalize_dn(&e.dn))
                .collect()
        };
        if found.is_empty() {
            // Treating a vanished group as empty would take every member out of scope.
            return Err(format!(
                "the scope group '{wanted}' is neither a group entry nor in any memberOf of the export"
            ));
        }
        seeds.extend(found);
    }
    Ok(graph.reach(seeds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_normalize_spacing_and_case() {
        assert_eq!(
            normalize_dn("CN = Ann Lee , OU=Sales,  DC=Example"),
            "cn=ann lee,ou=sales,dc=example"
        );
    }

    #[test]
    fn subtrees_match_equal_or_below_but_not_siblings_with_a_suffix() {
        let ou = normalize_dn("ou=Sales,dc=x");
        assert!(in_subtree("ou=sales,dc=x", &ou));
        assert!(in_subtree("uid=a,ou=sales,dc=x", &ou));
        assert!(!in_subtree("uid=a,ou=presales,dc=x", &ou));
        assert!(!in_subtree("dc=x", &ou));
    }

    #[test]
    fn unique_member_uid_suffix_is_dropped() {
        assert_eq!(strip_unique_id("uid=a,dc=x#'0101'B"), "uid=a,dc=x");
        assert_eq!(strip_unique_id("uid=a#b,dc=x"), "uid=a#b,dc=x");
    }
}
