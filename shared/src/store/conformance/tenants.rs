//! Tenants: CRUD, id-ordered paging, and which tenants are due.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rand::Rng;

use super::{assert_same_tenant, random_suffix, tenant, tenant_id, unique_tenant};
use crate::domain::{
    DirectoryConfig, EndpointPolicy, PbxEndpoint, RunSummary, TenantId, TenantState, Trigger,
};
use crate::error::StoreError;
use crate::ports::{DueTenant, Store};

/// Put, get, replace and delete one tenant; absent tenants read as `None`.
pub async fn tenants_crud(store: &dyn Store) {
    let id = unique_tenant("crud");
    assert!(store.get_tenant(&id).await.expect("get").is_none());

    let mut t = tenant(&id, TenantState::Disconnected, None);
    t.revision = store.put_tenant(&t).await.expect("put");
    let got = store
        .get_tenant(&id)
        .await
        .expect("get")
        .expect("tenant was put");
    assert_same_tenant(&got, &t);
    assert_eq!(got.revision, t.revision);

    // Replace: every settings field of the second put wins.
    t.state = TenantState::Active;
    t.next_sync_at = Some(super::base_time() + TimeDelta::nanoseconds(123_456_789));
    t.pbx = Some(PbxEndpoint {
        base_url: "https://pbx.example.com/api".into(),
    });
    t.scim_token_sha256 = Some("5c".repeat(32));
    t.revision = store.put_tenant(&t).await.expect("second put");
    let got = store.get_tenant(&id).await.expect("get").expect("tenant");
    assert_same_tenant(&got, &t);
    assert_eq!(got.revision, t.revision);
    assert_eq!(got.scim_token_sha256, t.scim_token_sha256);

    store.delete_tenant(&id).await.expect("delete");
    assert!(store.get_tenant(&id).await.expect("get").is_none());
    // Deleting what is gone succeeds.
    store.delete_tenant(&id).await.expect("second delete");
}

/// A settings write from a stale read is refused with nothing written; the last run is
/// written on its own and survives settings writes, which never carry it.
pub async fn tenant_writes_are_conditional(store: &dyn Store) {
    let id = unique_tenant("cond");
    let mut t = tenant(&id, TenantState::Active, None);
    t.revision = store.put_tenant(&t).await.expect("put");
    // A second "new" tenant with the same id is stale: it would overwrite the first.
    let again = tenant(&id, TenantState::Paused, None);
    assert!(matches!(
        store.put_tenant(&again).await,
        Err(StoreError::Stale)
    ));

    let summary = RunSummary::started(
        super::run_id("run-cond"),
        Trigger::Manual,
        super::base_time(),
    );
    store.set_last_run(&id, &summary).await.expect("last run");
    let read = store.get_tenant(&id).await.expect("get").expect("tenant");
    assert_eq!(read.last_run, Some(summary.clone()));
    assert_eq!(
        read.revision, t.revision,
        "the last run leaves the revision"
    );

    let mut admin = read.clone();
    admin.state = TenantState::Paused;
    store.put_tenant(&admin).await.expect("fresh write");
    // `read` is stale now: its write changes nothing.
    let mut late = read;
    late.pbx = Some(PbxEndpoint {
        base_url: "https://late.example.com".into(),
    });
    assert!(matches!(
        store.put_tenant(&late).await,
        Err(StoreError::Stale)
    ));
    let got = store.get_tenant(&id).await.expect("get").expect("tenant");
    assert_eq!(got.state, TenantState::Paused);
    assert_eq!(got.pbx, None);
    assert_eq!(
        got.last_run,
        Some(summary),
        "a settings write keeps the last run"
    );

    // The scheduler's advance moves the revision too, so a write read before it is stale.
    let mut due = got.clone();
    due.state = TenantState::Active;
    due.next_sync_at = Some(super::base_time());
    due.revision = store.put_tenant(&due).await.expect("due");
    let later = super::base_time() + TimeDelta::hours(1);
    assert!(store
        .advance_next_sync(&id, super::base_time(), later)
        .await
        .expect("advance"));
    assert!(matches!(
        store.put_tenant(&due).await,
        Err(StoreError::Stale)
    ));

    // The last run of a tenant that is gone makes no tenant.
    store.delete_tenant(&id).await.expect("delete");
    store
        .set_last_run(&id, &got.last_run.expect("set"))
        .await
        .expect("no error");
    assert!(store.get_tenant(&id).await.expect("get").is_none());
}

/// Seven tenants listed 3 at a time: every tenant once, in id order, across several pages,
/// and the last page has no cursor. Other tenants of a shared database may be interleaved.
pub async fn tenants_paging(store: &dyn Store) {
    let prefix = format!("conf-page-{}", random_suffix());
    // Put out of order, so that insertion order cannot pass for id order.
    let ids: Vec<TenantId> = [4, 0, 6, 2, 5, 1, 3]
        .iter()
        .map(|i| tenant_id(&format!("{prefix}-{i}")))
        .collect();
    for id in &ids {
        store
            .put_tenant(&tenant(id, TenantState::Paused, None))
            .await
            .expect("put");
    }

    let mut listed: Vec<TenantId> = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_tenants(3, cursor.as_deref())
            .await
            .expect("list_tenants");
        pages += 1;
        assert!(page.items.len() <= 3, "a page holds at most `limit` items");
        listed.extend(page.items.into_iter().map(|t| t.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages < 1_000_000, "paging never ends");
    }
    assert!(
        pages >= 3,
        "seven tenants take at least three pages of three"
    );
    assert!(
        listed.windows(2).all(|w| w[0] < w[1]),
        "tenants are listed once each, in id order"
    );
    let mine: Vec<&TenantId> = listed
        .iter()
        .filter(|id| id.as_str().starts_with(&prefix))
        .collect();
    let mut want: Vec<&TenantId> = ids.iter().collect();
    want.sort();
    assert_eq!(mine, want);

    for id in &ids {
        store.delete_tenant(id).await.expect("delete");
    }
}

/// Only active tenants with `next_sync_at <= now` are due, soonest first, up to `limit`.
pub async fn due_tenants_order_and_state(store: &dyn Store) {
    // A random base in 1971..2001: far before any real tenant's schedule and unlikely to
    // overlap another run of the suite, so the first due tenants are ours.
    let offset = rand::rng().random_range(0..946_000_000i64);
    let base: DateTime<Utc> = Utc
        .timestamp_opt(31_536_000 + offset, 0)
        .single()
        .expect("valid time");
    let at = |secs: i64| Some(base + TimeDelta::seconds(secs));
    let make = |label: &str| unique_tenant(&format!("due-{label}"));
    let (a, b, c) = (make("a"), make("b"), make("c"));
    let (paused, disconnected, unscheduled, later) = (make("p"), make("d"), make("u"), make("l"));
    let all = [
        (&a, TenantState::Active, at(3)),
        (&b, TenantState::Active, at(1)),
        (&c, TenantState::Active, at(2)),
        (&paused, TenantState::Paused, at(0)),
        (&disconnected, TenantState::Disconnected, at(0)),
        (&unscheduled, TenantState::Active, None),
        (&later, TenantState::Active, at(3600)),
    ];
    for (id, state, next) in &all {
        store
            .put_tenant(&tenant(id, *state, *next))
            .await
            .expect("put");
    }
    let now = base + TimeDelta::seconds(3);
    let mine = |due: Vec<DueTenant>| -> Vec<TenantId> {
        due.into_iter()
            .map(|t| t.id)
            .filter(|id| all.iter().any(|(own, _, _)| *own == id))
            .collect()
    };

    // `a` is due exactly at `now`: "at or before".
    let due = mine(store.due_tenants(now, None, 100).await.expect("due"));
    assert_eq!(due, vec![b.clone(), c.clone(), a.clone()]);
    let first_two = store.due_tenants(now, None, 2).await.expect("due");
    assert_eq!(
        first_two,
        vec![
            DueTenant {
                id: b.clone(),
                next_sync_at: base + TimeDelta::seconds(1),
                every_hours: 1
            },
            DueTenant {
                id: c.clone(),
                next_sync_at: base + TimeDelta::seconds(2),
                every_hours: 1
            },
        ],
        "limit keeps the soonest, with their times and (default) periods"
    );
    let rest = store
        .due_tenants(now, first_two.last(), 100)
        .await
        .expect("due after");
    assert_eq!(
        mine(rest),
        vec![a.clone()],
        "the next page starts after the last"
    );
    let before = mine(store.due_tenants(base, None, 100).await.expect("due"));
    assert!(before.is_empty(), "nothing of ours is due before its time");

    // Pausing takes a due tenant out.
    let mut paused = tenant(&c, TenantState::Paused, at(2));
    paused.revision = store
        .get_tenant(&c)
        .await
        .expect("get")
        .expect("c")
        .revision;
    store.put_tenant(&paused).await.expect("pause");
    let due = mine(store.due_tenants(now, None, 100).await.expect("due"));
    assert_eq!(due, vec![b.clone(), a.clone()]);

    for (id, _, _) in &all {
        store.delete_tenant(id).await.expect("delete");
    }
}

/// The scheduler's step: `advance_next_sync` moves an active tenant's time only from the time
/// it was read, keeps the rest of the tenant, and takes it out of the due list; a paused,
/// rescheduled or deleted tenant is left as it is. The due list carries the tenant's period.
pub async fn advance_next_sync_is_conditional(store: &dyn Store) {
    // Random, as in the check above, so that a shared table's other tenants do not crowd the
    // first page of the due list.
    let offset = rand::rng().random_range(0..946_000_000i64);
    let base: DateTime<Utc> = Utc
        .timestamp_opt(31_536_000 + offset, 0)
        .single()
        .expect("valid time");
    let (from, to) = (base, base + TimeDelta::hours(6));
    let now = base + TimeDelta::seconds(1);
    let id = unique_tenant("advance");
    let mut t = tenant(&id, TenantState::Active, Some(from));
    let config = br#"{"provider": {"type": "ldif", "path": "/data/users.ldif"},
                      "schedule": {"every_hours": 6}}"#;
    t.directory =
        Some(DirectoryConfig::from_json(config, EndpointPolicy::default()).expect("config"));
    t.pbx = Some(PbxEndpoint {
        base_url: "https://pbx.example.com/api".into(),
    });
    store.put_tenant(&t).await.expect("put");
    let due = store.due_tenants(now, None, 1000).await.expect("due");
    let entry = due.iter().find(|d| d.id == id).expect("the tenant is due");
    assert_eq!((entry.next_sync_at, entry.every_hours), (from, 6));
    // A calendar schedule's period is 0: the scheduler reads its zone from the tenant.
    let daily_id = unique_tenant("advance-daily");
    let mut daily = tenant(&daily_id, TenantState::Active, Some(from));
    let config = br#"{"provider": {"type": "ldif", "path": "/data/users.ldif"},
                      "schedule": {"daily_at": "00:30", "timezone": "Europe/Berlin"}}"#;
    daily.directory =
        Some(DirectoryConfig::from_json(config, EndpointPolicy::default()).expect("config"));
    store.put_tenant(&daily).await.expect("put");
    let due = store.due_tenants(now, None, 1000).await.expect("due");
    let entry = due.iter().find(|d| d.id == daily_id).expect("due");
    assert_eq!((entry.next_sync_at, entry.every_hours), (from, 0));
    store.delete_tenant(&daily_id).await.expect("delete");

    assert!(store
        .advance_next_sync(&id, from, to)
        .await
        .expect("advance"));
    let got = store.get_tenant(&id).await.expect("get").expect("tenant");
    t.next_sync_at = Some(to);
    assert_same_tenant(&got, &t);
    let due = store.due_tenants(now, None, 1000).await.expect("due");
    assert!(due.iter().all(|d| d.id != id), "no longer due");
    let due = store.due_tenants(to, None, 1000).await.expect("due");
    assert!(
        due.iter().any(|d| d.id == id && d.next_sync_at == to),
        "due at its new time"
    );

    // A second scheduler with the old reading changes nothing.
    assert!(!store
        .advance_next_sync(&id, from, to + TimeDelta::hours(6))
        .await
        .expect("stale"));
    assert_same_tenant(
        &store.get_tenant(&id).await.expect("get").expect("tenant"),
        &t,
    );

    // Paused since the reading: not moved, still paused.
    t.state = TenantState::Paused;
    t.revision = got.revision;
    store.put_tenant(&t).await.expect("pause");
    assert!(!store
        .advance_next_sync(&id, to, to + TimeDelta::hours(6))
        .await
        .expect("paused"));
    assert_same_tenant(
        &store.get_tenant(&id).await.expect("get").expect("tenant"),
        &t,
    );

    store.delete_tenant(&id).await.expect("delete");
    assert!(!store
        .advance_next_sync(&id, to, to + TimeDelta::hours(6))
        .await
        .expect("gone"));
    assert!(
        store.get_tenant(&id).await.expect("get").is_none(),
        "not created by the update"
    );
}
