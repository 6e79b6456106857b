//! Login attempts on DynamoDB (`Store::take_login_attempt`): one item per tenant and username
//! hash (`sk` = "LOGIN#{hash}") holding the open window's count and end, changed only by
//! conditional writes so that concurrent Lambda instances share one count. DynamoDB's TTL
//! removes the item a while after its window ended.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeDelta, Utc};

use super::dynamodb::DynamoStore;
use super::dynamodb_items::{
    backend, get_s, key, s, update_condition_held, Item, EXPIRES_AT, SK_LOGIN,
};
use super::keys::{parse_time_key, time_key};
use crate::domain::TenantId;
use crate::error::StoreError;
use crate::ports::{LoginAttempt, LoginLimit};

const ATTEMPTS: &str = "attempts";
const WINDOW_ENDS: &str = "window_ends";
/// Rounds of the update-or-start race before giving up (another writer won each time).
const ROUNDS: u32 = 4;

fn number(value: u32) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

impl DynamoStore {
    pub(super) async fn login_take(
        &self,
        tenant: &TenantId,
        hash: &str,
        limit: LoginLimit,
        now: DateTime<Utc>,
    ) -> Result<LoginAttempt, StoreError> {
        let item_key = key(tenant.as_str(), format!("{SK_LOGIN}{hash}"));
        let now_key = time_key(now)?;
        for _ in 0..ROUNDS {
            // An open window with room: count one more.
            let counted = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(item_key.clone()))
                .update_expression("SET #n = #n + :one")
                .condition_expression("#ends > :now AND #n < :max")
                .expression_attribute_names("#n", ATTEMPTS)
                .expression_attribute_names("#ends", WINDOW_ENDS)
                .expression_attribute_values(":one", number(1))
                .expression_attribute_values(":now", s(now_key.clone()))
                .expression_attribute_values(":max", number(limit.max))
                .send()
                .await;
            if update_condition_held(counted, "UpdateItem (login attempts)")? {
                return Ok(LoginAttempt::Counted);
            }
            // No open window: start one.
            if self.login_start(&item_key, limit, now, &now_key).await? {
                return Ok(LoginAttempt::Counted);
            }
            // An open window: full, or another writer started it in between.
            if let Some((attempts, ends)) = self.login_window(&item_key).await? {
                if ends > now && attempts >= limit.max {
                    return Ok(LoginAttempt::Refused { until: ends });
                }
            }
        }
        Err(StoreError::Backend(
            "the login attempt count kept changing while it was taken".into(),
        ))
    }

    /// Puts a window with one attempt unless an open one exists; false when one does.
    async fn login_start(
        &self,
        item_key: &Item,
        limit: LoginLimit,
        now: DateTime<Utc>,
        now_key: &str,
    ) -> Result<bool, StoreError> {
        let ends = TimeDelta::from_std(limit.window)
            .ok()
            .and_then(|window| now.checked_add_signed(window))
            .ok_or_else(|| StoreError::Backend("the login window is too long".into()))?;
        let mut item = item_key.clone();
        item.insert(ATTEMPTS.into(), number(1));
        item.insert(WINDOW_ENDS.into(), s(time_key(ends)?));
        // Kept a day past its window; DynamoDB deletes expired items within about two days.
        let expires = ends.timestamp() + 24 * 3600;
        item.insert(EXPIRES_AT.into(), AttributeValue::N(expires.to_string()));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #ends <= :now")
            .expression_attribute_names("#ends", WINDOW_ENDS)
            .expression_attribute_values(":now", s(now_key))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(backend("PutItem (login attempts)", error)),
            },
        }
    }

    /// The item's count and window end (a strongly consistent read).
    async fn login_window(
        &self,
        item_key: &Item,
    ) -> Result<Option<(u32, DateTime<Utc>)>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item_key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("GetItem (login attempts)", e))?;
        let Some(item) = output.item() else {
            return Ok(None);
        };
        let attempts = match item.get(ATTEMPTS) {
            Some(AttributeValue::N(n)) => n.parse::<u32>().ok(),
            _ => None,
        }
        .ok_or_else(|| StoreError::Backend("stored login attempts are not a count".into()))?;
        Ok(Some((attempts, parse_time_key(get_s(item, WINDOW_ENDS)?)?)))
    }

    pub(super) async fn login_give_back(
        &self,
        tenant: &TenantId,
        hash: &str,
        clear: bool,
    ) -> Result<(), StoreError> {
        let item_key = key(tenant.as_str(), format!("{SK_LOGIN}{hash}"));
        if clear {
            return self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(item_key))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| backend("DeleteItem (login attempts)", e));
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key))
            .update_expression("SET #n = #n - :one")
            .condition_expression("#n > :zero")
            .expression_attribute_names("#n", ATTEMPTS)
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":zero", number(0))
            .send()
            .await;
        // Nothing to give back (the window is gone or was cleared) is fine.
        update_condition_held(result, "UpdateItem (login attempts)").map(|_| ())
    }
}
