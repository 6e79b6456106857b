//! Records written by a newer release: fields this one does not know are ignored, never an
//! error, so that a deploy or a rollback (the API on one version, the worker on another)
//! leaves every tenant readable. The backend's own test patches its stored bodies through
//! [`RawRecords`], as a newer release would write them.

use async_trait::async_trait;
use serde_json::{json, Value};

use super::objects::object_mapping;
use super::{linked_mapping, run_id, run_record, tenant, unique_tenant};
use crate::domain::{
    DirectoryConfig, EndpointPolicy, ObjectKind, PushedKind, RunId, TenantId, TenantState,
};
use crate::ports::Store;

/// Which stored record to patch.
pub enum StoredRecord<'a> {
    Tenant,
    Mapping(&'a str),
    /// An organization's or group's mapping.
    Object(ObjectKind, &'a str),
    Run(&'a RunId),
    /// A user or group pushed over SCIM, by id.
    Pushed(PushedKind, &'a str),
}

/// Direct access to a backend's stored bodies, for tests only.
#[async_trait]
pub trait RawRecords: Send + Sync {
    /// Merges `patch` (RFC 7396: objects merge, other values replace) into the JSON body of
    /// the record (and into a run's summary copy, where the backend keeps one).
    async fn merge_into_body(&self, tenant: &TenantId, record: StoredRecord<'_>, patch: &Value);
    /// Stores an object mapping of a kind this release does not know, with `body`.
    async fn put_object_of_unknown_kind(
        &self,
        tenant: &TenantId,
        kind: &str,
        object_id: &str,
        body: &Value,
    );
}

/// What a newer release might add: new fields at every depth of each record.
fn newer_tenant_fields() -> Value {
    json!({
        "record_version": 1,
        "billing_plan": {"tier": "gold"},
        "directory": {
            "presence_sync": {"attribute": "ipPhone"},
            "provider": {"page_size_hint": 500},
            "fields": {"nickname": "displayName"},
            "deletion_guard": {"notify": ["admin@example.com"]}
        },
        "pbx": {"region": "eu-1"}
    })
}

pub async fn records_from_a_newer_release_read(store: &dyn Store, raw: &dyn RawRecords) {
    let id = unique_tenant("newer");
    let mut stored = tenant(&id, TenantState::Active, Some(super::base_time()));
    let config = br#"{"provider": {"type": "ldif", "path": "/srv/export.ldif"}}"#;
    stored.directory =
        Some(DirectoryConfig::from_json(config, EndpointPolicy::default()).expect("config"));
    stored.pbx = Some(crate::domain::PbxEndpoint {
        base_url: "https://pbx.example.com".into(),
    });
    store.put_tenant(&stored).await.expect("put tenant");
    let mapping = linked_mapping("obj-newer", 3);
    store
        .put_mappings(&id, std::slice::from_ref(&mapping))
        .await
        .expect("put mapping");
    let run = run_record(&run_id("run-newer"), super::base_time());
    store.put_run(&id, &run).await.expect("put run");
    let objects = [
        object_mapping(ObjectKind::Organization, "obj-newer", Some("org-1")),
        object_mapping(ObjectKind::Group, "obj-newer", None),
    ];
    for object in &objects {
        store
            .put_object_mapping(&id, object)
            .await
            .expect("put object");
    }

    raw.merge_into_body(&id, StoredRecord::Tenant, &newer_tenant_fields())
        .await;
    raw.merge_into_body(
        &id,
        StoredRecord::Mapping("obj-newer"),
        &json!({"organization_id": "org-7", "photo_etag": "ab12"}),
    )
    .await;
    for object in &objects {
        let record = StoredRecord::Object(object.kind, "obj-newer");
        let fields = json!({"parent_id": "ou=root", "link": {"etag": "7"}, "colour": "teal"});
        raw.merge_into_body(&id, record, &fields).await;
    }
    let future =
        json!({"kind": "meeting_room", "object_id": "obj-newer", "link": {"status": "booked"}});
    raw.put_object_of_unknown_kind(&id, "meeting_room", "obj-newer", &future)
        .await;
    let run_fields = json!({"counts": {"phonebook_entries": 4}, "reads": {"incremental": true}});
    raw.merge_into_body(&id, StoredRecord::Run(&run.summary.run_id), &run_fields)
        .await;

    let got = store.get_tenant(&id).await.expect("get").expect("tenant");
    assert_eq!(got.state, TenantState::Active);
    assert_eq!(
        json_of(&got.directory),
        json_of(&stored.directory),
        "the known config reads as written"
    );
    assert_eq!(got.pbx, stored.pbx);
    let mut cursor = None;
    let listed = loop {
        let page = store
            .list_tenants(1000, cursor.as_deref())
            .await
            .expect("list");
        if let Some(found) = page.items.into_iter().find(|t| t.id == id) {
            break found;
        }
        cursor = Some(page.next_cursor.expect("the tenant is listed"));
    };
    assert_eq!(json_of(&listed.directory), json_of(&stored.directory));

    assert_eq!(
        store.all_mappings(&id).await.expect("mappings"),
        vec![mapping.clone()]
    );
    let page = store
        .list_mappings(&id, 10, None)
        .await
        .expect("mapping page");
    assert_eq!(page.items, vec![mapping]);
    assert_eq!(
        store.all_object_mappings(&id).await.expect("objects"),
        objects.to_vec()
    );
    assert_eq!(
        store.get_run(&id, &run.summary.run_id).await.expect("run"),
        Some(run.clone())
    );
    let runs = store.list_runs(&id, 10, None).await.expect("runs");
    assert_eq!(runs.items, vec![run.summary]);

    // This release writes the tenant back (say, a pause): still readable, still guarded.
    let mut paused = got;
    paused.state = TenantState::Paused;
    store.put_tenant(&paused).await.expect("write back");
    let again = store.get_tenant(&id).await.expect("get").expect("tenant");
    assert_eq!(again.state, TenantState::Paused);
    assert_eq!(json_of(&again.directory), json_of(&stored.directory));
    store.delete_tenant(&id).await.expect("clean up");
    config_of_a_newer_shape_is_kept(store, raw).await;
    super::pushed_records_from_a_newer_release_read(store, raw).await;
}

/// A config this release cannot read at all (a provider type it does not know): the tenant
/// still reads and lists, without a config, and a settings write keeps the config as it was.
async fn config_of_a_newer_shape_is_kept(store: &dyn Store, raw: &dyn RawRecords) {
    let id = unique_tenant("newer-shape");
    let mut stored = tenant(&id, TenantState::Active, Some(super::base_time()));
    let config = br#"{"provider": {"type": "ldif", "path": "/srv/export.ldif"}}"#;
    stored.directory =
        Some(DirectoryConfig::from_json(config, EndpointPolicy::default()).expect("config"));
    store.put_tenant(&stored).await.expect("put tenant");
    let newer = json!({"directory": {"provider": {"type": "scim", "push_only": true},
                                     "scope": {"type": "users", "users": ["00u1"]}}});
    raw.merge_into_body(&id, StoredRecord::Tenant, &newer).await;

    let got = store.get_tenant(&id).await.expect("get").expect("tenant");
    assert!(
        got.directory.is_none(),
        "not a config this release can sync"
    );
    let kept = got.unreadable_directory.clone().expect("kept as it was");
    assert_eq!(kept["provider"]["type"], "scim");
    assert_eq!(kept["scope"]["users"][0], "00u1");
    let page = store
        .list_tenants(1000, None)
        .await
        .expect("the listing still reads");
    assert!(page.next_cursor.is_some() || page.items.iter().any(|t| t.id == id));

    let mut paused = got;
    paused.state = TenantState::Paused;
    store.put_tenant(&paused).await.expect("write back");
    let again = store.get_tenant(&id).await.expect("get").expect("tenant");
    assert_eq!(again.state, TenantState::Paused);
    assert_eq!(
        again.unreadable_directory,
        Some(kept),
        "the newer config is written back unchanged"
    );
    store.delete_tenant(&id).await.expect("clean up");
}

/// Configs have no `PartialEq` (their write-only credentials): compare what is stored.
fn json_of(config: &Option<DirectoryConfig>) -> Value {
    serde_json::to_value(config).expect("config serializes")
}
