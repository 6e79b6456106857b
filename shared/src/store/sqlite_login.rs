//! Login attempts in SQLite (`Store::take_login_attempt`): one row per tenant and username
//! hash, the open window's count and end.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::keys::{parse_time_key, time_key};
use super::sqlite_lease::expiry_key;
use crate::error::StoreError;
use crate::ports::{LoginAttempt, LoginLimit};
use chrono::{DateTime, Utc};

pub(super) fn take(
    conn: &mut Connection,
    tenant: &str,
    key: &str,
    limit: LoginLimit,
    now: DateTime<Utc>,
) -> Result<LoginAttempt, StoreError> {
    let now_key = time_key(now)?;
    // IMMEDIATE: the count is read and written under the write lock, so two processes
    // cannot both take the last attempt.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let open: Option<(u32, String)> = tx
        .prepare_cached(
            "SELECT attempts, window_ends FROM login_attempts
             WHERE tenant = ?1 AND key = ?2 AND window_ends > ?3",
        )?
        .query_row(params![tenant, key, now_key], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    match open {
        Some((attempts, ends)) if attempts >= limit.max => {
            return Ok(LoginAttempt::Refused {
                until: parse_time_key(&ends)?,
            })
        }
        Some(_) => {
            tx.prepare_cached(
                "UPDATE login_attempts SET attempts = attempts + 1 WHERE tenant = ?1 AND key = ?2",
            )?
            .execute(params![tenant, key])?;
        }
        None => {
            let ends = expiry_key(now, limit.window)?;
            tx.prepare_cached(
                "INSERT INTO login_attempts (tenant, key, attempts, window_ends) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (tenant, key) DO UPDATE SET attempts = 1, window_ends = excluded.window_ends",
            )?
            .execute(params![tenant, key, ends])?;
        }
    }
    tx.commit()?;
    Ok(LoginAttempt::Counted)
}

pub(super) fn give_back(
    conn: &Connection,
    tenant: &str,
    key: &str,
    clear: bool,
) -> Result<(), StoreError> {
    let statement = if clear {
        "DELETE FROM login_attempts WHERE tenant = ?1 AND key = ?2"
    } else {
        "UPDATE login_attempts SET attempts = attempts - 1
         WHERE tenant = ?1 AND key = ?2 AND attempts > 0"
    };
    conn.prepare_cached(statement)?
        .execute(params![tenant, key])?;
    Ok(())
}
