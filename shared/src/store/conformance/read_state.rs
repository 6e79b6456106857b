//! The kept read state: absent until put, replaced whole, large states (10,000 users, more
//! than one DynamoDB item) read back exactly, per tenant, gone with the tenant, and never
//! kept for a tenant that is not stored.

use super::{base_time, object_id, random_suffix, stored_tenant, unique_tenant};
use crate::domain::{
    ChangeCursor, Coverage, DirectoryUser, Extension, ExtensionId, KeptListing, ReadHead,
    ReadState, Snapshot, UserState,
};
use crate::error::StoreError;
use crate::ports::Store;

/// A user whose fields are random enough that 10,000 of them compress to several pieces.
fn user(n: usize) -> DirectoryUser {
    let noise = random_suffix();
    DirectoryUser {
        object_id: object_id(&format!("{noise}-{n:05}")),
        first_name: Some(format!("First{noise}")),
        last_name: Some(format!("Last{n}")),
        email: Some(format!("u{n}.{noise}@example.com")),
        mobile: n.is_multiple_of(3).then(|| format!("+1555{n:07}")),
        job_title: None,
        extension: Some(format!("{}", 1000 + n)),
        state: if n.is_multiple_of(11) {
            UserState::Disabled
        } else {
            UserState::Active
        },
        expires_at: n
            .is_multiple_of(13)
            .then(|| base_time() + chrono::TimeDelta::days(n as i64)),
        in_scope: !n.is_multiple_of(17),
        dn: Some(format!("uid=u{n},ou=people,dc=example,dc=com")),
        groups: Vec::new(),
        organization: None,
        write_back: None,
        sip_password: None,
        avatar: None,
        avatar_ref: None,
        extra_numbers: Vec::new(),
    }
}

/// A state as a run keeps it: users in object id order.
pub(super) fn state(count: usize, cursor: &str) -> ReadState {
    let mut users: Vec<_> = (0..count).map(user).collect();
    users.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    ReadState {
        snapshot: Snapshot {
            users,
            organizations: Vec::new(),
            groups: Vec::new(),
            coverage: Coverage::WholeDirectory,
            complete: true,
            change_cursor: Some(ChangeCursor {
                provider: "test".into(),
                position: cursor.into(),
            }),
        },
        config_fingerprint: format!("fp-{cursor}"),
        full_read_at: base_time(),
        pbx: Some(KeptListing {
            base_url: "https://pbx.example.com".into(),
            etag: format!("\"{cursor}\""),
            extensions: vec![Extension {
                id: ExtensionId::parse("ext-1").expect("valid extension id"),
                number: "1000".into(),
                first_name: Some("Ann".into()),
                last_name: None,
                email: Some("ann@example.com".into()),
                mobile: None,
                enabled: true,
                job_title: None,
                organization_id: None,
                avatar_sha256: None,
                managed_by: None,
            }],
        }),
        settled: count.is_multiple_of(2),
    }
}

/// The state kept for `tenant`, without its head.
async fn put(store: &dyn Store, tenant: &crate::domain::TenantId, state: &ReadState) {
    let encoded = crate::store::read_state_codec::encode(state).unwrap();
    store.put_read_state(tenant, &encoded).await.unwrap();
}

async fn kept(store: &dyn Store, tenant: &crate::domain::TenantId) -> Option<ReadState> {
    store
        .get_read_state(tenant)
        .await
        .unwrap()
        .map(|(_, state)| state)
}

async fn kept_head(store: &dyn Store, tenant: &crate::domain::TenantId) -> Option<ReadHead> {
    store
        .get_read_state(tenant)
        .await
        .unwrap()
        .map(|(head, _)| head)
}

pub async fn read_state_put_replace_delete(store: &dyn Store) {
    let (tenant, other) = (
        stored_tenant(store, "read").await,
        stored_tenant(store, "read-other").await,
    );
    assert_eq!(kept(store, &tenant).await, None);
    assert_eq!(kept_head(store, &tenant).await, None);
    let small = state(3, "c1");
    put(store, &tenant, &small).await;
    assert_eq!(kept(store, &tenant).await, Some(small));
    assert_eq!(kept(store, &other).await, None);

    let large = state(10_000, "c2");
    put(store, &tenant, &large).await;
    assert_eq!(kept(store, &tenant).await.as_ref(), Some(&large));
    // The same directory under a moved cursor (DynamoDB rewrites only the head).
    let mut moved = large.clone();
    moved.snapshot.change_cursor = Some(ChangeCursor {
        provider: "test".into(),
        position: "c2b".into(),
    });
    put(store, &tenant, &moved).await;
    let (head, read) = store.get_read_state(&tenant).await.unwrap().unwrap();
    assert_eq!(read, moved);
    assert_eq!(head.change_cursor, moved.snapshot.change_cursor);
    assert_eq!(head.next_expiry, moved.snapshot.next_expiry());
    assert_eq!(head.pbx.as_ref().map(|l| l.etag.as_str()), Some("\"c2\""));
    // A head moved alone: the body stays, the state reads with the new cursor.
    let mut ahead = head.clone();
    ahead.change_cursor = Some(ChangeCursor {
        provider: "test".into(),
        position: "c2c".into(),
    });
    ahead.settled = !head.settled;
    store.put_read_head(&tenant, &ahead).await.unwrap();
    let (read_head, read) = store.get_read_state(&tenant).await.unwrap().unwrap();
    assert_eq!(read_head, ahead);
    assert_eq!(read.snapshot.change_cursor, ahead.change_cursor);
    assert_eq!(read.settled, ahead.settled);
    assert_eq!(read.snapshot.users, moved.snapshot.users);
    // A head naming another body is refused, and so is one for a tenant with no state.
    let mut elsewhere = ahead.clone();
    elsewhere.body_sha256 = "0".repeat(64);
    assert!(matches!(
        store.put_read_head(&tenant, &elsewhere).await,
        Err(StoreError::Stale)
    ));
    assert!(matches!(
        store.put_read_head(&other, &ahead).await,
        Err(StoreError::Stale)
    ));
    assert_eq!(kept_head(store, &tenant).await, Some(ahead));
    assert_eq!(kept_head(store, &other).await, None);

    // Back to a small one: no piece of the large one is read with it.
    let smaller = state(2, "c3");
    put(store, &tenant, &smaller).await;
    assert_eq!(kept(store, &tenant).await, Some(smaller));

    store.delete_read_state(&tenant).await.unwrap();
    assert_eq!(kept(store, &tenant).await, None);
    assert_eq!(kept_head(store, &tenant).await, None);
    store.delete_read_state(&tenant).await.unwrap();

    put(store, &tenant, &large).await;
    store.delete_tenant(&tenant).await.unwrap();
    assert_eq!(kept(store, &tenant).await, None);
    // A tenant that is not stored (one deleted while its run read) keeps nothing.
    put(store, &tenant, &state(3, "c4")).await;
    assert_eq!(kept(store, &tenant).await, None);
    assert_eq!(kept_head(store, &tenant).await, None);
    let never = unique_tenant("read-never");
    put(store, &never, &state(3, "c4")).await;
    assert_eq!(kept(store, &never).await, None);
    store.delete_tenant(&other).await.unwrap();
}
