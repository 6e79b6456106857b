//! [`DynamoStore`]: the `Store` on AWS, one DynamoDB table. Keys and access patterns are in
//! the README ("DynamoDB table") and in [`super::dynamodb_items`].

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};

use super::clamp_page_size;
use super::dynamodb_items::*;
use super::dynamodb_mapping::{mapping_from_item, mapping_item};
use super::dynamodb_read_state::head_of;
use super::dynamodb_tenants::tenant_from_item;
use super::keys::{decode_cursor, encode_cursor};
use crate::domain::{
    KeptReads, Mapping, ObjectId, ObjectKind, ObjectMapping, PushedKey, PushedKind, PushedResource,
    ReadHead, ReadState, RunId, RunRecord, RunSummary, Tenant, TenantId,
};
use crate::error::StoreError;
use crate::ports::{DueTenant, LeaseOutcome, LoginAttempt, LoginLimit, Page, RunStart, Store};

/// How long run records stay before DynamoDB's TTL removes them, unless configured.
pub const DEFAULT_RUN_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);
/// DynamoDB's BatchWriteItem limit.
const BATCH_WRITE: usize = 25;
/// A run record's JSON is cut into pieces of at most this many bytes (items hold 400 KB).
const RUN_PART_BYTES: usize = 300 * 1024;
/// Rounds of retrying a batch's unprocessed items before giving up.
pub(super) const BATCH_ROUNDS: u32 = 8;

/// The store on one DynamoDB table. Cheap to clone (the client is shared).
#[derive(Clone, Debug)]
pub struct DynamoStore {
    pub(super) client: Client,
    pub(super) table: String,
    run_retention: Duration,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            run_retention: DEFAULT_RUN_RETENTION,
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    pub(super) fn query(&self) -> QueryFluentBuilder {
        self.client.query().table_name(&self.table)
    }

    /// Up to `limit` items of `query` after `start`, and whether more follow: reads
    /// `limit + 1`, following DynamoDB's own pages (at most 1 MB each).
    pub(super) async fn query_page(
        &self,
        query: QueryFluentBuilder,
        limit: usize,
        mut start: Option<Item>,
    ) -> Result<(Vec<Item>, bool), StoreError> {
        let mut items = Vec::new();
        loop {
            let want = limit + 1 - items.len();
            let output = query
                .clone()
                .set_exclusive_start_key(start.take())
                .limit(i32::try_from(want).unwrap_or(i32::MAX))
                .send()
                .await
                .map_err(|e| backend("Query", e))?;
            items.extend(output.items().iter().cloned());
            match output.last_evaluated_key() {
                Some(last) if items.len() <= limit => start = Some(last.clone()),
                _ => break,
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        Ok((items, more))
    }

    /// Every item of `query`, all pages.
    pub(super) async fn query_all(
        &self,
        query: QueryFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut pages = query.into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| backend("Query", e))?;
            items.extend(page.items.unwrap_or_default());
        }
        Ok(items)
    }

    /// Writes in batches of 25, retrying what DynamoDB leaves unprocessed (throttling).
    pub(super) async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for chunk in requests.chunks(BATCH_WRITE) {
            let mut pending = chunk.to_vec();
            for round in 0..BATCH_ROUNDS {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| backend("BatchWriteItem", e))?;
                pending = output
                    .unprocessed_items()
                    .and_then(|u| u.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50 << round)).await;
            }
            if !pending.is_empty() {
                return Err(StoreError::Backend(format!(
                    "DynamoDB left {} writes unprocessed",
                    pending.len()
                )));
            }
        }
        Ok(())
    }

    pub(super) async fn put(&self, item: Item, operation: &str) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| backend(operation, e))?;
        Ok(())
    }

    pub(super) async fn get(&self, pk: &str, sk: String) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("GetItem", e))?;
        Ok(output.item().cloned())
    }

    fn run_expiry(&self, started_at: DateTime<Utc>) -> AttributeValue {
        let retention = i64::try_from(self.run_retention.as_secs()).unwrap_or(i64::MAX);
        let at = started_at.timestamp().saturating_add(retention);
        AttributeValue::N(at.to_string())
    }
}

/// The pieces of `body`, cut at character boundaries, each at most [`RUN_PART_BYTES`].
fn split_body(body: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = body;
    while rest.len() > RUN_PART_BYTES {
        let mut cut = RUN_PART_BYTES;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        parts.push(head);
        rest = tail;
    }
    parts.push(rest);
    parts
}

fn run_part_key(run_id: &RunId, index: usize) -> String {
    format!("{SK_RUN_PART}{run_id}#{index:04}")
}

/// Semantics as the SQLite store's (see there): listings clamp `limit` to 1..=1000 and give
/// `next_cursor` only when more follow; ids sort by UTF-8 bytes; puts are upserts (tenants:
/// guarded by their revision); deleting
/// something absent succeeds. Reads of single items are strongly consistent.
#[async_trait]
impl Store for DynamoStore {
    async fn put_tenant(&self, tenant: &Tenant) -> Result<u64, StoreError> {
        self.tenant_put(tenant).await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.tenant_get(id).await
    }

    async fn set_last_run(&self, id: &TenantId, summary: &RunSummary) -> Result<(), StoreError> {
        self.last_run_set(id, summary).await
    }

    async fn list_tenants(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Tenant>, StoreError> {
        self.tenants_page(limit, cursor).await
    }

    async fn due_tenants(
        &self,
        now: DateTime<Utc>,
        after: Option<&DueTenant>,
        limit: usize,
    ) -> Result<Vec<DueTenant>, StoreError> {
        self.due_page(now, after, limit).await
    }

    async fn advance_next_sync(
        &self,
        id: &TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.next_sync_advance(id, from, to).await
    }

    /// Every item under the tenant's partition key (object mappings, pushed resources and their
    /// name claims too), deleted in batches.
    async fn delete_tenant(&self, id: &TenantId) -> Result<(), StoreError> {
        let query = self
            .query()
            .key_condition_expression("#pk = :pk")
            .projection_expression("#pk, #sk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(id.as_str()))
            .consistent_read(true);
        let keys = self.query_all(query).await?;
        let requests = keys
            .into_iter()
            .map(|k| {
                let delete = DeleteRequest::builder()
                    .set_key(Some(k))
                    .build()
                    .map_err(|e| StoreError::Backend(format!("delete request: {e}")))?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.batch_write(requests).await
    }

    async fn all_mappings(&self, tenant: &TenantId) -> Result<Vec<Mapping>, StoreError> {
        let items = self.query_all(self.mappings_query(tenant)).await?;
        items.iter().map(mapping_from_item).collect()
    }

    async fn list_mappings(
        &self,
        tenant: &TenantId,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Mapping>, StoreError> {
        let start = match cursor {
            Some(cursor) => {
                let last = decode_cursor(cursor, 1)?.remove(0);
                Some(key(tenant.as_str(), format!("{SK_MAPPING}{last}")))
            }
            None => None,
        };
        let query = self.mappings_query(tenant);
        let (items, more) = self
            .query_page(query, clamp_page_size(limit), start)
            .await?;
        let mappings: Vec<Mapping> = items
            .iter()
            .map(mapping_from_item)
            .collect::<Result<_, _>>()?;
        let next_cursor = match mappings.last() {
            Some(last) if more => Some(encode_cursor(&[last.object_id.as_str()])),
            _ => None,
        };
        Ok(Page {
            items: mappings,
            next_cursor,
        })
    }

    /// One PutItem for one mapping; BatchWriteItem for more.
    async fn put_mappings(
        &self,
        tenant: &TenantId,
        mappings: &[Mapping],
    ) -> Result<(), StoreError> {
        // A batch must not name one key twice: the last mapping of an object id wins.
        let mut latest: HashMap<&ObjectId, &Mapping> = HashMap::new();
        for mapping in mappings {
            latest.insert(&mapping.object_id, mapping);
        }
        let mut items = latest
            .into_values()
            .map(|mapping| mapping_item(tenant, mapping))
            .collect::<Result<Vec<Item>, StoreError>>()?;
        if items.len() <= 1 {
            return match items.pop() {
                Some(item) => self.put(item, "PutItem (mapping)").await,
                None => Ok(()),
            };
        }
        let requests = items
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(|e| StoreError::Backend(format!("put request: {e}")))?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.batch_write(requests).await
    }

    async fn all_object_mappings(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<ObjectMapping>, StoreError> {
        self.object_mappings(tenant).await
    }

    async fn put_object_mapping(
        &self,
        tenant: &TenantId,
        mapping: &ObjectMapping,
    ) -> Result<(), StoreError> {
        self.object_mapping_put(tenant, mapping).await
    }

    async fn delete_object_mapping(
        &self,
        tenant: &TenantId,
        kind: ObjectKind,
        object_id: &ObjectId,
    ) -> Result<(), StoreError> {
        self.object_mapping_delete(tenant, kind, object_id).await
    }

    async fn delete_mapping(
        &self,
        tenant: &TenantId,
        object_id: &ObjectId,
    ) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(
                tenant.as_str(),
                format!("{SK_MAPPING}{object_id}"),
            )))
            .send()
            .await
            .map_err(|e| backend("DeleteItem (mapping)", e))?;
        Ok(())
    }

    async fn get_read_state(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<(ReadHead, ReadState)>, StoreError> {
        self.read_state_get(tenant).await
    }

    async fn put_read_head(&self, tenant: &TenantId, head: &ReadHead) -> Result<(), StoreError> {
        self.read_head_put(tenant, head).await
    }

    async fn put_read_state(&self, tenant: &TenantId, state: &KeptReads) -> Result<(), StoreError> {
        self.read_state_put(tenant, state).await
    }

    async fn delete_read_state(&self, tenant: &TenantId) -> Result<(), StoreError> {
        self.read_state_delete(tenant).await
    }

    /// The record's JSON goes in the run item, with any excess in part items written first
    /// (in one batch), so a reader never sees a head whose parts are missing.
    async fn put_run(&self, tenant: &TenantId, run: &RunRecord) -> Result<(), StoreError> {
        let summary = &run.summary;
        let json = serde_json::to_string(run)?;
        let parts = split_body(&json);
        let expires_at = self.run_expiry(summary.started_at);
        let mut part_writes = Vec::new();
        for (index, part) in parts.iter().enumerate().skip(1) {
            let mut item = key(tenant.as_str(), run_part_key(&summary.run_id, index));
            item.insert(BODY.into(), s(*part));
            item.insert(EXPIRES_AT.into(), expires_at.clone());
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(|e| StoreError::Backend(format!("put request: {e}")))?;
            part_writes.push(WriteRequest::builder().put_request(put).build());
        }
        self.batch_write(part_writes).await?;
        let run_id = summary.run_id.as_str();
        let mut item = key(tenant.as_str(), format!("{SK_RUN}{run_id}"));
        let order = inverted_time_key(summary.started_at)?;
        item.insert(RUN_ORDER.into(), s(format!("{order}#{run_id}")));
        item.insert(SUMMARY.into(), s(serde_json::to_string(summary)?));
        item.insert(BODY.into(), s(parts[0]));
        item.insert(PARTS.into(), AttributeValue::N(parts.len().to_string()));
        item.insert(EXPIRES_AT.into(), expires_at);
        self.put(item, "PutItem (run)").await
    }

    async fn get_run(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
    ) -> Result<Option<RunRecord>, StoreError> {
        let Some(head) = self
            .get(tenant.as_str(), format!("{SK_RUN}{run_id}"))
            .await?
        else {
            return Ok(None);
        };
        let mut json = get_s(&head, BODY)?.to_string();
        let parts = match head.get(PARTS) {
            Some(AttributeValue::N(n)) => n.parse::<usize>().unwrap_or(1),
            _ => 1,
        };
        for index in 1..parts {
            let part = self
                .get(tenant.as_str(), run_part_key(run_id, index))
                .await?
                .ok_or_else(|| StoreError::Backend(format!("run {run_id} lacks part {index}")))?;
            json.push_str(get_s(&part, BODY)?);
        }
        Ok(Some(serde_json::from_str(&json)?))
    }

    /// The `runs` local index: newest first, equal times by run id; summaries only.
    async fn list_runs(
        &self,
        tenant: &TenantId,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<RunSummary>, StoreError> {
        let start = match cursor {
            Some(cursor) => {
                let parts = decode_cursor(cursor, 2)?;
                let mut start = key(tenant.as_str(), format!("{SK_RUN}{}", parts[1]));
                start.insert(RUN_ORDER.into(), s(parts[0].as_str()));
                Some(start)
            }
            None => None,
        };
        let query = self
            .query()
            .index_name(RUNS_INDEX)
            .key_condition_expression("#pk = :pk")
            .projection_expression("#pk, #sk, #order, #summary")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_names("#order", RUN_ORDER)
            .expression_attribute_names("#summary", SUMMARY)
            .expression_attribute_values(":pk", s(tenant.as_str()))
            .consistent_read(true);
        let (items, more) = self
            .query_page(query, clamp_page_size(limit), start)
            .await?;
        let next_cursor = match items.last() {
            Some(last) if more => {
                let run_id = get_s(last, SK)?.trim_start_matches(SK_RUN);
                Some(encode_cursor(&[get_s(last, RUN_ORDER)?, run_id]))
            }
            _ => None,
        };
        let items = items
            .iter()
            .map(|item| body(item, SUMMARY))
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor })
    }

    async fn acquire_lease(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseOutcome, StoreError> {
        Ok(self.lease_take(tenant, run_id, ttl, now).await?.0)
    }

    /// One UpdateItem of the tenant item: the lease taken, the tenant and head read.
    async fn begin_run(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<RunStart, StoreError> {
        let (lease, item) = self.lease_take(tenant, run_id, ttl, now).await?;
        Ok(match item {
            Some(item) => RunStart {
                lease,
                tenant: Some(tenant_from_item(&item)?),
                head: head_of(&item),
            },
            None => RunStart {
                lease,
                tenant: None,
                head: Ok(None),
            },
        })
    }

    /// One UpdateItem of the tenant item, or the last run alone when the lease moved on.
    async fn end_run(
        &self,
        tenant: &TenantId,
        summary: &RunSummary,
        run_id: &RunId,
    ) -> Result<(), StoreError> {
        if !self.lease_release(tenant, run_id, Some(summary)).await? {
            self.last_run_set(tenant, summary).await?;
        }
        Ok(())
    }

    async fn renew_lease(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.lease_renew(tenant, run_id, ttl, now).await
    }

    async fn release_lease(&self, tenant: &TenantId, run_id: &RunId) -> Result<(), StoreError> {
        self.lease_release(tenant, run_id, None).await.map(|_| ())
    }

    async fn lease_holder(
        &self,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<Option<RunId>, StoreError> {
        self.lease_current(tenant, now).await
    }

    async fn take_login_attempt(
        &self,
        tenant: &TenantId,
        key: &str,
        limit: LoginLimit,
        now: DateTime<Utc>,
    ) -> Result<LoginAttempt, StoreError> {
        self.login_take(tenant, key, limit, now).await
    }

    async fn return_login_attempt(
        &self,
        tenant: &TenantId,
        key: &str,
        clear: bool,
    ) -> Result<(), StoreError> {
        self.login_give_back(tenant, key, clear).await
    }

    async fn create_pushed(
        &self,
        tenant: &TenantId,
        resource: &PushedResource,
    ) -> Result<(), StoreError> {
        self.pushed_create(tenant, resource).await
    }

    async fn replace_pushed(
        &self,
        tenant: &TenantId,
        resource: &PushedResource,
        expected: u64,
    ) -> Result<(), StoreError> {
        self.pushed_replace(tenant, resource, expected).await
    }

    async fn get_pushed(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
        id: &ObjectId,
    ) -> Result<Option<PushedResource>, StoreError> {
        self.pushed_get(tenant, kind, id.as_str()).await
    }

    async fn find_pushed(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
        key: PushedKey,
        value: &str,
    ) -> Result<Vec<PushedResource>, StoreError> {
        self.pushed_find(tenant, kind, key, value).await
    }

    async fn all_pushed(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
    ) -> Result<Vec<PushedResource>, StoreError> {
        self.pushed_all(tenant, kind).await
    }

    async fn count_pushed(&self, tenant: &TenantId, kind: PushedKind) -> Result<usize, StoreError> {
        self.pushed_count(tenant, kind).await
    }

    async fn delete_pushed(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
        id: &ObjectId,
    ) -> Result<bool, StoreError> {
        self.pushed_delete(tenant, kind, id.as_str()).await
    }
}

impl DynamoStore {
    fn mappings_query(&self, tenant: &TenantId) -> QueryFluentBuilder {
        self.query()
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(tenant.as_str()))
            .expression_attribute_values(":prefix", s(SK_MAPPING))
            .consistent_read(true)
    }
}
