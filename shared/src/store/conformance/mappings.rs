//! Mappings: upsert, delete, and object-id-ordered paging.

use futures::{StreamExt, TryStreamExt};
use rand::seq::SliceRandom;

use super::{linked_mapping, object_id, pending_mapping, unique_tenant};
use crate::domain::{Mapping, TenantId};
use crate::ports::Store;

const MAPPINGS: usize = 1234;

/// Object ids without padding (`u-10` sorts before `u-9`) so that numeric order cannot pass
/// for id order, put in a random order.
fn many_mappings() -> Vec<Mapping> {
    let mut mappings: Vec<Mapping> = (0..MAPPINGS)
        .map(|n| linked_mapping(&format!("u-{n}"), n))
        .collect();
    mappings.shuffle(&mut rand::rng());
    mappings
}

/// Half one by one (concurrently), half in one call (batched where the store batches).
async fn put_all(store: &dyn Store, tenant: &TenantId, mappings: &[Mapping]) {
    let (single, batched) = mappings.split_at(mappings.len() / 2);
    futures::stream::iter(single)
        .map(|m| store.put_mappings(tenant, std::slice::from_ref(m)))
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await
        .expect("put_mappings, one each");
    store
        .put_mappings(tenant, batched)
        .await
        .expect("put_mappings, all at once");
}

/// Every page of `list_mappings` at `limit`, checking that all pages but the last are full and
/// that only the last has no cursor.
async fn all_pages(store: &dyn Store, tenant: &TenantId, limit: usize) -> Vec<Vec<Mapping>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_mappings(tenant, limit, cursor.as_deref())
            .await
            .expect("list_mappings");
        let last = page.next_cursor.is_none();
        if !last {
            assert_eq!(page.items.len(), limit, "a page with a cursor is full");
        }
        assert!(page.items.len() <= limit);
        pages.push(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages.len() <= MAPPINGS, "paging never ends");
    }
    pages
}

/// 1,234 mappings: paged 100 at a time in object id order; upsert replaces; delete removes;
/// a last page that is exactly full still has no cursor.
pub async fn mappings_upsert_delete_and_paging(store: &dyn Store) {
    let t = unique_tenant("map");
    assert!(store.all_mappings(&t).await.expect("all").is_empty());
    let first = store.list_mappings(&t, 10, None).await.expect("list");
    assert!(first.items.is_empty() && first.next_cursor.is_none());

    let mappings = many_mappings();
    put_all(store, &t, &mappings).await;
    let mut want = mappings.clone();
    want.sort_by(|a, b| a.object_id.cmp(&b.object_id));

    let pages = all_pages(store, &t, 100).await;
    assert_eq!(pages.len(), 13, "1,234 mappings are 13 pages of 100");
    assert_eq!(pages[12].len(), 34);
    let listed: Vec<Mapping> = pages.into_iter().flatten().collect();
    assert_eq!(
        listed, want,
        "pages hold every mapping once, in object id order"
    );
    assert_eq!(store.all_mappings(&t).await.expect("all"), want);

    // Upsert: same object id, new value (a pending create turning into another state).
    let replaced = pending_mapping("u-42", "4242");
    store
        .put_mappings(&t, std::slice::from_ref(&replaced))
        .await
        .expect("upsert");
    let all = store.all_mappings(&t).await.expect("all");
    assert_eq!(all.len(), MAPPINGS, "an upsert adds no row");
    let got = all.iter().find(|m| m.object_id.as_str() == "u-42");
    assert_eq!(got, Some(&replaced));

    // One call naming an object id twice: the later mapping wins.
    let (earlier, later) = (
        pending_mapping("u-7", "7001"),
        pending_mapping("u-7", "7002"),
    );
    let others = [linked_mapping("u-8", 8), linked_mapping("u-9", 9)];
    let batch = [earlier, others[0].clone(), later.clone(), others[1].clone()];
    store.put_mappings(&t, &batch).await.expect("a batch");
    let all = store.all_mappings(&t).await.expect("all");
    assert_eq!(all.len(), MAPPINGS);
    let got = all.iter().find(|m| m.object_id.as_str() == "u-7");
    assert_eq!(got, Some(&later));

    // Delete 34, leaving 1,200: two pages of 600, the second full and without a cursor.
    for n in 1200..MAPPINGS {
        let id = object_id(&format!("u-{n}"));
        store.delete_mapping(&t, &id).await.expect("delete");
    }
    store
        .delete_mapping(&t, &object_id("u-1200"))
        .await
        .expect("deleting a missing mapping succeeds");
    let pages = all_pages(store, &t, 600).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![600, 600]
    );
    let left: Vec<String> = pages
        .iter()
        .flatten()
        .map(|m| m.object_id.to_string())
        .collect();
    assert!(left.iter().all(|id| {
        let n: usize = id.trim_start_matches("u-").parse().unwrap_or(usize::MAX);
        n < 1200
    }));

    store.delete_tenant(&t).await.expect("delete tenant");
    assert!(store.all_mappings(&t).await.expect("all").is_empty());
}

/// A limit of 0 is taken as 1, and one above 1,000 as 1,000.
pub async fn mapping_pages_are_clamped(store: &dyn Store) {
    let t = unique_tenant("clamp");
    put_all(store, &t, &many_mappings()).await;

    let page = store.list_mappings(&t, 0, None).await.expect("list");
    assert_eq!(page.items.len(), 1);
    assert!(page.next_cursor.is_some());
    let page = store.list_mappings(&t, 5000, None).await.expect("list");
    assert_eq!(page.items.len(), 1000);
    let rest = store
        .list_mappings(&t, 5000, page.next_cursor.as_deref())
        .await
        .expect("list");
    assert_eq!(rest.items.len(), MAPPINGS - 1000);
    assert!(rest.next_cursor.is_none());

    store.delete_tenant(&t).await.expect("delete tenant");
}
