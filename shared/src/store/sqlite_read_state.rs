//! The `read_states` table (schema version 6): one row per tenant, its kept read state as
//! [`super::read_state_codec`] encodes it (head JSON, compressed body).

use rusqlite::{params, Connection, OptionalExtension};

use super::read_state_codec::Encoded;
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

pub(super) fn put(conn: &Connection, tenant: &str, state: &Encoded) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO read_states (tenant, head, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (tenant) DO UPDATE SET head = excluded.head, body = excluded.body",
    )?
    .execute(params![tenant, state.head, state.body])?;
    Ok(())
}

pub(super) fn delete(conn: &Connection, tenant: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM read_states WHERE tenant = ?1")?
        .execute([tenant])?;
    Ok(())
}
