//! Users and groups that a tenant's identity provider pushed over SCIM (CONTRACTS section 6).
//! For a tenant whose provider is `scim`, the set kept in the store is its directory: the SCIM
//! routes write it, the `scim` directory adapter reads it for the planner.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::ObjectId;

/// The two SCIM resource types dirsync keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushedKind {
    User,
    Group,
}

/// One pushed resource as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushedResource {
    pub kind: PushedKind,
    /// The SCIM `id`, assigned by dirsync at creation and never changed: the object id that
    /// keys the user's mapping.
    pub id: ObjectId,
    /// The identity provider's own id for it (`externalId`), when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// `userName` for a user, `displayName` for a group: unique per kind within the tenant,
    /// compared without case (RFC 7643 makes `userName` case-insensitive).
    pub name: String,
    /// Starts at 1 and moves on with every replace: the SCIM `meta.version` (ETag).
    pub version: u64,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    /// The resource's attributes as the SCIM layer keeps them (core schema and the enterprise
    /// extension), without `id` and `meta`.
    pub attributes: serde_json::Value,
}

/// What [`Store::find_pushed`](crate::ports::Store::find_pushed) looks resources up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushedKey {
    /// [`PushedResource::name`], without case.
    Name,
    /// [`PushedResource::external_id`], exactly.
    ExternalId,
}
