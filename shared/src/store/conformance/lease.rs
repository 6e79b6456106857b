//! The tenant lease: one run at a time, taken over when it expires, held only by stored
//! tenants; a run's start and end with it.

use std::time::Duration;

use chrono::TimeDelta;

use super::{base_time, run_id, run_record, stored_tenant};
use crate::ports::{LeaseOutcome, Store};
use crate::store::read_state_codec;

const TTL: Duration = Duration::from_secs(60);

/// Acquire, held by another, re-acquire by the holder, renew, expiry at exactly
/// `expires_at`, takeover reporting the expired run, release only by the holder, and no
/// lease for a tenant that is not stored.
pub async fn lease_lifecycle(store: &dyn Store) {
    let t = stored_tenant(store, "lease").await;
    let (r1, r2, r3) = (run_id("run-1"), run_id("run-2"), run_id("run-3"));
    let at = |secs: i64| base_time() + TimeDelta::seconds(secs);
    let acquired = LeaseOutcome::Acquired { expired_run: None };

    assert_eq!(store.lease_holder(&t, at(0)).await.expect("holder"), None);
    assert!(!store.renew_lease(&t, &r1, TTL, at(0)).await.expect("renew"));

    let got = store
        .acquire_lease(&t, &r1, TTL, at(0))
        .await
        .expect("acquire");
    assert_eq!(got, acquired);
    assert_eq!(
        store.lease_holder(&t, at(0)).await.expect("holder"),
        Some(r1.clone())
    );

    let got = store
        .acquire_lease(&t, &r2, TTL, at(10))
        .await
        .expect("acquire");
    assert_eq!(got, LeaseOutcome::HeldBy(r1.clone()));
    // The holder may take it again; that extends it to 70.
    let got = store
        .acquire_lease(&t, &r1, TTL, at(10))
        .await
        .expect("acquire");
    assert_eq!(got, acquired);
    assert_eq!(
        store.lease_holder(&t, at(65)).await.expect("holder"),
        Some(r1.clone())
    );

    // Only the holder renews: now until 80.
    assert!(!store
        .renew_lease(&t, &r2, TTL, at(20))
        .await
        .expect("renew"));
    assert!(store
        .renew_lease(&t, &r1, TTL, at(20))
        .await
        .expect("renew"));
    assert_eq!(
        store.lease_holder(&t, at(79)).await.expect("holder"),
        Some(r1.clone())
    );
    let got = store
        .acquire_lease(&t, &r2, TTL, at(79))
        .await
        .expect("acquire");
    assert_eq!(got, LeaseOutcome::HeldBy(r1.clone()));

    // Expired at exactly `expires_at`: no holder, no renewal, and a takeover names r1.
    assert_eq!(store.lease_holder(&t, at(80)).await.expect("holder"), None);
    assert!(!store
        .renew_lease(&t, &r1, TTL, at(80))
        .await
        .expect("renew"));
    let got = store
        .acquire_lease(&t, &r2, TTL, at(80))
        .await
        .expect("acquire");
    assert_eq!(
        got,
        LeaseOutcome::Acquired {
            expired_run: Some(r1.clone())
        }
    );
    assert_eq!(
        store.lease_holder(&t, at(80)).await.expect("holder"),
        Some(r2.clone())
    );

    // Releasing someone else's lease does nothing; the holder's release frees it.
    store.release_lease(&t, &r1).await.expect("release");
    assert_eq!(
        store.lease_holder(&t, at(81)).await.expect("holder"),
        Some(r2.clone())
    );
    store.release_lease(&t, &r2).await.expect("release");
    assert_eq!(store.lease_holder(&t, at(81)).await.expect("holder"), None);
    store
        .release_lease(&t, &r2)
        .await
        .expect("releasing twice succeeds");
    let got = store
        .acquire_lease(&t, &r3, TTL, at(81))
        .await
        .expect("acquire");
    assert_eq!(
        got, acquired,
        "a released lease is free, with no expired run"
    );

    store.delete_tenant(&t).await.expect("delete tenant");
    assert_eq!(store.lease_holder(&t, at(82)).await.expect("holder"), None);
    let got = store.acquire_lease(&t, &r1, TTL, at(83)).await;
    assert_eq!(got.expect("acquire"), LeaseOutcome::NoTenant);
    assert_eq!(store.lease_holder(&t, at(83)).await.expect("holder"), None);
    assert!(!store
        .renew_lease(&t, &r1, TTL, at(83))
        .await
        .expect("renew"));
}

/// A run's start takes the lease and reads the tenant and its kept head with it (the tenant
/// and head also when another run holds it); its end sets the last run and frees the lease,
/// or, when the lease moved on, sets the last run alone.
pub async fn runs_begin_and_end_with_the_lease(store: &dyn Store) {
    let t = stored_tenant(store, "begin").await;
    let (r1, r2) = (run_id("run-1"), run_id("run-2"));
    let at = |secs: i64| base_time() + TimeDelta::seconds(secs);

    let start = store.begin_run(&t, &r1, TTL, at(0)).await.expect("begin");
    assert_eq!(start.lease, LeaseOutcome::Acquired { expired_run: None });
    assert_eq!(start.tenant.map(|tenant| tenant.id), Some(t.clone()));
    assert_eq!(start.head.expect("head"), None);
    assert_eq!(
        store.lease_holder(&t, at(0)).await.expect("holder"),
        Some(r1.clone())
    );

    let record = run_record(&r1, at(0));
    let state = read_state_codec::encode(&super::read_state::state(3, "b1")).expect("encode");
    store
        .put_read_state(&t, &state)
        .await
        .expect("put read state");
    let start = store.begin_run(&t, &r2, TTL, at(1)).await.expect("begin");
    assert_eq!(start.lease, LeaseOutcome::HeldBy(r1.clone()));
    assert_eq!(start.tenant.map(|tenant| tenant.id), Some(t.clone()));
    assert_eq!(start.head.expect("head"), Some(state.head.clone()));

    store.end_run(&t, &record.summary, &r1).await.expect("end");
    assert_eq!(store.lease_holder(&t, at(2)).await.expect("holder"), None);
    let stored = store.get_tenant(&t).await.expect("get").expect("stored");
    assert_eq!(stored.last_run.map(|run| run.run_id), Some(r1.clone()));

    // r1's lease expires and r2 takes it over: r1's late end keeps r2's lease.
    store
        .acquire_lease(&t, &r1, TTL, at(3))
        .await
        .expect("acquire");
    let start = store.begin_run(&t, &r2, TTL, at(100)).await.expect("begin");
    assert_eq!(
        start.lease,
        LeaseOutcome::Acquired {
            expired_run: Some(r1.clone())
        }
    );
    let late = run_record(&r1, at(101));
    store
        .end_run(&t, &late.summary, &r1)
        .await
        .expect("late end");
    assert_eq!(
        store.lease_holder(&t, at(101)).await.expect("holder"),
        Some(r2.clone())
    );
    let stored = store.get_tenant(&t).await.expect("get").expect("stored");
    assert_eq!(stored.last_run.map(|run| run.started_at), Some(at(101)));

    store.delete_tenant(&t).await.expect("delete tenant");
    let start = store.begin_run(&t, &r1, TTL, at(102)).await.expect("begin");
    assert_eq!(start.lease, LeaseOutcome::NoTenant);
    assert!(start.tenant.is_none());
    store
        .end_run(&t, &late.summary, &r2)
        .await
        .expect("end after delete");
    assert!(
        store.get_tenant(&t).await.expect("get").is_none(),
        "a tenant that went stays gone"
    );
}

/// Two runs asking for the same free lease at once: exactly one gets it, the other learns
/// who holds it. Repeated on fresh tenants to give a race a chance to show.
pub async fn concurrent_acquire_has_one_winner(store: &dyn Store) {
    for round in 0..20 {
        let t = stored_tenant(store, "race").await;
        let (a, b) = (run_id("race-a"), run_id("race-b"));
        let now = base_time();
        let (first, second) = tokio::join!(
            store.acquire_lease(&t, &a, TTL, now),
            store.acquire_lease(&t, &b, TTL, now),
        );
        let outcomes = [first.expect("acquire a"), second.expect("acquire b")];
        let acquired = LeaseOutcome::Acquired { expired_run: None };
        let (winner, loser_saw) = match &outcomes {
            [o, LeaseOutcome::HeldBy(holder)] if *o == acquired => (a.clone(), holder.clone()),
            [LeaseOutcome::HeldBy(holder), o] if *o == acquired => (b.clone(), holder.clone()),
            other => panic!("round {round}: exactly one acquire must win, got {other:?}"),
        };
        assert_eq!(loser_saw, winner, "the loser is told who won");
        assert_eq!(
            store.lease_holder(&t, now).await.expect("holder"),
            Some(winner)
        );
        store.delete_tenant(&t).await.expect("delete tenant");
    }
}
