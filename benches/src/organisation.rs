//! The organisation side at full size: 10,000 users in 200 nested OUs and in 63 groups (some
//! of groups), synced to organizations and extension groups, on the embedded store. Its no-op
//! run, reading in full with nothing kept, is timed against the same no-op of the directory
//! without organizations and groups, alternated round by round so that machine noise hits
//! both.
//! `dirsync-bench -- organisation` runs it alone; `e2e` runs it too.

use dirsync_integration_tests::e2e::{organised_ldif, DynamoDb, Peers};
use serde_json::json;

use crate::e2e::{median, ms, row, runtime, RATE, USERS};
use crate::Row;

const OUS: u32 = 200;
const GROUPS: u32 = 63;
const ROUNDS: usize = 5;
const SEED_RATE: u32 = 100_000;

pub fn run() -> Vec<Row> {
    runtime().block_on(timed())
}

async fn timed() -> Vec<Row> {
    let peers = Peers::start_with(&organised_ldif(USERS, OUS, GROUPS), DynamoDb::Moto).await;
    let organised = json!({"organizations": {"sync": "ous", "delete_when_unused": true},
                           "extension_groups": {"sync": "all", "delete_when_unused": true}});
    let with = peers
        .embedded("org-a", peers.config(organised), SEED_RATE)
        .await;
    let without = peers
        .embedded("org-b", peers.config(json!({})), SEED_RATE)
        .await;
    let (first, took) = with.run().await;
    assert_eq!(first.summary.counts.new, USERS as usize, "first sync");
    let first_orgs = first.summary.counts.organizations;
    let first_groups = first.summary.counts.extension_groups;
    assert_eq!(first_orgs, OUS as usize, "every OU holds synced users");
    assert_eq!(first_groups, GROUPS as usize);
    let (plain, _) = without.run().await;
    assert_eq!(plain.summary.counts.new, USERS as usize);
    peers
        .simulator
        .set_options(dirsync_pbx_sim::SimulatorOptions {
            rate_limit_per_second: Some(RATE),
            ..Default::default()
        });
    let (mut organised_noops, mut plain_noops) = (Vec::new(), Vec::new());
    let mut writes = 0;
    for _ in 0..ROUNDS {
        let before = peers.stats(&with.tenant).writes;
        with.forget_reads().await;
        let (record, took) = with.run().await;
        assert_eq!(record.summary.summary, "Everything is up to date");
        writes += peers.stats(&with.tenant).writes - before;
        organised_noops.push(took);
        without.forget_reads().await;
        plain_noops.push(without.run().await.1);
    }
    let (organised, plain) = (median(organised_noops), median(plain_noops));
    let ratio = organised.as_secs_f64() / plain.as_secs_f64();
    vec![
        row(
            format!(
                "first sync of {USERS} LDAP users in {OUS} nested OUs and {GROUPS} groups on the embedded store: {first_orgs} organizations, {first_groups} extension groups"
            ),
            format!("{:.1} s", took.as_secs_f64()),
            "reported",
            true,
        ),
        row(
            format!(
                "PBX writes of {ROUNDS} no-op runs of that tenant (organizations and groups synced)"
            ),
            writes.to_string(),
            "0",
            writes == 0,
        ),
        row(
            format!(
                "no-op with {OUS} OUs and {GROUPS} groups synced / the same no-op without them, full reads (nothing kept), PBX at {RATE} req/s: {:.0} ms / {:.0} ms (medians of {ROUNDS})",
                ms(organised),
                ms(plain)
            ),
            format!("{ratio:.2}"),
            "<= 1.2",
            ratio <= 1.2,
        ),
    ]
}
