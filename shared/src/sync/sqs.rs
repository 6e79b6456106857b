//! [`SqsQueue`]: the run queue on AWS, an SQS FIFO queue. The message group is the tenant
//! (one tenant's jobs in order, different tenants in parallel); the deduplication id is the
//! tenant and slot for scheduled runs, the run id otherwise ([`RunJob::dedup_id`]).

use async_trait::async_trait;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;

use super::queue::{RunJob, RunQueue};
use crate::error::QueueError;

/// SQS's limit on messages per SendMessageBatch.
const SQS_BATCH: usize = 10;

#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

fn body(job: &RunJob) -> Result<String, QueueError> {
    serde_json::to_string(job).map_err(|e| QueueError(format!("job not serializable: {e}")))
}

fn sqs_error<E, R>(operation: &str, error: aws_sdk_sqs::error::SdkError<E, R>) -> QueueError
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    QueueError(crate::aws::sdk_error_message("SQS", operation, &error))
}

#[async_trait]
impl RunQueue for SqsQueue {
    async fn enqueue(&self, job: RunJob) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body(&job)?)
            .message_group_id(job.tenant.as_str())
            .message_deduplication_id(job.dedup_id())
            .send()
            .await
            .map_err(|e| sqs_error("SendMessage", e))?;
        Ok(())
    }

    /// Batches of ten; any entry SQS refuses fails the call (the scheduler then leaves those
    /// tenants due, and the next tick sends them again).
    async fn enqueue_batch(&self, jobs: Vec<RunJob>) -> Result<(), QueueError> {
        for chunk in jobs.chunks(SQS_BATCH) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (index, job) in chunk.iter().enumerate() {
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(body(job)?)
                    .message_group_id(job.tenant.as_str())
                    .message_deduplication_id(job.dedup_id())
                    .build()
                    .map_err(|e| QueueError(format!("batch entry: {e}")))?;
                entries.push(entry);
            }
            let output = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| sqs_error("SendMessageBatch", e))?;
            if let Some(failed) = output.failed().first() {
                return Err(QueueError(format!(
                    "SQS refused {} of {} jobs: {}: {}",
                    output.failed().len(),
                    chunk.len(),
                    failed.code(),
                    failed.message().unwrap_or_default()
                )));
            }
        }
        Ok(())
    }
}
