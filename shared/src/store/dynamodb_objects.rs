//! Organization and group mappings: one item each under the tenant's partition, sort key
//! `OBJ#{kind}#{object_id}` (beside the user mappings' `MAP#`), the domain's JSON in `body`.

use super::dynamodb::DynamoStore;
use super::dynamodb_items::{backend, body, get_s, key, s, Item, BODY, PK, SK, SK_OBJECT};
use crate::domain::{ObjectId, ObjectKind, ObjectMapping, TenantId};
use crate::error::StoreError;

/// Whether the item's sort key (`OBJ#{kind}#...`) names a kind this release knows.
fn known_kind(item: &Item) -> bool {
    get_s(item, SK).is_ok_and(|sk| {
        sk.strip_prefix(SK_OBJECT)
            .and_then(|rest| rest.split_once('#'))
            .is_some_and(|(kind, _)| ObjectKind::from_name(kind).is_some())
    })
}

fn object_key(tenant: &TenantId, kind: ObjectKind, object_id: &ObjectId) -> Item {
    key(
        tenant.as_str(),
        format!("{SK_OBJECT}{}#{object_id}", kind.as_str()),
    )
}

impl DynamoStore {
    /// One paginated Query of the `OBJ#` prefix; sorted by kind (the domain's order, not the
    /// kind names') then object id.
    pub(super) async fn object_mappings(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<ObjectMapping>, StoreError> {
        let query = self
            .query()
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(tenant.as_str()))
            .expression_attribute_values(":prefix", s(SK_OBJECT))
            .consistent_read(true);
        let items = self.query_all(query).await?;
        // Kinds a newer release added are skipped, so that a rollback still reads the tenant.
        let mut mappings = items
            .iter()
            .filter(|item| known_kind(item))
            .map(|item| body(item, BODY))
            .collect::<Result<Vec<ObjectMapping>, _>>()?;
        mappings.sort_by(|a, b| (a.kind, &a.object_id).cmp(&(b.kind, &b.object_id)));
        Ok(mappings)
    }

    pub(super) async fn object_mapping_put(
        &self,
        tenant: &TenantId,
        mapping: &ObjectMapping,
    ) -> Result<(), StoreError> {
        let mut item = object_key(tenant, mapping.kind, &mapping.object_id);
        item.insert(BODY.into(), s(serde_json::to_string(mapping)?));
        self.put(item, "PutItem (object mapping)").await
    }

    pub(super) async fn object_mapping_delete(
        &self,
        tenant: &TenantId,
        kind: ObjectKind,
        object_id: &ObjectId,
    ) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(object_key(tenant, kind, object_id)))
            .send()
            .await
            .map_err(|e| backend("DeleteItem (object mapping)", e))?;
        Ok(())
    }
}
