//! How many users or groups a tenant has pushed over SCIM, on DynamoDB: one counter item per
//! tenant and kind, `PUSHCOUNT#{kind}` with `count`, changed in the same
//! `TransactWriteItems` as each create (+1) and delete (−1), so that it moves exactly when a
//! resource comes or goes and never drifts. Reading it is one GetItem, where counting the
//! resources would read them all (the SCIM routes check the per-tenant cap on every create).

use aws_sdk_dynamodb::types::AttributeValue;

use super::dynamodb::DynamoStore;
use super::dynamodb_items::{key, Item};
use super::dynamodb_transact::{Expression, Write};
use super::pushed_record::kind_name;
use crate::domain::{PushedKind, TenantId};
use crate::error::StoreError;

const SK_PUSHED_COUNT: &str = "PUSHCOUNT#";
const COUNT: &str = "count";

fn counter_sk(kind: PushedKind) -> String {
    format!("{SK_PUSHED_COUNT}{}", kind_name(kind))
}

fn count_key(tenant: &TenantId, kind: PushedKind) -> Item {
    key(tenant.as_str(), counter_sk(kind))
}

/// The counter's part of a create (`delta` 1) or delete (−1) transaction. Unconditional: the
/// transaction's other writes decide whether it applies; the item is created at the first
/// create.
pub(super) fn count_change(tenant: &TenantId, kind: PushedKind, delta: i64) -> Write {
    let update = Expression::new("SET #count = if_not_exists(#count, :zero) + :delta")
        .name("#count", COUNT)
        .value(":zero", AttributeValue::N("0".into()))
        .value(":delta", AttributeValue::N(delta.to_string()));
    Write::Update(count_key(tenant, kind), update)
}

impl DynamoStore {
    /// The counter, strongly consistent; 0 when absent (nothing created yet, or the tenant
    /// deleted with all its items).
    pub(super) async fn pushed_count(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
    ) -> Result<usize, StoreError> {
        let Some(item) = self.get(tenant.as_str(), counter_sk(kind)).await? else {
            return Ok(0);
        };
        match item.get(COUNT) {
            // Below zero only if items were removed by hand: no resources is the best guess.
            Some(AttributeValue::N(n)) => n
                .parse::<i64>()
                .map(|n| usize::try_from(n).unwrap_or(0))
                .map_err(|_| StoreError::Backend(format!("stored pushed count {n:?} is invalid"))),
            _ => Err(StoreError::Backend(
                "stored pushed counter lacks its count".into(),
            )),
        }
    }
}
