//! Push-triggered runs on the AWS wiring (moto's SQS FIFO, the worker handler): a burst of
//! SCIM pushes is one queued job per minute, and a push job behind a run the API claimed is
//! done (that run reads the pushes) instead of blocking the tenant's message group.

use std::time::Duration;

use chrono::{DurationRound, TimeDelta, Utc};
use dirsync::domain::{Outcome, RunId, RunRecord, RunSummary, Trigger, QUEUED_SUMMARY};
use dirsync::ports::{LeaseOutcome, Store};
use dirsync::sync::{EngineOptions, RunJob, RunQueue};
use dirsync_integration_tests::aws::AwsHarness;
use dirsync_integration_tests::{Person, ACCOUNT};

fn people(n: u32) -> Vec<Person> {
    (1..=n).map(Person::numbered).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_pushes_of_one_minute_are_one_fifo_message() {
    let h = AwsHarness::new(&people(1)).await;
    let minute = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap();
    let jobs: Vec<RunJob> = (0..1000)
        .map(|i| RunJob::pushed(h.tenant.clone(), minute + TimeDelta::milliseconds(i * 59)))
        .collect();
    for chunk in jobs.chunks(100) {
        h.queue.enqueue_batch(chunk.to_vec()).await.unwrap();
    }
    let next = RunJob::pushed(h.tenant.clone(), minute + TimeDelta::minutes(1));
    h.queue.enqueue(next).await.unwrap();

    let mut received = Vec::new();
    for _ in 0..5 {
        let event = h.receive(&h.queue_url, 30).await;
        if event.records.is_empty() {
            break;
        }
        received.extend(event.records);
    }
    let slots: Vec<RunJob> = received
        .iter()
        .map(|r| serde_json::from_str(r.body.as_deref().unwrap()).unwrap())
        .collect();
    assert_eq!(slots.len(), 2, "one message per minute: {slots:?}");
    assert!(slots.iter().all(|j| j.trigger == Trigger::Push));
    assert_eq!(slots[0].slot, Some(minute));
    assert_eq!(slots[1].slot, Some(minute + TimeDelta::minutes(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_job_behind_a_claimed_run_is_done_and_one_behind_an_older_run_retried() {
    let h = AwsHarness::new(&people(2)).await;
    let engine = h.worker_engine(EngineOptions::default());
    // A push of two minutes ago: its minute is over, so the worker does not wait.
    let push = RunJob::pushed(h.tenant.clone(), Utc::now() - TimeDelta::minutes(2));

    // "Sync now" claimed the lease and queued its run: the push job ahead of it is done.
    let claimed = RunId::new();
    let got = h
        .store
        .acquire_lease(&h.tenant, &claimed, Duration::from_secs(120), Utc::now())
        .await
        .unwrap();
    assert_eq!(got, LeaseOutcome::Acquired { expired_run: None });
    let mut record = RunRecord::new(RunSummary::started(
        claimed.clone(),
        Trigger::Manual,
        Utc::now(),
    ));
    record.summary.summary = QUEUED_SUMMARY.to_string();
    h.store.put_run(&h.tenant, &record).await.unwrap();
    h.queue.enqueue(push.clone()).await.unwrap();
    let event = h.receive(&h.queue_url, 30).await;
    assert_eq!(event.records.len(), 1);
    let response = dirsync_worker::handle(&engine, event.clone())
        .await
        .unwrap();
    assert!(
        response.batch_item_failures.is_empty(),
        "covered by the claimed run: not retried"
    );
    h.delete_succeeded(&event, &[]).await;
    assert!(h.simulator.extensions(ACCOUNT).is_empty(), "and not run");
    h.store.release_lease(&h.tenant, &claimed).await.unwrap();

    // A run that started before the push's minute ended may have read before it: retried.
    let older = RunId::new();
    h.store
        .acquire_lease(&h.tenant, &older, Duration::from_secs(120), Utc::now())
        .await
        .unwrap();
    let started = Utc::now() - TimeDelta::minutes(3);
    let running = RunRecord::new(RunSummary::started(
        older.clone(),
        Trigger::Schedule,
        started,
    ));
    assert_eq!(running.summary.outcome, Outcome::Running);
    h.store.put_run(&h.tenant, &running).await.unwrap();
    let mut again = push;
    again.run_id = RunId::new();
    again.slot = again.slot.map(|s| s - TimeDelta::minutes(1));
    h.queue.enqueue(again).await.unwrap();
    let event = h.receive(&h.queue_url, 30).await;
    assert_eq!(event.records.len(), 1);
    let response = dirsync_worker::handle(&engine, event).await.unwrap();
    assert_eq!(response.batch_item_failures.len(), 1, "delivered again");
}
