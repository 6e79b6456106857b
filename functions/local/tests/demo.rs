//! `dirsync-local` on its embedded defaults: the demo tenant's first sync creates the 21
//! eligible demo users, names the skipped ones, and a second sync changes nothing.

use dirsync::domain::plan::SkipReason;
use dirsync::domain::Outcome;
use dirsync::settings::{Deployment, Settings};
use dirsync_local::{LocalOptions, LocalService};

#[tokio::test]
async fn demo_first_sync_then_a_no_op() {
    let state = tempfile::tempdir().unwrap();
    let service = LocalService::start(
        LocalOptions {
            no_demo: false,
            tick_seconds: 3600,
            ..LocalOptions::with_state(state.path().to_path_buf())
        },
        Settings::defaults(Deployment::Local),
    )
    .await
    .expect("local service starts");
    let demo = service.demo.clone().expect("demo set up");
    assert_eq!(demo.first.summary.outcome, Outcome::Success);
    assert_eq!(demo.first.summary.summary, "21 new, 0 updated, 0 removed");
    let plan = demo.first.plan.as_ref().unwrap();
    let mut reasons: Vec<_> = plan.skipped.iter().map(|s| s.reason).collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            SkipReason::MissingEmail,
            SkipReason::MissingEmail,
            SkipReason::MissingExtension,
            SkipReason::DuplicateExtension
        ]
    );
    assert_eq!(demo.second.summary.summary, "Everything is up to date");
    assert_eq!(demo.second_run_pbx_writes, 0);
    assert_eq!(service.simulator.extensions("demo").len(), 21);
    assert!(
        state.path().join("dirsync.db").exists(),
        "state kept under --state"
    );
    service.shutdown().await;
}

#[tokio::test]
async fn no_demo_sets_up_nothing() {
    let state = tempfile::tempdir().unwrap();
    let service = LocalService::start(
        LocalOptions {
            no_demo: true,
            tick_seconds: 3600,
            ..LocalOptions::with_state(state.path().to_path_buf())
        },
        Settings::defaults(Deployment::Local),
    )
    .await
    .expect("local service starts");
    assert!(service.demo.is_none());
    assert!(service.simulator.extensions("demo").is_empty());
    service.shutdown().await;
}
