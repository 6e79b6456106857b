//! OpenLDAP's change-only read: every entry whose `entryCSN` is above the `contextCSN` the
//! naming context had before the last read (kept by the syncprov overlay, which replication
//! needs anyway; without it every read is full), plus the users whose `shadowExpire` day
//! began since, and those the ppolicy overlay holds locked.
//!
//! OpenLDAP keeps no record of deletions (short of accesslog): a deleted user is never
//! reported here, and waits for the engine's full read, which sees it missing.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use ldap3::{Ldap, Scope as SearchScope};

use super::changes::{read_entry, Found, Position};
use super::search::{paged, Search, SearchPlan};
use crate::directory::entry::attributes::Attributes;
use crate::directory::entry::scope::{in_subtree, normalize_dn};
use crate::domain::ldap_filter::escape;
use crate::domain::DirectoryChanges;
use crate::error::DirectoryError;

/// Clock slack around the expiry window (see the AD read).
const EXPIRY_SLACK: TimeDelta = TimeDelta::seconds(2);
/// More `shadowExpire` days than this since the last read are not listed in one filter.
const MAX_EXPIRY_DAYS: i64 = 62;
const DAY_SECS: i64 = 86_400;
const USER_CLASS: &str = "inetOrgPerson";

/// The naming context holding `base_dn` (from the rootDSE) and its smallest `contextCSN`.
async fn suffix_of(
    plan: &SearchPlan,
    ldap: &mut Ldap,
    timeout: Duration,
) -> Result<Option<(String, String)>, DirectoryError> {
    let base = normalize_dn(&plan.base_dn);
    let Some(root) = read_entry(ldap, timeout, "", &["namingContexts"]).await? else {
        return Ok(None);
    };
    let suffix = root
        .get_all_str("namingContexts")
        .into_iter()
        .filter(|nc| in_subtree(&base, &normalize_dn(nc)))
        .max_by_key(|nc| nc.len())
        .map(str::to_string);
    let Some(suffix) = suffix else {
        return Ok(None);
    };
    Ok(context_csn(ldap, timeout, &suffix)
        .await?
        .map(|csn| (suffix, csn)))
}

/// The smallest of the suffix's `contextCSN` values (one per provider): every change up
/// to it, from every provider, is in the database.
async fn context_csn(
    ldap: &mut Ldap,
    timeout: Duration,
    suffix: &str,
) -> Result<Option<String>, DirectoryError> {
    Ok(read_entry(ldap, timeout, suffix, &["contextCSN"])
        .await?
        .and_then(|entry| {
            entry
                .get_all_str("contextCSN")
                .into_iter()
                .map(str::trim)
                .filter(|csn| !csn.is_empty())
                .min()
                .map(str::to_string)
        }))
}

/// The position before a full read: the suffix's `contextCSN`, if it has one.
pub(super) async fn start(
    plan: &SearchPlan,
    ldap: &mut Ldap,
    timeout: Duration,
    read_at: DateTime<Utc>,
) -> Result<Option<Position>, DirectoryError> {
    Ok(suffix_of(plan, ldap, timeout)
        .await?
        .map(|(suffix, csn)| Position::Openldap {
            base_dn: plan.base_dn.clone(),
            suffix,
            csn,
            read_at,
        }))
}

pub(super) async fn read(
    plan: &SearchPlan,
    ldap: &mut Ldap,
    timeout: Duration,
    suffix: &str,
    last_csn: &str,
    read_at: DateTime<Utc>,
) -> Result<DirectoryChanges, DirectoryError> {
    let now = Utc::now();
    let unavailable = |why: &str| DirectoryError::ChangesUnavailable(why.into());
    let csn = context_csn(ldap, timeout, suffix)
        .await?
        .ok_or_else(|| unavailable("the naming context no longer has a contextCSN"))?;
    // CSNs begin with a generalized time: text order is their order.
    if csn.as_str() < last_csn {
        return Err(unavailable(
            "the directory's contextCSN went back (a restored or another server)",
        ));
    }
    let mut found = Found::new(now);
    found.requests += 1;
    let last = escape(last_csn);
    let changed = format!("(&(entryCSN>={last})(!(entryCSN={last})))");
    let users_clause = format!(
        "(|{changed}{}{})",
        expiry_clause(read_at, now)?,
        plan.mapper
            .openldap_lock_attribute()
            .map(|a| format!("({a}=*)"))
            .unwrap_or_default()
    );
    let filter = format!(
        "(|{}(&{changed}(!(objectClass={USER_CLASS}))))",
        plan.users_and(&users_clause)
    );
    let mut attributes = plan.attributes.clone();
    attributes.push("hasSubordinates".into());
    let mut moved_container = None;
    let suffix_dn = normalize_dn(suffix);
    // From the suffix, so that a user moved out of base_dn is still seen.
    let search = Search {
        base: suffix,
        scope: SearchScope::Subtree,
        filter: &filter,
        attributes: &attributes,
    };
    let entries = paged(ldap, plan.page_size, timeout, search, |dn, attributes| {
        if is_user(&attributes) {
            found.user(plan, &dn, &attributes)
        } else {
            // A renamed or moved entry with entries below changes their DNs, not their CSNs.
            // The suffix cannot be renamed (syncprov may keep its contextCSN on it).
            let holds_others = attributes
                .get_str("hasSubordinates")
                .is_none_or(|h| h.trim().eq_ignore_ascii_case("TRUE"));
            if holds_others && normalize_dn(&dn) != suffix_dn {
                moved_container.get_or_insert(dn);
            }
            Ok(())
        }
    })
    .await?;
    found.pages(plan, entries);
    if let Some(dn) = moved_container {
        return Err(DirectoryError::ChangesUnavailable(format!(
            "the entry '{dn}', which holds others, changed: the DNs below it may have changed \
             without their CSNs"
        )));
    }
    let (changed, requests) = found.scoped(plan, ldap, timeout, &users_clause).await?;
    let cursor = Position::Openldap {
        base_dn: plan.base_dn.clone(),
        suffix: suffix.to_string(),
        csn,
        read_at: now,
    }
    .into_cursor()?;
    Ok(DirectoryChanges {
        changed,
        cursor: Some(cursor),
        requests,
        ..Default::default()
    })
}

fn is_user(attributes: &Attributes) -> bool {
    attributes
        .get_all_str("objectClass")
        .iter()
        .any(|c| c.eq_ignore_ascii_case(USER_CLASS))
}

/// The users whose `shadowExpire` day began after `read_at` and by `now` (an account is
/// expired from the start of that day). `shadowExpire` has no ordering rule in nis.schema:
/// the days are listed, none when no day began.
fn expiry_clause(read_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<String, DirectoryError> {
    let first = (read_at - EXPIRY_SLACK).timestamp().div_euclid(DAY_SECS) + 1;
    let last = (now + EXPIRY_SLACK).timestamp().div_euclid(DAY_SECS);
    if last - first >= MAX_EXPIRY_DAYS {
        return Err(DirectoryError::ChangesUnavailable(
            "the last read is too long ago to list the expiry days since".into(),
        ));
    }
    Ok((first..=last)
        .map(|day| format!("(shadowExpire={day})"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().into()
    }

    #[test]
    fn expiry_days_are_those_begun_since_the_last_read() {
        let same_day = expiry_clause(at("2026-03-02T10:00:00Z"), at("2026-03-02T11:00:00Z"));
        assert_eq!(same_day.unwrap(), "");
        // 2026-03-03 is day 20515 since 1970.
        let over_midnight = expiry_clause(at("2026-03-02T23:30:00Z"), at("2026-03-03T00:30:00Z"));
        assert_eq!(over_midnight.unwrap(), "(shadowExpire=20515)");
        let two_days = expiry_clause(at("2026-03-01T23:30:00Z"), at("2026-03-03T00:30:00Z"));
        assert_eq!(
            two_days.unwrap(),
            "(shadowExpire=20514)(shadowExpire=20515)"
        );
        let long_ago = expiry_clause(at("2025-01-01T00:00:00Z"), at("2026-03-03T00:30:00Z"));
        assert!(matches!(
            long_ago,
            Err(DirectoryError::ChangesUnavailable(_))
        ));
    }
}
