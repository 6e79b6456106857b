//! Pushed resources found by name and external id, kept per tenant, bounded in size, listed
//! in full however many pages the backend reads, and readable when a newer release wrote them.

use serde_json::json;

use super::newer_records::{RawRecords, StoredRecord};
use super::pushed::{find_name, next_version, pushed, user, users};
use super::{object_id, unique_tenant};
use crate::domain::{PushedKey, PushedKind, PushedResource, TenantId};
use crate::error::StoreError;
use crate::ports::Store;
use crate::store::MAX_PUSHED_BYTES;

async fn find_external(
    store: &dyn Store,
    t: &TenantId,
    kind: PushedKind,
    value: &str,
) -> Vec<PushedResource> {
    store
        .find_pushed(t, kind, PushedKey::ExternalId, value)
        .await
        .expect("find by external id")
}

/// Names match without case, external ids exactly; several resources may share an external
/// id (the store does not make them unique); look-ups follow replaces and deletes.
pub async fn pushed_find_by_name_and_external_id(store: &dyn Store) {
    let t = unique_tenant("push-find");
    let long_external = "e".repeat(700);
    let ann = user("u-1", "ann", Some("00u1"));
    let bob = user("u-2", "bob", Some("00U1"));
    let cy = user("u-3", "cy", None);
    let dee = user("u-4", "dee", Some("00u1"));
    let eve = user("u-5", "eve", Some(&long_external));
    let group = pushed(PushedKind::Group, "g-1", "Ann", Some("00u1"));
    for resource in [&dee, &cy, &bob, &ann, &eve, &group] {
        store.create_pushed(&t, resource).await.expect("create");
    }
    assert_eq!(find_name(store, &t, "ANN").await, vec![ann.clone()]);
    assert!(find_name(store, &t, "nobody").await.is_empty());
    let groups = store
        .find_pushed(&t, PushedKind::Group, PushedKey::Name, "ann")
        .await
        .expect("find group");
    assert_eq!(groups, vec![group.clone()]);

    let user_kind = PushedKind::User;
    assert_eq!(
        find_external(store, &t, user_kind, "00u1").await,
        vec![ann.clone(), dee.clone()]
    );
    assert_eq!(find_external(store, &t, user_kind, "00U1").await, vec![bob]);
    assert!(find_external(store, &t, user_kind, "00u").await.is_empty());
    assert_eq!(
        find_external(store, &t, user_kind, &long_external).await,
        vec![eve]
    );
    assert_eq!(
        find_external(store, &t, PushedKind::Group, "00u1").await,
        vec![group]
    );

    // A replace moves the external id; one without an external id drops it.
    let mut moved = next_version(&ann, "ann");
    moved.external_id = Some("00u9".into());
    store.replace_pushed(&t, &moved, 1).await.expect("move");
    let mut dropped = next_version(&dee, "dee");
    dropped.external_id = None;
    store.replace_pushed(&t, &dropped, 1).await.expect("drop");
    assert!(find_external(store, &t, user_kind, "00u1").await.is_empty());
    assert_eq!(
        find_external(store, &t, user_kind, "00u9").await,
        vec![moved]
    );
    let mut given = next_version(&cy, "cy");
    given.external_id = Some("00u9".into());
    store.replace_pushed(&t, &given, 1).await.expect("give");

    store
        .delete_pushed(&t, user_kind, &object_id("u-1"))
        .await
        .expect("delete");
    assert_eq!(
        find_external(store, &t, user_kind, "00u9").await,
        vec![given]
    );
    assert!(find_name(store, &t, "ann").await.is_empty());
    store.delete_tenant(&t).await.expect("clean up");
}

/// A's resources are invisible and untouchable through B, names are per tenant, and
/// `delete_tenant(A)` removes all of A's (its names are free again) and nothing of B's.
pub async fn pushed_resources_are_per_tenant(store: &dyn Store) {
    let (a, b) = (unique_tenant("push-a"), unique_tenant("push-b"));
    let a_ann = user("same", "ann", Some("00u-a"));
    let mut b_ann = user("same", "ANN", Some("00u-b"));
    b_ann.attributes["title"] = json!("of b");
    let a_only = user("a-only", "a-only", Some("00u-only"));
    store.create_pushed(&a, &a_ann).await.expect("a");
    store.create_pushed(&a, &a_only).await.expect("a");
    store
        .create_pushed(&b, &b_ann)
        .await
        .expect("names are per tenant");

    let kind = PushedKind::User;
    let b_same = store.get_pushed(&b, kind, &object_id("same")).await;
    assert_eq!(b_same.expect("get"), Some(b_ann.clone()));
    let b_only = store.get_pushed(&b, kind, &object_id("a-only")).await;
    assert_eq!(b_only.expect("get"), None);
    assert!(find_external(store, &b, kind, "00u-only").await.is_empty());
    assert!(find_name(store, &b, "a-only").await.is_empty());
    let deleted = store.delete_pushed(&b, kind, &object_id("a-only")).await;
    assert!(!deleted.expect("delete through b"));
    let replaced = store
        .replace_pushed(&b, &next_version(&a_only, "a-only"), 1)
        .await;
    assert!(matches!(replaced, Err(StoreError::Stale)), "{replaced:?}");
    assert_eq!(users(store, &a).await, vec![a_only.clone(), a_ann.clone()]);

    store.delete_tenant(&a).await.expect("delete a");
    assert!(users(store, &a).await.is_empty());
    assert!(find_name(store, &a, "ann").await.is_empty());
    assert!(find_external(store, &a, kind, "00u-a").await.is_empty());
    let a_same = store.get_pushed(&a, kind, &object_id("same")).await;
    assert_eq!(a_same.expect("get"), None);
    store
        .create_pushed(&a, &user("new", "ann", None))
        .await
        .expect("a's names are free after delete_tenant");
    assert_eq!(users(store, &b).await, vec![b_ann]);
    store.delete_tenant(&a).await.expect("clean up");
    store.delete_tenant(&b).await.expect("clean up");
}

/// `attributes` padded so that the resource's JSON is `bytes` long.
fn sized(mut resource: PushedResource, bytes: usize) -> PushedResource {
    resource.attributes["padding"] = json!("");
    let base = serde_json::to_string(&resource).expect("json").len();
    resource.attributes["padding"] = json!("p".repeat(bytes.saturating_sub(base)));
    resource
}

/// A resource over [`MAX_PUSHED_BYTES`] is refused with nothing written; ones just under it
/// are kept, and listing five of them (more than one DynamoDB page) returns every one.
pub async fn pushed_bodies_are_bounded_and_listed_in_full(store: &dyn Store) {
    let t = unique_tenant("push-size");
    let big = sized(user("big", "big", Some("00u-big")), MAX_PUSHED_BYTES + 1);
    let refused = store.create_pushed(&t, &big).await;
    assert!(
        matches!(refused, Err(StoreError::TooLarge { bytes, max })
            if bytes == MAX_PUSHED_BYTES + 1 && max == MAX_PUSHED_BYTES),
        "{refused:?}"
    );
    assert!(users(store, &t).await.is_empty(), "nothing written");
    assert!(find_name(store, &t, "big").await.is_empty());

    let full: Vec<PushedResource> = (0..5)
        .map(|n| {
            sized(
                user(&format!("u-{n}"), &format!("user{n}"), None),
                MAX_PUSHED_BYTES,
            )
        })
        .collect();
    for resource in full.iter().rev() {
        store.create_pushed(&t, resource).await.expect("create");
    }
    assert_eq!(users(store, &t).await, full);

    let grown = sized(next_version(&full[0], "user0"), MAX_PUSHED_BYTES + 1);
    let refused = store.replace_pushed(&t, &grown, 1).await;
    assert!(
        matches!(refused, Err(StoreError::TooLarge { .. })),
        "{refused:?}"
    );
    let kept = store.get_pushed(&t, PushedKind::User, &full[0].id).await;
    assert_eq!(kept.expect("get"), Some(full[0].clone()));
    store.delete_tenant(&t).await.expect("clean up");
}

/// A resource whose stored JSON carries fields a newer release added still reads, finds and
/// lists, and takes a replace.
pub async fn pushed_records_from_a_newer_release_read(store: &dyn Store, raw: &dyn RawRecords) {
    let t = unique_tenant("push-newer");
    let ann = user("u-1", "ann", Some("00u1"));
    store.create_pushed(&t, &ann).await.expect("create");
    let fields = json!({"source": {"provider": "entra", "job": "sync-1"}, "etags": ["W/\"1\""]});
    raw.merge_into_body(&t, StoredRecord::Pushed(PushedKind::User, "u-1"), &fields)
        .await;

    let got = store.get_pushed(&t, PushedKind::User, &ann.id).await;
    assert_eq!(got.expect("get"), Some(ann.clone()));
    assert_eq!(find_name(store, &t, "ANN").await, vec![ann.clone()]);
    let by_external = find_external(store, &t, PushedKind::User, "00u1").await;
    assert_eq!(by_external, vec![ann.clone()]);
    assert_eq!(users(store, &t).await, vec![ann.clone()]);
    let replaced = next_version(&ann, "ann");
    store
        .replace_pushed(&t, &replaced, 1)
        .await
        .expect("replace");
    assert_eq!(users(store, &t).await, vec![replaced]);
    store.delete_tenant(&t).await.expect("clean up");
}
