//! The kept read state on DynamoDB: its head in three attributes of the tenant item (the
//! codec's head JSON, the body's generation and piece count), so that a run's start reads it
//! with the tenant, and the compressed body cut into pieces (items hold 400 KB), sort keys
//! `READPART#{generation}#{index}`. A put whose body is the stored one rewrites the head
//! alone; otherwise it writes the new generation's pieces first, then the head, then deletes
//! the older pieces: a reader sees a whole old or a whole new state. A tenant that is not
//! stored keeps no read state.

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};

use super::dynamodb::DynamoStore;
use super::dynamodb_items::{get_s, key, s, update_condition_held, Item, PK, SK, SK_TENANT};
use super::read_state_codec::{decode, decode_head, encode_head, names_body, PIECE_BYTES};
use crate::domain::{KeptReads, ReadHead, ReadState, TenantId};
use crate::error::StoreError;

const SK_READ_PART: &str = "READPART#";
const HEAD: &str = "read_head";
const GENERATION: &str = "read_generation";
const PARTS: &str = "read_parts";
const DATA: &str = "data";

fn piece_key(generation: &str, index: usize) -> String {
    format!("{SK_READ_PART}{generation}#{index:04}")
}

fn request(item: Item, delete: bool) -> Result<WriteRequest, StoreError> {
    let built = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Backend(format!("{e}"));
    Ok(if delete {
        let delete = DeleteRequest::builder()
            .set_key(Some(item))
            .build()
            .map_err(built)?;
        WriteRequest::builder().delete_request(delete).build()
    } else {
        let put = PutRequest::builder()
            .set_item(Some(item))
            .build()
            .map_err(built)?;
        WriteRequest::builder().put_request(put).build()
    })
}

/// The head of a tenant item, if it has one.
pub(super) fn head_of(item: &Item) -> Result<Option<ReadHead>, StoreError> {
    match item.contains_key(HEAD) {
        true => decode_head(get_s(item, HEAD)?).map(Some),
        false => Ok(None),
    }
}

/// The head's generation and piece count.
fn generation_of(head: &Item) -> Result<(String, usize), StoreError> {
    let generation = get_s(head, GENERATION)?.to_string();
    match head.get(PARTS).map(AttributeValue::as_n) {
        Some(Ok(n)) => n
            .parse()
            .map(|parts| (generation, parts))
            .map_err(|_| StoreError::Backend("the read state's piece count is garbled".into())),
        _ => Err(StoreError::Backend(
            "the read state's head has no piece count".into(),
        )),
    }
}

impl DynamoStore {
    /// The tenant's pieces whose sort key starts with `prefix`, in order (only their keys
    /// with `keys_only`).
    async fn read_pieces(
        &self,
        tenant: &TenantId,
        prefix: &str,
        keys_only: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut query = self
            .query()
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(tenant.as_str()))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true);
        if keys_only {
            query = query.projection_expression("#pk, #sk");
        }
        self.query_all(query).await
    }

    /// The head's JSON replaced, on the condition that it names the same body (`Stale`
    /// otherwise): its generation and pieces stay.
    pub(super) async fn read_head_put(
        &self,
        tenant: &TenantId,
        head: &ReadHead,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant.as_str(), SK_TENANT)))
            .update_expression("SET #head = :head")
            .condition_expression("contains(#head, :body)")
            .expression_attribute_names("#head", HEAD)
            .expression_attribute_values(":head", s(encode_head(head)?))
            .expression_attribute_values(":body", s(names_body(&head.body_sha256)))
            .send()
            .await;
        match update_condition_held(result, "UpdateItem (read state head)")? {
            true => Ok(()),
            false => Err(StoreError::Stale),
        }
    }

    pub(super) async fn read_state_get(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<(ReadHead, ReadState)>, StoreError> {
        let Some(head) = self.get(tenant.as_str(), SK_TENANT.to_string()).await? else {
            return Ok(None);
        };
        if !head.contains_key(HEAD) {
            return Ok(None);
        }
        let (generation, parts) = generation_of(&head)?;
        let pieces = self
            .read_pieces(tenant, &format!("{SK_READ_PART}{generation}#"), false)
            .await?;
        if parts != pieces.len() {
            return Err(StoreError::Backend(
                "the stored read state lacks pieces".into(),
            ));
        }
        let mut body = Vec::new();
        for piece in &pieces {
            match piece.get(DATA) {
                Some(AttributeValue::B(data)) => body.extend_from_slice(data.as_ref()),
                _ => return Err(StoreError::Backend("a read state piece has no data".into())),
            }
        }
        decode(get_s(&head, HEAD)?, &body).map(Some)
    }

    pub(super) async fn read_state_put(
        &self,
        tenant: &TenantId,
        state: &KeptReads,
    ) -> Result<(), StoreError> {
        let stored = self.get(tenant.as_str(), SK_TENANT.to_string()).await?;
        let body = &state.head.body_sha256;
        let same_body = stored.as_ref().and_then(|head| {
            let stored = head_of(head).ok()??;
            (stored.body_sha256 == *body)
                .then(|| generation_of(head).ok())
                .flatten()
        });
        let (generation, parts, older) = match same_body {
            Some((generation, parts)) => (generation, parts, Vec::new()),
            None => {
                let generation = uuid::Uuid::new_v4().simple().to_string();
                let older = self.read_pieces(tenant, SK_READ_PART, true).await?;
                let mut writes = Vec::new();
                for (index, piece) in state.body.chunks(PIECE_BYTES).enumerate() {
                    let mut item = key(tenant.as_str(), piece_key(&generation, index));
                    item.insert(DATA.into(), AttributeValue::B(Blob::new(piece)));
                    writes.push(request(item, false)?);
                }
                let parts = writes.len();
                self.batch_write(writes).await?;
                (generation, parts, older)
            }
        };
        let result = self
            .head_update(tenant)
            .update_expression("SET #head = :head, #generation = :generation, #parts = :parts")
            .expression_attribute_values(":head", s(encode_head(&state.head)?))
            .expression_attribute_values(":generation", s(&generation))
            .expression_attribute_values(":parts", AttributeValue::N(parts.to_string()))
            .send()
            .await;
        if update_condition_held(result, "UpdateItem (read state)")? {
            self.delete_pieces(older).await
        } else {
            // The tenant went while the run read: its new pieces go too.
            let all = self.read_pieces(tenant, SK_READ_PART, true).await?;
            self.delete_pieces(all).await
        }
    }

    pub(super) async fn read_state_delete(&self, tenant: &TenantId) -> Result<(), StoreError> {
        let older = self.read_pieces(tenant, SK_READ_PART, true).await?;
        let result = self
            .head_update(tenant)
            .update_expression("REMOVE #head, #generation, #parts")
            .send()
            .await;
        // No tenant: no head to forget.
        update_condition_held(result, "UpdateItem (read state)")?;
        self.delete_pieces(older).await
    }

    /// An UpdateItem of the head's three attributes (`#head`, `#generation`, `#parts`) on the
    /// tenant item, if the tenant is still stored.
    fn head_update(&self, tenant: &TenantId) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant.as_str(), SK_TENANT)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#head", HEAD)
            .expression_attribute_names("#generation", GENERATION)
            .expression_attribute_names("#parts", PARTS)
    }

    async fn delete_pieces(&self, pieces: Vec<Item>) -> Result<(), StoreError> {
        let deletes = pieces
            .into_iter()
            .map(|item| {
                let keys = item
                    .into_iter()
                    .filter(|(name, _)| name == PK || name == SK)
                    .collect();
                request(keys, true)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_write(deletes).await
    }
}
