//! The tenant lease on DynamoDB: one item per tenant (`sk` = "LEASE"), changed only by
//! conditional writes, so two workers never both hold it.

use std::time::Duration;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, TimeDelta, Utc};

use super::dynamodb::DynamoStore;
use super::dynamodb_items::{
    backend, get_s, key, parse_id, s, update_condition_held, LEASE_RUN, LEASE_UNTIL, SK_LEASE,
};
use super::keys::time_key;
use crate::domain::{RunId, TenantId};
use crate::error::StoreError;
use crate::ports::LeaseOutcome;

/// The time key of `now + ttl`.
fn expiry_key(now: DateTime<Utc>, ttl: Duration) -> Result<String, StoreError> {
    let expires = TimeDelta::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .ok_or_else(|| StoreError::Backend(format!("lease ttl {ttl:?} is too long")))?;
    time_key(expires)
}

impl DynamoStore {
    /// One conditional put: it succeeds when there is no lease, when `run_id` holds it, or
    /// when it expired (`lease_until <= now`); the old item tells who held it before.
    pub(super) async fn lease_acquire(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseOutcome, StoreError> {
        let mut item = key(tenant.as_str(), SK_LEASE);
        item.insert(LEASE_RUN.into(), s(run_id.as_str()));
        item.insert(LEASE_UNTIL.into(), s(expiry_key(now, ttl)?));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #run = :me OR #until <= :now")
            .expression_attribute_names("#run", LEASE_RUN)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_values(":me", s(run_id.as_str()))
            .expression_attribute_values(":now", s(time_key(now)?))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let expired_run = match output.attributes() {
                    Some(old) if get_s(old, LEASE_RUN)? != run_id.as_str() => {
                        Some(parse_id(get_s(old, LEASE_RUN)?, RunId::parse)?)
                    }
                    _ => None,
                };
                Ok(LeaseOutcome::Acquired { expired_run })
            }
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    let holder = match failed.item() {
                        Some(old) => parse_id(get_s(old, LEASE_RUN)?, RunId::parse)?,
                        // Endpoints that do not return the item: read it.
                        None => match self.lease_item_holder(tenant).await? {
                            Some((holder, _)) => holder,
                            None => {
                                return Err(StoreError::Backend("lease changed while taken".into()))
                            }
                        },
                    };
                    Ok(LeaseOutcome::HeldBy(holder))
                }
                _ => Err(backend("PutItem (lease)", error)),
            },
        }
    }

    pub(super) async fn lease_renew(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant.as_str(), SK_LEASE)))
            .update_expression("SET #until = :until")
            .condition_expression("#run = :me AND #until > :now")
            .expression_attribute_names("#run", LEASE_RUN)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_values(":me", s(run_id.as_str()))
            .expression_attribute_values(":now", s(time_key(now)?))
            .expression_attribute_values(":until", s(expiry_key(now, ttl)?))
            .send()
            .await;
        update_condition_held(result, "UpdateItem (lease)")
    }

    pub(super) async fn lease_release(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant.as_str(), SK_LEASE)))
            .condition_expression("#run = :me")
            .expression_attribute_names("#run", LEASE_RUN)
            .expression_attribute_values(":me", s(run_id.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(backend("DeleteItem (lease)", error)),
        }
    }

    pub(super) async fn lease_current(
        &self,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<Option<RunId>, StoreError> {
        let now = time_key(now)?;
        Ok(self
            .lease_item_holder(tenant)
            .await?
            .filter(|(_, until)| *until > now)
            .map(|(holder, _)| holder))
    }

    /// The lease item's holder and end, expired or not (a strongly consistent read).
    async fn lease_item_holder(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<(RunId, String)>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant.as_str(), SK_LEASE)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("GetItem (lease)", e))?;
        output
            .item()
            .map(|item| {
                Ok((
                    parse_id(get_s(item, LEASE_RUN)?, RunId::parse)?,
                    get_s(item, LEASE_UNTIL)?.to_string(),
                ))
            })
            .transpose()
    }
}
