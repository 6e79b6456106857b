//! The tenant lease on DynamoDB: two attributes of the tenant item (`lease_run`,
//! `lease_until`), changed only by conditional writes, so two workers never both hold it. On
//! the tenant item, a run's start takes the lease and reads the tenant in one UpdateItem, and
//! its end sets the last run and gives the lease up in another; a tenant that is not stored
//! has no lease.

use std::time::Duration;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, TimeDelta, Utc};

use super::dynamodb::DynamoStore;
use super::dynamodb_items::{
    backend, get_s, key, parse_id, s, update_condition_held, Item, LAST_RUN, LEASE_RUN,
    LEASE_UNTIL, PK, SK_TENANT,
};
use super::keys::time_key;
use crate::domain::{RunId, RunSummary, TenantId};
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

/// The holder named by a tenant item, and until when (none: the lease is free).
fn holder_of(item: &Item) -> Result<Option<(RunId, &str)>, StoreError> {
    if !item.contains_key(LEASE_UNTIL) {
        return Ok(None);
    }
    let holder = parse_id(get_s(item, LEASE_RUN)?, RunId::parse)?;
    Ok(Some((holder, get_s(item, LEASE_UNTIL)?)))
}

impl DynamoStore {
    /// One conditional UpdateItem of the tenant item: it succeeds when the lease is free,
    /// when `run_id` holds it, or when it expired (`lease_until <= now`). Returns the
    /// tenant item as it was (the tenant, its old lease) with what was taken; `None` when no
    /// tenant is stored.
    pub(super) async fn lease_take(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<(LeaseOutcome, Option<Item>), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant.as_str(), SK_TENANT)))
            .update_expression("SET #run = :me, #until = :until")
            .condition_expression(
                "attribute_exists(#pk) AND \
                 (attribute_not_exists(#until) OR #run = :me OR #until <= :now)",
            )
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#run", LEASE_RUN)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_values(":me", s(run_id.as_str()))
            .expression_attribute_values(":now", s(time_key(now)?))
            .expression_attribute_values(":until", s(expiry_key(now, ttl)?))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let old = output.attributes;
                let expired_run = match old.as_ref().map(holder_of).transpose()?.flatten() {
                    Some((holder, _)) if holder != *run_id => Some(holder),
                    _ => None,
                };
                Ok((LeaseOutcome::Acquired { expired_run }, old))
            }
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    // Endpoints that do not return the item: read it.
                    let item = match failed.item() {
                        Some(item) => Some(item.clone()),
                        None => self.get(tenant.as_str(), SK_TENANT.into()).await?,
                    };
                    let Some(item) = item else {
                        return Ok((LeaseOutcome::NoTenant, None));
                    };
                    match holder_of(&item)? {
                        Some((holder, _)) => Ok((LeaseOutcome::HeldBy(holder), Some(item))),
                        None => Err(StoreError::Backend("lease changed while taken".into())),
                    }
                }
                _ => Err(backend("UpdateItem (lease)", error)),
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
            .set_key(Some(key(tenant.as_str(), SK_TENANT)))
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

    /// Frees the lease if `run_id` holds it (expired or not), setting `last_run` in the same
    /// write when given; true when it held.
    pub(super) async fn lease_release(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
        last_run: Option<&RunSummary>,
    ) -> Result<bool, StoreError> {
        let expression = match last_run {
            Some(_) => "SET #last = :last REMOVE #run, #until",
            None => "REMOVE #run, #until",
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant.as_str(), SK_TENANT)))
            .update_expression(expression)
            .condition_expression("#run = :me")
            .expression_attribute_names("#run", LEASE_RUN)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_values(":me", s(run_id.as_str()));
        if let Some(summary) = last_run {
            update = update
                .expression_attribute_names("#last", LAST_RUN)
                .expression_attribute_values(":last", s(serde_json::to_string(summary)?));
        }
        update_condition_held(update.send().await, "UpdateItem (lease release)")
    }

    pub(super) async fn lease_current(
        &self,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<Option<RunId>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant.as_str(), SK_TENANT)))
            .projection_expression("#run, #until")
            .expression_attribute_names("#run", LEASE_RUN)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("GetItem (lease)", e))?;
        let now = time_key(now)?;
        Ok(match output.item().map(holder_of).transpose()?.flatten() {
            Some((holder, until)) if until > now.as_str() => Some(holder),
            _ => None,
        })
    }
}
