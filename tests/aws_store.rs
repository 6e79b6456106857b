//! The store conformance suite against DynamoDB (moto).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use dirsync::domain::TenantId;
use dirsync::store::conformance::{records_from_a_newer_release_read, RawRecords, StoredRecord};
use dirsync_integration_tests::moto::Moto;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_store_passes_the_conformance_suite() {
    let moto = Moto::start().await;
    let store = moto.store().await;
    dirsync::store::conformance::run_all(&store).await;
}

/// Patches stored bodies through the DynamoDB API, as a newer release's writes would leave them.
struct DynamoRaw {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

#[async_trait::async_trait]
impl RawRecords for DynamoRaw {
    async fn merge_into_body(&self, tenant: &TenantId, record: StoredRecord<'_>, patch: &Value) {
        let (sk, bodies) = match record {
            StoredRecord::Tenant => ("TENANT".to_string(), vec!["body"]),
            StoredRecord::Mapping(object) => (format!("MAP#{object}"), vec!["body"]),
            StoredRecord::Run(run) => (
                format!("RUN#{run}"),
                // The record's body holds its summary's fields at the top level.
                vec!["body", "summary"],
            ),
        };
        let key = HashMap::from([
            ("pk".to_string(), AttributeValue::S(tenant.to_string())),
            ("sk".to_string(), AttributeValue::S(sk)),
        ]);
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .consistent_read(true)
            .send()
            .await
            .expect("get item")
            .item
            .expect("the record to patch exists");
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key));
        let mut sets = Vec::new();
        for (i, attribute) in bodies.into_iter().enumerate() {
            let Some(AttributeValue::S(raw)) = item.get(attribute) else {
                panic!("{attribute} is a string attribute");
            };
            let mut body: Value = serde_json::from_str(raw).expect("stored JSON");
            merge(&mut body, patch);
            sets.push(format!("#a{i} = :v{i}"));
            update = update
                .expression_attribute_names(format!("#a{i}"), attribute)
                .expression_attribute_values(format!(":v{i}"), AttributeValue::S(body.to_string()));
        }
        update
            .update_expression(format!("SET {}", sets.join(", ")))
            .send()
            .await
            .expect("update item");
    }
}

/// RFC 7396 merge patch.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_reads_records_from_a_newer_release() {
    let moto = Moto::start().await;
    let store = moto.store().await;
    let raw = DynamoRaw {
        client: moto.dynamodb(),
        table: store.table().to_string(),
    };
    records_from_a_newer_release_read(&store, &raw).await;
}
