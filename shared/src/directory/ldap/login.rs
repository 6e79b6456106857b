//! `POST .../auth/verify` against LDAP or Active Directory: the service bind finds the user
//! by email, UPN or sAMAccountName (AD) or by email or uid (OpenLDAP), the user must be
//! mapped, enabled and unexpired, and then a connection of its own, over the same tunnel
//! and TLS, binds as the user's DN with the password.

use std::collections::HashSet;

use secrecy::{ExposeSecret, SecretString};

use super::connection::Connection;
use super::errors::{client_error, Phase};
use super::search::{paged, Search, SearchPlan};
use crate::domain::config::LdapFlavor;
use crate::domain::ldap_filter::escape;
use crate::domain::{ObjectId, UserState};
use crate::error::DirectoryError;
use crate::ports::LoginOutcome;

/// LDAP result codes (RFC 4511 section 4.1.9) that are the server's trouble, not the user's.
const BUSY: u32 = 51;
const UNAVAILABLE: u32 = 52;

pub(super) async fn verify(
    connection: &Connection,
    plan: &SearchPlan,
    username: &str,
    password: &SecretString,
    mapped: &HashSet<ObjectId>,
) -> Result<LoginOutcome, DirectoryError> {
    // An empty password makes a simple bind unauthenticated, which "succeeds" (RFC 4513
    // section 5.1.2): never sent.
    if password.expose_secret().is_empty() || username.trim().is_empty() {
        return Ok(LoginOutcome::Rejected);
    }
    let Some((dn, object_id)) = find_user(connection, plan, username.trim(), mapped).await? else {
        return Ok(LoginOutcome::Rejected);
    };
    // A connection of its own: the service session stays bound as the service user.
    let tunnel = connection.open_tunnel().await?;
    let stream = connection.connect(tunnel.as_ref()).await?;
    let mut ldap = connection.start(stream).await?;
    let timeout = connection.options.timeouts.handshake;
    let answer = ldap
        .with_timeout(timeout)
        .simple_bind(&dn, password.expose_secret())
        .await;
    let outcome = match answer {
        Ok(result) => match result.rc {
            0 => LoginOutcome::Verified(object_id),
            rc @ (BUSY | UNAVAILABLE) => {
                return Err(DirectoryError::Unreachable(format!(
                    "the directory answered the user's bind with LDAP result {rc}"
                )))
            }
            // 49 with any AD sub-code (52e, 533, 701, 773, 775, ...) and every other refusal.
            _ => LoginOutcome::Rejected,
        },
        Err(error) => return Err(client_error(Phase::Bind, error, timeout, 0)),
    };
    let _ = ldap.unbind().await;
    Ok(outcome)
}

/// The DN and id of the one user the name matches, if that user is mapped and active. None
/// for no match, several matches (ambiguous: never guessed), an unmapped, disabled or expired
/// user.
async fn find_user(
    connection: &Connection,
    plan: &SearchPlan,
    username: &str,
    mapped: &HashSet<ObjectId>,
) -> Result<Option<(String, ObjectId)>, DirectoryError> {
    let value = escape(username);
    let by_name = match plan.flavor {
        LdapFlavor::ActiveDirectory => {
            format!("(|(mail={value})(userPrincipalName={value})(sAMAccountName={value}))")
        }
        LdapFlavor::Openldap => format!("(|(mail={value})(uid={value}))"),
    };
    let filter = plan.users_and(&by_name);
    let attributes = plan.mapper.attributes_needed();
    let mut session = connection.session().await?;
    let timeout = connection.options.timeouts.operation;
    let now = chrono::Utc::now();
    let mut found = Vec::new();
    let search = Search {
        base: &plan.base_dn,
        scope: ldap3::Scope::Subtree,
        filter: &filter,
        attributes: &attributes,
    };
    paged(
        &mut session.ldap,
        plan.page_size,
        timeout,
        search,
        |dn, attributes| {
            let user = plan
                .mapper
                .map_user(&dn, &attributes, now)
                .map_err(|m| DirectoryError::Protocol(format!("{dn}: {m}")))?;
            found.push((dn, user));
            Ok(())
        },
    )
    .await?;
    let _ = session.ldap.unbind().await;
    Ok(match found.as_slice() {
        [(dn, user)] if user.state == UserState::Active && mapped.contains(&user.object_id) => {
            Some((dn.clone(), user.object_id.clone()))
        }
        _ => None,
    })
}
