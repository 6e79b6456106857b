//! The `object_mappings` table (schema version 3): organization and group mappings, keyed by
//! tenant, kind and object id, the domain's JSON in `body`.

use rusqlite::{params, Connection};

use super::sqlite_rows::from_json;
use crate::domain::{ObjectKind, ObjectMapping};
use crate::error::StoreError;

/// Both kinds, by kind (the domain's order) then object id.
pub(super) fn all(conn: &Connection, tenant: &str) -> Result<Vec<ObjectMapping>, StoreError> {
    let rows = conn
        .prepare_cached("SELECT kind, body FROM object_mappings WHERE tenant = ?1")?
        .query_map([tenant], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<Vec<(String, String)>, _>>()?;
    // Kinds a newer release added are skipped, so that a rollback still reads the tenant.
    let bodies = rows
        .into_iter()
        .filter(|(kind, _)| ObjectKind::from_name(kind).is_some())
        .map(|(_, body)| body)
        .collect();
    let mut mappings: Vec<ObjectMapping> = from_json(bodies)?;
    // The column holds the kind's name, whose text order is not the domain's.
    mappings.sort_by(|a, b| (a.kind, &a.object_id).cmp(&(b.kind, &b.object_id)));
    Ok(mappings)
}

pub(super) fn put(
    conn: &Connection,
    tenant: &str,
    mapping: &ObjectMapping,
) -> Result<(), StoreError> {
    let body = serde_json::to_string(mapping)?;
    conn.prepare_cached(
        "INSERT INTO object_mappings (tenant, kind, object_id, body) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (tenant, kind, object_id) DO UPDATE SET body = excluded.body",
    )?
    .execute(params![
        tenant,
        mapping.kind.as_str(),
        mapping.object_id.as_str(),
        body
    ])?;
    Ok(())
}

pub(super) fn delete(
    conn: &Connection,
    tenant: &str,
    kind: ObjectKind,
    object_id: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "DELETE FROM object_mappings WHERE tenant = ?1 AND kind = ?2 AND object_id = ?3",
    )?
    .execute(params![tenant, kind.as_str(), object_id])?;
    Ok(())
}
