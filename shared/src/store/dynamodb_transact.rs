//! `TransactWriteItems` for writes that must change several items or none: the puts, updates
//! and deletes with their conditions, and the answer as which condition refused it.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::dynamodb::DynamoStore;
use super::dynamodb_items::{backend, Item};
use crate::error::StoreError;

/// A condition or update expression with the names and values it uses.
pub(super) struct Expression {
    expression: &'static str,
    names: Vec<(&'static str, &'static str)>,
    values: Vec<(&'static str, AttributeValue)>,
}

impl Expression {
    pub(super) fn new(expression: &'static str) -> Self {
        Self {
            expression,
            names: Vec::new(),
            values: Vec::new(),
        }
    }

    pub(super) fn name(mut self, placeholder: &'static str, attribute: &'static str) -> Self {
        self.names.push((placeholder, attribute));
        self
    }

    pub(super) fn value(mut self, placeholder: &'static str, value: AttributeValue) -> Self {
        self.values.push((placeholder, value));
        self
    }
}

/// One item's part of a transaction: a whole item to put, a key to update (the item is
/// created when absent) by an update expression, or a key to delete.
pub(super) enum Write {
    Put(Item, Option<Expression>),
    Update(Item, Expression),
    Delete(Item, Option<Expression>),
}

/// What a transaction came to.
pub(super) enum Outcome {
    Written,
    /// Nothing written: the condition of the write at this index (the first that failed)
    /// did not hold.
    Refused(usize),
    /// Nothing written: a concurrent transaction held one of the items. Worth another try.
    Conflict,
}

fn build_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("transaction item: {e}"))
}

impl Expression {
    /// The expression, its names, and its values (DynamoDB refuses an empty value map).
    fn parts(self) -> (String, HashMap<String, String>, Option<Item>) {
        let names = self
            .names
            .into_iter()
            .map(|(p, a)| (p.to_string(), a.to_string()))
            .collect();
        let values = (!self.values.is_empty()).then(|| {
            self.values
                .into_iter()
                .map(|(p, v)| (p.to_string(), v))
                .collect()
        });
        (self.expression.to_string(), names, values)
    }
}

impl Write {
    fn into_item(self, table: &str) -> Result<TransactWriteItem, StoreError> {
        let item = TransactWriteItem::builder();
        Ok(match self {
            Write::Put(value, condition) => {
                let mut put = Put::builder().table_name(table).set_item(Some(value));
                if let Some((expression, names, values)) = condition.map(Expression::parts) {
                    put = put
                        .condition_expression(expression)
                        .set_expression_attribute_names(Some(names))
                        .set_expression_attribute_values(values);
                }
                item.put(put.build().map_err(build_error)?).build()
            }
            Write::Update(key, update) => {
                let (expression, names, values) = update.parts();
                let update = Update::builder()
                    .table_name(table)
                    .set_key(Some(key))
                    .update_expression(expression)
                    .set_expression_attribute_names(Some(names))
                    .set_expression_attribute_values(values);
                item.update(update.build().map_err(build_error)?).build()
            }
            Write::Delete(key, condition) => {
                let mut delete = Delete::builder().table_name(table).set_key(Some(key));
                if let Some((expression, names, values)) = condition.map(Expression::parts) {
                    delete = delete
                        .condition_expression(expression)
                        .set_expression_attribute_names(Some(names))
                        .set_expression_attribute_values(values);
                }
                item.delete(delete.build().map_err(build_error)?).build()
            }
        })
    }
}

impl DynamoStore {
    /// Writes all of `writes` or none. The SDK gives the call an idempotency token, so its
    /// own retries of a transaction that went through are not applied twice.
    pub(super) async fn transact(
        &self,
        writes: Vec<Write>,
        operation: &str,
    ) -> Result<Outcome, StoreError> {
        let items = writes
            .into_iter()
            .map(|w| w.into_item(&self.table))
            .collect::<Result<Vec<_>, _>>()?;
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let Err(error) = result else {
            return Ok(Outcome::Written);
        };
        let codes: Vec<&str> = match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
                .cancellation_reasons()
                .iter()
                .map(|reason| reason.code().unwrap_or("None"))
                .collect(),
            Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
                return Ok(Outcome::Conflict)
            }
            _ => return Err(backend(operation, error)),
        };
        if let Some(index) = codes.iter().position(|c| *c == "ConditionalCheckFailed") {
            Ok(Outcome::Refused(index))
        } else if codes.contains(&"TransactionConflict") {
            Ok(Outcome::Conflict)
        } else {
            Err(backend(operation, error))
        }
    }
}
