//! Runs: full records by id, summaries newest first with stable paging on equal timestamps.

use chrono::TimeDelta;
use rand::seq::SliceRandom;

use super::{base_time, object_id, run_id, run_record, unique_tenant};
use crate::domain::plan::{SkipReason, Skipped};
use crate::domain::{Outcome, Plan, RunId, RunRecord, RunSummary, TenantId};
use crate::ports::Store;

async fn list_all(store: &dyn Store, t: &TenantId, limit: usize) -> (Vec<RunSummary>, usize) {
    let mut runs = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_runs(t, limit, cursor.as_deref())
            .await
            .expect("list_runs");
        pages += 1;
        if page.next_cursor.is_some() {
            assert_eq!(page.items.len(), limit, "a page with a cursor is full");
        }
        runs.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages < 100, "paging never ends");
    }
    (runs, pages)
}

/// Fifteen runs, five of them started at the same instant and one a microsecond later:
/// listed newest first, equal times in run id order, with page boundaries inside the group
/// of equal times; `get_run` returns the full record; `put_run` replaces.
pub async fn runs_newest_first_paging(store: &dyn Store) {
    let t = unique_tenant("runs");
    let t0 = base_time();
    let times = [
        ("r-a", t0 + TimeDelta::seconds(1)),
        ("r-b", t0 + TimeDelta::seconds(1)),
        ("r-c", t0 + TimeDelta::seconds(2)),
        ("r-d", t0 + TimeDelta::microseconds(1)),
        ("r-e", t0),
        ("r-f", t0),
        ("r-g", t0),
        ("r-h", t0),
        ("r-i", t0),
        ("r-j", t0 - TimeDelta::days(1)),
        ("r-k", t0 - TimeDelta::days(1)),
        ("r-l", t0 - TimeDelta::days(400)),
        ("r-m", t0 + TimeDelta::nanoseconds(1)),
        ("r-n", t0 - TimeDelta::seconds(1)),
        ("r-o", t0 + TimeDelta::seconds(3600)),
    ];
    let mut records: Vec<RunRecord> = times
        .iter()
        .map(|(id, at)| run_record(&run_id(id), *at))
        .collect();
    // One record with a plan, to check the whole record survives.
    records[4].plan = Some(Plan {
        summary: "Everything is up to date".into(),
        skipped: vec![Skipped {
            object_id: object_id("u-1"),
            name: "Ann Example".into(),
            reason: SkipReason::MissingEmail,
        }],
        unchanged: 3,
        ..Plan::default()
    });
    records.shuffle(&mut rand::rng());
    for record in &records {
        store.put_run(&t, record).await.expect("put_run");
    }

    let mut want: Vec<&RunSummary> = records.iter().map(|r| &r.summary).collect();
    want.sort_by(|a, b| {
        b.started_at
            .cmp(&a.started_at)
            .then_with(|| a.run_id.cmp(&b.run_id))
    });
    let order = |runs: &[RunSummary]| runs.iter().map(|r| r.run_id.to_string()).collect();
    let want_order: Vec<String> = want.iter().map(|r| r.run_id.to_string()).collect();
    assert_eq!(
        want_order,
        [
            "r-o", "r-c", "r-a", "r-b", "r-d", "r-m", "r-e", "r-f", "r-g", "r-h", "r-i", "r-n",
            "r-j", "r-k", "r-l"
        ]
    );
    for limit in [4, 2, 15, 1000] {
        let (listed, pages) = list_all(store, &t, limit).await;
        let listed_order: Vec<String> = order(&listed);
        assert_eq!(listed_order, want_order, "page size {limit}");
        assert_eq!(pages, 15usize.div_ceil(limit), "page size {limit}");
        assert_eq!(listed.iter().collect::<Vec<_>>(), want);
    }

    for record in &records {
        let got = store
            .get_run(&t, &record.summary.run_id)
            .await
            .expect("get");
        assert_eq!(got.as_ref(), Some(record));
    }
    let missing = RunId::parse("r-missing").expect("valid");
    assert!(store.get_run(&t, &missing).await.expect("get").is_none());

    // Upsert: the run finishes.
    let mut finished = records[0].clone();
    finished.summary.outcome = Outcome::Success;
    finished.summary.finished_at = Some(finished.summary.started_at + TimeDelta::seconds(5));
    finished.summary.summary = "1 new, 0 updated, 0 removed".into();
    store.put_run(&t, &finished).await.expect("upsert");
    let got = store
        .get_run(&t, &finished.summary.run_id)
        .await
        .expect("get");
    assert_eq!(got.as_ref(), Some(&finished));
    let (listed, _) = list_all(store, &t, 100).await;
    assert_eq!(listed.len(), 15, "an upsert adds no run");
    assert!(listed.contains(&finished.summary));

    store.delete_tenant(&t).await.expect("delete tenant");
    let (listed, pages) = list_all(store, &t, 10).await;
    assert!(listed.is_empty());
    assert_eq!(pages, 1);
}
