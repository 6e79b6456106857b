//! `moto_server` on 127.0.0.1 (real AWS APIs run locally) and `aws-sdk` clients pointed at it.
//! `scripts/test` installs moto (`pip install 'moto[server]'`) when it is missing.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::AttributeValue;
use dirsync::domain::TenantId;
use dirsync::store::conformance::{RawRecords, StoredRecord};
use dirsync::store::{create_table, DynamoStore};
use rand::Rng;
use serde_json::Value;

/// `moto_server`'s app served by one thread. moto's DynamoDB checks a write's condition and
/// then writes with no lock, so with `moto_server`'s threaded server two concurrent
/// conditional puts can both succeed; DynamoDB makes them atomic. Serving one request at a
/// time restores that guarantee for the lease tests.
const SERIAL_MOTO_SERVER: &str = "import sys
from werkzeug.serving import run_simple
from moto.server import DomainDispatcherApplication, create_backend_app
run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)
";

/// A running moto server, killed when dropped. Each server keeps its own state in memory.
pub struct Moto {
    child: Child,
    pub endpoint: String,
    pub config: SdkConfig,
}

impl Moto {
    /// Starts moto's server on a free port of 127.0.0.1 and waits until it answers.
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("python3")
            .args(["-c", SERIAL_MOTO_SERVER, &port.to_string()])
            .env("MOTO_PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "moto_server is installed (scripts/test installs it: pip install 'moto[server]')",
            );
        let endpoint = format!("http://127.0.0.1:{port}");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut moto = Self {
            child,
            endpoint: endpoint.clone(),
            config: test_config(&endpoint).await,
        };
        for _ in 0..300 {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return moto;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited at start: {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("moto_server did not start listening on {endpoint}");
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.config)
    }

    pub fn secretsmanager(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.config)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.config)
    }

    /// A new table with a random name, created as the store expects it.
    pub async fn store(&self) -> DynamoStore {
        let table = format!("dirsync-test-{:08x}", rand::rng().random::<u32>());
        let client = self.dynamodb();
        create_table(&client, &table).await.expect("create table");
        DynamoStore::new(client, table)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fixed test credentials and region, and every service at `endpoint`.
pub async fn test_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

/// Patches stored bodies through the DynamoDB API, as a newer release's writes would leave them.
pub struct DynamoRaw {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoRaw {
    pub fn new(moto: &Moto, store: &DynamoStore) -> Self {
        Self {
            client: moto.dynamodb(),
            table: store.table().to_string(),
        }
    }
}

#[async_trait::async_trait]
impl RawRecords for DynamoRaw {
    async fn merge_into_body(&self, tenant: &TenantId, record: StoredRecord<'_>, patch: &Value) {
        let (sk, bodies) = match record {
            StoredRecord::Tenant => ("TENANT".to_string(), vec!["body"]),
            StoredRecord::Mapping(object) => (format!("MAP#{object}"), vec!["body"]),
            StoredRecord::Object(kind, object) => {
                (format!("OBJ#{}#{object}", kind.as_str()), vec!["body"])
            }
            StoredRecord::Pushed(kind, id) => {
                let kind = serde_json::to_value(kind).expect("a kind name");
                let kind = kind.as_str().expect("kinds are strings");
                (format!("PUSH#{kind}#{id}"), vec!["body"])
            }
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

    async fn put_object_of_unknown_kind(
        &self,
        tenant: &TenantId,
        kind: &str,
        object_id: &str,
        body: &Value,
    ) {
        let sk = format!("OBJ#{kind}#{object_id}");
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(tenant.to_string()))
            .item("sk", AttributeValue::S(sk))
            .item("body", AttributeValue::S(body.to_string()))
            .send()
            .await
            .expect("put item");
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
