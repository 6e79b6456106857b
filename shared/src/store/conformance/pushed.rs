//! Users and groups pushed over SCIM (`Store::*_pushed`): create, read, conditional replace
//! and delete; names unique per kind without case, even under concurrent creates.

use chrono::TimeDelta;
use serde_json::json;

use super::{base_time, object_id, unique_tenant};
use crate::domain::{PushedKey, PushedKind, PushedResource, TenantId};
use crate::error::StoreError;
use crate::ports::Store;

/// A resource at version 1, with attributes as the SCIM layer keeps them.
pub(super) fn pushed(
    kind: PushedKind,
    id: &str,
    name: &str,
    external_id: Option<&str>,
) -> PushedResource {
    let attributes = match kind {
        PushedKind::User => json!({
            "userName": name,
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "ann@example.com", "primary": true}],
            "phoneNumbers": [{"value": "101", "type": "work"}],
            "active": true,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}
        }),
        PushedKind::Group => json!({
            "displayName": name,
            "members": [{"value": "u-1"}, {"value": "u-2"}]
        }),
    };
    PushedResource {
        kind,
        id: object_id(id),
        external_id: external_id.map(str::to_string),
        name: name.to_string(),
        version: 1,
        created: base_time(),
        last_modified: base_time(),
        attributes,
    }
}

pub(super) fn user(id: &str, name: &str, external_id: Option<&str>) -> PushedResource {
    pushed(PushedKind::User, id, name, external_id)
}

/// `resource` as a replace writes it: renamed, the next version, modified a second later.
pub(super) fn next_version(resource: &PushedResource, name: &str) -> PushedResource {
    let mut next = resource.clone();
    next.name = name.to_string();
    next.version += 1;
    next.last_modified = resource.last_modified + TimeDelta::seconds(1);
    next.attributes["title"] = json!(format!("version {}", next.version));
    next
}

pub(super) async fn users(store: &dyn Store, t: &TenantId) -> Vec<PushedResource> {
    store
        .all_pushed(t, PushedKind::User)
        .await
        .expect("all users")
}

pub(super) async fn find_name(store: &dyn Store, t: &TenantId, name: &str) -> Vec<PushedResource> {
    store
        .find_pushed(t, PushedKind::User, PushedKey::Name, name)
        .await
        .expect("find by name")
}

async fn get_user(store: &dyn Store, t: &TenantId, id: &str) -> Option<PushedResource> {
    store
        .get_pushed(t, PushedKind::User, &object_id(id))
        .await
        .expect("get")
}

pub async fn pushed_create_get_replace_delete(store: &dyn Store) {
    let t = unique_tenant("push");
    assert!(users(store, &t).await.is_empty());
    assert_eq!(get_user(store, &t, "u-1").await, None);

    // Created out of order: listed in id order. A group may share a user's id and name.
    let (ann, bob) = (user("u-1", "ann", Some("00u1")), user("u-2", "bob", None));
    let group = pushed(PushedKind::Group, "u-1", "ann", Some("00g1"));
    for resource in [&bob, &group, &ann] {
        store.create_pushed(&t, resource).await.expect("create");
    }
    assert_eq!(get_user(store, &t, "u-1").await, Some(ann.clone()));
    assert_eq!(users(store, &t).await, vec![ann.clone(), bob.clone()]);
    let groups = store.all_pushed(&t, PushedKind::Group).await.expect("all");
    assert_eq!(groups, vec![group.clone()]);

    let replaced = next_version(&ann, "ann");
    store
        .replace_pushed(&t, &replaced, 1)
        .await
        .expect("replace");
    assert_eq!(get_user(store, &t, "u-1").await, Some(replaced.clone()));

    // A create of a stored id is stale and changes nothing.
    let again = user("u-1", "someone-else", None);
    let result = store.create_pushed(&t, &again).await;
    assert!(matches!(result, Err(StoreError::Stale)), "{result:?}");
    assert_eq!(get_user(store, &t, "u-1").await, Some(replaced));
    assert!(find_name(store, &t, "someone-else").await.is_empty());

    let user_1 = object_id("u-1");
    assert!(store
        .delete_pushed(&t, PushedKind::User, &user_1)
        .await
        .expect("delete"));
    assert!(!store
        .delete_pushed(&t, PushedKind::User, &user_1)
        .await
        .expect("delete again"));
    assert_eq!(get_user(store, &t, "u-1").await, None);
    assert_eq!(users(store, &t).await, vec![bob.clone()]);
    let groups = store.all_pushed(&t, PushedKind::Group).await.expect("all");
    assert_eq!(groups, vec![group], "the group of the same id stays");
    // The deleted user's name is free again.
    let ann_again = user("u-3", "ANN", None);
    store.create_pushed(&t, &ann_again).await.expect("reuse");
    assert_eq!(users(store, &t).await, vec![bob, ann_again]);

    store.delete_tenant(&t).await.expect("delete tenant");
    assert!(users(store, &t).await.is_empty());
    let groups = store.all_pushed(&t, PushedKind::Group).await.expect("all");
    assert!(groups.is_empty());
}

/// One name per kind, compared without case (beyond ASCII too, and on names hundreds of
/// characters long); a refused create or replace writes nothing.
pub async fn pushed_names_are_unique_without_case(store: &dyn Store) {
    let t = unique_tenant("push-names");
    let ann = user("u-1", "Ann@Example.com", None);
    store.create_pushed(&t, &ann).await.expect("create");
    let taken = |r: Result<(), StoreError>| matches!(r, Err(StoreError::NameTaken));

    let clash = user("u-2", "ann@example.COM", Some("00u2"));
    assert!(taken(store.create_pushed(&t, &clash).await));
    assert_eq!(get_user(store, &t, "u-2").await, None, "nothing written");
    let by_external = store
        .find_pushed(&t, PushedKind::User, PushedKey::ExternalId, "00u2")
        .await
        .expect("find");
    assert!(by_external.is_empty(), "nothing written");
    assert_eq!(users(store, &t).await, vec![ann.clone()]);

    store
        .create_pushed(&t, &user("u-3", "Émile", None))
        .await
        .expect("create");
    assert!(taken(
        store.create_pushed(&t, &user("u-4", "éMILE", None)).await
    ));

    // Long names: the whole name counts, not a prefix.
    let long = format!("{}@example.com", "x".repeat(600));
    let long_user = user("u-5", &long, None);
    store.create_pushed(&t, &long_user).await.expect("long");
    let long_clash = user("u-6", &long.to_uppercase(), None);
    assert!(taken(store.create_pushed(&t, &long_clash).await));
    let sibling = format!("{}@example.org", "x".repeat(600));
    store
        .create_pushed(&t, &user("u-7", &sibling, None))
        .await
        .expect("a name sharing a long prefix is another name");
    assert_eq!(
        find_name(store, &t, &long.to_uppercase()).await,
        vec![long_user]
    );

    // Groups have names of their own.
    let group = pushed(PushedKind::Group, "g-1", "ann@example.com", None);
    store.create_pushed(&t, &group).await.expect("group");

    // A rename onto a taken name is refused and changes nothing.
    let bob = user("u-8", "bob", None);
    store.create_pushed(&t, &bob).await.expect("create");
    let onto_ann = next_version(&bob, "ANN@example.com");
    assert!(taken(store.replace_pushed(&t, &onto_ann, 1).await));
    assert_eq!(get_user(store, &t, "u-8").await, Some(bob.clone()));
    assert_eq!(find_name(store, &t, "bob").await, vec![bob]);

    // A resource keeps its own name in another case; a rename frees the old name.
    let recased = next_version(&ann, "ANN@EXAMPLE.COM");
    store.replace_pushed(&t, &recased, 1).await.expect("recase");
    let renamed = next_version(&recased, "ann2");
    store.replace_pushed(&t, &renamed, 2).await.expect("rename");
    assert_eq!(find_name(store, &t, "Ann2").await, vec![renamed.clone()]);
    assert!(find_name(store, &t, "ann@example.com").await.is_empty());
    let newcomer = user("u-2", "ann@example.com", None);
    store.create_pushed(&t, &newcomer).await.expect("freed");
    assert_eq!(
        find_name(store, &t, "ANN@example.com").await,
        vec![newcomer]
    );

    store.delete_tenant(&t).await.expect("clean up");
}

/// A replace applies only over the version it names: a stale one, or one of a resource that
/// is gone, is [`StoreError::Stale`] and writes nothing (its new name stays free).
pub async fn pushed_replace_is_conditional(store: &dyn Store) {
    let t = unique_tenant("push-stale");
    let ann = user("u-1", "ann", None);
    store.create_pushed(&t, &ann).await.expect("create");
    let stale = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Stale));

    let v2 = next_version(&ann, "ann");
    assert!(stale(store.replace_pushed(&t, &v2, 2).await));
    assert_eq!(get_user(store, &t, "u-1").await, Some(ann.clone()));
    store.replace_pushed(&t, &v2, 1).await.expect("replace");

    // A second writer that read version 1 too, renaming: refused, its name not claimed.
    let late = next_version(&ann, "late-name");
    assert!(stale(store.replace_pushed(&t, &late, 1).await));
    assert_eq!(get_user(store, &t, "u-1").await, Some(v2.clone()));
    store
        .create_pushed(&t, &user("u-2", "late-name", None))
        .await
        .expect("the stale writer's name is free");

    let ghost = next_version(&user("u-9", "ghost", None), "ghost");
    assert!(stale(store.replace_pushed(&t, &ghost, 1).await));
    assert_eq!(get_user(store, &t, "u-9").await, None, "nothing created");
    assert!(find_name(store, &t, "ghost").await.is_empty());

    // Five writers of version 2 at once: one wins.
    let writers: Vec<PushedResource> = (0..5)
        .map(|n| next_version(&v2, &format!("writer-{n}")))
        .collect();
    let results =
        futures::future::join_all(writers.iter().map(|w| store.replace_pushed(&t, w, 2))).await;
    let won: Vec<usize> = (0..5).filter(|&n| results[n].is_ok()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    assert!(results
        .iter()
        .all(|r| matches!(r, Ok(()) | Err(StoreError::Stale))));
    assert_eq!(
        get_user(store, &t, "u-1").await,
        Some(writers[won[0]].clone())
    );
    for (n, writer) in writers.iter().enumerate() {
        let found = find_name(store, &t, &writer.name).await;
        assert_eq!(found.len(), usize::from(n == won[0]), "writer-{n}");
    }
    store.delete_tenant(&t).await.expect("clean up");
}

/// Ten creates of one name (in different cases) at once: exactly one is stored, the others
/// are told the name is taken.
pub async fn concurrent_pushed_creates_have_one_winner(store: &dyn Store) {
    for round in 0..2 {
        let t = unique_tenant("push-race");
        let racers: Vec<PushedResource> = (0..10)
            .map(|n| {
                let name = if n % 2 == 0 {
                    "Race@Example.com"
                } else {
                    "race@example.COM"
                };
                user(&format!("r-{n}"), name, Some(&format!("ext-{n}")))
            })
            .collect();
        let results =
            futures::future::join_all(racers.iter().map(|r| store.create_pushed(&t, r))).await;
        let won: Vec<usize> = (0..10).filter(|&n| results[n].is_ok()).collect();
        assert_eq!(won.len(), 1, "round {round}: {results:?}");
        for result in &results {
            assert!(
                result.is_ok() || matches!(result, Err(StoreError::NameTaken)),
                "round {round}: {result:?}"
            );
        }
        let winner = racers[won[0]].clone();
        assert_eq!(users(store, &t).await, vec![winner.clone()]);
        assert_eq!(find_name(store, &t, "RACE@example.com").await, vec![winner]);
        store.delete_tenant(&t).await.expect("clean up");
    }
}
