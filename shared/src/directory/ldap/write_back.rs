//! `write_back` on LDAP/AD: one session (tunnel, TLS and bind as for a read), then a modify
//! that replaces the attribute on each user's DN.

use std::collections::HashSet;
use std::time::Duration;

use ldap3::{Ldap, Mod};

use crate::domain::DirectoryUser;
use crate::error::DirectoryError;

/// LDAP result codes that mean "not allowed" rather than "broken": insufficientAccessRights
/// (50), unwillingToPerform (53), constraintViolation (19), objectClassViolation (65),
/// undefinedAttributeType (17; OpenLDAP for an attribute its schema lacks), noSuchAttribute
/// (16; AD's answer for the same), noSuchObject (32).
const REFUSALS: [u32; 7] = [50, 53, 19, 65, 17, 16, 32];

pub(super) async fn write_all(
    ldap: &mut Ldap,
    timeout: Duration,
    attribute: &str,
    writes: &[(&DirectoryUser, &str)],
) -> Vec<Result<(), DirectoryError>> {
    let mut results = Vec::with_capacity(writes.len());
    for (user, value) in writes {
        results.push(write_one(ldap, timeout, attribute, user, value).await);
    }
    results
}

async fn write_one(
    ldap: &mut Ldap,
    timeout: Duration,
    attribute: &str,
    user: &DirectoryUser,
    value: &str,
) -> Result<(), DirectoryError> {
    let Some(dn) = user.dn.as_deref() else {
        return Err(DirectoryError::WriteRefused("the user has no DN".into()));
    };
    let change = Mod::Replace(attribute, HashSet::from([value]));
    let answer = ldap
        .with_timeout(timeout)
        .modify(dn, vec![change])
        .await
        .map_err(|e| DirectoryError::Unreachable(format!("the modify of {dn} failed: {e}")))?;
    match answer.rc {
        0 => Ok(()),
        rc if REFUSALS.contains(&rc) => Err(DirectoryError::WriteRefused(format!(
            "LDAP result {rc} for {attribute} of {dn}: {}",
            answer.text.trim()
        ))),
        rc => Err(DirectoryError::Protocol(format!(
            "LDAP result {rc} for the modify of {dn}: {}",
            answer.text.trim()
        ))),
    }
}
