use std::time::Duration;

use chrono::{TimeZone, Utc};

use super::*;
use crate::domain::{ExtensionId, MappingLink, RunSummary, TenantState, Trigger};
use crate::store::conformance;

fn tenant_id(raw: &str) -> TenantId {
    TenantId::parse(raw).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_passes_conformance() {
    let memory = SqliteStore::in_memory().unwrap();
    conformance::run_all(&memory).await;

    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("state.db");
    let file = SqliteStore::open(&path).unwrap();
    conformance::run_all(&file).await;

    // Data outlives the store: write, drop, reopen.
    let id = tenant_id("persisted");
    let now = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
    let mut tenant = Tenant::new(id.clone(), now);
    tenant.state = TenantState::Active;
    tenant.next_sync_at = Some(now);
    file.put_tenant(&tenant).await.unwrap();
    let mapping = Mapping {
        avatar_seen: None,
        sip_password_hash: Default::default(),
        avatar_sha256: None,
        object_id: ObjectId::parse("obj-1").unwrap(),
        link: MappingLink::Linked {
            extension_id: ExtensionId::parse("ext-1").unwrap(),
            disabled_by_sync: false,
        },
        number: "101".into(),
        first_name: Some("Ann".into()),
        last_name: None,
        email: Some("ann@example.com".into()),
        last_synced_at: now,
    };
    file.put_mappings(&id, std::slice::from_ref(&mapping))
        .await
        .unwrap();
    let run_id = RunId::parse("run-1").unwrap();
    let run = RunRecord::new(RunSummary::started(run_id.clone(), Trigger::Manual, now));
    file.put_run(&id, &run).await.unwrap();
    let ttl = Duration::from_secs(60);
    file.acquire_lease(&id, &run_id, ttl, now).await.unwrap();
    drop(file);

    let reopened = SqliteStore::open(&path).unwrap();
    let got = reopened.get_tenant(&id).await.unwrap().unwrap();
    assert_eq!(got.next_sync_at, Some(now));
    let due = reopened.due_tenants(now, None, 10).await.unwrap();
    assert_eq!(due.iter().map(|d| &d.id).collect::<Vec<_>>(), vec![&id]);
    assert_eq!(reopened.all_mappings(&id).await.unwrap(), vec![mapping]);
    assert_eq!(reopened.get_run(&id, &run_id).await.unwrap(), Some(run));
    assert_eq!(reopened.lease_holder(&id, now).await.unwrap(), Some(run_id));
}

#[test]
fn file_store_uses_wal_and_records_its_schema_version() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("state.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, sqlite_schema::SCHEMA_VERSION);
    drop(conn);
    // Opening again keeps the schema (no "table exists" error).
    drop(SqliteStore::open(&path).unwrap());
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_and_its_wal_and_shm_are_0600_even_when_an_older_release_left_them_open() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("state.db");
    let files = ["state.db", "state.db-wal", "state.db-shm"].map(|f| dir.path().join(f));
    let write = |store: SqliteStore, id: &'static str| async move {
        let tenant = Tenant::new(tenant_id(id), Utc::now());
        store.put_tenant(&tenant).await.unwrap();
        store
    };
    let store = write(SqliteStore::open(&path).unwrap(), "acme").await;
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    drop(store);
    for file in &files {
        if file.exists() {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let _store = write(SqliteStore::open(&path).unwrap(), "other").await;
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("state.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(err.to_string().contains("schema version 99"), "{err}");
}

/// Two processes on one state file are two connections: the lease must still have one winner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_connections_to_one_file_never_both_acquire() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("state.db");
    let (one, two) = (
        SqliteStore::open(&path).unwrap(),
        SqliteStore::open(&path).unwrap(),
    );
    let now = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    let ttl = Duration::from_secs(60);
    let (a, b) = (
        RunId::parse("run-a").unwrap(),
        RunId::parse("run-b").unwrap(),
    );
    for round in 0..200 {
        let t = tenant_id(&format!("race-{round}"));
        one.put_tenant(&Tenant::new(t.clone(), now)).await.unwrap();
        let (first, second) = tokio::join!(
            one.acquire_lease(&t, &a, ttl, now),
            two.acquire_lease(&t, &b, ttl, now),
        );
        let wins = [first.unwrap(), second.unwrap()]
            .iter()
            .filter(|o| matches!(o, LeaseOutcome::Acquired { .. }))
            .count();
        assert_eq!(wins, 1, "round {round}");
    }
}

/// Two processes on one state file creating one SCIM name: the unique index has one winner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_connections_to_one_file_never_both_take_a_name() {
    use crate::domain::{PushedKind, PushedResource};
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("state.db");
    let (one, two) = (
        SqliteStore::open(&path).unwrap(),
        SqliteStore::open(&path).unwrap(),
    );
    let now = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    let user = |id: &str, name: &str| PushedResource {
        kind: PushedKind::User,
        id: ObjectId::parse(id).unwrap(),
        external_id: None,
        name: name.into(),
        version: 1,
        created: now,
        last_modified: now,
        attributes: serde_json::json!({}),
    };
    let t = tenant_id("race-names");
    for round in 0..100 {
        let (a, b) = (
            user(&format!("a-{round}"), &format!("User{round}")),
            user(&format!("b-{round}"), &format!("user{round}")),
        );
        let (first, second) = tokio::join!(one.create_pushed(&t, &a), two.create_pushed(&t, &b));
        let results = [first, second];
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {results:?}");
        assert!(results
            .iter()
            .any(|r| matches!(r, Err(StoreError::NameTaken))));
    }
    assert_eq!(
        one.all_pushed(&t, PushedKind::User).await.unwrap().len(),
        100
    );
}

/// Patches bodies in place with SQLite's own `json_patch` (RFC 7396), as a newer release's
/// writes would leave them.
#[async_trait::async_trait]
impl conformance::RawRecords for SqliteStore {
    async fn merge_into_body(
        &self,
        tenant: &TenantId,
        record: conformance::StoredRecord<'_>,
        patch: &serde_json::Value,
    ) {
        let (tenant, patch) = (tenant.to_string(), patch.to_string());
        let (sql, key) = match record {
            conformance::StoredRecord::Tenant => (
                "UPDATE tenants SET body = json_patch(body, ?2) WHERE id = ?1 AND ?3 = ''",
                String::new(),
            ),
            conformance::StoredRecord::Mapping(object) => (
                "UPDATE mappings SET body = json_patch(body, ?2) WHERE tenant = ?1 AND object_id = ?3",
                object.to_string(),
            ),
            conformance::StoredRecord::Object(kind, object) => (
                "UPDATE object_mappings SET body = json_patch(body, ?2)
                 WHERE tenant = ?1 AND kind || '#' || object_id = ?3",
                format!("{}#{object}", kind.as_str()),
            ),
            conformance::StoredRecord::Pushed(kind, id) => (
                "UPDATE pushed SET body = json_patch(body, ?2)
                 WHERE tenant = ?1 AND kind || '#' || id = ?3",
                format!("{}#{id}", super::super::pushed_record::kind_name(kind)),
            ),
            conformance::StoredRecord::Run(run) => (
                "UPDATE runs SET body = json_patch(body, ?2), summary = json_patch(summary, ?2)
                 WHERE tenant = ?1 AND run_id = ?3",
                run.to_string(),
            ),
        };
        let changed = self
            .with_conn(move |conn| Ok(conn.execute(sql, params![tenant, patch, key])?))
            .await
            .unwrap();
        assert_eq!(changed, 1, "the record to patch exists");
    }

    async fn put_object_of_unknown_kind(
        &self,
        tenant: &TenantId,
        kind: &str,
        object_id: &str,
        body: &serde_json::Value,
    ) {
        let row = [
            tenant.to_string(),
            kind.into(),
            object_id.into(),
            body.to_string(),
        ];
        self.with_conn(move |conn| {
            Ok(conn.execute(
                "INSERT INTO object_mappings (tenant, kind, object_id, body) VALUES (?1, ?2, ?3, ?4)",
                params![row[0], row[1], row[2], row[3]],
            )?)
        })
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn sqlite_reads_records_from_a_newer_release() {
    let store = SqliteStore::in_memory().unwrap();
    conformance::records_from_a_newer_release_read(&store, &store).await;
}

/// A state file of schema version 1 (the last run inside the body) opens with its last run.
#[tokio::test]
async fn schema_1_files_keep_their_last_run() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("state.db");
    let now = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
    let id = tenant_id("old-file");
    let summary = RunSummary::started(RunId::parse("run-old").unwrap(), Trigger::Manual, now);
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(sqlite_schema::SCHEMA_V1_FOR_TESTS)
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        let mut body = serde_json::to_value(Tenant::new(id.clone(), now)).unwrap();
        body["last_run"] = serde_json::to_value(&summary).unwrap();
        conn.execute(
            "INSERT INTO tenants (id, state, next_sync_at, body) VALUES (?1, 'disconnected', NULL, ?2)",
            params![id.to_string(), body.to_string()],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let got = store.get_tenant(&id).await.unwrap().unwrap();
    assert_eq!(got.last_run, Some(summary));
    assert_eq!(got.revision, 1);
    store
        .put_tenant(&got)
        .await
        .expect("a migrated tenant takes writes");
}

/// A state file of schema version 2 opens with its data, and takes object mappings.
#[tokio::test]
async fn schema_2_files_keep_their_data() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("state.db");
    let now = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
    let id = tenant_id("v2-file");
    let mapping = Mapping {
        avatar_seen: None,
        sip_password_hash: Default::default(),
        avatar_sha256: None,
        object_id: ObjectId::parse("obj-2").unwrap(),
        link: MappingLink::Linked {
            extension_id: ExtensionId::parse("ext-2").unwrap(),
            disabled_by_sync: false,
        },
        number: "102".into(),
        first_name: Some("Bo".into()),
        last_name: None,
        email: None,
        last_synced_at: now,
    };
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(sqlite_schema::SCHEMA_V1_FOR_TESTS)
            .unwrap();
        conn.execute_batch(sqlite_schema::SCHEMA_V2_FOR_TESTS)
            .unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        let body = serde_json::to_value(Tenant::new(id.clone(), now)).unwrap();
        conn.execute(
            "INSERT INTO tenants (id, state, next_sync_at, body, revision)
             VALUES (?1, 'disconnected', NULL, ?2, 4)",
            params![id.to_string(), body.to_string()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO mappings (tenant, object_id, body) VALUES (?1, 'obj-2', ?2)",
            params![id.to_string(), serde_json::to_string(&mapping).unwrap()],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let got = store.get_tenant(&id).await.unwrap().unwrap();
    assert_eq!(got.revision, 4);
    assert_eq!(store.all_mappings(&id).await.unwrap(), vec![mapping]);
    assert!(store.all_object_mappings(&id).await.unwrap().is_empty());
    let group = ObjectMapping {
        kind: ObjectKind::Group,
        object_id: ObjectId::parse("g-1").unwrap(),
        link: crate::domain::ObjectLink::Linked {
            pbx_id: "grp-1".into(),
        },
        name: "Sales".into(),
        last_synced_at: now,
    };
    store.put_object_mapping(&id, &group).await.unwrap();
    drop(store);
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(
        reopened.all_object_mappings(&id).await.unwrap(),
        vec![group]
    );
}

/// A state file of schema version 4 opens at version 5 with its data, and keeps pushed
/// resources across a reopen.
#[tokio::test]
async fn schema_4_files_take_pushed_resources() {
    use crate::domain::{PushedKind, PushedResource};
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("state.db");
    let now = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
    let id = tenant_id("v4-file");
    {
        let conn = Connection::open(&path).unwrap();
        for step in [
            sqlite_schema::SCHEMA_V1_FOR_TESTS,
            sqlite_schema::SCHEMA_V2_FOR_TESTS,
            sqlite_schema::SCHEMA_V3_FOR_TESTS,
            sqlite_schema::SCHEMA_V4_FOR_TESTS,
        ] {
            conn.execute_batch(step).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        let body = serde_json::to_value(Tenant::new(id.clone(), now)).unwrap();
        conn.execute(
            "INSERT INTO tenants (id, state, next_sync_at, body, revision)
             VALUES (?1, 'disconnected', NULL, ?2, 3)",
            params![id.to_string(), body.to_string()],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.get_tenant(&id).await.unwrap().unwrap().revision, 3);
    let resource = PushedResource {
        kind: PushedKind::User,
        id: ObjectId::parse("u-1").unwrap(),
        external_id: Some("00u1".into()),
        name: "ann@example.com".into(),
        version: 1,
        created: now,
        last_modified: now,
        attributes: serde_json::json!({"userName": "ann@example.com"}),
    };
    store.create_pushed(&id, &resource).await.unwrap();
    drop(store);
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(
        reopened.all_pushed(&id, PushedKind::User).await.unwrap(),
        vec![resource]
    );
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, sqlite_schema::SCHEMA_VERSION);
}
