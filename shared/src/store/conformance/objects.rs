//! Organization and group mappings: put, replace, delete; kinds and user mappings of the same
//! object id never collide; tenants are isolated; `delete_tenant` removes them.

use super::{base_time, linked_mapping, object_id, unique_tenant};
use crate::domain::{ObjectKind, ObjectLink, ObjectMapping};
use crate::ports::Store;

pub(super) fn object_mapping(
    kind: ObjectKind,
    object: &str,
    pbx_id: Option<&str>,
) -> ObjectMapping {
    ObjectMapping {
        kind,
        object_id: object_id(object),
        link: match pbx_id {
            Some(pbx_id) => ObjectLink::Linked {
                pbx_id: pbx_id.to_string(),
            },
            None => ObjectLink::Pending {
                idempotency_key: format!("key-{object}"),
            },
        },
        name: format!("{} {object}", kind.as_str()),
        last_synced_at: base_time(),
    }
}

pub async fn object_mappings_put_replace_delete(store: &dyn Store) {
    let t = unique_tenant("obj");
    assert!(store.all_object_mappings(&t).await.expect("all").is_empty());

    // Put out of order: read back by kind (organizations first), then object id.
    let org_b = object_mapping(ObjectKind::Organization, "ou=b", Some("org-2"));
    let org_a = object_mapping(ObjectKind::Organization, "ou=a", None);
    let group_same = object_mapping(ObjectKind::Group, "ou=a", Some("grp-1"));
    let group_z = object_mapping(ObjectKind::Group, "g-z", Some("grp-2"));
    for mapping in [&group_z, &org_b, &group_same, &org_a] {
        store.put_object_mapping(&t, mapping).await.expect("put");
    }
    // A user mapping of the same object id is a different record.
    let user = linked_mapping("ou=a", 1);
    store
        .put_mappings(&t, std::slice::from_ref(&user))
        .await
        .expect("put user mapping");
    let all = store.all_object_mappings(&t).await.expect("all");
    assert_eq!(
        all,
        vec![
            org_a.clone(),
            org_b.clone(),
            group_z.clone(),
            group_same.clone()
        ]
    );

    // Replace: the pending organization is linked and renamed; nothing else changes.
    let mut linked = org_a.clone();
    linked.link = ObjectLink::Linked {
        pbx_id: "org-1".into(),
    };
    linked.name = "Renamed".into();
    store
        .put_object_mapping(&t, &linked)
        .await
        .expect("replace");
    let all = store.all_object_mappings(&t).await.expect("all");
    assert_eq!(
        all,
        vec![linked, org_b.clone(), group_z.clone(), group_same.clone()]
    );

    // Delete one kind of an id: the other kind and the user mapping stay.
    store
        .delete_object_mapping(&t, ObjectKind::Organization, &object_id("ou=a"))
        .await
        .expect("delete");
    store
        .delete_object_mapping(&t, ObjectKind::Group, &object_id("absent"))
        .await
        .expect("deleting something absent succeeds");
    let all = store.all_object_mappings(&t).await.expect("all");
    assert_eq!(all, vec![org_b, group_z, group_same]);
    assert_eq!(store.all_mappings(&t).await.expect("users"), vec![user]);

    // Deleting the user mapping leaves the objects of that id alone.
    store
        .delete_mapping(&t, &object_id("ou=a"))
        .await
        .expect("delete user mapping");
    assert_eq!(store.all_object_mappings(&t).await.expect("all").len(), 3);

    store.delete_tenant(&t).await.expect("delete tenant");
    assert!(store.all_object_mappings(&t).await.expect("all").is_empty());
}

/// A's object mappings are invisible and untouchable through B; deleting A leaves B's.
pub async fn object_mappings_are_per_tenant(store: &dyn Store) {
    let (a, b) = (unique_tenant("obj-a"), unique_tenant("obj-b"));
    let a_org = object_mapping(ObjectKind::Organization, "same", Some("org-a"));
    let b_org = object_mapping(ObjectKind::Organization, "same", Some("org-b"));
    let a_group = object_mapping(ObjectKind::Group, "group-a", Some("grp-a"));
    store.put_object_mapping(&a, &a_org).await.expect("put");
    store.put_object_mapping(&a, &a_group).await.expect("put");
    store.put_object_mapping(&b, &b_org).await.expect("put");
    assert_eq!(
        store.all_object_mappings(&b).await.expect("b"),
        vec![b_org.clone()]
    );

    store
        .delete_object_mapping(&b, ObjectKind::Group, &object_id("group-a"))
        .await
        .expect("delete through b");
    assert_eq!(
        store.all_object_mappings(&a).await.expect("a"),
        vec![a_org, a_group]
    );

    store.delete_tenant(&a).await.expect("delete a");
    assert!(store.all_object_mappings(&a).await.expect("a").is_empty());
    assert_eq!(store.all_object_mappings(&b).await.expect("b"), vec![b_org]);
    store.delete_tenant(&b).await.expect("clean up");
}

/// Phonebook entry mappings (keys `{number}@{user}`, with a `+`) are stored beside the
/// organization and group mappings of the same ids, pending then linked, and deleted alone.
pub async fn phonebook_entry_mappings_are_kept(store: &dyn Store) {
    let t = unique_tenant("pb");
    let key = "+4930123@00000000-0000-4000-8000-000000000001";
    let pending = object_mapping(ObjectKind::PhonebookEntry, key, None);
    let group = object_mapping(ObjectKind::Group, key, Some("grp-1"));
    store.put_object_mapping(&t, &pending).await.expect("put");
    store.put_object_mapping(&t, &group).await.expect("put");
    assert_eq!(
        store.all_object_mappings(&t).await.expect("all"),
        vec![group.clone(), pending.clone()]
    );
    let linked = object_mapping(ObjectKind::PhonebookEntry, key, Some("pb-000001"));
    store.put_object_mapping(&t, &linked).await.expect("link");
    assert_eq!(
        store.all_object_mappings(&t).await.expect("all"),
        vec![group.clone(), linked]
    );
    store
        .delete_object_mapping(&t, ObjectKind::PhonebookEntry, &object_id(key))
        .await
        .expect("delete");
    assert_eq!(
        store.all_object_mappings(&t).await.expect("all"),
        vec![group]
    );
    store.delete_tenant(&t).await.expect("clean up");
}
