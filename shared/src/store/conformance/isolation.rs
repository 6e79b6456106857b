//! Tenant isolation: nothing of one tenant is reachable through another tenant's id.

use std::time::Duration;

use super::{base_time, linked_mapping, object_id, run_id, run_record, tenant, unique_tenant};
use crate::domain::{TenantId, TenantState};
use crate::ports::{LeaseOutcome, Store};

const TTL: Duration = Duration::from_secs(60);

async fn is_empty(store: &dyn Store, t: &TenantId) -> bool {
    let mappings = store.all_mappings(t).await.expect("all");
    let page = store.list_mappings(t, 10, None).await.expect("list");
    let runs = store.list_runs(t, 10, None).await.expect("runs");
    let holder = store.lease_holder(t, base_time()).await.expect("holder");
    mappings.is_empty() && page.items.is_empty() && runs.items.is_empty() && holder.is_none()
}

/// A's mappings, runs and lease are invisible and untouchable through B, even for the same
/// object and run ids; `delete_tenant(A)` removes all of A and nothing of B.
pub async fn tenant_isolation(store: &dyn Store) {
    let (a, b) = (unique_tenant("iso-a"), unique_tenant("iso-b"));
    let (shared_object, a_run) = (object_id("same-user"), run_id("run-of-a"));
    store
        .put_tenant(&tenant(&a, TenantState::Active, Some(base_time())))
        .await
        .expect("put a");
    store
        .put_tenant(&tenant(&b, TenantState::Active, Some(base_time())))
        .await
        .expect("put b");
    let a_mapping = linked_mapping(shared_object.as_str(), 1);
    store
        .put_mappings(&a, std::slice::from_ref(&a_mapping))
        .await
        .expect("mapping a");
    store
        .put_run(&a, &run_record(&a_run, base_time()))
        .await
        .expect("run a");
    let got = store.acquire_lease(&a, &a_run, TTL, base_time()).await;
    assert_eq!(
        got.expect("lease a"),
        LeaseOutcome::Acquired { expired_run: None }
    );

    // Nothing of A shows through B.
    assert!(is_empty(store, &b).await, "B sees none of A's items");
    assert!(store.get_run(&b, &a_run).await.expect("get").is_none());
    // Nor can B change A's items with A's ids.
    assert!(!store
        .renew_lease(&b, &a_run, TTL, base_time())
        .await
        .expect("renew"));
    store.release_lease(&b, &a_run).await.expect("release");
    store
        .delete_mapping(&b, &shared_object)
        .await
        .expect("delete");
    let now = base_time();
    assert_eq!(
        store.lease_holder(&a, now).await.expect("holder"),
        Some(a_run.clone())
    );
    assert_eq!(
        store.all_mappings(&a).await.expect("all"),
        vec![a_mapping.clone()]
    );

    // B's own lease and items live beside A's, under the same ids.
    let got = store
        .acquire_lease(&b, &a_run, TTL, now)
        .await
        .expect("lease b");
    assert_eq!(got, LeaseOutcome::Acquired { expired_run: None });
    let b_mapping = linked_mapping(shared_object.as_str(), 2);
    store
        .put_mappings(&b, std::slice::from_ref(&b_mapping))
        .await
        .expect("mapping b");
    let b_run = run_record(&a_run, now + chrono::TimeDelta::seconds(1));
    store.put_run(&b, &b_run).await.expect("run b");
    assert_eq!(store.all_mappings(&a).await.expect("all"), vec![a_mapping]);
    assert_eq!(
        store
            .get_run(&a, &a_run)
            .await
            .expect("get")
            .map(|r| r.summary.started_at),
        Some(now)
    );

    store.delete_tenant(&a).await.expect("delete a");
    assert!(store.get_tenant(&a).await.expect("get").is_none());
    assert!(is_empty(store, &a).await, "delete_tenant removes all of A");
    assert!(store.get_run(&a, &a_run).await.expect("get").is_none());
    // A's lease went with A: a deleted tenant has none to take.
    let fresh = store.acquire_lease(&a, &run_id("run-2"), TTL, now).await;
    assert_eq!(fresh.expect("lease"), LeaseOutcome::NoTenant);

    assert!(
        store.get_tenant(&b).await.expect("get").is_some(),
        "B stays"
    );
    assert_eq!(store.all_mappings(&b).await.expect("all"), vec![b_mapping]);
    assert_eq!(store.get_run(&b, &a_run).await.expect("get"), Some(b_run));
    assert_eq!(
        store.lease_holder(&b, now).await.expect("holder"),
        Some(a_run)
    );

    store.delete_tenant(&a).await.expect("delete a");
    store.delete_tenant(&b).await.expect("delete b");
}
