//! The tenant lease in SQLite: one row per tenant, `expires_at` as a time key. A tenant that
//! is not stored has no lease to take.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::keys::time_key;
use super::sqlite::TENANT_BODY;
use super::sqlite_read_state;
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

/// What a run's start read with the lease, in the same transaction: the tenant's body (as
/// `TENANT_BODY` reads it) and its kept head, both as stored.
pub(super) struct Begun {
    pub lease: LeaseOutcome,
    pub tenant: Option<String>,
    pub head: Option<String>,
}

pub(super) fn acquire(
    conn: &mut Connection,
    tenant: &str,
    run_id: &str,
    now: &str,
    expires: &str,
) -> Result<Begun, StoreError> {
    // IMMEDIATE takes the write lock before reading, so no other connection can slip a lease
    // in between the check and the write.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let body: Option<String> = tx
        .prepare_cached(&format!("SELECT {TENANT_BODY} FROM tenants WHERE id = ?1"))?
        .query_row([tenant], |row| row.get(0))
        .optional()?;
    if body.is_none() {
        return Ok(Begun {
            lease: LeaseOutcome::NoTenant,
            tenant: None,
            head: None,
        });
    }
    let head = sqlite_read_state::get_head(&tx, tenant)?;
    let begun = |lease| Begun {
        lease,
        tenant: body,
        head,
    };
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
        Some((holder, _)) => {
            return Ok(begun(LeaseOutcome::HeldBy(parse_id(holder, RunId::parse)?)))
        }
    };
    tx.prepare_cached(
        "INSERT INTO leases (tenant, run_id, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (tenant) DO UPDATE SET run_id = excluded.run_id,
             expires_at = excluded.expires_at",
    )?
    .execute(params![tenant, run_id, expires])?;
    tx.commit()?;
    Ok(begun(LeaseOutcome::Acquired { expired_run }))
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

/// Frees the lease if `run_id` holds it, setting the tenant's last run in the same
/// transaction when given (whether or not it held).
pub(super) fn release(
    conn: &mut Connection,
    tenant: &str,
    run_id: &str,
    last_run: Option<&str>,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    if let Some(last_run) = last_run {
        tx.prepare_cached("UPDATE tenants SET last_run = ?2 WHERE id = ?1")?
            .execute(params![tenant, last_run])?;
    }
    tx.prepare_cached("DELETE FROM leases WHERE tenant = ?1 AND run_id = ?2")?
        .execute(params![tenant, run_id])?;
    tx.commit()?;
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
