//! The scheduler's fan-out at scale: 10,000 due tenants on DynamoDB and SQS FIFO (moto on
//! 127.0.0.1), timed, with the AWS calls counted by SDK interceptors.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_dynamodb::config::{Intercept, RuntimeComponents};
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{Timelike, Utc};
use dirsync::domain::{Tenant, TenantId, TenantState};
use dirsync::ports::Store;
use dirsync::store::{create_table, DynamoStore};
use dirsync::sync::{dispatch_due, SqsQueue};
use dirsync_integration_tests::moto::Moto;

use crate::Row;

/// Tenants in the fan-out; `DIRSYNC_BENCH_TENANTS` overrides (moto slows down as its
/// table grows, so 10,000 takes long there, unlike on DynamoDB).
fn tenants() -> usize {
    std::env::var("DIRSYNC_BENCH_TENANTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}

/// Counts the requests a client sends, by operation (SDK retries are not re-counted).
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<AtomicUsize>, Arc<Mutex<BTreeMap<String, usize>>>);

impl CallCounter {
    pub fn total(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    pub fn reset(&self) {
        self.0.store(0, Ordering::Relaxed);
        self.by_operation().clear();
    }

    pub fn by_operation(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, usize>> {
        self.1
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A DynamoDB client on `config` that counts its calls here.
    pub fn dynamodb(&self, config: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(config)
                .interceptor(self.clone())
                .build(),
        )
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        if let Some(operation) = cfg.load::<Metadata>() {
            *self
                .by_operation()
                .entry(operation.name().to_string())
                .or_default() += 1;
        }
        Ok(())
    }
}

pub fn run() -> Vec<Row> {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(fan_out())
}

async fn fan_out() -> Vec<Row> {
    let tenant_count = tenants();
    let moto = Moto::start().await;
    let (dynamo_calls, sqs_calls) = (CallCounter::default(), CallCounter::default());
    let dynamo = dynamo_calls.dynamodb(&moto.config);
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&moto.config)
            .interceptor(sqs_calls.clone())
            .build(),
    );
    create_table(&dynamo, "dirsync-bench").await.expect("table");
    let store = DynamoStore::new(dynamo, "dirsync-bench");
    let queue_url = sqs
        .create_queue()
        .queue_name("dirsync-bench.fifo")
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect("queue")
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let queue = SqsQueue::new(sqs, queue_url);

    let now = Utc::now();
    for n in 0..tenant_count {
        let id = TenantId::parse(format!("tenant-{n:05}")).expect("valid id");
        let mut tenant = Tenant::new(id, now);
        tenant.state = TenantState::Active;
        tenant.next_sync_at = Some(now - chrono::TimeDelta::minutes(1));
        store.put_tenant(&tenant).await.expect("tenant");
    }
    dynamo_calls.reset();
    sqs_calls.reset();

    let started = Instant::now();
    let sent = dispatch_due(&store, &queue, now).await.expect("dispatch");
    let took = started.elapsed();
    let (dynamo, sqs) = (dynamo_calls.total(), sqs_calls.total());

    // How the next syncs spread over the hour: the busiest minute.
    let mut per_minute: HashMap<u32, usize> = HashMap::new();
    let mut page = store.list_tenants(1000, None).await.expect("list");
    loop {
        for tenant in &page.items {
            if let Some(next) = tenant.next_sync_at {
                *per_minute.entry(next.minute()).or_default() += 1;
            }
        }
        match page.next_cursor {
            Some(cursor) => page = store.list_tenants(1000, Some(&cursor)).await.expect("list"),
            None => break,
        }
    }
    let busiest = per_minute.values().copied().max().unwrap_or(0);
    vec![
        Row {
            figure: format!("scheduler fan-out of {tenant_count} due tenants (moto, one thread)"),
            value: format!("{:.1} s, {sent} jobs", took.as_secs_f64()),
            target: "< 240 s (scheduler timeout)".into(),
            met: sent == tenant_count && took.as_secs() < 240,
        },
        Row {
            figure: "DynamoDB calls (due Query pages + GetItem + PutItem per tenant)".into(),
            value: dynamo.to_string(),
            target: format!("<= {}", 2 * tenant_count + tenant_count / 500 + 2),
            met: dynamo <= 2 * tenant_count + tenant_count / 500 + 2,
        },
        Row {
            figure: "SQS calls (SendMessageBatch of 10)".into(),
            value: sqs.to_string(),
            target: format!("{}", tenant_count.div_ceil(10)),
            met: sqs == tenant_count.div_ceil(10),
        },
        Row {
            figure: "busiest minute of the next hour's syncs".into(),
            value: format!("{busiest} tenants in {} minutes used", per_minute.len()),
            target: format!("< {} (3x even)", 3 * tenant_count / 60),
            met: busiest < 3 * tenant_count / 60,
        },
    ]
}
