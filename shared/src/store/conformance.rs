//! The behaviour every [`Store`] implementation must show. Each `pub async fn` checks one
//! behaviour and panics (as a test assertion) when the store gets it wrong; [`run_all`] runs
//! them all. Tenant ids carry a random suffix and every check deletes what it wrote, so the
//! suite can run against a shared database (a DynamoDB table, say).

mod cursors;
mod isolation;
mod lease;
mod login;
mod mappings;
mod newer_records;
mod objects;
mod pushed;
mod pushed_counts;
mod pushed_lookups;
mod read_state;
mod runs;
mod tenants;

use chrono::{DateTime, TimeZone, Utc};
use rand::Rng;

use crate::domain::avatar::{ImageType, SeenPhoto};
use crate::domain::{
    ExtensionId, Mapping, MappingLink, NewExtension, ObjectId, RunId, RunRecord, RunSummary,
    Tenant, TenantId, TenantState, Trigger, MANAGED_BY,
};
use crate::ports::Store;

pub use cursors::foreign_cursors_are_invalid_cursor_errors;
pub use isolation::tenant_isolation;
pub use lease::{
    concurrent_acquire_has_one_winner, lease_lifecycle, runs_begin_and_end_with_the_lease,
};
pub use login::{
    concurrent_login_attempts_respect_the_limit, login_attempts_are_limited_per_window,
};
pub use mappings::{mapping_pages_are_clamped, mappings_upsert_delete_and_paging};
pub use newer_records::{records_from_a_newer_release_read, RawRecords, StoredRecord};
pub use objects::{
    object_mappings_are_per_tenant, object_mappings_put_replace_delete,
    phonebook_entry_mappings_are_kept,
};
pub use pushed::{
    concurrent_pushed_creates_have_one_winner, pushed_create_get_replace_delete,
    pushed_names_are_unique_without_case, pushed_replace_is_conditional,
};
pub use pushed_counts::pushed_counts_follow_creates_and_deletes;
pub use pushed_lookups::{
    pushed_bodies_are_bounded_and_listed_in_full, pushed_find_by_name_and_external_id,
    pushed_records_from_a_newer_release_read, pushed_resources_are_per_tenant,
};
pub use read_state::read_state_put_replace_delete;
pub use runs::runs_newest_first_paging;
pub use tenants::{
    advance_next_sync_is_conditional, due_tenants_order_and_state, tenant_writes_are_conditional,
    tenants_crud, tenants_paging,
};

/// Runs every check of the suite, one after the other.
pub async fn run_all(store: &dyn Store) {
    tenants_crud(store).await;
    tenant_writes_are_conditional(store).await;
    tenants_paging(store).await;
    due_tenants_order_and_state(store).await;
    advance_next_sync_is_conditional(store).await;
    mappings_upsert_delete_and_paging(store).await;
    mapping_pages_are_clamped(store).await;
    object_mappings_put_replace_delete(store).await;
    object_mappings_are_per_tenant(store).await;
    phonebook_entry_mappings_are_kept(store).await;
    runs_newest_first_paging(store).await;
    read_state_put_replace_delete(store).await;
    foreign_cursors_are_invalid_cursor_errors(store).await;
    lease_lifecycle(store).await;
    runs_begin_and_end_with_the_lease(store).await;
    concurrent_acquire_has_one_winner(store).await;
    login_attempts_are_limited_per_window(store).await;
    concurrent_login_attempts_respect_the_limit(store).await;
    tenant_isolation(store).await;
    pushed_create_get_replace_delete(store).await;
    pushed_names_are_unique_without_case(store).await;
    pushed_replace_is_conditional(store).await;
    concurrent_pushed_creates_have_one_winner(store).await;
    pushed_find_by_name_and_external_id(store).await;
    pushed_resources_are_per_tenant(store).await;
    pushed_bodies_are_bounded_and_listed_in_full(store).await;
    pushed_counts_follow_creates_and_deletes(store).await;
}

/// A random hex suffix, so that concurrent or repeated runs never share ids.
fn random_suffix() -> String {
    format!("{:016x}", rand::rng().random::<u64>())
}

/// A tenant id no other run of the suite uses: `conf-{label}-{random}`.
pub fn unique_tenant(label: &str) -> TenantId {
    tenant_id(&format!("conf-{label}-{}", random_suffix()))
}

/// A [`unique_tenant`] that is stored (an active tenant with no settings): leases and kept
/// read states belong to stored tenants.
pub async fn stored_tenant(store: &dyn Store, label: &str) -> TenantId {
    let id = unique_tenant(label);
    store
        .put_tenant(&tenant(&id, TenantState::Active, None))
        .await
        .expect("put tenant");
    id
}

fn tenant_id(raw: &str) -> TenantId {
    TenantId::parse(raw).expect("the suite builds valid tenant ids")
}

fn object_id(raw: &str) -> ObjectId {
    ObjectId::parse(raw).expect("the suite builds valid object ids")
}

fn run_id(raw: &str) -> RunId {
    RunId::parse(raw).expect("the suite builds valid run ids")
}

/// A fixed instant, so that checks do not depend on the clock.
fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2031, 3, 14, 15, 9, 26)
        .single()
        .expect("a valid date")
}

fn tenant(id: &TenantId, state: TenantState, next_sync_at: Option<DateTime<Utc>>) -> Tenant {
    let mut tenant = Tenant::new(id.clone(), base_time());
    tenant.state = state;
    tenant.next_sync_at = next_sync_at;
    tenant
}

/// Tenant has no `PartialEq`: compare what the store keeps, the JSON form.
fn assert_same_tenant(got: &Tenant, want: &Tenant) {
    assert_eq!(
        serde_json::to_value(got).expect("tenant serializes"),
        serde_json::to_value(want).expect("tenant serializes"),
        "stored tenant differs from what was put"
    );
}

fn linked_mapping(object: &str, n: usize) -> Mapping {
    Mapping {
        // Some with the photo sync uploaded, so that every store keeps it.
        avatar_sha256: n.is_multiple_of(5).then(|| format!("{n:064x}")),
        // Some with the photo behind a Graph ETag (a skipped GIF among them).
        avatar_seen: n.is_multiple_of(4).then(|| SeenPhoto {
            etag: format!("\"E{n}\""),
            sha256: format!("{n:064x}"),
            size: n as u64,
            image_type: (!n.is_multiple_of(8)).then_some(ImageType::Png),
        }),
        object_id: object_id(object),
        link: MappingLink::Linked {
            extension_id: ExtensionId::parse(format!("ext-{n}")).expect("valid extension id"),
            disabled_by_sync: n.is_multiple_of(7),
        },
        number: format!("{}", 1000 + n),
        first_name: Some(format!("First{n}")),
        last_name: (!n.is_multiple_of(3)).then(|| format!("Last{n}")),
        email: Some(format!("user{n}@example.com")),
        last_synced_at: base_time() + chrono::TimeDelta::seconds(n as i64),
        // Half of them with the keyed hash of a SIP password, which must read back as written.
        sip_password_hash: n.is_multiple_of(2).then(|| format!("{n:064x}")),
    }
}

fn pending_mapping(object: &str, number: &str) -> Mapping {
    Mapping {
        avatar_seen: None,
        avatar_sha256: None,
        object_id: object_id(object),
        link: MappingLink::Pending {
            idempotency_key: format!("key-{object}"),
            request: NewExtension {
                job_title: Default::default(),
                send_welcome_email: false,
                organization_id: Default::default(),
                number: number.to_string(),
                first_name: Some("Pen".into()),
                last_name: Some("Ding".into()),
                email: Some("pending@example.com".into()),
                mobile: None,
                managed_by: MANAGED_BY.to_string(),
            },
        },
        number: number.to_string(),
        first_name: Some("Pen".into()),
        last_name: Some("Ding".into()),
        email: Some("pending@example.com".into()),
        last_synced_at: base_time(),
        sip_password_hash: None,
    }
}

fn run_record(id: &RunId, started_at: DateTime<Utc>) -> RunRecord {
    RunRecord::new(RunSummary::started(
        id.clone(),
        Trigger::Schedule,
        started_at,
    ))
}
