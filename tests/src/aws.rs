//! The AWS side end to end: DynamoDB, Secrets Manager and an SQS FIFO queue with its
//! dead-letter queue on moto, the worker's engine on them, and the PBX simulator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use chrono::{DateTime, Utc};
use dirsync::domain::TenantId;
use dirsync::ports::{Secrets, Store, TenantSecrets};
use dirsync::secrets::SecretsManagerSecrets;
use dirsync::store::DynamoStore;
use dirsync::sync::{DefaultConnector, EngineOptions, SqsQueue, SyncEngine};
use dirsync_pbx_sim::{PbxSimulator, RunningSimulator, SimulatorOptions};
use serde_json::json;

use crate::moto::Moto;
use crate::{configured_tenant, fast_pbx_options, ldif, Person, ACCOUNT, TENANT, TOKEN};

/// Deliveries of a message before SQS moves it to the dead-letter queue.
pub const MAX_RECEIVES: u32 = 2;

pub struct AwsHarness {
    pub moto: Moto,
    pub tenant: TenantId,
    pub store: Arc<DynamoStore>,
    pub queue: SqsQueue,
    pub queue_url: String,
    pub dlq_url: String,
    pub simulator: PbxSimulator,
    pub simulator_addr: SocketAddr,
    pub ldif_path: PathBuf,
    _running: RunningSimulator,
    _dir: tempfile::TempDir,
}

impl AwsHarness {
    /// Table, secrets and queues created on a fresh moto; the tenant stored, active, with its
    /// PBX token in Secrets Manager, and not yet due.
    pub async fn new(people: &[Person]) -> Self {
        let moto = Moto::start().await;
        let store = Arc::new(moto.store().await);
        let sqs = moto.sqs();
        let dlq_url = create_fifo(&sqs, "dirsync-dlq.fifo", None).await;
        let dlq_arn = sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("dlq attributes")
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .expect("dlq arn");
        let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES});
        let queue_url = create_fifo(&sqs, "dirsync-runs.fifo", Some(redrive.to_string())).await;

        let dir = tempfile::tempdir().expect("temp dir");
        let ldif_path = dir.path().join("directory.ldif");
        std::fs::write(&ldif_path, ldif(people)).expect("write ldif");
        let simulator = PbxSimulator::new(SimulatorOptions::default());
        simulator.add_account(ACCOUNT, TOKEN, 100_000);
        let running = simulator
            .serve(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("simulator");
        let tenant = TenantId::parse(TENANT).expect("tenant id");
        let secrets = SecretsManagerSecrets::new(moto.secretsmanager());
        let token = TenantSecrets {
            pbx_token: Some(TOKEN.to_string().into()),
            ..TenantSecrets::default()
        };
        secrets.put(&tenant, &token).await.expect("secrets");
        let mut record = configured_tenant(&tenant, &ldif_path, running.addr(), json!({}));
        record.next_sync_at = None;
        store.put_tenant(&record).await.expect("tenant");
        Self {
            queue: SqsQueue::new(sqs, &queue_url),
            moto,
            tenant,
            store,
            queue_url,
            dlq_url,
            simulator,
            simulator_addr: running.addr(),
            ldif_path,
            _running: running,
            _dir: dir,
        }
    }

    /// A worker's engine (each worker Lambda builds its own) on the shared table and secrets.
    pub fn worker_engine(&self, options: EngineOptions) -> SyncEngine {
        self.worker_engine_on(self.store.clone(), options)
    }

    /// A worker's engine on `store` (say, the same table through an instrumented client).
    pub fn worker_engine_on(&self, store: Arc<dyn Store>, options: EngineOptions) -> SyncEngine {
        let dir = self.ldif_path.parent().expect("ldif folder").to_path_buf();
        SyncEngine::new(
            store,
            Arc::new(SecretsManagerSecrets::new(self.moto.secretsmanager())),
            Arc::new(DefaultConnector {
                ldif_root: Some(dir),
                pbx_options: fast_pbx_options(),
                ..DefaultConnector::default()
            }),
            options,
        )
    }

    /// Makes the tenant due at `at`.
    pub async fn make_due(&self, at: DateTime<Utc>) {
        let mut tenant = self.store.get_tenant(&self.tenant).await.unwrap().unwrap();
        tenant.next_sync_at = Some(at);
        self.store.put_tenant(&tenant).await.expect("tenant");
    }

    /// Receives what the queue delivers, as Lambda's SQS event source hands it to the worker.
    /// `visibility_seconds` 0 makes a message not deleted visible again at once.
    pub async fn receive(&self, url: &str, visibility_seconds: i32) -> SqsEvent {
        let output = self
            .moto
            .sqs()
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(visibility_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        let records: Vec<serde_json::Value> = output
            .messages()
            .iter()
            .map(|m| {
                let attributes: serde_json::Map<String, serde_json::Value> = m
                    .attributes()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str().to_string(), json!(v)))
                    .collect();
                json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "attributes": attributes,
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:dirsync-runs.fifo",
                    "awsRegion": "us-east-1",
                })
            })
            .collect();
        serde_json::from_value(json!({ "Records": records })).expect("an SQS event")
    }

    /// What Lambda does after the handler: deletes the records that did not fail.
    pub async fn delete_succeeded(&self, event: &SqsEvent, failed: &[String]) {
        for record in &event.records {
            if failed.contains(record.message_id.as_ref().unwrap()) {
                continue;
            }
            self.moto
                .sqs()
                .delete_message()
                .queue_url(&self.queue_url)
                .receipt_handle(record.receipt_handle.clone().unwrap())
                .send()
                .await
                .expect("delete");
        }
    }
}

async fn create_fifo(sqs: &aws_sdk_sqs::Client, name: &str, redrive: Option<String>) -> String {
    let mut request = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::FifoQueue, "true");
    if let Some(redrive) = redrive {
        request = request.attributes(QueueAttributeName::RedrivePolicy, redrive);
    }
    request
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("queue url")
        .to_string()
}

/// An EventBridge scheduled event, as the rule delivers it, for the tick at `time`.
pub fn scheduled_event(time: DateTime<Utc>) -> CloudWatchEvent {
    serde_json::from_value(json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/dirsync-schedule"],
        "detail": {}
    }))
    .expect("a scheduled event")
}
