//! Change-only reads at the record limit (issue 17), in the worker process with its table on
//! dynalite: the unchanged hourly run (the directory's changes and the PBX's 304, nothing
//! else) against those two calls made alone, and a run after 50 changes. Needs OpenLDAP's
//! change reads (`Directory::read_changes` of the LDAP provider): without them the bench
//! stops, naming what is missing.

use std::path::Path;
use std::time::{Duration, Instant};

use dirsync::domain::{DirectoryRead, PbxRead};
use dirsync::ports::{Directory, ExtensionListing};
use dirsync_integration_tests::e2e::{scheduled_run, start_worker, DynamoDb, Peers, PEOPLE_OU};
use dirsync_pbx_sim::SimulatorOptions;
use serde_json::json;

use crate::e2e::{median, ms, row, RATE, USERS};
use crate::Row;

const ROUNDS: usize = 5;
const SEED_RATE: u32 = 100_000;
const CHANGES: u32 = 50;

pub async fn timed(binary: &Path) -> Vec<Row> {
    let peers = Peers::start_on(USERS, 0, DynamoDb::Dynalite).await;
    let logs = tempfile::tempdir().expect("log dir");
    let config = peers.config(json!({"scope": {"type": "ous", "ous": [PEOPLE_OU]}}));
    let tenant = peers.tenant("incr-a", config.clone()).await;
    let mut seeder = start_worker(binary, &peers.worker_env(SEED_RATE), logs.path()).await;
    let first = scheduled_run(&peers, &mut seeder, &tenant).await;
    assert_eq!(
        first.record.summary.counts.new, USERS as usize,
        "first sync"
    );
    // The creates changed the listing: this run lists again and leaves nothing to do.
    scheduled_run(&peers, &mut seeder, &tenant).await;
    drop(seeder);
    peers.simulator.set_options(SimulatorOptions {
        rate_limit_per_second: Some(RATE),
        ..SimulatorOptions::default()
    });
    let mut worker = start_worker(binary, &peers.worker_env(RATE), logs.path()).await;

    // The two calls alone: a change read from a fresh cursor, and the listing's 304.
    let directory = peers.directory(&config);
    let cursor = directory
        .read_users()
        .await
        .expect("the bare read")
        .change_cursor
        .expect("the LDAP provider's change reads (OpenLDAP: entryCSN)");
    let pbx = peers.pbx_client(&tenant, RATE);
    let ExtensionListing::Listed {
        etag: Some(etag), ..
    } = pbx
        .list_extensions_if_changed(None)
        .await
        .expect("the listing")
    else {
        panic!("the simulator's listing carries an ETag");
    };
    let (mut bare, mut bare_directory, mut bare_pbx) = (Vec::new(), Vec::new(), Vec::new());
    let (mut runs, mut directory_calls, mut pbx_calls) = (Vec::new(), Vec::new(), Vec::new());
    let mut dynamodb_calls = String::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        directory
            .read_changes(&cursor)
            .await
            .expect("the bare change read");
        let read = started.elapsed();
        let listed = pbx
            .list_extensions_if_changed(Some(&etag))
            .await
            .expect("the 304");
        assert_eq!(listed, ExtensionListing::NotModified);
        bare.push(started.elapsed());
        bare_directory.push(read);
        bare_pbx.push(started.elapsed() - read);
        let run = scheduled_run(&peers, &mut worker, &tenant).await;
        let reads = run.record.summary.reads.expect("the run's reads");
        assert_eq!(
            (reads.directory, reads.pbx, reads.planned),
            (DirectoryRead::Changes, PbxRead::NotModified, false),
            "an unchanged run"
        );
        assert_eq!(run.pbx_writes(), 0);
        directory_calls.push(reads.directory_requests.unwrap_or(usize::MAX));
        pbx_calls.push(run.pbx.gets);
        dynamodb_calls = run.dynamodb.calls_line();
        runs.push(run.took);
    }
    let (bare, run) = (median(bare), median(runs));
    let (bare_directory, bare_pbx) = (median(bare_directory), median(bare_pbx));
    let ratio = run.as_secs_f64() / bare.as_secs_f64();
    let (most_directory, most_pbx) = (
        directory_calls.iter().copied().max().unwrap_or(0),
        pbx_calls.iter().copied().max().unwrap_or(0),
    );
    let mut rows = vec![
        row(
            format!(
                "unchanged hourly run of {USERS} LDAP users in the worker (change-only reads), table on dynalite, PBX at {RATE} req/s: {:.1} ms / its directory change read and PBX 304 alone {:.1} ms ({:.1} + {:.1}; medians of {ROUNDS})",
                ms(run),
                ms(bare),
                ms(bare_directory),
                ms(bare_pbx)
            ),
            format!("{ratio:.2}"),
            "<= 1.3",
            ratio <= 1.3,
        ),
        row(
            format!("calls of that unchanged run, most of {ROUNDS}: directory requests, PBX requests (its DynamoDB calls, last round: {dynamodb_calls})"),
            format!("{most_directory}, {most_pbx}"),
            "<= 2, <= 2",
            most_directory <= 2 && most_pbx <= 2,
        ),
    ];
    rows.push(fifty_changes(&peers, &mut worker, &tenant).await);
    rows
}

/// 50 users renamed in slapd, then one run: it reads the changes, not the directory.
async fn fifty_changes(
    peers: &Peers,
    worker: &mut dirsync_integration_tests::e2e::WorkerProcess,
    tenant: &dirsync_integration_tests::e2e::BenchTenant,
) -> Row {
    let changes: String = (1..=CHANGES)
        .map(|n| {
            format!(
                "dn: uid=u{n},{PEOPLE_OU}\nchangetype: modify\nreplace: givenName\ngivenName: Changed{n}\n\n"
            )
        })
        .collect();
    peers.slapd.modify(&changes);
    let started = Instant::now();
    let run = scheduled_run(peers, worker, tenant).await;
    let took: Duration = started.elapsed();
    let reads = run.record.summary.reads.expect("the run's reads");
    assert_eq!(reads.directory, DirectoryRead::Changes, "read by changes");
    assert_eq!(run.record.summary.counts.updated, CHANGES as usize);
    let requests = reads.directory_requests.unwrap_or(usize::MAX);
    row(
        format!(
            "run after {CHANGES} directory changes ({USERS} users, worker, dynalite): directory requests of its change read ({:.0} ms, {} PBX requests)",
            ms(took),
            run.pbx.gets + run.pbx_writes()
        ),
        requests.to_string(),
        "<= 3",
        requests <= 3,
    )
}
