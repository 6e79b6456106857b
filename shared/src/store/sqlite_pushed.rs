//! The `pushed` table (schema version 5): users and groups pushed over SCIM, keyed by tenant,
//! kind and id, the resource's JSON in `body`. Name uniqueness is the unique index on
//! `(tenant, kind, name_key)`, so a write that would break it fails as a whole.

use rusqlite::{ffi, params, Connection, OptionalExtension};

use super::pushed_record::{encode, kind_name, name_key};
use super::sqlite_rows::from_json;
use crate::domain::{PushedKey, PushedKind, PushedResource};
use crate::error::StoreError;

/// The columns of one resource's row besides its key.
struct Row {
    name_key: String,
    external_id: Option<String>,
    version: i64,
    body: String,
}

impl Row {
    fn of(resource: &PushedResource) -> Result<Self, StoreError> {
        Ok(Self {
            name_key: name_key(&resource.name),
            external_id: resource.external_id.clone(),
            version: version_column(resource.version)?,
            body: encode(resource)?,
        })
    }
}

fn version_column(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version)
        .map_err(|_| StoreError::Backend(format!("resource version {version} is out of range")))
}

/// The error of a write that broke a constraint: the name index is [`StoreError::NameTaken`],
/// the primary key (the id is stored) [`StoreError::Stale`].
fn constraint_error(error: rusqlite::Error) -> StoreError {
    match &error {
        rusqlite::Error::SqliteFailure(failure, _) => match failure.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE => StoreError::NameTaken,
            ffi::SQLITE_CONSTRAINT_PRIMARYKEY => StoreError::Stale,
            _ => error.into(),
        },
        _ => error.into(),
    }
}

pub(super) fn create(
    conn: &Connection,
    tenant: &str,
    resource: &PushedResource,
) -> Result<(), StoreError> {
    let row = Row::of(resource)?;
    conn.prepare_cached(
        "INSERT INTO pushed (tenant, kind, id, name_key, external_id, version, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        tenant,
        kind_name(resource.kind),
        resource.id.as_str(),
        row.name_key,
        row.external_id,
        row.version,
        row.body
    ])
    .map_err(constraint_error)?;
    Ok(())
}

/// One UPDATE guarded by the stored version: no row changed is [`StoreError::Stale`].
pub(super) fn replace(
    conn: &Connection,
    tenant: &str,
    resource: &PushedResource,
    expected: u64,
) -> Result<(), StoreError> {
    let row = Row::of(resource)?;
    let changed = conn
        .prepare_cached(
            "UPDATE pushed SET name_key = ?4, external_id = ?5, version = ?6, body = ?7
             WHERE tenant = ?1 AND kind = ?2 AND id = ?3 AND version = ?8",
        )?
        .execute(params![
            tenant,
            kind_name(resource.kind),
            resource.id.as_str(),
            row.name_key,
            row.external_id,
            row.version,
            row.body,
            version_column(expected)?
        ])
        .map_err(constraint_error)?;
    match changed {
        1 => Ok(()),
        _ => Err(StoreError::Stale),
    }
}

pub(super) fn get(
    conn: &Connection,
    tenant: &str,
    kind: PushedKind,
    id: &str,
) -> Result<Option<PushedResource>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM pushed WHERE tenant = ?1 AND kind = ?2 AND id = ?3")?
        .query_row(params![tenant, kind_name(kind), id], |row| row.get(0))
        .optional()?;
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}

/// Through the name index or the external id index, in id order.
pub(super) fn find(
    conn: &Connection,
    tenant: &str,
    kind: PushedKind,
    key: PushedKey,
    value: &str,
) -> Result<Vec<PushedResource>, StoreError> {
    let (sql, value) = match key {
        PushedKey::Name => (
            "SELECT body FROM pushed WHERE tenant = ?1 AND kind = ?2 AND name_key = ?3
             ORDER BY id",
            name_key(value),
        ),
        PushedKey::ExternalId => (
            "SELECT body FROM pushed WHERE tenant = ?1 AND kind = ?2 AND external_id = ?3
             ORDER BY id",
            value.to_string(),
        ),
    };
    bodies(conn, sql, params![tenant, kind_name(kind), value])
}

pub(super) fn all(
    conn: &Connection,
    tenant: &str,
    kind: PushedKind,
) -> Result<Vec<PushedResource>, StoreError> {
    bodies(
        conn,
        "SELECT body FROM pushed WHERE tenant = ?1 AND kind = ?2 ORDER BY id",
        params![tenant, kind_name(kind)],
    )
}

/// Counted on the primary key's `(tenant, kind)` prefix, without reading the bodies.
pub(super) fn count(
    conn: &Connection,
    tenant: &str,
    kind: PushedKind,
) -> Result<usize, StoreError> {
    let count: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM pushed WHERE tenant = ?1 AND kind = ?2")?
        .query_row(params![tenant, kind_name(kind)], |row| row.get(0))?;
    usize::try_from(count)
        .map_err(|_| StoreError::Backend(format!("pushed resource count {count} is invalid")))
}

pub(super) fn delete(
    conn: &Connection,
    tenant: &str,
    kind: PushedKind,
    id: &str,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached("DELETE FROM pushed WHERE tenant = ?1 AND kind = ?2 AND id = ?3")?
        .execute(params![tenant, kind_name(kind), id])?;
    Ok(changed == 1)
}

fn bodies(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<PushedResource>, StoreError> {
    let rows = conn
        .prepare_cached(sql)?
        .query_map(params, |row| row.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    from_json(rows)
}
