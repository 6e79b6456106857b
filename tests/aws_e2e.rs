//! The AWS wiring end to end on moto: EventBridge tick → scheduler handler → SQS FIFO →
//! worker handler (SQS batch event) → PBX simulator; lease contention; a worker killed
//! mid-run and re-driven; a poison message reaching the dead-letter queue.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use dirsync::domain::RunId;
use dirsync::ports::{LeaseOutcome, Store};
use dirsync::sync::EngineOptions;
use dirsync_integration_tests::aws::{scheduled_event, AwsHarness, MAX_RECEIVES};
use dirsync_integration_tests::{Person, ACCOUNT};
use serde_json::json;

fn people(n: u32) -> Vec<Person> {
    (1..=n).map(Person::numbered).collect()
}

fn failed_ids(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_tick_flows_through_the_queue_to_the_pbx() {
    let h = AwsHarness::new(&people(3)).await;
    let tick = Utc::now();
    h.make_due(tick - TimeDelta::minutes(1)).await;

    let report = dirsync_scheduler::handle(h.store.as_ref(), &h.queue, scheduled_event(tick))
        .await
        .unwrap();
    assert_eq!(report.dispatched, 1);
    // The tenant moved to its next slot, within the hour: a second tick sends nothing.
    let next = h
        .store
        .get_tenant(&h.tenant)
        .await
        .unwrap()
        .unwrap()
        .next_sync_at
        .unwrap();
    assert!(next > tick && next <= tick + TimeDelta::hours(1), "{next}");
    let again = dirsync_scheduler::handle(h.store.as_ref(), &h.queue, scheduled_event(tick))
        .await
        .unwrap();
    assert_eq!(again.dispatched, 0);

    let event = h.receive(&h.queue_url, 30).await;
    assert_eq!(event.records.len(), 1);
    assert_eq!(event.records[0].attributes["MessageGroupId"], "acme");
    let engine = h.worker_engine(EngineOptions::default());
    let response = dirsync_worker::handle(&engine, event.clone())
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty());
    h.delete_succeeded(&event, &[]).await;

    let mut numbers: Vec<String> = h
        .simulator
        .extensions(ACCOUNT)
        .into_iter()
        .map(|e| e.number)
        .collect();
    numbers.sort();
    assert_eq!(numbers, ["1001", "1002", "1003"]);
    let runs = h.store.list_runs(&h.tenant, 10, None).await.unwrap();
    assert_eq!(runs.items.len(), 1);
    assert_eq!(runs.items[0].counts.new, 3);
    assert!(h.receive(&h.queue_url, 0).await.records.is_empty());
}

/// A daily 02:30 in Berlin on DynamoDB: due at 01:30 UTC in winter time, at 01:00 UTC on the
/// night the clocks skip 02:30 (the next valid minute, 03:00 CEST), at 00:30 UTC after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_schedule_is_due_at_its_local_time_across_a_dst_change() {
    let h = AwsHarness::new(&people(1)).await;
    let mut tenant = h.store.get_tenant(&h.tenant).await.unwrap().unwrap();
    let directory = tenant.directory.as_mut().unwrap();
    directory.schedule =
        serde_json::from_value(json!({"daily_at": "02:30", "timezone": "Europe/Berlin"})).unwrap();
    tenant.next_sync_at = Some(at("2031-03-29T01:30:00Z"));
    h.store.put_tenant(&tenant).await.unwrap();

    let tick = |time: &str| {
        let event = scheduled_event(at(time));
        async { dirsync_scheduler::handle(h.store.as_ref(), &h.queue, event).await }
    };
    let next = || async {
        let tenant = h.store.get_tenant(&h.tenant).await.unwrap().unwrap();
        tenant.next_sync_at.unwrap()
    };
    assert_eq!(tick("2031-03-29T01:30:10Z").await.unwrap().dispatched, 1);
    assert_eq!(next().await, at("2031-03-30T01:00:00Z"));
    assert_eq!(tick("2031-03-30T00:59:59Z").await.unwrap().dispatched, 0);
    assert_eq!(tick("2031-03-30T01:00:00Z").await.unwrap().dispatched, 1);
    assert_eq!(next().await, at("2031-03-31T00:30:00Z"));
    let event = h.receive(&h.queue_url, 30).await;
    assert_eq!(event.records.len(), 2, "one job per due slot");
}

fn at(time: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(time).unwrap().to_utc()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lease_defers_the_job_and_an_expired_one_is_taken_over() {
    let h = AwsHarness::new(&people(2)).await;
    // Another worker's run holds the lease.
    let other = RunId::new();
    let got = h
        .store
        .acquire_lease(&h.tenant, &other, Duration::from_secs(600), Utc::now())
        .await
        .unwrap();
    assert_eq!(got, LeaseOutcome::Acquired { expired_run: None });
    h.make_due(Utc::now() - TimeDelta::minutes(1)).await;
    dirsync_scheduler::handle(h.store.as_ref(), &h.queue, scheduled_event(Utc::now()))
        .await
        .unwrap();

    let event = h.receive(&h.queue_url, 0).await;
    let engine = h.worker_engine(EngineOptions::default());
    let response = dirsync_worker::handle(&engine, event.clone())
        .await
        .unwrap();
    assert_eq!(
        failed_ids(&response),
        [event.records[0].message_id.clone().unwrap()]
    );
    assert!(h.simulator.extensions(ACCOUNT).is_empty(), "nothing ran");

    // The holder crashed: its lease (taken long ago) has expired. The job, delivered again,
    // takes it over and runs.
    h.store.release_lease(&h.tenant, &other).await.unwrap();
    h.store
        .acquire_lease(
            &h.tenant,
            &other,
            Duration::from_secs(1),
            Utc::now() - TimeDelta::minutes(5),
        )
        .await
        .unwrap();
    let event = h.receive(&h.queue_url, 30).await;
    assert_eq!(event.records.len(), 1, "the deferred job comes again");
    let response = dirsync_worker::handle(&engine, event).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(h.simulator.extensions(ACCOUNT).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_run_is_redriven_and_converges() {
    let h = AwsHarness::new(&people(40)).await;
    // Slow PBX calls, so that the kill lands in the middle of the creates.
    h.simulator.set_options(dirsync_pbx_sim::SimulatorOptions {
        latency: Duration::from_millis(20),
        ..Default::default()
    });
    h.make_due(Utc::now() - TimeDelta::minutes(1)).await;
    dirsync_scheduler::handle(h.store.as_ref(), &h.queue, scheduled_event(Utc::now()))
        .await
        .unwrap();
    let event = h.receive(&h.queue_url, 0).await;
    let lease = EngineOptions {
        lease_ttl: Duration::from_secs(1),
        concurrency: 2,
        ..EngineOptions::default()
    };
    let engine = h.worker_engine(lease);
    let killed = {
        let (engine, event) = (engine.clone(), event.clone());
        tokio::spawn(async move { dirsync_worker::handle(&engine, event).await })
    };
    while h.simulator.extensions(ACCOUNT).len() < 5 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    killed.abort();
    let _ = killed.await;
    let partial = h.simulator.extensions(ACCOUNT).len();
    assert!(partial < 40, "killed before the end ({partial} created)");

    // Lambda timed out: SQS delivers the message again once the dead run's lease expired.
    while h
        .store
        .lease_holder(&h.tenant, Utc::now())
        .await
        .unwrap()
        .is_some()
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let event = h.receive(&h.queue_url, 30).await;
    assert_eq!(event.records.len(), 1);
    let response = dirsync_worker::handle(&engine, event).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    let mut numbers: Vec<String> = h
        .simulator
        .extensions(ACCOUNT)
        .into_iter()
        .map(|e| e.number)
        .collect();
    numbers.sort();
    let want: Vec<String> = (1..=40).map(|n| format!("{}", 1000 + n)).collect();
    assert_eq!(
        numbers, want,
        "each user once: no duplicate from the killed run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_ends_in_the_dead_letter_queue() {
    let h = AwsHarness::new(&people(1)).await;
    h.moto
        .sqs()
        .send_message()
        .queue_url(&h.queue_url)
        .message_body("{\"not\": \"a job\"}")
        .message_group_id("acme")
        .message_deduplication_id("poison")
        .send()
        .await
        .unwrap();
    let engine = h.worker_engine(EngineOptions::default());
    for _ in 0..MAX_RECEIVES {
        let event = h.receive(&h.queue_url, 0).await;
        assert_eq!(event.records.len(), 1);
        let response = dirsync_worker::handle(&engine, event.clone())
            .await
            .unwrap();
        assert_eq!(
            failed_ids(&response).len(),
            1,
            "reported failed, not dropped"
        );
    }
    // One delivery too many: SQS moves it to the dead-letter queue instead.
    assert!(h.receive(&h.queue_url, 0).await.records.is_empty());
    let dead = h.receive(&h.dlq_url, 30).await;
    assert_eq!(dead.records.len(), 1);
    assert_eq!(
        dead.records[0].body.as_deref(),
        Some("{\"not\": \"a job\"}")
    );
}

/// Records as a newer release writes them (fields this one does not know, in the tenant, its
/// config, its mappings and its runs) on DynamoDB: the tenant syncs, lists and shows its runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_from_a_newer_release_sync_and_list_on_dynamodb() {
    use dirsync::store::conformance::{RawRecords, StoredRecord};
    let h = AwsHarness::new(&people(3)).await;
    let engine = h.worker_engine(EngineOptions::default());
    let first = engine
        .run(&h.tenant, RunId::new(), dirsync::domain::Trigger::Manual)
        .await
        .unwrap();
    let raw = dirsync_integration_tests::moto::DynamoRaw::new(&h.moto, &h.store);
    let newer = serde_json::json!({"billing_plan": "gold",
        "directory": {"welcome_email": true, "provider": {"page_hint": 5}}});
    raw.merge_into_body(&h.tenant, StoredRecord::Tenant, &newer)
        .await;
    for mapping in h.store.all_mappings(&h.tenant).await.unwrap() {
        let extra = serde_json::json!({"organization_id": "org-1"});
        raw.merge_into_body(
            &h.tenant,
            StoredRecord::Mapping(mapping.object_id.as_str()),
            &extra,
        )
        .await;
    }
    let run_fields = serde_json::json!({"reads": {"incremental": false}});
    raw.merge_into_body(
        &h.tenant,
        StoredRecord::Run(&first.summary.run_id),
        &run_fields,
    )
    .await;

    let second = engine
        .run(&h.tenant, RunId::new(), dirsync::domain::Trigger::Manual)
        .await
        .unwrap();
    assert_eq!(second.summary.summary, "Everything is up to date");
    let listed = h.store.list_tenants(100, None).await.unwrap();
    assert!(listed.items.iter().any(|t| t.id == h.tenant));
    let runs = h.store.list_runs(&h.tenant, 10, None).await.unwrap();
    assert_eq!(runs.items.len(), 2);
    assert!(h
        .store
        .get_run(&h.tenant, &first.summary.run_id)
        .await
        .unwrap()
        .is_some());
}
