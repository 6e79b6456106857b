//! The `read_states` table (schema version 6): one row per tenant, its kept read state as
//! [`super::read_state_codec`] encodes it (head JSON, compressed body).

use rusqlite::{params, Connection, OptionalExtension};

use super::read_state_codec::names_body;
use crate::error::StoreError;

pub(super) fn get(
    conn: &Connection,
    tenant: &str,
) -> Result<Option<(String, Vec<u8>)>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT head, body FROM read_states WHERE tenant = ?1")?
        .query_row([tenant], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?)
}

pub(super) fn get_head(conn: &Connection, tenant: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT head FROM read_states WHERE tenant = ?1")?
        .query_row([tenant], |row| row.get(0))
        .optional()?)
}

pub(super) fn put(
    conn: &Connection,
    tenant: &str,
    head: &str,
    body: &[u8],
) -> Result<(), StoreError> {
    // A tenant that is not stored keeps nothing (one deleted while its run read).
    conn.prepare_cached(
        "INSERT INTO read_states (tenant, head, body)
         SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM tenants WHERE id = ?1)
         ON CONFLICT (tenant) DO UPDATE SET head = excluded.head, body = excluded.body",
    )?
    .execute(params![tenant, head, body])?;
    Ok(())
}

/// The head alone, where the stored one names the same body; else `Stale`.
pub(super) fn put_head(
    conn: &Connection,
    tenant: &str,
    head: &str,
    body_sha256: &str,
) -> Result<(), StoreError> {
    // The head's JSON holds the body's digest once, as this exact text.
    let updated = conn
        .prepare_cached(
            "UPDATE read_states SET head = ?2 WHERE tenant = ?1 AND instr(head, ?3) > 0",
        )?
        .execute(params![tenant, head, names_body(body_sha256)])?;
    match updated {
        0 => Err(StoreError::Stale),
        _ => Ok(()),
    }
}

pub(super) fn delete(conn: &Connection, tenant: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM read_states WHERE tenant = ?1")?
        .execute([tenant])?;
    Ok(())
}
