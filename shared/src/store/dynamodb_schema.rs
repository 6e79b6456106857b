//! The table's definition, for tests, benchmarks and anyone creating it by hand. The SAM
//! template (`infra/template.yaml`) declares the same table; keep the two alike.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use super::dynamodb_items::{
    backend, DUE, DUE_AT, DUE_INDEX, EVERY_HOURS, EXPIRES_AT, KIND, PK, RUNS_INDEX, RUN_ORDER, SK,
    SUMMARY, TENANTS_INDEX,
};
use crate::error::StoreError;

fn build_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("table definition is invalid: {e}"))
}

fn key_element(name: &str, key_type: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(build_error)
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(build_error)
}

fn keys_only() -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::KeysOnly)
        .build()
}

/// The keys and `attribute`.
fn include(attribute: &str) -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::Include)
        .non_key_attributes(attribute)
        .build()
}

/// Creates the table (on demand) with its indexes and run TTL. On AWS the table takes a
/// moment to become ACTIVE; moto creates it at once.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    create_table_and_indexes(client, table).await?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(EXPIRES_AT)
                .enabled(true)
                .build()
                .map_err(build_error)?,
        )
        .send()
        .await
        .map_err(|e| backend("UpdateTimeToLive", e))?;
    Ok(())
}

/// The table and its indexes without the run TTL: for emulators that lack the TTL API.
pub async fn create_table_and_indexes(client: &Client, table: &str) -> Result<(), StoreError> {
    let gsi = |name: &str,
               hash: &str,
               range: &str,
               projection: Projection|
     -> Result<GlobalSecondaryIndex, StoreError> {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key_element(hash, KeyType::Hash)?)
            .key_schema(key_element(range, KeyType::Range)?)
            .projection(projection)
            .build()
            .map_err(build_error)
    };
    let runs = LocalSecondaryIndex::builder()
        .index_name(RUNS_INDEX)
        .key_schema(key_element(PK, KeyType::Hash)?)
        .key_schema(key_element(RUN_ORDER, KeyType::Range)?)
        .projection(include(SUMMARY))
        .build()
        .map_err(build_error)?;
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element(PK, KeyType::Hash)?)
        .key_schema(key_element(SK, KeyType::Range)?)
        .global_secondary_indexes(gsi(TENANTS_INDEX, KIND, PK, keys_only())?)
        .global_secondary_indexes(gsi(DUE_INDEX, DUE, DUE_AT, include(EVERY_HOURS))?)
        .local_secondary_indexes(runs);
    for name in [PK, SK, KIND, DUE, DUE_AT, RUN_ORDER] {
        request = request.attribute_definitions(string_attribute(name)?);
    }
    request
        .send()
        .await
        .map_err(|e| backend("CreateTable", e))?;
    Ok(())
}
