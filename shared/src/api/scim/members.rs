//! What a write must hold beyond its own body: group members are users of the tenant, the
//! per-tenant caps, and a deleted user leaves the groups that held it.

use std::collections::HashSet;

use axum::http::StatusCode;
use chrono::Utc;
use serde_json::Value;

use super::error::{ScimError, ScimType};
use super::resource::Document;
use crate::domain::{ObjectId, PushedKind, TenantId};
use crate::error::StoreError;
use crate::ports::Store;

/// The most users and groups one tenant keeps.
pub const MAX_USERS: usize = 25_000;
pub const MAX_GROUPS: usize = 5_000;

/// Above this many new members, the users are read once instead of one by one.
const READ_ALL_ABOVE: usize = 100;

/// The member ids of a group document.
pub fn member_ids(doc: &Document) -> Vec<String> {
    doc.get("members")
        .and_then(Value::as_array)
        .map(|members| {
            members
                .iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Refuses a group whose members (those not in `before`) are not stored users of the tenant:
/// dirsync keeps no groups in groups and no references to nothing.
pub async fn check_members(
    store: &dyn Store,
    tenant: &TenantId,
    doc: &Document,
    before: Option<&Document>,
) -> Result<(), ScimError> {
    let known: HashSet<String> = before
        .map(member_ids)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let new: Vec<String> = member_ids(doc)
        .into_iter()
        .filter(|id| !known.contains(id))
        .collect();
    if new.is_empty() {
        return Ok(());
    }
    let not_a_user = |id: &str| {
        ScimError::bad(
            ScimType::InvalidValue,
            format!("members: {id} is not a user of this tenant (groups are not kept as members)"),
        )
    };
    if new.len() > READ_ALL_ABOVE {
        let users: HashSet<String> = store
            .all_pushed(tenant, PushedKind::User)
            .await?
            .into_iter()
            .map(|u| u.id.to_string())
            .collect();
        return match new.iter().find(|id| !users.contains(*id)) {
            Some(id) => Err(not_a_user(id)),
            None => Ok(()),
        };
    }
    for id in &new {
        let object = ObjectId::parse(id.as_str()).map_err(|_| not_a_user("a member id"))?;
        if store
            .get_pushed(tenant, PushedKind::User, &object)
            .await?
            .is_none()
        {
            return Err(not_a_user(id));
        }
    }
    Ok(())
}

/// Refuses a new resource of `kind` when the tenant keeps the most it may.
pub async fn check_cap(
    store: &dyn Store,
    tenant: &TenantId,
    kind: PushedKind,
) -> Result<(), ScimError> {
    let (max, what) = match kind {
        PushedKind::User => (MAX_USERS, "users"),
        PushedKind::Group => (MAX_GROUPS, "groups"),
    };
    if store.count_pushed(tenant, kind).await? >= max {
        return Err(ScimError::new(
            StatusCode::BAD_REQUEST,
            format!("this tenant keeps at most {max} {what} in dirsync: delete some first"),
        ));
    }
    Ok(())
}

/// Takes the deleted user out of every group that held it (RFC 7643 section 4.2: members
/// are references to resources that exist). A group that changed meanwhile is read again.
pub async fn leave_groups(
    store: &dyn Store,
    tenant: &TenantId,
    user: &ObjectId,
) -> Result<(), StoreError> {
    for _ in 0..3 {
        let mut stale = false;
        for mut group in store.all_pushed(tenant, PushedKind::Group).await? {
            let Some(Value::Array(members)) = group.attributes.get_mut("members") else {
                continue;
            };
            let before = members.len();
            members.retain(|m| m.get("value").and_then(Value::as_str) != Some(user.as_str()));
            if members.len() == before {
                continue;
            }
            if members.is_empty() {
                if let Some(attributes) = group.attributes.as_object_mut() {
                    attributes.remove("members");
                }
            }
            let expected = group.version;
            group.version += 1;
            group.last_modified = Utc::now();
            match store.replace_pushed(tenant, &group, expected).await {
                Ok(()) => {}
                Err(StoreError::Stale) => stale = true,
                Err(other) => return Err(other),
            }
        }
        if !stale {
            return Ok(());
        }
    }
    Err(StoreError::Stale)
}
