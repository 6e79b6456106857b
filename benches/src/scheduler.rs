//! The scheduler's fan-out at scale: 10,000 due tenants on DynamoDB and SQS FIFO (moto on
//! 127.0.0.1), timed, with the AWS calls counted by SDK interceptors.
//!
//! The bench also plays the worker's part and takes the jobs off the queue after each batch:
//! moto's FIFO SendMessage computes the queue's attributes (message counts that walk every
//! message in the queue) three to four times per message, so a queue that nobody empties makes
//! each send cost O(queue length), and 10,000 jobs take hours (see BENCHMARKS.md). Those
//! receive and delete calls are counted and timed apart and left out of the fan-out's figures.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_dynamodb::config::{Intercept, RuntimeComponents};
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{Timelike, Utc};
use dirsync::domain::{Tenant, TenantId, TenantState};
use dirsync::error::QueueError;
use dirsync::ports::Store;
use dirsync::store::{create_table, DynamoStore};
use dirsync::sync::{dispatch_due, RunJob, RunQueue, SqsQueue};
use dirsync_integration_tests::moto::Moto;

use crate::Row;

/// Tenants in the fan-out; `DIRSYNC_BENCH_TENANTS` overrides.
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
    let queue = DrainingQueue {
        queue: SqsQueue::new(sqs, queue_url.clone()),
        client: aws_sdk_sqs::Client::new(&moto.config),
        queue_url,
        drained: AtomicUsize::new(0),
        drain_time: Mutex::new(Duration::ZERO),
        drain_calls: AtomicUsize::new(0),
    };

    let now = Utc::now();
    dynamo_calls.reset();
    let seeding = Instant::now();
    let all: Vec<Tenant> = (0..tenant_count)
        .map(|n| {
            let id = TenantId::parse(format!("tenant-{n:05}")).expect("valid id");
            let mut tenant = Tenant::new(id, now);
            tenant.state = TenantState::Active;
            tenant.next_sync_at = Some(now - chrono::TimeDelta::minutes(1));
            tenant
        })
        .collect();
    store.put_tenants(&all).await.expect("tenants");
    let seeded = seeding.elapsed();
    let seed_calls = dynamo_calls.total();
    dynamo_calls.reset();
    sqs_calls.reset();

    let started = Instant::now();
    let sent = dispatch_due(&store, &queue, now).await.expect("dispatch");
    let drain_time = *queue
        .drain_time
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let took = started.elapsed().saturating_sub(drain_time);
    let drained = queue.drained.load(Ordering::Relaxed);
    let drain_calls = queue.drain_calls.load(Ordering::Relaxed);
    let (dynamo, sqs) = (dynamo_calls.total(), sqs_calls.total());
    let by_operation = operations(&dynamo_calls);
    let per_call = took.as_secs_f64() * 1000.0 / (dynamo + sqs).max(1) as f64;

    // How the next syncs spread over the hour: the busiest minute. The listing is the
    // operator's (GET /v1/tenants): an index page and BatchGetItems of 100 per 1,000 tenants.
    dynamo_calls.reset();
    let listing = Instant::now();
    let mut per_minute: HashMap<u32, usize> = HashMap::new();
    let mut listed = 0;
    let mut page = store.list_tenants(1000, None).await.expect("list");
    loop {
        listed += page.items.len();
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
    let listing = listing.elapsed();
    let list_calls = dynamo_calls.total();
    let list_operations = operations(&dynamo_calls);
    let busiest = per_minute.values().copied().max().unwrap_or(0);
    // Query pages of 500 (the last one short, or empty when the count is a multiple of 500).
    let want_dynamo = tenant_count + tenant_count / 500 + 1;
    // An index Query per page (one more if the service ends a full last page with a key).
    let want_list = tenant_count.div_ceil(1000) + 1 + tenant_count.div_ceil(100);
    vec![
        Row {
            figure: format!("seed {tenant_count} tenants (BatchWriteItem of 25, moto)"),
            value: format!("{:.1} s, {seed_calls} calls", seeded.as_secs_f64()),
            target: format!("{} calls", tenant_count.div_ceil(25)),
            met: seed_calls == tenant_count.div_ceil(25),
        },
        Row {
            figure: format!("scheduler fan-out of {tenant_count} due tenants (moto, one thread)"),
            value: format!(
                "{:.1} s, {sent} jobs, {per_call:.1} ms per AWS call",
                took.as_secs_f64()
            ),
            target: "< 240 s (scheduler timeout)".into(),
            met: sent == tenant_count && took.as_secs() < 240,
        },
        Row {
            figure:
                "DynamoDB calls (due Query pages of 500 + one conditional UpdateItem per tenant)"
                    .into(),
            value: format!("{dynamo} ({by_operation})"),
            target: format!("{want_dynamo}"),
            met: dynamo == want_dynamo,
        },
        Row {
            figure: "SQS calls (SendMessageBatch of 10)".into(),
            value: sqs.to_string(),
            target: format!("{}", tenant_count.div_ceil(10)),
            met: sqs == tenant_count.div_ceil(10),
        },
        Row {
            figure: "jobs taken off the queue by the bench (not in the figures above)".into(),
            value: format!(
                "{drained} in {drain_calls} calls, {:.1} s",
                drain_time.as_secs_f64()
            ),
            target: format!("{tenant_count} (one per tenant, none twice)"),
            met: drained == tenant_count,
        },
        Row {
            figure: format!("operator listing of all tenants, pages of 1000 ({listed} listed)"),
            value: format!(
                "{:.1} s, {list_calls} calls ({list_operations})",
                listing.as_secs_f64()
            ),
            target: format!("<= {want_list} calls"),
            met: listed == tenant_count && list_calls <= want_list,
        },
        Row {
            figure: "busiest minute of the next hour's syncs".into(),
            value: format!("{busiest} tenants in {} minutes used", per_minute.len()),
            target: format!("< {} (3x even)", 3 * tenant_count / 60),
            met: busiest < 3 * tenant_count / 60,
        },
    ]
}

/// The scheduler's queue, emptied after each batch as a worker would (see the module doc).
struct DrainingQueue {
    queue: SqsQueue,
    /// A client of its own: these calls are not the scheduler's.
    client: aws_sdk_sqs::Client,
    queue_url: String,
    drained: AtomicUsize,
    drain_time: Mutex<Duration>,
    drain_calls: AtomicUsize,
}

#[async_trait]
impl RunQueue for DrainingQueue {
    async fn enqueue(&self, job: RunJob) -> Result<(), QueueError> {
        self.enqueue_batch(vec![job]).await
    }

    /// Each SendMessageBatch of 10 (as [`SqsQueue`] sends them), then its jobs taken off.
    async fn enqueue_batch(&self, jobs: Vec<RunJob>) -> Result<(), QueueError> {
        for batch in jobs.chunks(10) {
            self.queue.enqueue_batch(batch.to_vec()).await?;
            self.drain(batch.len()).await?;
        }
        Ok(())
    }
}

impl DrainingQueue {
    async fn drain(&self, sent: usize) -> Result<(), QueueError> {
        let started = Instant::now();
        let mut received = 0;
        // Every group is a different tenant, so one receive can take all ten.
        while received < sent {
            let output = self
                .client
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .map_err(|e| QueueError(format!("drain: {e}")))?;
            let messages = output.messages();
            assert!(!messages.is_empty(), "sent jobs are on the queue");
            let entries = messages
                .iter()
                .enumerate()
                .map(|(n, m)| {
                    aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                        .id(n.to_string())
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .build()
                        .expect("a delete entry")
                })
                .collect::<Vec<_>>();
            received += entries.len();
            let deleted = self
                .client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| QueueError(format!("drain: {e}")))?;
            assert!(deleted.failed().is_empty(), "{:?}", deleted.failed());
            self.drain_calls.fetch_add(2, Ordering::Relaxed);
        }
        self.drained.fetch_add(received, Ordering::Relaxed);
        *self
            .drain_time
            .lock()
            .unwrap_or_else(PoisonError::into_inner) += started.elapsed();
        Ok(())
    }
}

/// "Query 21, UpdateItem 10000": the calls by operation.
fn operations(counter: &CallCounter) -> String {
    counter
        .by_operation()
        .iter()
        .map(|(name, n)| format!("{name} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
