//! The local worker: runs the jobs of an [`InProcessQueue`](super::InProcessQueue) in this
//! process under the retry policy that SQS applies to the worker Lambda
//! ([`SyncError::disposition`](crate::error::SyncError::disposition)).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::engine::SyncEngine;
use super::queue::RunJob;
use crate::domain::RunRecord;
use crate::domain::Trigger;
use crate::error::{Disposition, SyncError};

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
/// A push that meets a live run it is not covered by (`sync::push`) uses up no delivery: its
/// changes must not wait for the next scheduled run, and the lease it waits for ends (by its
/// TTL if its holder stopped). On SQS a tenant's jobs are one FIFO message group, so a job
/// meets a live run only behind the API's claim (which covers a push) or a stopped worker's
/// lease (retried after the visibility timeout, as every job is).
async fn deliver(engine: SyncEngine, job: RunJob, on_finished: OnFinished, redelivery: Redelivery) {
    let max_deliveries = redelivery.max_deliveries.max(1);
    let mut delivery = 0;
    while delivery < max_deliveries {
        let error = match engine.run_job(&job).await {
            Ok(record) => return on_finished(&job, &record),
            Err(error) => error,
        };
        let waits_for_a_run =
            job.trigger == Trigger::Push && matches!(error, SyncError::AlreadyRunning(_));
        if !waits_for_a_run {
            delivery += 1;
        }
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
