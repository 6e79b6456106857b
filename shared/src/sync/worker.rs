//! The local worker: runs the jobs of an [`InProcessQueue`](super::InProcessQueue) in this
//! process under the retry policy that SQS applies to the worker Lambda
//! ([`SyncError::disposition`](crate::error::SyncError::disposition)).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::engine::SyncEngine;
use super::queue::RunJob;
use crate::domain::RunRecord;
use crate::error::Disposition;

/// Called with each finished run, e.g. to print it.
pub type OnFinished = Arc<dyn Fn(&RunJob, &RunRecord) + Send + Sync>;

/// When the local worker delivers a job again, as SQS does for the Lambda.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redelivery {
    /// The wait before a job is delivered again (SQS: the visibility timeout).
    pub delay: Duration,
    /// Deliveries in all; then the job is given up (SQS: `maxReceiveCount`, then the
    /// dead-letter queue).
    pub max_deliveries: u32,
}

impl Default for Redelivery {
    /// As many deliveries as `maxReceiveCount` in infra/template.yaml; their four waits of
    /// 40 s outlast a lease's default TTL (120 s), so that a job behind the lease of a crashed
    /// run still runs.
    fn default() -> Self {
        Self {
            delay: Duration::from_secs(40),
            max_deliveries: 5,
        }
    }
}

/// Runs every job it receives, each in its own task (the tenant lease keeps one run per
/// tenant, and a job whose tenant is busy is delivered again).
pub async fn run_worker(
    engine: SyncEngine,
    mut jobs: mpsc::UnboundedReceiver<RunJob>,
    on_finished: OnFinished,
    redelivery: Redelivery,
) {
    while let Some(job) = jobs.recv().await {
        tokio::spawn(deliver(
            engine.clone(),
            job,
            on_finished.clone(),
            redelivery,
        ));
    }
}

/// Runs a job until its run finishes, the job is done with, or its deliveries are used up.
async fn deliver(engine: SyncEngine, job: RunJob, on_finished: OnFinished, redelivery: Redelivery) {
    let max_deliveries = redelivery.max_deliveries.max(1);
    for delivery in 1..=max_deliveries {
        let error = match engine.run_job(&job).await {
            Ok(record) => return on_finished(&job, &record),
            Err(error) => error,
        };
        match error.disposition() {
            Disposition::Done => {
                tracing::info!(tenant = %job.tenant, run_id = %job.run_id, reason = %error, "run skipped");
                return;
            }
            Disposition::Retry if delivery < max_deliveries => {
                tracing::info!(
                    tenant = %job.tenant, run_id = %job.run_id, error = %error, delivery,
                    "run not done: delivered again in {:?}", redelivery.delay
                );
                tokio::time::sleep(redelivery.delay).await;
            }
            Disposition::Retry => {
                tracing::warn!(
                    tenant = %job.tenant, run_id = %job.run_id, error = %error,
                    "run not done after {max_deliveries} deliveries: given up"
                );
            }
        }
    }
}
