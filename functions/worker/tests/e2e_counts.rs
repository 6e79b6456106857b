//! The end-to-end benchmark's run scaled down to 1,000 users, checking counts only: the real
//! worker binary under a local Lambda Runtime API, slapd, the PBX simulator (faults on for the
//! second tenant) and DynamoDB on moto behind a metering proxy. `dirsync-bench -- e2e` runs
//! the same at 10,000 users and times it.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use dirsync::domain::{DirectoryRead, Outcome, PbxRead};
use dirsync_integration_tests::e2e::{scheduled_run, start_worker, Peers, RunResult, PEOPLE_OU};
use dirsync_pbx_sim::SimulatorOptions;
use serde_json::json;

const USERS: u32 = 1_000;
const OVER_LIMIT: u32 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_users_sync_once_then_write_nothing_even_through_faults() {
    let peers = Peers::start(USERS, OVER_LIMIT).await;
    let logs = tempfile::tempdir().expect("log dir");
    let binary = Path::new(env!("CARGO_BIN_EXE_dirsync-worker"));
    let mut worker = start_worker(binary, &peers.worker_env(2_000), logs.path()).await;
    peers.simulator.set_options(SimulatorOptions {
        rate_limit_per_second: Some(2_000),
        latency: Duration::from_millis(2),
        ..SimulatorOptions::default()
    });

    // The first sync creates everyone, once.
    let people = json!({"scope": {"type": "ous", "ous": [PEOPLE_OU]}});
    let a = peers.tenant("bench-a", peers.config(people)).await;
    let first = scheduled_run(&peers, &mut worker, &a).await;
    assert_eq!(first.record.summary.outcome, Outcome::Success);
    assert_eq!(first.record.summary.counts.new, USERS as usize);
    assert!(first.record.errors.is_empty(), "{:?}", first.record.errors);
    let census = peers.extensions(&a);
    assert_eq!(
        (
            census.total,
            census.distinct_numbers,
            census.distinct_emails
        ),
        (1_000, 1_000, 1_000)
    );

    // Nothing changed: no PBX write, and only the run's own items written, and the kept read
    // state. The first no-op keeps a new body: the listing's ETag moved with the first sync's
    // own creates, so it lists the PBX in full (the directory it reads only the changes of)
    // and keeps that listing.
    let noop = scheduled_run(&peers, &mut worker, &a).await;
    assert_noop(&noop);
    let reads = noop.record.summary.reads.expect("reads");
    assert_eq!(
        (reads.directory, reads.pbx),
        (DirectoryRead::Changes, PbxRead::Full)
    );
    let writes = &noop.dynamodb.writes_by_kind;
    assert!(
        writes.get("read_state_body") > Some(&0) && writes.get("read_state_head") == Some(&1),
        "the new listing is kept: {}",
        noop.dynamodb.writes_line()
    );
    assert_eq!(noop.dynamodb.mapping_query_pages, 1);

    // The second no-op finds both sides as kept (no change, 304), so it neither reads the
    // mappings or the kept body nor plans, and keeps nothing: the next run reads the changes
    // since the same cursor.
    let again = scheduled_run(&peers, &mut worker, &a).await;
    assert_noop(&again);
    let reads = again.record.summary.reads.expect("reads");
    assert_eq!(
        (reads.directory, reads.pbx, reads.planned),
        (DirectoryRead::Changes, PbxRead::NotModified, false)
    );
    let writes = &again.dynamodb.writes_by_kind;
    assert_eq!(
        (writes.get("read_state_head"), writes.get("read_state_body")),
        (None, None),
        "nothing kept: {}",
        again.dynamodb.writes_line()
    );
    assert_eq!(again.dynamodb.mapping_query_pages, 0);
    // It decides from the kept head alone: the body's pieces are not read either. Its store
    // calls: the start (lease, tenant and head in one), the started and the final record,
    // and the end (last run and release in one).
    let calls: Vec<(&str, u64)> = again
        .dynamodb
        .calls
        .iter()
        .map(|(operation, n)| (operation.as_str(), *n))
        .collect();
    assert_eq!(
        calls,
        vec![("PutItem", 2), ("UpdateItem", 2)],
        "{}",
        again.dynamodb.calls_line()
    );

    // 20 % of PBX calls fail (429, 5xx, and writes applied but answered 500); the directory
    // holds 5 users over the record limit. Runs until nothing is left to create.
    peers.simulator.set_options(SimulatorOptions {
        fault_rate: 0.1,
        fault_after_commit_rate: 0.1,
        seed: 7,
        ..peers.simulator.options()
    });
    let limited = json!({"record_limit": USERS});
    let b = peers.tenant("bench-b", peers.config(limited)).await;
    let over_limit: BTreeSet<String> = (USERS + 1..=USERS + OVER_LIMIT)
        .map(|n| format!("00000000-0000-4000-8000-{n:012}"))
        .collect();
    for attempt in 1..=4 {
        let result = scheduled_run(&peers, &mut worker, &b).await;
        let skipped: BTreeSet<String> = result
            .skipped("record_limit")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            skipped, over_limit,
            "run {attempt}: the same users stay out"
        );
        if result.record.summary.counts.new == 0 && result.record.errors.is_empty() {
            break;
        }
    }
    let census = peers.extensions(&b);
    assert_eq!(
        (
            census.total,
            census.distinct_numbers,
            census.distinct_emails
        ),
        (1_000, 1_000, 1_000),
        "no duplicate extension"
    );
    assert_eq!(peers.mapped(&b).await, USERS as usize);
    let stats = peers.stats(&b);
    assert!(
        stats.injected_429 + stats.injected_5xx > 0,
        "faults were injected"
    );
}

/// A run that found nothing to do: no PBX write, and of the store's items only the run's
/// own (run record, lease, tenant) and the kept read state's written.
fn assert_noop(noop: &RunResult) {
    let counts = &noop.record.summary.counts;
    assert_eq!((counts.new, counts.updated, counts.removed), (0, 0, 0));
    assert_eq!(counts.unchanged, USERS as usize);
    assert_eq!(noop.pbx_writes(), 0, "{:?}", noop.pbx);
    let kinds: BTreeSet<&str> = noop
        .dynamodb
        .writes_by_kind
        .keys()
        .map(String::as_str)
        .collect();
    assert!(
        kinds.is_subset(&BTreeSet::from([
            "run",
            "lease",
            "tenant",
            "read_state_head",
            "read_state_body",
        ])),
        "a no-op run wrote {}",
        noop.dynamodb.writes_line()
    );
}
