//! The SQLite schema and its versions (`PRAGMA user_version`), so that later releases can
//! migrate a state file in place.

use std::time::Duration;

use rusqlite::Connection;

use crate::error::StoreError;

/// The schema version this code writes and reads.
pub(crate) const SCHEMA_VERSION: i64 = 5;

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Every row is keyed by tenant first. Domain values are JSON in `body`; only what a query
/// filters or sorts on is a column. Times are fixed-width RFC 3339 text (see `keys::time_key`).
const SCHEMA_V1: &str = "
CREATE TABLE tenants (
    id TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    next_sync_at TEXT,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX tenants_due ON tenants (state, next_sync_at);

CREATE TABLE mappings (
    tenant TEXT NOT NULL,
    object_id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant, object_id)
) WITHOUT ROWID;

CREATE TABLE runs (
    tenant TEXT NOT NULL,
    run_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    summary TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant, run_id)
);
CREATE INDEX runs_newest ON runs (tenant, started_at DESC, run_id);

CREATE TABLE leases (
    tenant TEXT PRIMARY KEY NOT NULL,
    run_id TEXT NOT NULL,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
";

#[cfg(test)]
pub(crate) const SCHEMA_V1_FOR_TESTS: &str = SCHEMA_V1;

/// Version 2: the tenant's revision (for conditional settings writes) and its last run, which
/// the engine writes on its own, move out of the body into columns of their own. Rows from
/// version 1 exist, so they start at revision 1 (0 means "not stored yet" to a writer).
const SCHEMA_V2: &str = "
ALTER TABLE tenants ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tenants ADD COLUMN last_run TEXT;
UPDATE tenants SET last_run = json_extract(body, '$.last_run'),
    body = json_remove(body, '$.last_run');
";

#[cfg(test)]
pub(crate) const SCHEMA_V2_FOR_TESTS: &str = SCHEMA_V2;

/// Version 3: organization and group mappings, one table for both kinds.
const SCHEMA_V3: &str = "
CREATE TABLE object_mappings (
    tenant TEXT NOT NULL,
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant, kind, object_id)
) WITHOUT ROWID;
";

/// Version 4: login attempts per username hash (`Store::take_login_attempt`).
const SCHEMA_V4: &str = "
CREATE TABLE login_attempts (
    tenant TEXT NOT NULL,
    key TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    window_ends TEXT NOT NULL,
    PRIMARY KEY (tenant, key)
) WITHOUT ROWID;
";

/// Version 5: users and groups pushed over SCIM (`Store::*_pushed`), the resource's JSON in
/// `body`. `name_key` is the name in lowercase as `pushed_record::name_key` folds it (Unicode,
/// unlike SQLite's ASCII-only `lower()`): its unique index keeps names unique per kind without
/// case. External ids are looked up, not unique.
const SCHEMA_V5: &str = "
CREATE TABLE pushed (
    tenant TEXT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    name_key TEXT NOT NULL,
    external_id TEXT,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant, kind, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX pushed_names ON pushed (tenant, kind, name_key);
CREATE INDEX pushed_external_ids ON pushed (tenant, kind, external_id)
    WHERE external_id IS NOT NULL;
";

#[cfg(test)]
pub(crate) const SCHEMA_V4_FOR_TESTS: &str = SCHEMA_V4;
#[cfg(test)]
pub(crate) const SCHEMA_V3_FOR_TESTS: &str = SCHEMA_V3;

/// Sets the connection up (WAL, busy timeout) and brings the schema to [`SCHEMA_VERSION`].
pub(crate) fn prepare(conn: &mut Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL lets readers run beside the writer. An in-memory database answers "memory": fine.
    let _mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    // With WAL, NORMAL survives a process crash; only an OS crash may lose the last commits.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    migrate(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "the state database has schema version {version}, newer than this release \
             understands ({SCHEMA_VERSION}): upgrade dirsync"
        )));
    }
    if version < 1 {
        tx.execute_batch(SCHEMA_V1)?;
    }
    if version < 2 {
        tx.execute_batch(SCHEMA_V2)?;
    }
    if version < 3 {
        tx.execute_batch(SCHEMA_V3)?;
    }
    if version < 4 {
        tx.execute_batch(SCHEMA_V4)?;
    }
    if version < 5 {
        tx.execute_batch(SCHEMA_V5)?;
    }
    // Later versions add their steps here: `if version < 6 { ... }`.
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}
