//! [`SqliteStore`]: the `Store` of local mode, one SQLite file.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::keys::{decode_cursor, encode_cursor, parse_time_key, time_key};
use super::sqlite_rows::{from_json, key_page, parse_id, split_page, state_key};
use super::{
    clamp_page_size, read_state_codec, sqlite_lease, sqlite_login, sqlite_objects, sqlite_pushed,
    sqlite_read_state, sqlite_schema, tenant_record,
};
use crate::domain::config::Schedule;
use crate::domain::{
    KeptReads, Mapping, ObjectId, ObjectKind, ObjectMapping, PushedKey, PushedKind, PushedResource,
    ReadHead, ReadState, RunId, RunRecord, RunSummary, Tenant, TenantId, TenantState,
};
use crate::error::StoreError;
use crate::ports::{DueTenant, LeaseOutcome, LoginAttempt, LoginLimit, Page, RunStart, Store};
use crate::private_fs;

/// A tenant row as one JSON document: the body with the revision and last run of their own
/// columns (a NULL last run reads as none).
pub(super) const TENANT_BODY: &str =
    "json_set(body, '$.revision', revision, '$.last_run', json(last_run))";

/// One connection behind a mutex: SQLite writes one transaction at a time anyway, and the
/// mutex makes every call (lease decisions included) atomic within the process. Calls run on
/// tokio's blocking pool so that they never stall the async workers.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and brings its schema up to
    /// date. The parent directory must exist. The file is private (0600) before SQLite opens
    /// it, so that the `-wal` and `-shm` files SQLite creates take its mode; ones an older
    /// release left readable are tightened.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let file_error = |path: &Path| {
            let path = path.display().to_string();
            move |source| StoreError::File { path, source }
        };
        private_fs::ensure_private_file(path).map_err(file_error(path))?;
        for suffix in ["-wal", "-shm"] {
            let mut companion = path.as_os_str().to_owned();
            companion.push(suffix);
            let companion = Path::new(&companion);
            private_fs::tighten_if_exists(companion).map_err(file_error(companion))?;
        }
        Self::prepared(Connection::open(path)?)
    }

    /// A private database that lives as long as this store (tests, previews).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::prepared(Connection::open_in_memory()?)
    }

    fn prepared(mut conn: Connection) -> Result<Self, StoreError> {
        sqlite_schema::prepare(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs raw SQL against the database: tests that need the store to fail, or a record as
    /// another release wrote it.
    #[cfg(test)]
    pub(crate) async fn execute_for_tests(&self, sql: &'static str) {
        self.with_conn(move |conn| Ok(conn.execute_batch(sql)?))
            .await
            .expect("test SQL runs");
    }

    /// Runs `work` with the connection on the blocking pool.
    async fn with_conn<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock leaves no half-done write: an open transaction
            // rolls back when dropped. So a poisoned lock is safe to take over.
            let mut guard = conn.lock().unwrap_or_else(PoisonError::into_inner);
            work(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
    }

    /// The lease taken as [`Store::acquire_lease`] says, with the tenant and head as stored.
    async fn take_lease(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<sqlite_lease::Begun, StoreError> {
        let (tenant, run_id) = (tenant.to_string(), run_id.to_string());
        let now_key = time_key(now)?;
        let expires = sqlite_lease::expiry_key(now, ttl)?;
        self.with_conn(move |conn| {
            sqlite_lease::acquire(conn, &tenant, &run_id, &now_key, &expires)
        })
        .await
    }
}

/// Semantics beyond the trait's words:
/// - listings take `limit` clamped to 1..=1000 ([`super::MAX_PAGE_SIZE`]); `next_cursor` is
///   `None` exactly on the last page; a cursor that this store did not make is an error;
/// - ids sort by their UTF-8 bytes; runs sort newest `started_at` first, then by run id;
/// - every `put_*` is an upsert; deleting something absent succeeds.
#[async_trait]
impl Store for SqliteStore {
    /// An INSERT for a new tenant (revision 0), else an UPDATE guarded by the revision.
    async fn put_tenant(&self, tenant: &Tenant) -> Result<u64, StoreError> {
        let id = tenant.id.to_string();
        let state = state_key(tenant.state);
        let next = tenant.next_sync_at.map(time_key).transpose()?;
        let body = tenant_record::encode(tenant)?;
        let read = i64::try_from(tenant.revision)
            .map_err(|_| StoreError::Backend("tenant revision out of range".into()))?;
        let written = self
            .with_conn(move |conn| {
                let sql = if read == 0 {
                    "INSERT INTO tenants (id, state, next_sync_at, body, revision)
                     VALUES (?1, ?2, ?3, ?4, 1) ON CONFLICT (id) DO NOTHING"
                } else {
                    "UPDATE tenants SET state = ?2, next_sync_at = ?3, body = ?4,
                         revision = revision + 1
                     WHERE id = ?1 AND revision = ?5"
                };
                let mut stmt = conn.prepare_cached(sql)?;
                Ok(if read == 0 {
                    stmt.execute(params![id, state, next, body])?
                } else {
                    stmt.execute(params![id, state, next, body, read])?
                })
            })
            .await?;
        match written {
            1 => Ok(tenant.revision + 1),
            _ => Err(StoreError::Stale),
        }
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let id = id.to_string();
        let body: Option<String> = self
            .with_conn(move |conn| {
                Ok(conn
                    .prepare_cached(&format!("SELECT {TENANT_BODY} FROM tenants WHERE id = ?1"))?
                    .query_row([id], |row| row.get(0))
                    .optional()?)
            })
            .await?;
        body.as_deref().map(tenant_record::decode).transpose()
    }

    async fn set_last_run(&self, id: &TenantId, summary: &RunSummary) -> Result<(), StoreError> {
        let id = id.to_string();
        let last_run = serde_json::to_string(summary)?;
        self.with_conn(move |conn| {
            conn.prepare_cached("UPDATE tenants SET last_run = ?2 WHERE id = ?1")?
                .execute(params![id, last_run])?;
            Ok(())
        })
        .await
    }

    /// Tenants in id order; the cursor holds the last id of the previous page.
    async fn list_tenants(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Tenant>, StoreError> {
        let limit = clamp_page_size(limit);
        let cursor = cursor.map(str::to_string);
        self.with_conn(move |conn| {
            key_page(
                conn,
                // No tenant column: `?1` stays unused (SQLite counts parameters by highest index).
                &format!(
                    "SELECT id, {TENANT_BODY} FROM tenants WHERE id > ?2 ORDER BY id LIMIT ?3"
                ),
                "",
                cursor,
                limit,
            )
        })
        .await
    }

    /// Active tenants with `next_sync_at <= now`, soonest first, ties by id. Tenants without
    /// a `next_sync_at` are never due.
    async fn due_tenants(
        &self,
        now: DateTime<Utc>,
        after: Option<&DueTenant>,
        limit: usize,
    ) -> Result<Vec<DueTenant>, StoreError> {
        let now = time_key(now)?;
        // Before every stored key: '' sorts first, and ids are never empty.
        let (after_at, after_id) = match after {
            Some(t) => (time_key(t.next_sync_at)?, t.id.to_string()),
            None => (String::new(), String::new()),
        };
        let limit = clamp_page_size(limit) as i64;
        let rows: Vec<(String, String, Option<String>)> = self
            .with_conn(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT id, next_sync_at, json_extract(body, '$.directory.schedule')
                     FROM tenants WHERE state = ?1 AND next_sync_at <= ?2
                         AND (next_sync_at, id) > (?3, ?4)
                     ORDER BY next_sync_at, id LIMIT ?5",
                )?;
                let active = state_key(TenantState::Active);
                let rows = stmt
                    .query_map(params![active, now, after_at, after_id, limit], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        rows.into_iter()
            .map(|(id, next, schedule)| {
                Ok(DueTenant {
                    id: parse_id(id, TenantId::parse)?,
                    next_sync_at: parse_time_key(&next)?,
                    // As DynamoDB's index keeps it: the default period without a config.
                    every_hours: schedule
                        .and_then(|s| serde_json::from_str::<Schedule>(&s).ok())
                        .map_or(1, |s| s.index_hours()),
                })
            })
            .collect()
    }

    /// One conditional UPDATE: the column and the copy in the JSON body move together.
    async fn advance_next_sync(
        &self,
        id: &TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let id = id.to_string();
        let (from_key, to_key) = (time_key(from)?, time_key(to)?);
        // The body holds the time as serde writes it, so that it reads back as `get_tenant`'s.
        let to_json = serde_json::to_string(&to)?;
        let changed = self
            .with_conn(move |conn| {
                Ok(conn
                    .prepare_cached(
                        "UPDATE tenants SET next_sync_at = ?1,
                             body = json_set(body, '$.next_sync_at', json(?2)),
                             revision = revision + 1
                         WHERE id = ?3 AND state = ?4 AND next_sync_at = ?5",
                    )?
                    .execute(params![
                        to_key,
                        to_json,
                        id,
                        state_key(TenantState::Active),
                        from_key
                    ])?)
            })
            .await?;
        Ok(changed == 1)
    }

    /// Removes the tenant row, its mappings (users' and objects'), runs, lease, login attempts
    /// and pushed resources in one transaction.
    async fn delete_tenant(&self, id: &TenantId) -> Result<(), StoreError> {
        let id = id.to_string();
        self.with_conn(move |conn| {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM mappings WHERE tenant = ?1", [&id])?;
            tx.execute("DELETE FROM object_mappings WHERE tenant = ?1", [&id])?;
            tx.execute("DELETE FROM runs WHERE tenant = ?1", [&id])?;
            tx.execute("DELETE FROM leases WHERE tenant = ?1", [&id])?;
            tx.execute("DELETE FROM login_attempts WHERE tenant = ?1", [&id])?;
            tx.execute("DELETE FROM pushed WHERE tenant = ?1", [&id])?;
            tx.execute("DELETE FROM read_states WHERE tenant = ?1", [&id])?;
            tx.execute("DELETE FROM tenants WHERE id = ?1", [&id])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Every mapping of the tenant, in object id order.
    async fn all_mappings(&self, tenant: &TenantId) -> Result<Vec<Mapping>, StoreError> {
        let tenant = tenant.to_string();
        let bodies: Vec<String> = self
            .with_conn(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT body FROM mappings WHERE tenant = ?1 ORDER BY object_id",
                )?;
                let rows = stmt
                    .query_map([tenant], |row| row.get(0))?
                    .collect::<Result<Vec<String>, _>>()?;
                Ok(rows)
            })
            .await?;
        from_json(bodies)
    }

    /// Mappings in object id order; the cursor holds the last object id of the previous page.
    async fn list_mappings(
        &self,
        tenant: &TenantId,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Mapping>, StoreError> {
        let tenant = tenant.to_string();
        let limit = clamp_page_size(limit);
        let cursor = cursor.map(str::to_string);
        self.with_conn(move |conn| {
            key_page(
                conn,
                "SELECT object_id, body FROM mappings WHERE tenant = ?1 AND object_id > ?2
                 ORDER BY object_id LIMIT ?3",
                &tenant,
                cursor,
                limit,
            )
        })
        .await
    }

    async fn put_mappings(
        &self,
        tenant: &TenantId,
        mappings: &[Mapping],
    ) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        let rows = mappings
            .iter()
            .map(|m| Ok((m.object_id.to_string(), serde_json::to_string(m)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.with_conn(move |conn| {
            let transaction = conn.transaction()?;
            {
                let mut upsert = transaction.prepare_cached(
                    "INSERT INTO mappings (tenant, object_id, body) VALUES (?1, ?2, ?3)
                     ON CONFLICT (tenant, object_id) DO UPDATE SET body = excluded.body",
                )?;
                for (object_id, body) in &rows {
                    upsert.execute(params![tenant, object_id, body])?;
                }
            }
            transaction.commit()?;
            Ok(())
        })
        .await
    }

    /// Both kinds, by kind then object id.
    async fn all_object_mappings(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<ObjectMapping>, StoreError> {
        let tenant = tenant.to_string();
        self.with_conn(move |conn| sqlite_objects::all(conn, &tenant))
            .await
    }

    async fn put_object_mapping(
        &self,
        tenant: &TenantId,
        mapping: &ObjectMapping,
    ) -> Result<(), StoreError> {
        let (tenant, mapping) = (tenant.to_string(), mapping.clone());
        self.with_conn(move |conn| sqlite_objects::put(conn, &tenant, &mapping))
            .await
    }

    async fn get_read_state(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<(ReadHead, ReadState)>, StoreError> {
        let tenant = tenant.to_string();
        let stored = self
            .with_conn(move |conn| sqlite_read_state::get(conn, &tenant))
            .await?;
        stored
            .map(|(head, body)| read_state_codec::decode(&head, &body))
            .transpose()
    }

    async fn put_read_state(&self, tenant: &TenantId, state: &KeptReads) -> Result<(), StoreError> {
        let (tenant, head) = (
            tenant.to_string(),
            read_state_codec::encode_head(&state.head)?,
        );
        let body = state.body.clone();
        self.with_conn(move |conn| sqlite_read_state::put(conn, &tenant, &head, &body))
            .await
    }

    async fn put_read_head(&self, tenant: &TenantId, head: &ReadHead) -> Result<(), StoreError> {
        let (tenant, json) = (tenant.to_string(), read_state_codec::encode_head(head)?);
        let body = head.body_sha256.clone();
        self.with_conn(move |conn| sqlite_read_state::put_head(conn, &tenant, &json, &body))
            .await
    }

    async fn delete_read_state(&self, tenant: &TenantId) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        self.with_conn(move |conn| sqlite_read_state::delete(conn, &tenant))
            .await
    }

    async fn delete_object_mapping(
        &self,
        tenant: &TenantId,
        kind: ObjectKind,
        object_id: &ObjectId,
    ) -> Result<(), StoreError> {
        let (tenant, object_id) = (tenant.to_string(), object_id.to_string());
        self.with_conn(move |conn| sqlite_objects::delete(conn, &tenant, kind, &object_id))
            .await
    }

    async fn delete_mapping(
        &self,
        tenant: &TenantId,
        object_id: &ObjectId,
    ) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        let object_id = object_id.to_string();
        self.with_conn(move |conn| {
            conn.prepare_cached("DELETE FROM mappings WHERE tenant = ?1 AND object_id = ?2")?
                .execute(params![tenant, object_id])?;
            Ok(())
        })
        .await
    }

    async fn put_run(&self, tenant: &TenantId, run: &RunRecord) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        let run_id = run.summary.run_id.to_string();
        let started_at = time_key(run.summary.started_at)?;
        // The summary gets its own column so that listing runs never parses whole plans.
        let summary = serde_json::to_string(&run.summary)?;
        let body = serde_json::to_string(run)?;
        self.with_conn(move |conn| {
            conn.prepare_cached(
                "INSERT INTO runs (tenant, run_id, started_at, summary, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant, run_id) DO UPDATE SET started_at = excluded.started_at,
                     summary = excluded.summary, body = excluded.body",
            )?
            .execute(params![tenant, run_id, started_at, summary, body])?;
            Ok(())
        })
        .await
    }

    async fn get_run(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
    ) -> Result<Option<RunRecord>, StoreError> {
        let tenant = tenant.to_string();
        let run_id = run_id.to_string();
        let body: Option<String> = self
            .with_conn(move |conn| {
                Ok(conn
                    .prepare_cached("SELECT body FROM runs WHERE tenant = ?1 AND run_id = ?2")?
                    .query_row(params![tenant, run_id], |row| row.get(0))
                    .optional()?)
            })
            .await?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    /// Newest `started_at` first; runs that started at the same instant in run id order.
    /// The cursor holds both keys of the last run of the previous page.
    async fn list_runs(
        &self,
        tenant: &TenantId,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<RunSummary>, StoreError> {
        let tenant = tenant.to_string();
        let limit = clamp_page_size(limit);
        let after = cursor.map(|c| decode_cursor(c, 2)).transpose()?;
        let (rows, more) = self
            .with_conn(move |conn| {
                let fetch = (limit + 1) as i64;
                let map = |row: &rusqlite::Row<'_>| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get(2)?,
                    ))
                };
                let rows = match after {
                    None => conn
                        .prepare_cached(
                            "SELECT started_at, run_id, summary FROM runs WHERE tenant = ?1
                             ORDER BY started_at DESC, run_id LIMIT ?2",
                        )?
                        .query_map(params![tenant, fetch], map)?
                        .collect::<Result<Vec<(String, String, String)>, _>>()?,
                    Some(keys) => conn
                        .prepare_cached(
                            "SELECT started_at, run_id, summary FROM runs WHERE tenant = ?1
                               AND (started_at < ?2 OR (started_at = ?2 AND run_id > ?3))
                             ORDER BY started_at DESC, run_id LIMIT ?4",
                        )?
                        .query_map(params![tenant, keys[0], keys[1], fetch], map)?
                        .collect::<Result<Vec<_>, _>>()?,
                };
                Ok(split_page(rows, limit))
            })
            .await?;
        let next_cursor = match rows.last() {
            Some((started_at, run_id, _)) if more => Some(encode_cursor(&[started_at, run_id])),
            _ => None,
        };
        let items = from_json(rows.into_iter().map(|(_, _, summary)| summary).collect())?;
        Ok(Page { items, next_cursor })
    }

    /// Succeeds when there is no lease, when it expired (`expires_at <= now`: the old holder
    /// is returned as `expired_run`), or when `run_id` already holds it (then it is extended,
    /// with no `expired_run`). Decided and written in one immediate transaction, so two
    /// acquirers, even in two processes, never both succeed.
    async fn acquire_lease(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseOutcome, StoreError> {
        Ok(self.take_lease(tenant, run_id, ttl, now).await?.lease)
    }

    /// One transaction: the lease taken, the tenant and head read.
    async fn begin_run(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<RunStart, StoreError> {
        let begun = self.take_lease(tenant, run_id, ttl, now).await?;
        Ok(RunStart {
            lease: begun.lease,
            tenant: begun
                .tenant
                .as_deref()
                .map(tenant_record::decode)
                .transpose()?,
            head: begun
                .head
                .map(|head| read_state_codec::decode_head(&head))
                .transpose(),
        })
    }

    async fn end_run(
        &self,
        tenant: &TenantId,
        summary: &RunSummary,
        run_id: &RunId,
    ) -> Result<(), StoreError> {
        let (tenant, run_id) = (tenant.to_string(), run_id.to_string());
        let last_run = serde_json::to_string(summary)?;
        self.with_conn(move |conn| sqlite_lease::release(conn, &tenant, &run_id, Some(&last_run)))
            .await
    }

    /// Extends the lease to `now + ttl` only if `run_id` holds it and it has not expired.
    async fn renew_lease(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (tenant, run_id) = (tenant.to_string(), run_id.to_string());
        let now_key = time_key(now)?;
        let expires = sqlite_lease::expiry_key(now, ttl)?;
        self.with_conn(move |conn| sqlite_lease::renew(conn, &tenant, &run_id, &now_key, &expires))
            .await
    }

    /// Deletes the lease only if `run_id` holds it (expired or not).
    async fn release_lease(&self, tenant: &TenantId, run_id: &RunId) -> Result<(), StoreError> {
        let (tenant, run_id) = (tenant.to_string(), run_id.to_string());
        self.with_conn(move |conn| sqlite_lease::release(conn, &tenant, &run_id, None))
            .await
    }

    /// The holder of a lease with `expires_at > now`.
    async fn lease_holder(
        &self,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<Option<RunId>, StoreError> {
        let tenant = tenant.to_string();
        let now_key = time_key(now)?;
        self.with_conn(move |conn| sqlite_lease::holder(conn, &tenant, &now_key))
            .await
    }

    async fn take_login_attempt(
        &self,
        tenant: &TenantId,
        key: &str,
        limit: LoginLimit,
        now: DateTime<Utc>,
    ) -> Result<LoginAttempt, StoreError> {
        let (tenant, key) = (tenant.to_string(), key.to_string());
        self.with_conn(move |conn| sqlite_login::take(conn, &tenant, &key, limit, now))
            .await
    }

    async fn return_login_attempt(
        &self,
        tenant: &TenantId,
        key: &str,
        clear: bool,
    ) -> Result<(), StoreError> {
        let (tenant, key) = (tenant.to_string(), key.to_string());
        self.with_conn(move |conn| sqlite_login::give_back(conn, &tenant, &key, clear))
            .await
    }

    async fn create_pushed(
        &self,
        tenant: &TenantId,
        resource: &PushedResource,
    ) -> Result<(), StoreError> {
        let (tenant, resource) = (tenant.to_string(), resource.clone());
        self.with_conn(move |conn| sqlite_pushed::create(conn, &tenant, &resource))
            .await
    }

    async fn replace_pushed(
        &self,
        tenant: &TenantId,
        resource: &PushedResource,
        expected: u64,
    ) -> Result<(), StoreError> {
        let (tenant, resource) = (tenant.to_string(), resource.clone());
        self.with_conn(move |conn| sqlite_pushed::replace(conn, &tenant, &resource, expected))
            .await
    }

    async fn get_pushed(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
        id: &ObjectId,
    ) -> Result<Option<PushedResource>, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.with_conn(move |conn| sqlite_pushed::get(conn, &tenant, kind, &id))
            .await
    }

    async fn find_pushed(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
        key: PushedKey,
        value: &str,
    ) -> Result<Vec<PushedResource>, StoreError> {
        let (tenant, value) = (tenant.to_string(), value.to_string());
        self.with_conn(move |conn| sqlite_pushed::find(conn, &tenant, kind, key, &value))
            .await
    }

    async fn all_pushed(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
    ) -> Result<Vec<PushedResource>, StoreError> {
        let tenant = tenant.to_string();
        self.with_conn(move |conn| sqlite_pushed::all(conn, &tenant, kind))
            .await
    }

    async fn count_pushed(&self, tenant: &TenantId, kind: PushedKind) -> Result<usize, StoreError> {
        let tenant = tenant.to_string();
        self.with_conn(move |conn| sqlite_pushed::count(conn, &tenant, kind))
            .await
    }

    async fn delete_pushed(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
        id: &ObjectId,
    ) -> Result<bool, StoreError> {
        let (tenant, id) = (tenant.to_string(), id.to_string());
        self.with_conn(move |conn| sqlite_pushed::delete(conn, &tenant, kind, &id))
            .await
    }
}

#[cfg(test)]
#[path = "sqlite_tests.rs"]
mod tests;
