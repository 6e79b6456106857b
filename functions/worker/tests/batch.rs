//! The handler on batches built in the test: which records it reports for redelivery.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;
use dirsync::domain::{RunId, Trigger};
use dirsync::ports::{LeaseOutcome, Store};
use dirsync::sync::RunJob;
use dirsync_integration_tests::{Harness, Person, ACCOUNT};
use serde_json::json;

fn record(message_id: Option<&str>, job: &RunJob) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = message_id.map(str::to_string);
    record.body = Some(serde_json::to_string(job).unwrap());
    record
        .attributes
        .insert("MessageGroupId".into(), job.tenant.to_string());
    record
}

fn batch(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

fn failed_ids(response: &SqsBatchResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect()
}

#[tokio::test]
async fn a_record_without_a_message_id_fails_the_invocation_before_any_run() {
    let h = Harness::new(&[Person::numbered(1)], json!({})).await;
    let named = RunJob::new(h.tenant.clone(), Trigger::Manual);
    let unnamed = RunJob::new(h.tenant.clone(), Trigger::Manual);
    for missing in [None, Some("")] {
        let event = batch(vec![record(Some("m1"), &named), record(missing, &unnamed)]);
        let error = dirsync_worker::handle(&h.engine, event).await.unwrap_err();
        assert_eq!(error.index, 1);
    }
    // Lambda delivers the whole batch again: nothing of it may have run.
    assert!(h
        .store
        .get_run(&h.tenant, &named.run_id)
        .await
        .unwrap()
        .is_none());
    assert!(h.simulator.extensions(ACCOUNT).is_empty());
}

#[tokio::test]
async fn a_busy_tenant_is_retried_and_a_paused_one_is_done() {
    let h = Harness::new(&[Person::numbered(1)], json!({})).await;
    let other = RunId::new();
    let lease = h
        .store
        .acquire_lease(&h.tenant, &other, Duration::from_secs(600), Utc::now())
        .await
        .unwrap();
    assert_eq!(lease, LeaseOutcome::Acquired { expired_run: None });
    let job = RunJob::new(h.tenant.clone(), Trigger::Manual);
    let response = dirsync_worker::handle(&h.engine, batch(vec![record(Some("m1"), &job)]))
        .await
        .unwrap();
    assert_eq!(failed_ids(&response), ["m1"], "busy: delivered again");

    h.store.release_lease(&h.tenant, &other).await.unwrap();
    let response = dirsync_worker::handle(&h.engine, batch(vec![record(Some("m1"), &job)]))
        .await
        .unwrap();
    assert!(failed_ids(&response).is_empty());
    assert!(h
        .store
        .get_run(&h.tenant, &job.run_id)
        .await
        .unwrap()
        .is_some());

    let mut tenant = h.store.get_tenant(&h.tenant).await.unwrap().unwrap();
    tenant.state = dirsync::domain::TenantState::Paused;
    h.store.put_tenant(&tenant).await.unwrap();
    let paused = RunJob::new(h.tenant.clone(), Trigger::Manual);
    let response = dirsync_worker::handle(&h.engine, batch(vec![record(Some("m2"), &paused)]))
        .await
        .unwrap();
    assert!(
        failed_ids(&response).is_empty(),
        "paused: retrying would not help"
    );
    assert!(h
        .store
        .get_run(&h.tenant, &paused.run_id)
        .await
        .unwrap()
        .is_none());
}
