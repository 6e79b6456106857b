//! End-to-end syncs through the real engine: LDIF directory → planner → HTTP PBX client →
//! PBX simulator on 127.0.0.1, with the embedded store.

use std::sync::Arc;
use std::time::Duration;

use dirsync::domain::plan::{ConflictReason, SkipReason, TextChange};
use dirsync::domain::{Outcome, RunId, Trigger};
use dirsync::ports::Store;
use dirsync::sync::{run_worker, InProcessQueue, OnFinished, Redelivery, RunJob, RunQueue};
use dirsync_integration_tests::{Harness, Person, ACCOUNT};
use dirsync_pbx_sim::{SimExtension, SimulatorOptions};
use serde_json::json;

fn people(n: u32) -> Vec<Person> {
    (1..=n).map(Person::numbered).collect()
}

fn find<'a>(exts: &'a [SimExtension], number: &str) -> &'a SimExtension {
    exts.iter()
        .find(|e| e.number == number)
        .expect("extension with that number")
}

fn write_calls(h: &Harness) -> u64 {
    let s = h.simulator.stats(ACCOUNT);
    s.posts + s.patches + s.deletes
}

#[tokio::test]
async fn first_sync_creates_then_second_changes_nothing() {
    let h = Harness::new(&people(3), json!({})).await;
    let first = h.sync().await;
    assert_eq!(first.summary.outcome, Outcome::Success);
    assert_eq!(first.summary.summary, "3 new, 0 updated, 0 removed");
    assert_eq!(
        first.summary.new,
        ["Given1 Family1", "Given2 Family2", "Given3 Family3"]
    );
    let exts = h.simulator.extensions(ACCOUNT);
    assert_eq!(exts.len(), 3);
    let e = find(&exts, "1001");
    assert_eq!(e.email.as_deref(), Some("user1@example.com"));
    assert_eq!(e.managed_by.as_deref(), Some("directory-sync"));
    assert_eq!(h.store.all_mappings(&h.tenant).await.unwrap().len(), 3);

    let before = write_calls(&h);
    let second = h.sync().await;
    assert_eq!(second.summary.summary, "Everything is up to date");
    assert_eq!(second.summary.counts.unchanged, 3);
    assert_eq!(
        write_calls(&h),
        before,
        "a no-op sync makes no PBX write call"
    );
}

#[tokio::test]
async fn rename_and_email_change_update_the_same_extension() {
    let mut dir = people(2);
    let h = Harness::new(&dir, json!({})).await;
    h.sync().await;
    let id_before = find(&h.simulator.extensions(ACCOUNT), "1001").id.clone();

    dir[0].given = "Renamed".into();
    dir[0].mail = Some("renamed@example.com".into());
    h.set_directory(&dir);
    let run = h.sync().await;
    assert_eq!(run.summary.summary, "0 new, 1 updated, 0 removed");
    let exts = h.simulator.extensions(ACCOUNT);
    assert_eq!(exts.len(), 2, "no delete and recreate");
    let e = find(&exts, "1001");
    assert_eq!(e.id, id_before);
    assert_eq!(e.first_name.as_deref(), Some("Renamed"));
    assert_eq!(e.email.as_deref(), Some("renamed@example.com"));
    let plan = run.plan.expect("plan kept in the run");
    let changes = &plan.updates[0].changes;
    let renamed = TextChange {
        old: Some("Given1".into()),
        new: Some("Renamed".into()),
    };
    assert_eq!(changes.first_name, Some(renamed));
    assert!(changes.mobile.is_none());
}

#[tokio::test]
async fn sync_never_touches_telephony_settings_or_fields_turned_off() {
    let mut dir = people(1);
    let h = Harness::new(&dir, json!({"fields": {"last_name": null}})).await;
    h.sync().await;
    let e = h.simulator.extensions(ACCOUNT).remove(0);
    assert_eq!(
        e.last_name, None,
        "a field turned off is not written at creation"
    );
    // An admin sets voicemail, forwarding and a last name by hand on the PBX.
    let mut edited = e.clone();
    edited.voicemail.enabled = true;
    edited.forwarding.enabled = true;
    edited.forwarding.to = Some("+15550000".into());
    edited.did = Some("+14155552101".into());
    edited.last_name = Some("Typed By Admin".into());
    h.simulator
        .seed(ACCOUNT, edited.clone())
        .expect("admin edit");

    dir[0].given = "Changed".into();
    dir[0].sn = "Directory Family".into();
    h.set_directory(&dir);
    h.sync().await;
    let after = h.simulator.extensions(ACCOUNT).remove(0);
    assert_eq!(after.first_name.as_deref(), Some("Changed"));
    assert_eq!(after.last_name.as_deref(), Some("Typed By Admin"));
    assert_eq!(after.voicemail, edited.voicemail);
    assert_eq!(after.forwarding, edited.forwarding);
    assert_eq!(after.did, edited.did);
}

#[tokio::test]
async fn removed_user_is_deleted_and_only_theirs() {
    let dir = people(3);
    let h = Harness::new(&dir, json!({})).await;
    h.sync().await;
    h.set_directory(&dir[..2]);
    let run = h.sync().await;
    assert_eq!(run.summary.summary, "0 new, 0 updated, 1 removed");
    assert_eq!(run.summary.removed, ["Given3 Family3"]);
    let numbers: Vec<_> = h
        .simulator
        .extensions(ACCOUNT)
        .into_iter()
        .map(|e| e.number)
        .collect();
    assert_eq!(numbers.len(), 2);
    assert!(!numbers.contains(&"1003".to_string()));
    assert_eq!(h.store.all_mappings(&h.tenant).await.unwrap().len(), 2);
}

#[tokio::test]
async fn disabled_user_is_disabled_then_enabled_again_on_the_same_extension() {
    let mut dir = people(2);
    let h = Harness::new(&dir, json!({"on_remove": "disable"})).await;
    h.sync().await;
    let id = find(&h.simulator.extensions(ACCOUNT), "1002").id.clone();

    dir[1].disabled = true;
    h.set_directory(&dir);
    let run = h.sync().await;
    assert_eq!(run.summary.counts.removed, 1);
    let e = find(&h.simulator.extensions(ACCOUNT), "1002").clone();
    assert!(!e.enabled);
    assert_eq!(e.id, id);
    assert_eq!(h.sync().await.summary.summary, "Everything is up to date");

    dir[1].disabled = false;
    h.set_directory(&dir);
    let run = h.sync().await;
    assert_eq!(run.summary.summary, "0 new, 1 updated, 0 removed");
    let e = find(&h.simulator.extensions(ACCOUNT), "1002").clone();
    assert!(e.enabled);
    assert_eq!(e.id, id, "the same extension comes back");
}

#[tokio::test]
async fn manual_extension_with_the_same_number_is_left_alone() {
    let h = Harness::new(&people(2), json!({})).await;
    let manual = SimExtension::manual("1002", Some("frontdesk@example.com"));
    let manual_id = h.simulator.seed(ACCOUNT, manual.clone()).expect("seeded");
    let run = h.sync().await;
    assert_eq!(run.summary.summary, "1 new, 0 updated, 0 removed");
    let plan = run.plan.unwrap();
    assert_eq!(plan.conflicts.len(), 1);
    assert_eq!(plan.conflicts[0].reason, ConflictReason::NumberTaken);
    assert_eq!(
        plan.conflicts[0]
            .holder_extension_id
            .as_ref()
            .map(|i| i.to_string()),
        Some(manual_id.clone())
    );
    let after = h.simulator.extensions(ACCOUNT);
    let kept = after
        .iter()
        .find(|e| e.id == manual_id)
        .expect("manual extension still there");
    assert_eq!(kept.email.as_deref(), Some("frontdesk@example.com"));
    assert_eq!(kept.managed_by, None);

    // Removing every directory user never deletes the manual extension.
    h.set_directory(&[]);
    h.sync().await;
    let left = h.simulator.extensions(ACCOUNT);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, manual_id);
}

#[tokio::test]
async fn deletion_guard_holds_removals() {
    let dir = people(5);
    let h = Harness::new(&dir, json!({"deletion_guard": {"max_deletes": 2}})).await;
    h.sync().await;
    let mut changed = dir[..2].to_vec();
    changed.push(Person::numbered(9));
    h.set_directory(&changed);
    let run = h.sync().await;
    assert_eq!(run.summary.outcome, Outcome::Held);
    assert_eq!(run.summary.counts.new, 1, "creates still apply");
    assert_eq!(run.summary.counts.removed, 0);
    assert!(
        run.summary
            .summary
            .ends_with("(3 removals held for approval)"),
        "{}",
        run.summary.summary
    );
    assert_eq!(h.simulator.extensions(ACCOUNT).len(), 6, "nothing deleted");
}

#[tokio::test]
async fn record_limit_keeps_mapped_users_and_fills_in_object_id_order() {
    let h = Harness::new(&people(5), json!({"record_limit": 3})).await;
    let run = h.sync().await;
    assert_eq!(run.summary.counts.new, 3);
    let plan = run.plan.unwrap();
    let limited: Vec<_> = plan
        .skipped
        .iter()
        .filter(|s| s.reason == SkipReason::RecordLimit)
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(limited, ["Given4 Family4", "Given5 Family5"]);
    // A lower object id arriving later does not take a mapped user's place.
    let mut dir = people(5);
    let mut early = Person::numbered(0);
    early.uuid = "00000000-0000-4000-8000-000000000000".into();
    dir.push(early);
    h.set_directory(&dir);
    let run = h.sync().await;
    assert_eq!(run.summary.summary, "Everything is up to date");
    assert_eq!(h.store.all_mappings(&h.tenant).await.unwrap().len(), 3);
}

#[tokio::test]
async fn demo_style_skips_are_reported_with_reasons() {
    let mut dir = people(4);
    dir[0].mail = None;
    dir[1].phone = None;
    dir[2].phone = Some("1004".into()); // the same number as user 4, with the lower object id
    let h = Harness::new(&dir, json!({})).await;
    let run = h.sync().await;
    let plan = run.plan.unwrap();
    let reasons: Vec<_> = plan
        .skipped
        .iter()
        .map(|s| (s.name.as_str(), s.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            ("Given1 Family1", SkipReason::MissingEmail),
            ("Given2 Family2", SkipReason::MissingExtension),
            ("Given4 Family4", SkipReason::DuplicateExtension),
        ]
    );
    assert_eq!(run.summary.summary, "1 new, 0 updated, 0 removed");
}

/// The local worker obeys the retry policy of the Lambda's: a job whose tenant is busy is
/// delivered again, never dropped, so that every run id answered 202 becomes a run record.
#[tokio::test]
async fn the_local_worker_runs_both_of_two_back_to_back_jobs_of_a_tenant() {
    let h = Harness::new(&people(3), json!({})).await;
    // Slow PBX calls: the first run surely holds the lease when the second job comes.
    h.simulator.set_options(SimulatorOptions {
        latency: Duration::from_millis(50),
        ..h.simulator.options()
    });
    let (queue, jobs) = InProcessQueue::new();
    let (finished_tx, mut finished) = tokio::sync::mpsc::unbounded_channel();
    let on_finished: OnFinished = Arc::new(move |job, _| {
        let _ = finished_tx.send(job.run_id.clone());
    });
    let redelivery = Redelivery {
        delay: Duration::from_millis(50),
        max_deliveries: 100,
    };
    let worker = tokio::spawn(run_worker(h.engine.clone(), jobs, on_finished, redelivery));
    let jobs = [
        RunJob::new(h.tenant.clone(), Trigger::Manual),
        RunJob::new(h.tenant.clone(), Trigger::Manual),
    ];
    for job in &jobs {
        queue.enqueue(job.clone()).await.expect("enqueued");
    }
    let mut done = Vec::new();
    while done.len() < jobs.len() {
        let run_id = tokio::time::timeout(Duration::from_secs(20), finished.recv())
            .await
            .expect("both jobs finish: neither is dropped")
            .expect("worker alive");
        done.push(run_id);
    }
    worker.abort();
    for job in &jobs {
        assert!(done.contains(&job.run_id));
        let record = h.store.get_run(&h.tenant, &job.run_id).await.unwrap();
        assert_eq!(record.map(|r| r.summary.outcome), Some(Outcome::Success));
    }
}

/// A job whose start took the lease and wrote its record (as the API's 202 does), run after
/// `change` made its tenant refuse it: the refusal, the job's record, the lease's holder.
async fn refused_job(
    h: &Harness,
    change: impl FnOnce(&mut dirsync::domain::Tenant),
) -> (
    dirsync::error::Disposition,
    Outcome,
    Option<String>,
    Option<RunId>,
) {
    let job = RunJob::new(h.tenant.clone(), Trigger::Manual);
    let ttl = Duration::from_secs(120);
    h.store
        .acquire_lease(&h.tenant, &job.run_id, ttl, chrono::Utc::now())
        .await
        .unwrap();
    let queued = dirsync::domain::RunRecord::new(dirsync::domain::RunSummary::started(
        job.run_id.clone(),
        Trigger::Manual,
        chrono::Utc::now(),
    ));
    h.store.put_run(&h.tenant, &queued).await.unwrap();
    let mut tenant = h.store.get_tenant(&h.tenant).await.unwrap().unwrap();
    change(&mut tenant);
    h.store.put_tenant(&tenant).await.unwrap();

    let refused = h.engine.run_job(&job).await.unwrap_err();
    let record = h.store.get_run(&h.tenant, &job.run_id).await.unwrap();
    let summary = record.unwrap().summary;
    let holder = h
        .store
        .lease_holder(&h.tenant, chrono::Utc::now())
        .await
        .unwrap();
    (
        refused.disposition(),
        summary.outcome,
        summary.error,
        holder,
    )
}

/// A job its tenant refuses for good (paused after the start was answered 202) closes the
/// record the start wrote and frees the lease the start took, rather than leaving both to expire.
#[tokio::test]
async fn a_job_refused_for_good_closes_its_record_and_frees_the_lease() {
    let h = Harness::new(&people(2), json!({})).await;
    let (disposition, outcome, error, holder) = refused_job(&h, |tenant| {
        tenant.state = dirsync::domain::TenantState::Paused;
    })
    .await;
    assert_eq!(disposition, dirsync::error::Disposition::Done);
    assert_eq!(outcome, Outcome::Failed);
    assert!(error.unwrap().contains("paused"));
    assert_eq!(holder, None, "the lease is free for the next start");
}

/// A job its tenant refuses for now (a config only a newer release reads, mid-deploy) gives
/// back the lease and leaves its record to the retry, which the newer worker runs.
#[tokio::test]
async fn a_job_refused_for_now_gives_back_the_lease_and_keeps_its_record() {
    let h = Harness::new(&people(2), json!({})).await;
    let (disposition, outcome, _, holder) = refused_job(&h, |tenant| {
        tenant.directory = None;
        tenant.unreadable_directory = Some(json!({"provider": {"type": "workday"}}));
    })
    .await;
    assert_eq!(disposition, dirsync::error::Disposition::Retry);
    assert_eq!(holder, None, "the lease is given back");
    assert_eq!(outcome, Outcome::Running, "left for the retry");
    assert_eq!(h.simulator.stats(ACCOUNT).writes, 0);
}

#[tokio::test]
async fn welcome_email_goes_with_creates_only() {
    let mut dir = people(2);
    let h = Harness::new(&dir, json!({"welcome_email": true})).await;
    let first = h.sync().await;
    assert_eq!(first.summary.outcome, Outcome::Success);
    assert_eq!(h.simulator.stats(ACCOUNT).welcome_emails, 2);

    dir[0].given = "Renamed".into();
    dir.push(Person::numbered(3));
    h.set_directory(&dir);
    let second = h.sync().await;
    assert_eq!(second.summary.summary, "1 new, 1 updated, 0 removed");
    assert_eq!(
        h.simulator.stats(ACCOUNT).welcome_emails,
        3,
        "the update asked for none"
    );
}

#[tokio::test]
async fn without_welcome_email_creates_ask_for_none() {
    let h = Harness::new(&people(2), json!({})).await;
    h.sync().await;
    assert_eq!(h.simulator.extensions(ACCOUNT).len(), 2);
    assert_eq!(h.simulator.stats(ACCOUNT).welcome_emails, 0);
}
