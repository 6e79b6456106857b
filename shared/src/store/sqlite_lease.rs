//! The tenant lease in SQLite: one row per tenant, `expires_at` as a time key.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::keys::time_key;
use super::sqlite_rows::parse_id;
use crate::domain::RunId;
use crate::error::StoreError;
use crate::ports::LeaseOutcome;

/// The time key of `now + ttl`.
pub(super) fn expiry_key(now: DateTime<Utc>, ttl: Duration) -> Result<String, StoreError> {
    let expires = TimeDelta::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .ok_or_else(|| StoreError::Backend(format!("lease ttl {ttl:?} is too long")))?;
    time_key(expires)
}

pub(super) fn acquire(
    conn: &mut Connection,
    tenant: &str,
    run_id: &str,
    now: &str,
    expires: &str,
) -> Result<LeaseOutcome, StoreError> {
    // IMMEDIATE takes the write lock before reading, so no other connection can slip a lease
    // in between the check and the write.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: Option<(String, String)> = tx
        .prepare_cached("SELECT run_id, expires_at FROM leases WHERE tenant = ?1")?
        .query_row([tenant], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let expired_run = match current {
        None => None,
        Some((holder, _)) if holder == run_id => None,
        Some((holder, expires_at)) if expires_at.as_str() <= now => {
            Some(parse_id(holder, RunId::parse)?)
        }
        // Dropping the transaction rolls it back: nothing was written.
        Some((holder, _)) => return Ok(LeaseOutcome::HeldBy(parse_id(holder, RunId::parse)?)),
    };
    tx.prepare_cached(
        "INSERT INTO leases (tenant, run_id, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (tenant) DO UPDATE SET run_id = excluded.run_id,
             expires_at = excluded.expires_at",
    )?
    .execute(params![tenant, run_id, expires])?;
    tx.commit()?;
    Ok(LeaseOutcome::Acquired { expired_run })
}

pub(super) fn renew(
    conn: &Connection,
    tenant: &str,
    run_id: &str,
    now: &str,
    expires: &str,
) -> Result<bool, StoreError> {
    // One conditional statement: atomic on its own.
    let changed = conn
        .prepare_cached(
            "UPDATE leases SET expires_at = ?3
             WHERE tenant = ?1 AND run_id = ?2 AND expires_at > ?4",
        )?
        .execute(params![tenant, run_id, expires, now])?;
    Ok(changed == 1)
}

pub(super) fn release(conn: &Connection, tenant: &str, run_id: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM leases WHERE tenant = ?1 AND run_id = ?2")?
        .execute(params![tenant, run_id])?;
    Ok(())
}

pub(super) fn holder(
    conn: &Connection,
    tenant: &str,
    now: &str,
) -> Result<Option<RunId>, StoreError> {
    let holder: Option<String> = conn
        .prepare_cached("SELECT run_id FROM leases WHERE tenant = ?1 AND expires_at > ?2")?
        .query_row(params![tenant, now], |row| row.get(0))
        .optional()?;
    holder.map(|h| parse_id(h, RunId::parse)).transpose()
}
