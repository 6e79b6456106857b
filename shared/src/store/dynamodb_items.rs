//! The DynamoDB table's keys and attributes (documented in the README, "DynamoDB table"), and
//! the conversions between items and the domain.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::time_key;
use crate::domain::IdError;
use crate::error::StoreError;

pub(super) type Item = HashMap<String, AttributeValue>;

/// Partition key: the tenant id, on every item of the table.
pub(super) const PK: &str = "pk";
/// Sort key: what the item is within the tenant (see the `SK_*` prefixes).
pub(super) const SK: &str = "sk";
pub(super) const SK_TENANT: &str = "TENANT";
pub(super) const SK_MAPPING: &str = "MAP#";
pub(super) const SK_RUN: &str = "RUN#";
/// An organization's or group's mapping: `OBJ#{kind}#{object_id}`.
pub(super) const SK_OBJECT: &str = "OBJ#";
/// Further pieces of a run record too large for one item (400 KB limit).
pub(super) const SK_RUN_PART: &str = "RUNPART#";
/// A username's login attempts: `LOGIN#{sha-256 of tenant and username}`.
pub(super) const SK_LOGIN: &str = "LOGIN#";

/// The JSON of the domain object (tenant, mapping, run record).
pub(super) const BODY: &str = "body";
/// A run's summary alone, so that listing runs never reads whole plans.
pub(super) const SUMMARY: &str = "summary";
/// How many items a run record's body is split across.
pub(super) const PARTS: &str = "parts";
/// The TTL attribute: epoch seconds after which DynamoDB removes the item.
pub(super) const EXPIRES_AT: &str = "expires_at";
/// The tenant item's lease: the holder and until when (both absent: free).
pub(super) const LEASE_RUN: &str = "lease_run";
pub(super) const LEASE_UNTIL: &str = "lease_until";

/// GSI `tenants` (keys only): `kind` = "tenant" on tenant items, sorted by `pk`.
pub(super) const TENANTS_INDEX: &str = "tenants";
pub(super) const KIND: &str = "kind";
pub(super) const KIND_TENANT: &str = "tenant";
/// A tenant's next sync time (a time key), kept out of its `body` so that the scheduler can
/// move it with one UpdateItem.
pub(super) const NEXT_SYNC_AT: &str = "next_sync_at";
/// GSI `due` (sparse, projects `every_hours`): only active tenants with a next sync time carry
/// `due` = "due", `due_at` = "{next_sync_at}#{tenant}" and their schedule period.
pub(super) const DUE_INDEX: &str = "due";
pub(super) const DUE: &str = "due";
pub(super) const DUE_AT: &str = "due_at";
pub(super) const EVERY_HOURS: &str = "every_hours";
/// A tenant's settings revision (absent on items written before it existed: 0).
pub(super) const REVISION: &str = "revision";
/// A tenant's last run summary (JSON), written apart from the settings in `body`. Items
/// written before it existed keep the last run in the body.
pub(super) const LAST_RUN: &str = "last_run";
/// LSI `runs` (sparse, projects `summary`): `run_order` = "{inverted started_at}#{run_id}",
/// so that an ascending query lists newest first and equal times in run id order.
pub(super) const RUNS_INDEX: &str = "runs";
pub(super) const RUN_ORDER: &str = "run_order";

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn key(pk: &str, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_string(), s(pk)), (SK.to_string(), s(sk))])
}

/// The string attribute `name` of `item`.
pub(super) fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(StoreError::Backend(format!(
            "stored item lacks the string attribute {name}"
        ))),
    }
}

pub(super) fn body<T: serde::de::DeserializeOwned>(
    item: &Item,
    name: &str,
) -> Result<T, StoreError> {
    Ok(serde_json::from_str(get_s(item, name)?)?)
}

pub(super) fn parse_id<T>(
    raw: &str,
    parse: fn(String) -> Result<T, IdError>,
) -> Result<T, StoreError> {
    parse(raw.to_string()).map_err(|e| StoreError::Backend(format!("stored id is invalid: {e}")))
}

/// A time key whose digits are replaced by their nines' complement: byte order of these
/// strings is reverse time order (the width is fixed, see [`time_key`]).
pub(super) fn inverted_time_key(at: chrono::DateTime<chrono::Utc>) -> Result<String, StoreError> {
    Ok(time_key(at)?
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_digit(9 - d, 10).unwrap_or(c),
            None => c,
        })
        .collect())
}

/// An SDK error as a store error, with the service's message and without request details.
pub(super) fn backend<E, R>(operation: &str, error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Backend(crate::aws::sdk_error_message("DynamoDB", operation, &error))
}

/// A conditional UpdateItem's answer as whether its condition held; other errors as store
/// errors naming `operation`.
pub(super) fn update_condition_held<R: std::fmt::Debug>(
    result: Result<UpdateItemOutput, SdkError<UpdateItemError, R>>,
    operation: &str,
) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(error) => match error.as_service_error() {
            Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
            _ => Err(backend(operation, error)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone, Utc};

    #[test]
    fn inverted_time_keys_sort_newest_first() {
        let a = Utc.with_ymd_and_hms(2031, 3, 14, 15, 9, 26).unwrap();
        let times = [a - TimeDelta::days(400), a, a + TimeDelta::nanoseconds(1)];
        let keys: Vec<String> = times
            .iter()
            .map(|t| inverted_time_key(*t).unwrap())
            .collect();
        assert!(keys[0] > keys[1] && keys[1] > keys[2], "{keys:?}");
    }
}
