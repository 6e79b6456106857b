//! Change-only reads through the engine, on the LDIF directory behind a change log (an
//! in-tree directory that says what changed since a version) and the PBX simulator with
//! ETags: when a run reads in full, what merging the changes does, and the unchanged run that
//! reads only the changes and the PBX's 304.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use dirsync::domain::{
    ChangeCursor, DirectoryChanges, DirectoryConfig, DirectoryRead, DirectoryUser, ObjectId,
    Outcome, PbxEndpoint, PbxRead, RunId, RunReads, RunRecord, Snapshot, Trigger, UserState,
};
use dirsync::error::{DirectoryError, PbxError};
use dirsync::ports::{Directory, Pbx, Secrets, Store, TenantSecrets};
use dirsync::sync::{Connector, DefaultConnector, EngineOptions, SyncEngine};
use dirsync_integration_tests::{fast_pbx_options, Harness, Person, ACCOUNT};
use serde_json::json;

/// What the directory read, by version: the cursor of version `n` is `n`.
#[derive(Default)]
struct Log {
    versions: Vec<Vec<DirectoryUser>>,
    full_reads: usize,
    change_reads: usize,
    /// `read_changes` answers `ChangesUnavailable` (an expired token, another DC).
    unavailable: bool,
    /// Users deleted without a record the directory keeps: left out of `deleted`.
    unrecorded: HashSet<ObjectId>,
    /// An account that expires at a time: every read says so, and a full read after it
    /// says the account is expired (a change read does not: no change is recorded then).
    expiring: Option<(ObjectId, DateTime<Utc>)>,
}

type Shared = Arc<Mutex<Log>>;

/// How many full reads and change reads the directory served.
fn counts(log: &Shared) -> (usize, usize) {
    let log = lock(log);
    (log.full_reads, log.change_reads)
}

fn lock(log: &Shared) -> std::sync::MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The LDIF directory with change reads: the changes since a version are the users whose read
/// differs from that version's, and the deletions those it had that are gone.
struct Tracked {
    inner: Box<dyn Directory>,
    log: Shared,
}

impl Tracked {
    /// The users with the expiry of `Log::expiring` set.
    fn with_expiry(&self, mut users: Vec<DirectoryUser>) -> Vec<DirectoryUser> {
        if let Some((id, at)) = lock(&self.log).expiring.clone() {
            for user in users.iter_mut().filter(|u| u.object_id == id) {
                user.expires_at = Some(at);
            }
        }
        users
    }

    fn record(&self, users: Vec<DirectoryUser>) -> ChangeCursor {
        let mut log = lock(&self.log);
        log.versions.push(users);
        ChangeCursor {
            provider: "test-log".into(),
            position: (log.versions.len() - 1).to_string(),
        }
    }
}

#[async_trait]
impl Directory for Tracked {
    async fn read_users(&self) -> Result<Snapshot, DirectoryError> {
        let mut snapshot = self.inner.read_users().await?;
        lock(&self.log).full_reads += 1;
        snapshot.users = self.with_expiry(snapshot.users);
        snapshot.change_cursor = Some(self.record(snapshot.users.clone()));
        for user in &mut snapshot.users {
            if user.expires_at.is_some_and(|at| at <= Utc::now()) {
                user.state = UserState::Expired;
            }
        }
        Ok(snapshot)
    }

    async fn read_changes(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<DirectoryChanges, DirectoryError> {
        let then = {
            let mut log = lock(&self.log);
            log.change_reads += 1;
            if log.unavailable {
                return Err(DirectoryError::ChangesUnavailable("the log was cut".into()));
            }
            let version: usize = cursor.position.parse().expect("our own cursor");
            log.versions[version].clone()
        };
        let now = self.with_expiry(self.inner.read_users().await?.users);
        let changed: Vec<DirectoryUser> =
            now.iter().filter(|u| !then.contains(u)).cloned().collect();
        let unrecorded = lock(&self.log).unrecorded.clone();
        let deleted = then
            .iter()
            .map(|u| u.object_id.clone())
            .filter(|id| !now.iter().any(|u| &u.object_id == id) && !unrecorded.contains(id))
            .collect();
        Ok(DirectoryChanges {
            changed,
            deleted,
            cursor: Some(self.record(now)),
            requests: 1,
            ..DirectoryChanges::default()
        })
    }
}

struct TrackedConnector {
    inner: DefaultConnector,
    log: Shared,
}

impl Connector for TrackedConnector {
    fn directory(
        &self,
        config: &DirectoryConfig,
        secrets: &TenantSecrets,
    ) -> Result<Box<dyn Directory>, DirectoryError> {
        Ok(Box::new(Tracked {
            inner: self.inner.directory(config, secrets)?,
            log: self.log.clone(),
        }))
    }

    fn pbx(
        &self,
        endpoint: &PbxEndpoint,
        secrets: &TenantSecrets,
    ) -> Result<Arc<dyn Pbx>, PbxError> {
        self.inner.pbx(endpoint, secrets)
    }
}

fn people(n: u32) -> Vec<Person> {
    (1..=n).map(Person::numbered).collect()
}

async fn tracked(people: &[Person], options: EngineOptions) -> (Harness, Shared) {
    let log = Shared::default();
    let shared = log.clone();
    let harness = Harness::with_connector(people, json!({}), options, move |root| {
        Arc::new(TrackedConnector {
            inner: DefaultConnector {
                ldif_root: Some(root),
                pbx_options: fast_pbx_options(),
                ..DefaultConnector::default()
            },
            log: shared,
        })
    })
    .await;
    (harness, log)
}

/// The same store, secrets and directory log under other engine options.
fn engine(h: &Harness, log: &Shared, options: EngineOptions) -> SyncEngine {
    SyncEngine::new(
        h.store.clone(),
        h.secrets.clone(),
        Arc::new(TrackedConnector {
            inner: DefaultConnector {
                ldif_root: Some(h.ldif_path.parent().expect("a folder").to_path_buf()),
                pbx_options: fast_pbx_options(),
                ..DefaultConnector::default()
            },
            log: log.clone(),
        }),
        options,
    )
}

fn reads(run: &RunRecord) -> RunReads {
    run.summary.reads.expect("a sync run says how it read")
}

fn reads_of(directory: DirectoryRead, pbx: PbxRead, planned: bool) -> RunReads {
    RunReads {
        directory,
        pbx,
        planned,
        // The log answers every change read in one request.
        directory_requests: (directory == DirectoryRead::Changes).then_some(1),
    }
}

#[tokio::test]
async fn an_unchanged_run_reads_only_the_changes_and_the_pbx_304() {
    let (h, log) = tracked(&people(3), EngineOptions::default()).await;
    let first = h.synced().await;
    assert_eq!(first.summary.counts.new, 3);
    assert_eq!(
        reads(&first),
        reads_of(DirectoryRead::Full, PbxRead::Full, true)
    );
    // The creates changed the listing's ETag: listed again, nothing to do.
    let second = h.synced().await;
    assert_eq!(
        reads(&second),
        reads_of(DirectoryRead::Changes, PbxRead::Full, true)
    );
    assert_eq!(second.summary.counts.unchanged, 3);
    let gets = h.simulator.stats(ACCOUNT).gets;
    let third = h.synced().await;
    assert_eq!(
        reads(&third),
        reads_of(DirectoryRead::Changes, PbxRead::NotModified, false)
    );
    assert_eq!(
        third.summary.counts, second.summary.counts,
        "the last run's counts"
    );
    assert_eq!(
        h.simulator.stats(ACCOUNT).gets,
        gets + 1,
        "one listing call, answered 304"
    );
    assert_eq!(counts(&log), (1, 2));
    // The status's last sync says so too.
    let tenant = h.store.get_tenant(&h.tenant).await.unwrap().unwrap();
    assert_eq!(tenant.last_run.and_then(|r| r.reads), third.summary.reads);

    // A change in the directory plans again, on the changes alone.
    let mut changed = people(3);
    changed[0].given = "Renamed".into();
    h.set_directory(&changed);
    let fourth = h.synced().await;
    assert_eq!(
        reads(&fourth),
        reads_of(DirectoryRead::Changes, PbxRead::NotModified, true)
    );
    assert_eq!(fourth.summary.counts.updated, 1);
    assert_eq!(h.extension(1001).first_name.as_deref(), Some("Renamed"));
    assert_eq!(lock(&log).full_reads, 1);
}

#[tokio::test]
async fn an_expiry_that_comes_plans_a_run_the_directory_shows_no_change_for() {
    let (h, log) = tracked(&people(3), EngineOptions::default()).await;
    let soon = Utc::now() + chrono::TimeDelta::seconds(3);
    let id = ObjectId::parse(Person::numbered(1).uuid).unwrap();
    lock(&log).expiring = Some((id, soon));
    h.synced().await;
    h.synced().await;
    let quiet = h.synced().await;
    assert_eq!(
        reads(&quiet),
        reads_of(DirectoryRead::Changes, PbxRead::NotModified, false),
        "before the expiry nothing changed"
    );
    let wait = (soon - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(100)).await;
    let expired = h.synced().await;
    assert_eq!(
        reads(&expired),
        reads_of(DirectoryRead::Changes, PbxRead::NotModified, true),
        "the kept head's expiry came: the run read the kept body and planned"
    );
    assert_eq!(expired.summary.counts.removed, 1, "{:?}", expired.summary);
    assert!(h
        .simulator
        .extensions(ACCOUNT)
        .iter()
        .all(|e| e.number != "1001"));
    assert_eq!(counts(&log).0, 1, "no full read");
}

#[tokio::test]
async fn deletions_need_a_record_or_a_full_read() {
    let (h, log) = tracked(&people(4), EngineOptions::default()).await;
    h.synced().await;
    // Person 2 deleted with a record, person 3 without one, person 5 new, person 1 renamed.
    let mut now = people(5);
    now[0].given = "Ann".into();
    now.retain(|p| !p.uuid.ends_with("000000000002") && !p.uuid.ends_with("000000000003"));
    lock(&log)
        .unrecorded
        .insert(ObjectId::parse(Person::numbered(3).uuid).unwrap());
    h.set_directory(&now);
    let run = h.synced().await;
    assert_eq!(reads(&run).directory, DirectoryRead::Changes);
    let numbers: HashSet<String> = h
        .simulator
        .extensions(ACCOUNT)
        .into_iter()
        .map(|e| e.number)
        .collect();
    let expected: HashSet<String> = ["1001", "1003", "1004", "1005"].map(String::from).into();
    assert_eq!(
        numbers, expected,
        "1002 removed by its record, 1003 kept, 1005 created"
    );
    assert_eq!(h.extension(1001).first_name.as_deref(), Some("Ann"));

    // The daily full read (here: every run) finds person 3 gone.
    let daily = engine(
        &h,
        &log,
        EngineOptions {
            full_read_every: Duration::ZERO,
            ..EngineOptions::default()
        },
    );
    let full = daily
        .run(&h.tenant, RunId::new(), Trigger::Schedule)
        .await
        .unwrap();
    assert_eq!(full.summary.outcome, Outcome::Success, "{:?}", full.errors);
    assert_eq!(reads(&full).directory, DirectoryRead::Full);
    assert_eq!(full.summary.counts.removed, 1);
    assert_eq!(h.simulator.extensions(ACCOUNT).len(), 3);
}

#[tokio::test]
async fn unavailable_changes_and_a_changed_config_read_in_full() {
    let (h, log) = tracked(&people(2), EngineOptions::default()).await;
    h.synced().await;
    lock(&log).unavailable = true;
    let mut now = people(2);
    now[1].sn = "Other".into();
    h.set_directory(&now);
    let fallback = h.synced().await;
    assert_eq!(reads(&fallback).directory, DirectoryRead::Full);
    assert_eq!(fallback.summary.counts.updated, 1);
    assert_eq!(counts(&log), (2, 1));

    lock(&log).unavailable = false;
    h.configure(json!({"welcome_email": true})).await;
    let reconfigured = h.synced().await;
    assert_eq!(reads(&reconfigured).directory, DirectoryRead::Full);
    assert_eq!(counts(&log), (3, 1));
    let after = h.synced().await;
    assert_eq!(reads(&after).directory, DirectoryRead::Changes);
}

#[tokio::test]
async fn a_failed_run_makes_the_next_one_read_in_full() {
    let (h, log) = tracked(&people(2), EngineOptions::default()).await;
    h.synced().await;
    // The PBX refuses the token: the run fails before any change.
    let mut secrets = h.secrets.get(&h.tenant).await.unwrap().unwrap();
    let token = secrets.pbx_token.replace("wrong-token".to_string().into());
    h.secrets.put(&h.tenant, &secrets).await.unwrap();
    assert_eq!(h.sync().await.summary.outcome, Outcome::Failed);
    secrets.pbx_token = token;
    h.secrets.put(&h.tenant, &secrets).await.unwrap();
    let full_reads = lock(&log).full_reads;
    let next = h.synced().await;
    assert_eq!(reads(&next).directory, DirectoryRead::Full);
    assert_eq!(lock(&log).full_reads, full_reads + 1);
}

#[tokio::test]
async fn disconnecting_forgets_the_kept_read() {
    let (h, _log) = tracked(&people(2), EngineOptions::default()).await;
    h.synced().await;
    assert!(h.store.get_read_state(&h.tenant).await.unwrap().is_some());
    dirsync::app::TenantService::new(h.store.clone(), h.secrets.clone())
        .forget_directory(&h.tenant, false)
        .await
        .unwrap();
    assert_eq!(h.store.get_read_state(&h.tenant).await.unwrap(), None);
}
