//! The no-op sync of a 10,000-user tenant (nothing changed), reading in full with nothing
//! kept (the hourly change-only run is `incremental`'s), against the bare paged read of the
//! same users, alternated round by round so that machine noise hits both: in the worker
//! process with its table on dynalite (moto's Query takes seconds for 10,000 mappings: see
//! `dirsync_integration_tests::dynalite`), and in this process on the embedded store.
//! `dirsync-bench -- noop` runs this part alone; `e2e` runs it after the moto part.

use std::path::Path;
use std::time::Duration;

use dirsync::directory::LdapDirectory;
use dirsync_integration_tests::e2e::{
    bare_read, forget_reads, scheduled_run, start_worker, DynamoDb, Peers, WorkerProcess, PEOPLE_OU,
};
use dirsync_pbx_sim::SimulatorOptions;
use serde_json::json;

use crate::e2e::{build_worker, median, ms, row, runtime, LATENCY, RATE, USERS};
use crate::Row;

const ROUNDS: usize = 5;
/// The first sync only makes the mappings: the PBX client is not held to `RATE` for it.
const SEED_RATE: u32 = 100_000;

pub fn run() -> Vec<Row> {
    let binary = build_worker();
    runtime().block_on(async {
        let mut rows = timed(&binary).await.0;
        rows.extend(crate::incremental::timed(&binary).await);
        rows
    })
}

/// The rows, and the worker's peak resident memory over its no-ops (bytes).
pub async fn timed(binary: &Path) -> (Vec<Row>, u64) {
    let peers = Peers::start_on(USERS, 0, DynamoDb::Dynalite).await;
    let logs = tempfile::tempdir().expect("log dir");
    let people = json!({"scope": {"type": "ous", "ous": [PEOPLE_OU]}});
    let tenant = peers.tenant("noop-a", peers.config(people.clone())).await;
    let mut seeder = start_worker(binary, &peers.worker_env(SEED_RATE), logs.path()).await;
    let first = scheduled_run(&peers, &mut seeder, &tenant).await;
    assert_eq!(
        first.record.summary.counts.new, USERS as usize,
        "first sync"
    );
    drop(seeder);

    let mut worker = start_worker(binary, &peers.worker_env(RATE), logs.path()).await;
    let directory = peers.directory(&peers.config(people));
    let mut rows = Vec::new();
    for latency in [Duration::ZERO, LATENCY] {
        peers.simulator.set_options(SimulatorOptions {
            rate_limit_per_second: Some(RATE),
            latency,
            ..SimulatorOptions::default()
        });
        let (mut reads, mut noops, mut queries) = (Vec::new(), Vec::new(), Vec::new());
        let mut cpu = Vec::new();
        for _ in 0..ROUNDS {
            reads.push(bare_read(&directory).await.0);
            forget_reads(peers.store.as_ref(), &tenant).await;
            let before = worker_cpu(&worker);
            let noop = scheduled_run(&peers, &mut worker, &tenant).await;
            cpu.push(worker_cpu(&worker).saturating_sub(before));
            assert_eq!(noop.pbx_writes(), 0, "a no-op writes nothing to the PBX");
            noops.push(noop.took);
            let query = noop.dynamodb.answer_time.get("Query").copied();
            queries.push(query.unwrap_or_default());
        }
        let (read, noop) = (median(reads), median(noops));
        let ratio = noop.as_secs_f64() / read.as_secs_f64();
        let (target, met) = if latency.is_zero() {
            ("<= 1.3", ratio <= 1.3)
        } else {
            (
                "reported (bound by the PBX listing's pages in sequence)",
                true,
            )
        };
        rows.push(row(
            format!(
                "no-op sync of {USERS} LDAP users in the worker, full reads (nothing kept), table on dynalite, PBX at {RATE} req/s + {} ms: {:.0} ms / bare paged read {:.0} ms (medians of {ROUNDS}; the worker used {:.0} ms of CPU; dynalite answered the mapping Query pages in {:.0} ms)",
                latency.as_millis(),
                ms(noop),
                ms(read),
                ms(median(cpu)),
                ms(median(queries))
            ),
            format!("{ratio:.2}"),
            target,
            met,
        ));
    }
    rows.push(embedded(&peers, &directory).await);
    (rows, worker.peak_rss_bytes().unwrap_or(0))
}

fn worker_cpu(worker: &WorkerProcess) -> Duration {
    worker
        .cpu_time()
        .expect("the worker's CPU time (/proc/PID/task/*/schedstat)")
}

/// The same no-op in this process on the embedded store (local mode's): the sync path with
/// no DynamoDB at all.
async fn embedded(peers: &Peers, directory: &LdapDirectory) -> Row {
    peers.simulator.set_options(SimulatorOptions::default());
    let people = json!({"scope": {"type": "ous", "ous": [PEOPLE_OU]}});
    let tenant = peers
        .embedded("noop-c", peers.config(people), SEED_RATE)
        .await;
    let (first, _) = tenant.run().await;
    assert_eq!(
        first.summary.counts.new, USERS as usize,
        "embedded first sync"
    );
    peers.simulator.set_options(SimulatorOptions {
        rate_limit_per_second: Some(RATE),
        ..SimulatorOptions::default()
    });
    let (mut reads, mut noops, mut listings, mut mappings) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        reads.push(bare_read(directory).await.0);
        tenant.forget_reads().await;
        let (record, took) = tenant.run().await;
        assert_eq!(record.summary.counts.unchanged, USERS as usize);
        noops.push(took);
        let (listing, mapping) = tenant.reads().await;
        listings.push(listing);
        mappings.push(mapping);
    }
    let (read, noop) = (median(reads), median(noops));
    let ratio = noop.as_secs_f64() / read.as_secs_f64();
    row(
        format!(
            "no-op sync of {USERS} LDAP users on the embedded store, full reads (nothing kept), PBX limited to {RATE} req/s: {:.0} ms / bare paged read {:.0} ms (medians of {ROUNDS}; alone, the PBX listing takes {:.0} ms and the mappings {:.0} ms)",
            ms(noop),
            ms(read),
            ms(median(listings)),
            ms(median(mappings))
        ),
        format!("{ratio:.2}"),
        "<= 1.3",
        ratio <= 1.3,
    )
}
