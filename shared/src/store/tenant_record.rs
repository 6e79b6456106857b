//! The stored form of a tenant's settings, the `body` of both backends: the domain tenant as
//! JSON with a `record_version`. Reading is tolerant: fields this release does not know (a
//! newer release wrote them) are ignored, and fields it knows but the record lacks take their
//! defaults, so that a deploy or a rollback never leaves a tenant unreadable. An additive
//! change keeps the version; one an older release would misread bumps it, and [`decode`]
//! converts the older versions.

use serde::Serialize;

use crate::domain::Tenant;
use crate::error::StoreError;

/// The version this release writes.
pub(super) const RECORD_VERSION: u32 = 1;

#[derive(Serialize)]
struct Versioned<'a> {
    record_version: u32,
    #[serde(flatten)]
    tenant: &'a Tenant,
}

pub(super) fn encode(tenant: &Tenant) -> Result<String, StoreError> {
    Ok(serde_json::to_string(&Versioned {
        record_version: RECORD_VERSION,
        tenant,
    })?)
}

/// Every version so far reads as the tenant itself (version 1 added only `record_version`).
pub(super) fn decode(body: &str) -> Result<Tenant, StoreError> {
    Ok(serde_json::from_str(body)?)
}
