//! Syncs under failure: a directory read that fails part-way, a PBX that fails a share of its
//! calls, and a run killed in the middle of applying.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use dirsync::domain::{
    DirectoryConfig, MappingLink, NewExtension, Outcome, RunId, RunRecord, RunSummary, Snapshot,
    Trigger, MANAGED_BY,
};
use dirsync::error::DirectoryError;
use dirsync::ports::{Directory, LeaseOutcome, Store, TenantSecrets};
use dirsync::sync::{Connector, DefaultConnector, EngineOptions};
use dirsync_integration_tests::{fast_pbx_options, Harness, Person, ACCOUNT};
use dirsync_pbx_sim::{SimExtension, SimulatorOptions};
use serde_json::json;

fn people(n: u32) -> Vec<Person> {
    (1..=n).map(Person::numbered).collect()
}

/// No two extensions share a number or an email, and every directory user has exactly one.
fn assert_converged(exts: &[SimExtension], users: u32) {
    let numbers: HashSet<_> = exts.iter().map(|e| e.number.clone()).collect();
    let emails: HashSet<_> = exts.iter().filter_map(|e| e.email.clone()).collect();
    assert_eq!(
        exts.len(),
        users as usize,
        "one extension per user, no duplicate"
    );
    assert_eq!(numbers.len(), exts.len());
    assert_eq!(emails.len(), exts.len());
    for n in 1..=users {
        assert!(
            numbers.contains(&format!("{}", 1000 + n)),
            "user {n} has an extension"
        );
    }
}

#[tokio::test]
async fn a_corrupt_directory_export_fails_the_run_and_removes_nothing() {
    let dir = people(4);
    let h = Harness::new(&dir, json!({})).await;
    h.sync().await;
    // The export is cut off in the middle of an entry, with a broken base64 value.
    let full = dirsync_integration_tests::ldif(&dir);
    let cut = format!(
        "{}\ndn: uid=x,dc=example,dc=com\ncn:: ***not base64",
        &full[..full.len() / 3]
    );
    std::fs::write(&h.ldif_path, cut).unwrap();
    let run = h.sync().await;
    assert_eq!(run.summary.outcome, Outcome::Failed);
    assert!(
        run.summary.error.as_deref().unwrap_or("").contains("line"),
        "{:?}",
        run.summary.error
    );
    assert_eq!(h.simulator.extensions(ACCOUNT).len(), 4, "nothing removed");
    assert_eq!(h.store.all_mappings(&h.tenant).await.unwrap().len(), 4);
}

/// A directory that reads part of the users and then reports the read incomplete, as a
/// provider does when a page fails.
struct HalfRead;

#[async_trait]
impl Directory for HalfRead {
    async fn read_users(&self) -> Result<Snapshot, DirectoryError> {
        Err(DirectoryError::Incomplete {
            users_read: 2,
            reason: "connection reset while reading page 2".into(),
        })
    }
}

struct HalfReadConnector(DefaultConnector);

impl Connector for HalfReadConnector {
    fn directory(
        &self,
        _: &DirectoryConfig,
        _: &TenantSecrets,
    ) -> Result<Box<dyn Directory>, DirectoryError> {
        Ok(Box::new(HalfRead))
    }
    fn pbx(
        &self,
        endpoint: &dirsync::domain::PbxEndpoint,
        secrets: &TenantSecrets,
    ) -> Result<Arc<dyn dirsync::ports::Pbx>, dirsync::error::PbxError> {
        self.0.pbx(endpoint, secrets)
    }
}

#[tokio::test]
async fn a_directory_read_that_fails_halfway_removes_nothing() {
    let dir = people(4);
    let healthy = Harness::new(&dir, json!({})).await;
    healthy.sync().await;
    // The same store and PBX, now behind a directory that fails mid-read.
    let broken = dirsync::sync::SyncEngine::new(
        healthy.store.clone(),
        healthy.secrets.clone(),
        Arc::new(HalfReadConnector(DefaultConnector {
            ldif_root: Some(PathBuf::from("/")),
            pbx_options: fast_pbx_options(),
            ..DefaultConnector::default()
        })),
        EngineOptions::default(),
    );
    let writes = healthy.simulator.stats(ACCOUNT).writes;
    let run = broken
        .run(&healthy.tenant, RunId::new(), Trigger::Manual)
        .await
        .unwrap();
    assert_eq!(run.summary.outcome, Outcome::Failed);
    assert!(run.summary.error.unwrap().contains("cut short"));
    assert_eq!(
        healthy.simulator.stats(ACCOUNT).writes,
        writes,
        "no PBX change"
    );
    assert_eq!(healthy.simulator.extensions(ACCOUNT).len(), 4);
    assert!(
        broken.preview(&healthy.tenant).await.is_err(),
        "preview refuses it too"
    );
}

#[tokio::test]
async fn pbx_faults_at_20_percent_still_converge_without_duplicates() {
    let dir = people(40);
    let h = Harness::new(&dir, json!({})).await;
    h.simulator.set_options(SimulatorOptions {
        fault_rate: 0.1,
        fault_after_commit_rate: 0.1,
        seed: 7,
        ..SimulatorOptions::default()
    });
    let mut outcomes = Vec::new();
    for _ in 0..5 {
        let run = h.sync().await;
        outcomes.push(run.summary.outcome);
        if run.summary.outcome == Outcome::Success && run.summary.counts.new == 0 {
            break;
        }
    }
    let stats = h.simulator.stats(ACCOUNT);
    assert!(
        stats.injected_429 + stats.injected_5xx > 0,
        "faults were injected"
    );
    assert_converged(&h.simulator.extensions(ACCOUNT), 40);
    assert_eq!(h.store.all_mappings(&h.tenant).await.unwrap().len(), 40);
    assert_eq!(outcomes.last(), Some(&Outcome::Success), "{outcomes:?}");
}

#[tokio::test]
async fn a_run_killed_mid_apply_converges_when_run_again() {
    let dir = people(30);
    let options = EngineOptions {
        lease_ttl: Duration::from_millis(600),
        concurrency: 2,
        ..EngineOptions::default()
    };
    let h = Harness::with_connector(&dir, json!({}), options, |root| {
        Arc::new(DefaultConnector {
            ldif_root: Some(root),
            pbx_options: fast_pbx_options(),
            ..DefaultConnector::default()
        })
    })
    .await;
    h.simulator.set_options(SimulatorOptions {
        latency: Duration::from_millis(20),
        fault_after_commit_rate: 0.2,
        seed: 3,
        ..SimulatorOptions::default()
    });
    let killed_run = RunId::new();
    let engine = h.engine.clone();
    let tenant = h.tenant.clone();
    let killed_id = killed_run.clone();
    let task = tokio::spawn(async move { engine.run(&tenant, killed_id, Trigger::Manual).await });
    tokio::time::sleep(Duration::from_millis(250)).await;
    task.abort();
    let _ = task.await;
    let created = h.simulator.extensions(ACCOUNT).len();
    assert!(
        created > 0 && created < 30,
        "killed mid-apply ({created} created)"
    );

    // The dead run's lease blocks others until it expires.
    let blocked = h.engine.run(&h.tenant, RunId::new(), Trigger::Manual).await;
    assert!(blocked.is_err(), "lease still held");
    tokio::time::sleep(Duration::from_millis(700)).await;
    h.simulator.set_options(SimulatorOptions::default());
    let rerun = h.sync().await;
    assert_eq!(
        rerun.summary.outcome,
        Outcome::Success,
        "{:?}",
        rerun.summary.error
    );
    assert_converged(&h.simulator.extensions(ACCOUNT), 30);
    let old = h
        .store
        .get_run(&h.tenant, &killed_run)
        .await
        .unwrap()
        .expect("killed run recorded");
    assert_eq!(old.summary.outcome, Outcome::Interrupted);
    assert!(old.summary.finished_at.is_some());
    assert!(old.summary.error.unwrap().contains("interrupted"));
    // Every extension it made has its mapping, linked or pending (an answer it never saw).
    let in_doubt: usize = old
        .summary
        .summary
        .split("; ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .map_or(0, |n| n.parse().unwrap());
    assert!(
        old.summary.counts.new + in_doubt >= created,
        "{created} created: {}",
        old.summary.summary
    );
    assert_eq!(h.sync().await.summary.summary, "Everything is up to date");
}

/// A harness whose tenant has ten mappings, and a run record left `running` (its worker
/// died, as with `kill -9`) whose lease has expired: of the mappings, user 1's predates the
/// run, user 2's extension it disabled, user 10's create it sent without seeing the answer,
/// and the other seven it created or updated.
async fn crashed_run() -> (Harness, RunId) {
    let options = EngineOptions {
        lease_ttl: Duration::from_millis(600),
        ..EngineOptions::default()
    };
    let h = Harness::with_connector(&people(10), json!({}), options, |root| {
        Arc::new(DefaultConnector {
            ldif_root: Some(root),
            pbx_options: fast_pbx_options(),
            ..DefaultConnector::default()
        })
    })
    .await;
    let started = Utc::now();
    h.sync().await;
    let crashed = RunId::new();
    let record = RunRecord::new(RunSummary::started(
        crashed.clone(),
        Trigger::Manual,
        started,
    ));
    h.store.put_run(&h.tenant, &record).await.unwrap();
    let ttl = Duration::from_millis(50);
    let lease = h.store.acquire_lease(&h.tenant, &crashed, ttl, Utc::now());
    assert!(matches!(
        lease.await.unwrap(),
        LeaseOutcome::Acquired { .. }
    ));
    let mut mappings = h.store.all_mappings(&h.tenant).await.unwrap();
    mappings.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    mappings[0].last_synced_at = started - chrono::Duration::hours(1);
    if let MappingLink::Linked {
        disabled_by_sync, ..
    } = &mut mappings[1].link
    {
        *disabled_by_sync = true;
    }
    mappings[9].link = MappingLink::Pending {
        idempotency_key: "key-of-the-crashed-run".into(),
        request: NewExtension {
            job_title: Default::default(),
            send_welcome_email: false,
            organization_id: Default::default(),
            number: mappings[9].number.clone(),
            first_name: mappings[9].first_name.clone(),
            last_name: mappings[9].last_name.clone(),
            email: mappings[9].email.clone(),
            mobile: None,
            managed_by: MANAGED_BY.into(),
        },
    };
    h.store.put_mappings(&h.tenant, &mappings).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    (h, crashed)
}

async fn assert_closed_as_interrupted(h: &Harness, crashed: &RunId) {
    let old = h
        .store
        .get_run(&h.tenant, crashed)
        .await
        .unwrap()
        .expect("crashed run recorded");
    let summary = old.summary;
    assert_eq!(summary.outcome, Outcome::Interrupted);
    assert_eq!(
        summary.summary,
        "7 new or updated, 1 removed (interrupted; 1 create in doubt)"
    );
    assert_eq!((summary.counts.new, summary.counts.removed), (7, 1));
    assert_eq!(summary.removed, ["Given2 Family2"]);
    assert!(summary.new.is_empty(), "more than 5: only the count");
    assert!(summary.finished_at.is_some());
    assert!(summary.error.unwrap().contains("in doubt"));
}

#[tokio::test]
async fn a_run_taken_over_reads_interrupted_with_the_counts_of_its_mappings() {
    let (h, crashed) = crashed_run().await;
    h.sync().await;
    assert_closed_as_interrupted(&h, &crashed).await;
}

#[tokio::test]
async fn a_disconnect_that_takes_the_lease_over_closes_the_run_first() {
    let (h, crashed) = crashed_run().await;
    h.engine.release_all(&h.tenant).await.unwrap();
    assert_closed_as_interrupted(&h, &crashed).await;
}

/// A run that takes a while shows its counts so far in its record while it applies (what the
/// Directory Sync page polls), and its final counts once it ends.
#[tokio::test]
async fn a_long_run_shows_its_counts_while_it_applies() {
    let options = EngineOptions {
        concurrency: 1,
        progress_every: Duration::from_millis(40),
        ..EngineOptions::default()
    };
    let h = Harness::with_connector(&people(12), json!({}), options, |root| {
        Arc::new(DefaultConnector {
            ldif_root: Some(root),
            pbx_options: fast_pbx_options(),
            ..DefaultConnector::default()
        })
    })
    .await;
    h.simulator.set_options(SimulatorOptions {
        latency: Duration::from_millis(25),
        ..h.simulator.options()
    });
    let run = RunId::new();
    let watch = async {
        let mut seen = Vec::new();
        loop {
            match h.store.get_run(&h.tenant, &run).await.unwrap() {
                Some(r) if r.summary.outcome != Outcome::Running => return seen,
                Some(r) => seen.push(r.summary.counts.new),
                None => {}
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let (record, seen) = tokio::join!(h.engine.run(&h.tenant, run.clone(), Trigger::Manual), watch);
    assert_eq!(record.unwrap().summary.counts.new, 12);
    assert!(
        seen.iter().any(|&n| n > 0 && n < 12),
        "counts so far were shown while the run went: {seen:?}"
    );
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
}
