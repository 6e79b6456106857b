//! The worker Lambda's handler: an SQS batch of [`RunJob`]s in, each run under the tenant's
//! lease, and the records to retry out (`ReportBatchItemFailures`).
//!
//! - What is retried follows [`SyncError::disposition`], the policy that the local worker
//!   obeys too: a job whose tenant's lease is held by another live run is reported failed, so
//!   SQS delivers it again after the visibility timeout (it is never dropped); jobs that
//!   cannot run (tenant gone, paused, not configured) succeed: retrying will not help.
//! - A body that is not a job fails every time: after `maxReceiveCount` deliveries SQS moves
//!   it to the dead-letter queue.
//! - FIFO: once a record of a message group fails, the later records of that group are
//!   reported failed too, so that one tenant's jobs keep their order.
//! - A record without a `messageId` could not be named in the answer: the whole invocation
//!   fails before any run starts, and Lambda delivers the whole batch again.

mod metrics;

use std::collections::HashSet;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use dirsync::error::Disposition;
use dirsync::sync::{RunJob, SyncEngine};
use futures::future::join_all;
use tracing::Instrument;

pub use metrics::emf_line;

#[cfg(doc)]
use dirsync::error::SyncError;

/// A batch that cannot be answered record by record: the invocation fails, so that Lambda
/// delivers every record of it again.
#[derive(Debug, thiserror::Error)]
#[error("SQS record {index} of the batch has no messageId: no record of the batch was run")]
pub struct UnnamedRecord {
    /// The record's place in the batch.
    pub index: usize,
}

pub async fn handle(
    engine: &SyncEngine,
    event: SqsEvent,
) -> Result<SqsBatchResponse, UnnamedRecord> {
    let records = named_records(&event)?;
    // One tenant's records in order; different tenants in parallel.
    let mut groups: Vec<(&str, Vec<(&str, &SqsMessage)>)> = Vec::new();
    for &(id, record) in &records {
        let group = record
            .attributes
            .get("MessageGroupId")
            .map_or("", String::as_str);
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, records)) => records.push((id, record)),
            None => groups.push((group, vec![(id, record)])),
        }
    }
    let results = join_all(groups.into_iter().map(|(_, records)| async move {
        let mut failed = Vec::new();
        for (id, record) in records {
            if !failed.is_empty() || run_record(engine, record).await == Disposition::Retry {
                failed.push(id);
            }
        }
        failed
    }))
    .await;
    let failed: HashSet<&str> = results.into_iter().flatten().collect();
    let mut response = SqsBatchResponse::default();
    // In the order of the event, for readable logs and tests.
    for (id, _) in records {
        if failed.contains(id) {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id.to_string();
            response.batch_item_failures.push(failure);
        }
    }
    Ok(response)
}

/// Every record with its `messageId`, the name a batch item failure reports it by.
fn named_records(event: &SqsEvent) -> Result<Vec<(&str, &SqsMessage)>, UnnamedRecord> {
    event
        .records
        .iter()
        .enumerate()
        .map(|(index, record)| match record.message_id.as_deref() {
            Some(id) if !id.is_empty() => Ok((id, record)),
            _ => Err(UnnamedRecord { index }),
        })
        .collect()
}

async fn run_record(engine: &SyncEngine, record: &SqsMessage) -> Disposition {
    let body = record.body.as_deref().unwrap_or_default();
    let job: RunJob = match serde_json::from_str(body) {
        Ok(job) => job,
        Err(error) => {
            tracing::error!(message_id = ?record.message_id, error = %error, "not a run job: left for the dead-letter queue");
            return Disposition::Retry;
        }
    };
    let span = tracing::info_span!("run", tenant = %job.tenant, run_id = %job.run_id);
    run_job(engine, &job).instrument(span).await
}

async fn run_job(engine: &SyncEngine, job: &RunJob) -> Disposition {
    let started = std::time::Instant::now();
    match engine.run_job(job).await {
        Ok(record) => {
            tracing::info!(outcome = ?record.summary.outcome, summary = %record.summary.summary, "run finished");
            println!(
                "{}",
                emf_line(&job.tenant, &record.summary, started.elapsed())
            );
            Disposition::Done
        }
        Err(error) => {
            let disposition = error.disposition();
            match disposition {
                Disposition::Done => tracing::info!(reason = %error, "run skipped"),
                Disposition::Retry => {
                    tracing::warn!(error = %error, "run not done: the queue will deliver it again")
                }
            }
            disposition
        }
    }
}
