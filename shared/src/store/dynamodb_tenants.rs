//! Tenant items on DynamoDB: the item, the operator's listing, the due index and the
//! scheduler's conditional advance. Keys and access patterns: README, "DynamoDB table".

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, WriteRequest};
use chrono::{DateTime, Utc};

use super::clamp_page_size;
use super::dynamodb::{DynamoStore, BATCH_ROUNDS};
use super::dynamodb_items::*;
use super::keys::{decode_cursor, encode_cursor, parse_time_key, time_key};
use super::tenant_record;
use crate::domain::{RunSummary, Tenant, TenantId, TenantState};
use crate::error::StoreError;
use crate::ports::{DueTenant, Page};

/// DynamoDB's BatchGetItem limit.
const BATCH_GET: usize = 100;

/// `due_at`: "{next_sync_at}#{tenant}", so that equal times sort by id.
fn due_at(next: DateTime<Utc>, id: &str) -> Result<String, StoreError> {
    Ok(format!("{}#{id}", time_key(next)?))
}

/// The tenant of a tenant item: its body, with `next_sync_at`, the revision and the last run
/// from their own attributes (they move without rewriting the body).
pub(super) fn tenant_from_item(item: &Item) -> Result<Tenant, StoreError> {
    let mut tenant = tenant_record::decode(get_s(item, BODY)?)?;
    // Without the attribute the tenant has no next time: the body holds none (`tenant_item`).
    if let Some(AttributeValue::S(next)) = item.get(NEXT_SYNC_AT) {
        tenant.next_sync_at = Some(parse_time_key(next)?);
    }
    if let Some(AttributeValue::N(revision)) = item.get(REVISION) {
        tenant.revision = revision.parse().map_err(|_| {
            StoreError::Backend(format!("tenant revision {revision:?} is not a number"))
        })?;
    }
    if item.contains_key(LAST_RUN) {
        tenant.last_run = Some(body(item, LAST_RUN)?);
    }
    Ok(tenant)
}

/// The item of `tenant`. The body leaves `next_sync_at` out: the attribute is the one copy,
/// so that the scheduler's UpdateItem cannot leave a stale time in the JSON.
fn tenant_item(tenant: &Tenant) -> Result<Item, StoreError> {
    let id = tenant.id.as_str();
    let mut item = key(id, SK_TENANT);
    item.insert(KIND.into(), s(KIND_TENANT));
    let stored = Tenant {
        next_sync_at: None,
        ..tenant.clone()
    };
    item.insert(BODY.into(), s(tenant_record::encode(&stored)?));
    if let Some(next) = tenant.next_sync_at {
        item.insert(NEXT_SYNC_AT.into(), s(time_key(next)?));
        // Only active tenants with a next time enter the (sparse) due index, with what the
        // scheduler needs to move them on (projected into the index).
        if tenant.state == TenantState::Active {
            let every = tenant
                .directory
                .as_ref()
                .map_or(1, |d| d.schedule.index_hours());
            item.insert(DUE.into(), s(DUE));
            item.insert(DUE_AT.into(), s(due_at(next, id)?));
            item.insert(EVERY_HOURS.into(), AttributeValue::N(every.to_string()));
        }
    }
    Ok(item)
}

impl DynamoStore {
    /// One UpdateItem that sets every settings attribute, removes the schedule's when the
    /// tenant has none, and leaves the last run; guarded by the revision read.
    pub(super) async fn tenant_put(&self, tenant: &Tenant) -> Result<u64, StoreError> {
        let mut item = tenant_item(tenant)?;
        item.remove(PK);
        item.remove(SK);
        let revision = tenant.revision + 1;
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant.id.as_str(), SK_TENANT)))
            .expression_attribute_names("#rev", REVISION)
            .expression_attribute_values(":rev", AttributeValue::N(revision.to_string()));
        let removed: Vec<&str> = [NEXT_SYNC_AT, DUE, DUE_AT, EVERY_HOURS]
            .into_iter()
            .filter(|name| !item.contains_key(*name))
            .collect();
        let mut sets = vec!["#rev = :rev".to_string()];
        for (i, (name, value)) in item.into_iter().enumerate() {
            sets.push(format!("#s{i} = :s{i}"));
            update = update
                .expression_attribute_names(format!("#s{i}"), name)
                .expression_attribute_values(format!(":s{i}"), value);
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removed.is_empty() {
            let names: Vec<String> = (0..removed.len()).map(|i| format!("#r{i}")).collect();
            expression.push_str(&format!(" REMOVE {}", names.join(", ")));
            for (placeholder, name) in names.iter().zip(removed) {
                update = update.expression_attribute_names(placeholder, name);
            }
        }
        // Items from before revisions existed have none: they read as revision 0.
        update = if tenant.revision == 0 {
            update.condition_expression("attribute_not_exists(#rev)")
        } else {
            update
                .condition_expression("#rev = :read")
                .expression_attribute_values(
                    ":read",
                    AttributeValue::N(tenant.revision.to_string()),
                )
        };
        let result = update.update_expression(expression).send().await;
        match update_condition_held(result, "UpdateItem (tenant)")? {
            true => Ok(revision),
            false => Err(StoreError::Stale),
        }
    }

    /// The last run alone; a tenant that is gone stays gone (no item is made for it).
    pub(super) async fn last_run_set(
        &self,
        id: &TenantId,
        summary: &RunSummary,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(id.as_str(), SK_TENANT)))
            .update_expression("SET #last = :last")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#last", LAST_RUN)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":last", s(serde_json::to_string(summary)?))
            .send()
            .await;
        update_condition_held(result, "UpdateItem (last run)").map(|_| ())
    }

    /// Puts many tenants in BatchWriteItems of 25 (unconditional upserts of new tenants):
    /// for bulk loads such as the scheduler benchmark's 10,000 tenants.
    pub async fn put_tenants(&self, tenants: &[Tenant]) -> Result<(), StoreError> {
        let requests = tenants
            .iter()
            .map(|tenant| {
                let put = PutRequest::builder()
                    .set_item(Some(tenant_item(tenant)?))
                    .build()
                    .map_err(|e| StoreError::Backend(format!("put request: {e}")))?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.batch_write(requests).await
    }

    pub(super) async fn tenant_get(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.get(id.as_str(), SK_TENANT.into())
            .await?
            .map(|item| tenant_from_item(&item))
            .transpose()
    }

    /// A page of the `tenants` index (keys, in id order), then the tenants themselves in
    /// BatchGetItems of up to 100, strongly consistent.
    pub(super) async fn tenants_page(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Tenant>, StoreError> {
        let limit = clamp_page_size(limit);
        let start = match cursor {
            Some(cursor) => {
                let last = decode_cursor(cursor, 1)?.remove(0);
                let mut start = key(&last, SK_TENANT);
                start.insert(KIND.into(), s(KIND_TENANT));
                Some(start)
            }
            None => None,
        };
        let query = self
            .query()
            .index_name(TENANTS_INDEX)
            .key_condition_expression("#kind = :kind")
            .expression_attribute_names("#kind", KIND)
            .expression_attribute_values(":kind", s(KIND_TENANT));
        let (keys, more) = self.query_page(query, limit, start).await?;
        let ids = keys
            .iter()
            .map(|k| get_s(k, PK).map(str::to_string))
            .collect::<Result<Vec<_>, _>>()?;
        let mut found = self.batch_get_tenants(&ids).await?;
        // In index order; a tenant deleted between the index read and this one is left out.
        let items = ids
            .iter()
            .filter_map(|id| found.remove(id.as_str()))
            .map(|item| tenant_from_item(&item))
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = match ids.last() {
            Some(last) if more => Some(encode_cursor(&[last.as_str()])),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }

    /// The tenant items of `ids` that exist, by id. Retries what DynamoDB leaves unprocessed
    /// (throttling, or the 16 MB answer limit) with a growing pause.
    async fn batch_get_tenants(&self, ids: &[String]) -> Result<HashMap<String, Item>, StoreError> {
        let mut found = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH_GET) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.iter().map(|id| key(id, SK_TENANT)).collect()))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Backend(format!("batch get request: {e}")))?,
            );
            let mut round = 0;
            while let Some(request) = pending.take() {
                if round == BATCH_ROUNDS {
                    return Err(StoreError::Backend(format!(
                        "DynamoDB left {} tenant reads unprocessed",
                        request.keys().len()
                    )));
                }
                if round > 0 {
                    tokio::time::sleep(Duration::from_millis(50 << round)).await;
                }
                round += 1;
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| backend("BatchGetItem", e))?;
                for item in output
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    found.insert(get_s(item, PK)?.to_string(), item.clone());
                }
                pending = output
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .filter(|rest| !rest.keys().is_empty())
                    .cloned();
            }
        }
        Ok(found)
    }

    /// The sparse `due` index up to `now`, soonest first (ties by id: the key ends with it).
    /// The index projects `every_hours`, so no tenant item is read.
    pub(super) async fn due_page(
        &self,
        now: DateTime<Utc>,
        after: Option<&DueTenant>,
        limit: usize,
    ) -> Result<Vec<DueTenant>, StoreError> {
        // An index's start key holds the table's keys and the index's.
        let start = match after {
            Some(t) => {
                let mut start = key(t.id.as_str(), SK_TENANT);
                start.insert(DUE.into(), s(DUE));
                start.insert(DUE_AT.into(), s(due_at(t.next_sync_at, t.id.as_str())?));
                Some(start)
            }
            None => None,
        };
        // "{time}#{id}" < "{now}$" holds exactly for times <= now ('#' < '$').
        let bound = format!("{}$", time_key(now)?);
        let query = self
            .query()
            .index_name(DUE_INDEX)
            .key_condition_expression("#due = :due AND #at < :bound")
            .expression_attribute_names("#due", DUE)
            .expression_attribute_names("#at", DUE_AT)
            .expression_attribute_values(":due", s(DUE))
            .expression_attribute_values(":bound", s(bound));
        let (items, _) = self
            .query_page(query, clamp_page_size(limit), start)
            .await?;
        items.iter().map(due_tenant).collect()
    }

    /// One conditional UpdateItem: `due_at` equal to the expected one holds exactly when the
    /// tenant is still active (only active tenants carry it) with `next_sync_at` = `from`.
    pub(super) async fn next_sync_advance(
        &self,
        id: &TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(id.as_str(), SK_TENANT)))
            .update_expression("SET #next = :next, #at = :to ADD #rev :one")
            .condition_expression("#at = :from")
            .expression_attribute_names("#rev", REVISION)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_names("#next", NEXT_SYNC_AT)
            .expression_attribute_names("#at", DUE_AT)
            .expression_attribute_values(":next", s(time_key(to)?))
            .expression_attribute_values(":to", s(due_at(to, id.as_str())?))
            .expression_attribute_values(":from", s(due_at(from, id.as_str())?))
            .send()
            .await;
        update_condition_held(result, "UpdateItem (next sync)")
    }
}

/// A due index entry as the scheduler needs it.
fn due_tenant(item: &Item) -> Result<DueTenant, StoreError> {
    let id = parse_id(get_s(item, PK)?, TenantId::parse)?;
    let at = get_s(item, DUE_AT)?;
    let next = at
        .split_once('#')
        .map(|(time, _)| time)
        .ok_or_else(|| StoreError::Backend(format!("due index entry {at:?} lacks its '#'")))?;
    let every_hours = match item.get(EVERY_HOURS) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    };
    Ok(DueTenant {
        id,
        next_sync_at: parse_time_key(next)?,
        // Absent only on items written before the attribute existed: the default period.
        every_hours: every_hours.unwrap_or(1),
    })
}
