//! A directory with its organisation: people spread over nested OUs and in groups, for the
//! organisation side's benchmark.

use crate::slapd::SUFFIX;

/// `users` people (as in `directory_ldif`) in `ous` OUs: `ou=Dept{d}` under ten
/// `ou=Region{r}` OUs (so organizations nest), and `groups` groups of names `Team {g}`, user n
/// in group n mod `groups`, every fifth group also holding the next one (groups of groups).
pub fn organised_ldif(users: u32, ous: u32, groups: u32) -> String {
    let regions = 10.min(ous.max(1));
    // ou=People and ou=Groups come with slapd's base entries.
    let mut out = String::new();
    let region = |r: u32| format!("ou=Region{r},{SUFFIX}");
    let dept = |d: u32| format!("ou=Dept{d},{}", region(d % regions));
    for r in 0..regions {
        out.push_str(&format!(
            "dn: {}\nobjectClass: organizationalUnit\nou: Region{r}\n\n",
            region(r)
        ));
    }
    let depts = ous.saturating_sub(regions).max(1);
    for d in 0..depts {
        out.push_str(&format!(
            "dn: {}\nobjectClass: organizationalUnit\nou: Dept{d}\n\n",
            dept(d)
        ));
    }
    let user_dn = |n: u32| format!("uid=u{n},{}", dept(n % depts));
    for n in 1..=users {
        out.push_str(&format!(
            "dn: {}\nobjectClass: inetOrgPerson\nuid: u{n}\n\
             entryUUID: 00000000-0000-4000-8000-{n:012}\ncn: Given{n} Family{n}\n\
             givenName: Given{n}\nsn: Family{n}\nmail: user{n}@example.com\n\
             telephoneNumber: {}\nmobile: +1555{n:07}\ntitle: Title {}\n\n",
            user_dn(n),
            10_000 + n,
            n % 7
        ));
    }
    let group_dn = |g: u32| format!("cn=Team {g},ou=Groups,{SUFFIX}");
    for g in 0..groups {
        out.push_str(&format!(
            "dn: {}\nobjectClass: groupOfNames\ncn: Team {g}\n",
            group_dn(g)
        ));
        let mut members: Vec<String> = (1..=users)
            .filter(|n| n % groups == g)
            .map(user_dn)
            .collect();
        if g % 5 == 0 && g + 1 < groups {
            members.push(group_dn(g + 1));
        }
        if members.is_empty() {
            members.push(format!("cn=nobody,{SUFFIX}"));
        }
        for member in members {
            out.push_str(&format!("member: {member}\n"));
        }
        out.push('\n');
    }
    out
}
