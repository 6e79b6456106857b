//! One tenant's hourly run on the AWS adapters (DynamoDB and Secrets Manager on moto, the PBX
//! simulator): the DynamoDB calls of a steady-state run (nothing changed), by operation —
//! the figures the README's per-tenant cost is computed from.

use std::sync::Arc;
use std::time::Instant;

use dirsync::domain::Trigger;
use dirsync::store::DynamoStore;
use dirsync::sync::{EngineOptions, RunJob};
use dirsync_integration_tests::aws::AwsHarness;
use dirsync_integration_tests::Person;

use crate::scheduler::CallCounter;
use crate::Row;

const USERS: u32 = 100;

pub fn run() -> Vec<Row> {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(steady_run())
}

async fn steady_run() -> Vec<Row> {
    let people: Vec<Person> = (1..=USERS).map(Person::numbered).collect();
    let h = AwsHarness::new(&people).await;
    let calls = CallCounter::default();
    let store = DynamoStore::new(calls.dynamodb(&h.moto.config), h.store.table());
    let engine = h.worker_engine_on(Arc::new(store), EngineOptions::default());
    let first = engine
        .run_job(&RunJob::new(h.tenant.clone(), Trigger::Schedule))
        .await
        .expect("first run");
    assert_eq!(
        first.summary.counts.new, USERS as usize,
        "the first run creates everyone"
    );
    calls.reset();
    let started = Instant::now();
    let steady = engine
        .run_job(&RunJob::new(h.tenant.clone(), Trigger::Schedule))
        .await
        .expect("steady run");
    let took = started.elapsed();
    let by_operation: Vec<String> = calls
        .by_operation()
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect();
    vec![
        Row {
            figure: format!("steady-state run of a {USERS}-user tenant (nothing changed), wall time on moto + simulator"),
            value: format!("{:.0} ms ({})", took.as_secs_f64() * 1000.0, steady.summary.summary),
            target: "-".into(),
            met: steady.summary.counts.new == 0 && steady.summary.counts.updated == 0,
        },
        Row {
            figure: "DynamoDB calls of that run".into(),
            value: format!("{} ({})", calls.total(), by_operation.join(", ")),
            target: "-".into(),
            met: true,
        },
    ]
}
