//! `Store::count_pushed`: the count moves with every create and delete that happened, and
//! with nothing else, per kind and per tenant.

use super::pushed::{next_version, pushed, user, users};
use super::{object_id, unique_tenant};
use crate::domain::{PushedKind, TenantId};
use crate::error::StoreError;
use crate::ports::Store;

async fn count(store: &dyn Store, t: &TenantId, kind: PushedKind) -> usize {
    store.count_pushed(t, kind).await.expect("count")
}

async fn delete(store: &dyn Store, t: &TenantId, kind: PushedKind, id: &str) -> bool {
    store
        .delete_pushed(t, kind, &object_id(id))
        .await
        .expect("delete")
}

pub async fn pushed_counts_follow_creates_and_deletes(store: &dyn Store) {
    let (t, other) = (
        unique_tenant("push-count"),
        unique_tenant("push-count-other"),
    );
    assert_eq!(count(store, &t, PushedKind::User).await, 0);
    assert_eq!(count(store, &t, PushedKind::Group).await, 0);

    for n in 1..=3 {
        let u = user(&format!("u-{n}"), &format!("user-{n}"), None);
        store.create_pushed(&t, &u).await.expect("create");
    }
    let group = pushed(PushedKind::Group, "g-1", "user-1", None);
    store.create_pushed(&t, &group).await.expect("group");
    store
        .create_pushed(&other, &user("u-1", "user-1", None))
        .await
        .expect("other tenant");
    assert_eq!(count(store, &t, PushedKind::User).await, 3);
    assert_eq!(count(store, &t, PushedKind::Group).await, 1);
    assert_eq!(count(store, &other, PushedKind::User).await, 1);
    assert_eq!(count(store, &other, PushedKind::Group).await, 0);

    // Refused creates (a taken name, a stored id) and replaces leave the count alone.
    let taken = store.create_pushed(&t, &user("u-9", "USER-2", None)).await;
    assert!(matches!(taken, Err(StoreError::NameTaken)), "{taken:?}");
    let stale = store.create_pushed(&t, &user("u-1", "fresh", None)).await;
    assert!(matches!(stale, Err(StoreError::Stale)), "{stale:?}");
    let renamed = next_version(&user("u-1", "user-1", None), "renamed");
    store
        .replace_pushed(&t, &renamed, 1)
        .await
        .expect("replace");
    assert_eq!(count(store, &t, PushedKind::User).await, 3);

    assert!(delete(store, &t, PushedKind::User, "u-2").await);
    assert!(!delete(store, &t, PushedKind::User, "u-2").await, "gone");
    assert!(!delete(store, &t, PushedKind::User, "u-404").await, "never");
    assert_eq!(count(store, &t, PushedKind::User).await, 2);
    assert_eq!(count(store, &t, PushedKind::Group).await, 1);
    assert_eq!(count(store, &other, PushedKind::User).await, 1);
    assert!(delete(store, &t, PushedKind::Group, "g-1").await);
    assert_eq!(count(store, &t, PushedKind::Group).await, 0);

    // Creates at once, some of one name: the count is what was stored.
    let racers: Vec<_> = (0..8)
        .map(|n| user(&format!("r-{n}"), &format!("racer-{}", n % 6), None))
        .collect();
    let results =
        futures::future::join_all(racers.iter().map(|r| store.create_pushed(&t, r))).await;
    for result in &results {
        assert!(
            matches!(result, Ok(()) | Err(StoreError::NameTaken)),
            "{result:?}"
        );
    }
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 6);
    assert_eq!(
        count(store, &t, PushedKind::User).await,
        users(store, &t).await.len()
    );
    assert_eq!(count(store, &t, PushedKind::User).await, 8);

    // A deleted tenant counts nothing, and counts afresh.
    store.delete_tenant(&t).await.expect("delete tenant");
    assert_eq!(count(store, &t, PushedKind::User).await, 0);
    store
        .create_pushed(&t, &user("u-1", "user-1", None))
        .await
        .expect("create again");
    assert_eq!(count(store, &t, PushedKind::User).await, 1);
    store.delete_tenant(&t).await.expect("clean up");
    store.delete_tenant(&other).await.expect("clean up");
}
