//! Row helpers shared by the SQLite queries: JSON bodies, ids and keyset pages.

use rusqlite::{params, Connection};
use serde::de::DeserializeOwned;

use super::keys::{decode_cursor, encode_cursor};
use crate::domain::TenantState;
use crate::error::StoreError;
use crate::ports::Page;

pub(super) fn state_key(state: TenantState) -> &'static str {
    match state {
        TenantState::Active => "active",
        TenantState::Paused => "paused",
        TenantState::Disconnected => "disconnected",
    }
}

pub(super) fn parse_id<T>(
    raw: String,
    parse: fn(String) -> Result<T, crate::domain::IdError>,
) -> Result<T, StoreError> {
    parse(raw).map_err(|e| StoreError::Backend(format!("stored id is invalid: {e}")))
}

pub(super) fn from_json<T: DeserializeOwned>(bodies: Vec<String>) -> Result<Vec<T>, StoreError> {
    bodies
        .iter()
        .map(|body| serde_json::from_str(body).map_err(StoreError::from))
        .collect()
}

/// Cuts the `limit + 1` rows a page query fetched to `limit`, and says whether more follow.
pub(super) fn split_page<T>(mut rows: Vec<T>, limit: usize) -> (Vec<T>, bool) {
    let more = rows.len() > limit;
    rows.truncate(limit);
    (rows, more)
}

/// Runs a keyset page query whose rows are `(sort key, body)`, with `?1` = tenant (ignored
/// by queries that have none), `?2` = the key after which to start and `?3` = the row limit.
pub(super) fn key_page<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    tenant: &str,
    cursor: Option<String>,
    limit: usize,
) -> Result<Page<T>, StoreError> {
    // Ids are never empty, so "" sorts before every key: the first page.
    let after = match cursor {
        Some(cursor) => decode_cursor(&cursor, 1)?.remove(0),
        None => String::new(),
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt
        .query_map(params![tenant, after, (limit + 1) as i64], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let (rows, more) = split_page(rows, limit);
    let next_cursor = match rows.last() {
        Some((key, _)) if more => Some(encode_cursor(&[key])),
        _ => None,
    };
    let items = from_json(rows.into_iter().map(|(_, body)| body).collect())?;
    Ok(Page { items, next_cursor })
}
