//! The worker Lambda's handler: an SQS batch of [`RunJob`]s in, each run under the tenant's
//! lease, and the records to retry out (`ReportBatchItemFailures`).
//!
//! - A job whose tenant's lease is held by another live run is reported failed, so SQS
//!   delivers it again after the visibility timeout (it is never dropped).
//! - A body that is not a job fails every time: after `maxReceiveCount` deliveries SQS moves
//!   it to the dead-letter queue.
//! - Jobs that cannot run (tenant gone, paused, not configured) succeed: retrying will not help.
//! - FIFO: once a record of a message group fails, the later records of that group are
//!   reported failed too, so that one tenant's jobs keep their order.

mod metrics;

use std::collections::HashSet;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use dirsync::error::SyncError;
use dirsync::sync::{RunJob, SyncEngine};
use futures::future::join_all;
use tracing::Instrument;

pub use metrics::emf_line;

/// Whether a record is done with (deleted from the queue) or must come again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Done,
    Retry,
}

pub async fn handle(engine: &SyncEngine, event: SqsEvent) -> SqsBatchResponse {
    // One tenant's records in order; different tenants in parallel.
    let mut groups: Vec<(String, Vec<&SqsMessage>)> = Vec::new();
    for record in &event.records {
        let group = record
            .attributes
            .get("MessageGroupId")
            .cloned()
            .unwrap_or_default();
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, records)) => records.push(record),
            None => groups.push((group, vec![record])),
        }
    }
    let results = join_all(groups.into_iter().map(|(_, records)| async move {
        let mut failed = Vec::new();
        for record in records {
            let id = record.message_id.clone().unwrap_or_default();
            if !failed.is_empty() || run_record(engine, record).await == Delivery::Retry {
                failed.push(id);
            }
        }
        failed
    }))
    .await;
    let failed: HashSet<String> = results.into_iter().flatten().collect();
    let mut response = SqsBatchResponse::default();
    // In the order of the event, for readable logs and tests.
    for record in &event.records {
        let id = record.message_id.clone().unwrap_or_default();
        if failed.contains(&id) {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn run_record(engine: &SyncEngine, record: &SqsMessage) -> Delivery {
    let body = record.body.as_deref().unwrap_or_default();
    let job: RunJob = match serde_json::from_str(body) {
        Ok(job) => job,
        Err(error) => {
            tracing::error!(message_id = ?record.message_id, error = %error, "not a run job: left for the dead-letter queue");
            return Delivery::Retry;
        }
    };
    let span = tracing::info_span!("run", tenant = %job.tenant, run_id = %job.run_id);
    run_job(engine, &job).instrument(span).await
}

async fn run_job(engine: &SyncEngine, job: &RunJob) -> Delivery {
    let started = std::time::Instant::now();
    match engine.run_job(job).await {
        Ok(record) => {
            tracing::info!(outcome = ?record.summary.outcome, summary = %record.summary.summary, "run finished");
            println!(
                "{}",
                emf_line(&job.tenant, &record.summary, started.elapsed())
            );
            Delivery::Done
        }
        Err(error @ (SyncError::NotConfigured(_) | SyncError::NotActive(_))) => {
            tracing::info!(reason = %error, "run skipped");
            Delivery::Done
        }
        Err(error) => {
            tracing::warn!(error = %error, "run not done: the queue will deliver it again");
            Delivery::Retry
        }
    }
}
