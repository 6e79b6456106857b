//! Active Directory's change-only read: every user whose `uSNChanged` is above the
//! `highestCommittedUSN` the last read started at, on the same domain controller (USNs are
//! each DC's own counter: another DC, or the same one restored, has a new `invocationId`),
//! plus the users whose `accountExpires` passed since (time passing changes no USN), and the
//! users deleted since, from the Deleted Objects container with the Show Deleted control.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use ldap3::controls::RawControl;
use ldap3::{Ldap, Scope as SearchScope};

use super::changes::{read_entry, Found, Position};
use super::search::{paged, Search, SearchPlan};
use crate::directory::entry::attributes::Attributes;
use crate::directory::entry::scope::{in_subtree, normalize_dn};
use crate::domain::ldap_filter::escape;
use crate::domain::{DirectoryChanges, ObjectId};
use crate::error::DirectoryError;

/// LDAP_SERVER_SHOW_DELETED_OID: searches return deleted objects (tombstones) too.
const SHOW_DELETED: &str = "1.2.840.113556.1.4.417";
/// Seconds between 1601-01-01 (FILETIME) and 1970-01-01.
const FILETIME_EPOCH_OFFSET_SECS: i64 = 11_644_473_600;
/// Clock slack around the expiry window: a user reported once more is harmless, a missed
/// expiry is not.
const EXPIRY_SLACK: TimeDelta = TimeDelta::seconds(2);

/// What the last read kept.
pub(super) struct Last {
    pub naming_context: String,
    pub invocation_id: String,
    pub usn: u64,
    pub read_at: DateTime<Utc>,
}

/// The domain controller answering, and how far it has committed.
struct Dc {
    naming_context: String,
    invocation_id: String,
    usn: u64,
}

/// The rootDSE's `highestCommittedUSN`, `defaultNamingContext` and `dsServiceName`, and that
/// service's `invocationId` (two requests); `None` when the server does not say them.
async fn dc(ldap: &mut Ldap, timeout: Duration) -> Result<Option<Dc>, DirectoryError> {
    let wanted = [
        "highestCommittedUSN",
        "defaultNamingContext",
        "dsServiceName",
    ];
    let Some(root) = read_entry(ldap, timeout, "", &wanted).await? else {
        return Ok(None);
    };
    let (Some(usn), Some(naming_context), Some(service)) = (
        root.get_str("highestCommittedUSN")
            .and_then(|u| u.trim().parse::<u64>().ok()),
        root.get_str("defaultNamingContext"),
        root.get_str("dsServiceName"),
    ) else {
        return Ok(None);
    };
    let invocation_id = read_entry(ldap, timeout, service, &["invocationId"])
        .await?
        .and_then(|a| a.get_bytes("invocationId").map(hex));
    Ok(invocation_id.map(|invocation_id| Dc {
        naming_context: naming_context.to_string(),
        invocation_id,
        usn,
    }))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The position before a full read: the DC's identity and committed USN.
pub(super) async fn start(
    plan: &SearchPlan,
    ldap: &mut Ldap,
    timeout: Duration,
    read_at: DateTime<Utc>,
) -> Result<Option<Position>, DirectoryError> {
    // Changes are searched from the domain's root: a base_dn outside it is read in full.
    let base = normalize_dn(&plan.base_dn);
    Ok(dc(ldap, timeout)
        .await?
        .filter(|dc| in_subtree(&base, &normalize_dn(&dc.naming_context)))
        .map(|dc| Position::ActiveDirectory {
            base_dn: plan.base_dn.clone(),
            naming_context: dc.naming_context,
            invocation_id: dc.invocation_id,
            usn: dc.usn,
            read_at,
        }))
}

pub(super) async fn read(
    plan: &SearchPlan,
    ldap: &mut Ldap,
    timeout: Duration,
    last: Last,
) -> Result<DirectoryChanges, DirectoryError> {
    let now = Utc::now();
    let unavailable = |why: String| DirectoryError::ChangesUnavailable(why);
    let dc = dc(ldap, timeout)
        .await?
        .ok_or_else(|| unavailable("the server no longer says its highest committed USN".into()))?;
    if dc.invocation_id != last.invocation_id || dc.usn < last.usn {
        return Err(unavailable(
            "another domain controller (or a restored one) answers: its USNs do not follow on \
             from the last read's"
                .into(),
        ));
    }
    if normalize_dn(&dc.naming_context) != normalize_dn(&last.naming_context) {
        return Err(unavailable("the domain's naming context changed".into()));
    }
    let mut found = Found::new(now);
    found.requests += 2;
    let deleted = deleted(
        plan,
        ldap,
        timeout,
        &dc.naming_context,
        last.usn,
        &mut found,
    )
    .await?;

    let changed = format!("(uSNChanged>={})", last.usn + 1);
    let expired = format!(
        "(&(accountExpires>={})(accountExpires<={}))",
        filetime(last.read_at - EXPIRY_SLACK),
        filetime(now + EXPIRY_SLACK)
    );
    let users_clause = format!("(|{changed}{expired})");
    let containers = "(|(objectClass=organizationalUnit)(objectClass=container))";
    let filter = format!(
        "(|{}(&{containers}{changed}))",
        plan.users_and(&users_clause)
    );
    let nc = normalize_dn(&dc.naming_context);
    let system = format!("cn=system,{nc}");
    let mut moved_container = None;
    // From the domain's root, so that a user moved out of base_dn is still seen.
    let search = Search {
        base: &dc.naming_context,
        scope: SearchScope::Subtree,
        filter: &filter,
        attributes: &plan.attributes,
    };
    let entries = paged(ldap, plan.page_size, timeout, search, |dn, attributes| {
        if is_container(&attributes) {
            // CN=System holds no users; its containers change with policies and services.
            if !in_subtree(&normalize_dn(&dn), &system) {
                moved_container.get_or_insert(dn);
            }
            return Ok(());
        }
        found.user(plan, &dn, &attributes)
    })
    .await?;
    found.pages(plan, entries);
    if let Some(dn) = moved_container {
        return Err(unavailable(format!(
            "the OU or container '{dn}' changed: the DNs of the users below it may have \
             changed without their USNs"
        )));
    }
    let (changed, requests) = found.scoped(plan, ldap, timeout, &users_clause).await?;
    let cursor = Position::ActiveDirectory {
        base_dn: plan.base_dn.clone(),
        naming_context: dc.naming_context,
        invocation_id: dc.invocation_id,
        usn: dc.usn,
        read_at: now,
    }
    .into_cursor()?;
    Ok(DirectoryChanges {
        changed,
        deleted,
        cursor: Some(cursor),
        requests,
        ..Default::default()
    })
}

fn is_container(attributes: &Attributes) -> bool {
    let classes = attributes.get_all_str("objectClass");
    let has = |c: &str| classes.iter().any(|v| v.eq_ignore_ascii_case(c));
    !has("user") && (has("organizationalUnit") || has("container"))
}

/// The users deleted since `usn`: tombstones in the Deleted Objects container (which keep
/// `objectGUID`). The container itself is asked for too: a bind user who may not see it
/// would otherwise see no deletions, which is not the same as none.
async fn deleted(
    plan: &SearchPlan,
    ldap: &mut Ldap,
    timeout: Duration,
    naming_context: &str,
    usn: u64,
    found: &mut Found,
) -> Result<Vec<ObjectId>, DirectoryError> {
    let container = format!("CN=Deleted Objects,{naming_context}");
    let filter = format!(
        "(|(&(isDeleted=TRUE)(objectClass=user)(!(objectClass=computer))(uSNChanged>={}))\
         (distinguishedName={}))",
        usn + 1,
        escape(&container)
    );
    let attributes = [plan.mapper.id_attribute().to_string()];
    let mut ids = Vec::new();
    let mut container_seen = false;
    let wanted = normalize_dn(&container);
    let show_deleted = RawControl {
        ctype: SHOW_DELETED.into(),
        crit: true,
        val: None,
    };
    ldap.with_controls(show_deleted);
    let search = Search {
        base: &container,
        scope: SearchScope::Subtree,
        filter: &filter,
        attributes: &attributes,
    };
    let entries = paged(ldap, plan.page_size, timeout, search, |dn, attributes| {
        if normalize_dn(&dn) == wanted {
            container_seen = true;
        } else {
            let id = plan
                .mapper
                .object_id(&attributes)
                .map_err(|m| DirectoryError::Protocol(format!("{dn}: {m}")))?;
            ids.push(id);
        }
        Ok(())
    })
    .await
    .map_err(|e| match e {
        DirectoryError::Credentials(m) | DirectoryError::NotAvailable(m) => {
            DirectoryError::ChangesUnavailable(format!("the deleted objects cannot be read: {m}"))
        }
        other => other,
    })?;
    found.pages(plan, entries);
    if !container_seen {
        return Err(DirectoryError::ChangesUnavailable(
            "the bind user may not read the Deleted Objects container".into(),
        ));
    }
    Ok(ids)
}

/// `at` as a FILETIME (100 ns intervals since 1601-01-01), for `accountExpires` filters.
fn filetime(at: DateTime<Utc>) -> i64 {
    (at.timestamp() + FILETIME_EPOCH_OFFSET_SECS).saturating_mul(10_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetime_of_the_unix_epoch_and_a_known_date() {
        assert_eq!(filetime(DateTime::UNIX_EPOCH), 116_444_736_000_000_000);
        let new_year = DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z").unwrap();
        assert_eq!(filetime(new_year.into()), 132_223_104_000_000_000);
    }
}
