//! The whole sync path at the record limit: the real worker binary (built here in release
//! mode) under a local Lambda Runtime API, reading 10,000 users from slapd, planning, writing
//! the PBX simulator (rate limit, latency, faults) and DynamoDB on moto through a metering
//! proxy; then the no-op timings of [`crate::noop`]. Each ratio is measured in the same run
//! as its reference. `dirsync-bench -- e2e` runs the planner alone first, so that its row is
//! in the same table.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dirsync::domain::Outcome;
use dirsync_integration_tests::e2e::{
    scheduled_run, start_worker, Peers, RunResult, WorkerProcess, PEOPLE_OU,
};
use dirsync_pbx_sim::SimulatorOptions;
use serde_json::json;

use crate::Row;

pub(crate) const USERS: u32 = 10_000;
const OVER_LIMIT: u32 = 50;
/// The PBX's rate limit (requests per second) and added latency of the first sync.
pub(crate) const RATE: u32 = 200;
pub(crate) const LATENCY: Duration = Duration::from_millis(20);
const STARTS: usize = 5;

pub fn run() -> Vec<Row> {
    let binary = build_worker();
    runtime().block_on(async {
        let (mut rows, moto_rss) = end_to_end(&binary).await;
        let (noop_rows, noop_rss) = crate::noop::timed(&binary).await;
        rows.extend(noop_rows);
        rows.extend(crate::incremental::timed(&binary).await);
        let peak = moto_rss.max(noop_rss) as f64 / (1024.0 * 1024.0);
        rows.push(row(
            format!(
                "peak resident memory of the worker process over every run above ({USERS} users)"
            ),
            format!("{peak:.1} MB"),
            "< 64 MB",
            peak > 0.0 && peak < 64.0,
        ));
        rows
    })
}

/// The change-only read figures of [`crate::incremental`] alone.
pub fn incremental() -> Vec<Row> {
    let binary = build_worker();
    runtime().block_on(crate::incremental::timed(&binary))
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// `cargo build --release -p dirsync-worker`, next to this binary.
pub(crate) fn build_worker() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--release", "--locked", "-p", "dirsync-worker"]);
    // `cargo run` gave this process its package's CARGO_PKG_* variables; some build scripts
    // (ring's) watch them, and would rebuild half the tree for the worker and back again.
    for (name, _) in std::env::vars() {
        let from_cargo_run = [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix));
        if from_cargo_run || name == "CARGO_PRIMARY_PACKAGE" || name == "OUT_DIR" {
            build.env_remove(name);
        }
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "the worker binary did not build");
    let here = std::env::current_exe().expect("this binary's path");
    here.with_file_name("dirsync-worker")
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// A row of the table, also shown at once: a long run tells its progress.
pub(crate) fn row(figure: String, value: String, target: &str, met: bool) -> Row {
    eprintln!("e2e: {figure}: {value}");
    Row {
        figure,
        value,
        target: target.into(),
        met,
    }
}

/// The moto part, and the worker's peak resident memory over it (bytes).
async fn end_to_end(binary: &Path) -> (Vec<Row>, u64) {
    let mut rows = Vec::new();
    let peers = Peers::start(USERS, OVER_LIMIT).await;
    let logs = tempfile::tempdir().expect("log dir");
    let env = peers.worker_env(RATE);

    // Start-up: spawn to the first poll for an event, as Lambda's init phase ends.
    let mut starts = Vec::new();
    for _ in 0..STARTS {
        starts.push(start_worker(binary, &env, logs.path()).await.ready_after);
    }
    let start = median(starts);
    rows.push(row(
        format!("worker binary start to ready for its first event (median of {STARTS})"),
        format!("{:.1} ms", ms(start)),
        "< 50 ms",
        start < Duration::from_millis(50),
    ));
    let mut worker = start_worker(binary, &env, logs.path()).await;

    // First sync into a rate-limited, slow PBX.
    peers.simulator.set_options(SimulatorOptions {
        rate_limit_per_second: Some(RATE),
        latency: LATENCY,
        ..SimulatorOptions::default()
    });
    let people = json!({"scope": {"type": "ous", "ous": [PEOPLE_OU]}});
    let a = peers.tenant("bench-a", peers.config(people.clone())).await;
    let first = scheduled_run(&peers, &mut worker, &a).await;
    let ideal = Duration::from_secs_f64(f64::from(USERS) / f64::from(RATE));
    let ratio = first.took.as_secs_f64() / ideal.as_secs_f64();
    let census = peers.extensions(&a);
    let clean = first.record.summary.outcome == Outcome::Success
        && first.record.errors.is_empty()
        && census.total == USERS as usize;
    rows.push(row(
        format!(
            "first sync of {USERS} users, PBX at {RATE} req/s + {} ms: {:.1} s / {:.0} s; {} created, {} answered 429 by the PBX, {} left failed",
            LATENCY.as_millis(),
            first.took.as_secs_f64(),
            ideal.as_secs_f64(),
            first.record.summary.counts.new,
            first.pbx.rate_limited,
            first.record.errors.len()
        ),
        format!("{ratio:.2}"),
        "<= 1.1, no 429 left unretried",
        ratio <= 1.1 && clean,
    ));
    rows.push(dynamodb_row("first sync", &first));
    let first_rss = worker.peak_rss_bytes();

    // A no-op on moto: what it writes and reads. Its time is moto's (seconds per mapping
    // Query page); `noop` times the no-op with the table on dynalite.
    let noop = scheduled_run(&peers, &mut worker, &a).await;
    let query = noop.dynamodb.answer_time.get("Query").copied();
    rows.push(row(
        format!(
            "no-op sync of {USERS} LDAP users in the worker on moto, PBX at {RATE} req/s + {} ms (moto answered the mapping Query pages in {:.0} ms of it)",
            LATENCY.as_millis(),
            ms(query.unwrap_or_default())
        ),
        format!("{:.0} ms", ms(noop.took)),
        "reported (moto-bound)",
        true,
    ));
    noop_rows(&mut rows, &noop);

    // 20 % of PBX calls failing, and 50 users over the record limit.
    peers.simulator.set_options(SimulatorOptions {
        rate_limit_per_second: Some(RATE),
        latency: LATENCY,
        fault_rate: 0.1,
        fault_after_commit_rate: 0.1,
        seed: 11,
        ..SimulatorOptions::default()
    });
    let b = peers
        .tenant("bench-b", peers.config(json!({"record_limit": USERS})))
        .await;
    faults_rows(&mut rows, &peers, &mut worker, &b).await;

    let peak = worker.peak_rss_bytes().or(first_rss).unwrap_or(0);
    (rows, peak)
}

pub(crate) fn dynamodb_row(what: &str, result: &RunResult) -> Row {
    let d = &result.dynamodb;
    row(
        format!(
            "DynamoDB request units of the {what} ({} calls: {}; writes by item: {})",
            d.total_calls(),
            d.calls_line(),
            d.writes_line()
        ),
        format!("{:.1} RRU + {:.0} WRU", d.read_units, d.write_units),
        "reported",
        true,
    )
}

fn noop_rows(rows: &mut Vec<Row>, noop: &RunResult) {
    let counts = &noop.record.summary.counts;
    rows.push(row(
        format!(
            "PBX write calls in the no-op sync ({} unchanged, {} listing calls)",
            counts.unchanged, noop.pbx.gets
        ),
        noop.pbx_writes().to_string(),
        "0",
        noop.pbx_writes() == 0 && counts.unchanged == USERS as usize,
    ));
    // The first no-op after the creating sync also keeps the PBX listing's new ETag.
    let only_run_items = noop.dynamodb.writes_by_kind.keys().all(|k| {
        matches!(
            k.as_str(),
            "run" | "lease" | "tenant" | "read_state_head" | "read_state_body"
        )
    });
    rows.push(row(
        "store writes in the no-op sync, by item".into(),
        noop.dynamodb.writes_line(),
        "only the run record (and lease, and the read state)",
        only_run_items,
    ));
    let pages = noop.dynamodb.mapping_query_pages;
    let mut dynamodb = dynamodb_row("no-op sync", noop);
    dynamodb
        .figure
        .push_str(&format!("; mappings read in {pages} Query pages"));
    dynamodb.target = "reported; mappings in <= 3 Query pages".into();
    dynamodb.met = pages <= 3;
    rows.push(dynamodb);
}

async fn faults_rows(
    rows: &mut Vec<Row>,
    peers: &Peers,
    worker: &mut WorkerProcess,
    b: &dirsync_integration_tests::e2e::BenchTenant,
) {
    let mut runs = Vec::new();
    let mut skipped_sets = Vec::new();
    for _ in 0..4 {
        let result = scheduled_run(peers, worker, b).await;
        skipped_sets.push(result.skipped("record_limit"));
        let done = result.record.summary.counts.new == 0 && result.record.errors.is_empty();
        runs.push(result);
        if done {
            break;
        }
    }
    let census = peers.extensions(b);
    let mapped = peers.mapped(b).await;
    let stats = peers.stats(b);
    let first = &runs[0];
    rows.push(row(
        format!(
            "first sync with 20 % of PBX calls failing ({} 429 and {} 5xx injected): created in run 1 / after {} runs; distinct numbers and emails",
            stats.injected_429,
            stats.injected_5xx,
            runs.len()
        ),
        format!(
            "{} / {}; {} and {}",
            first.record.summary.counts.new,
            census.total,
            census.distinct_numbers,
            census.distinct_emails
        ),
        "exactly 10000, no duplicate",
        census.total == USERS as usize
            && census.distinct_numbers == USERS as usize
            && census.distinct_emails == USERS as usize,
    ));
    let stable = skipped_sets.windows(2).all(|w| w[0] == w[1]);
    let skipped = skipped_sets.first().map_or(0, |s| s.len());
    rows.push(row(
        format!(
            "{} eligible users, record_limit {USERS}: mapped; skipped as record_limit, the same users in each of {} runs",
            USERS + OVER_LIMIT,
            runs.len()
        ),
        format!("{mapped} mapped; {skipped} skipped"),
        "10000 mapped, 50 skipped, stable",
        mapped == USERS as usize && skipped == OVER_LIMIT as usize && stable,
    ));
}
