//! Sync jobs and the queue they travel on: SQS FIFO on AWS, an in-process channel locally.
//! Scheduled and manual runs take the same path to the same worker code.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::engine::SyncEngine;
use crate::domain::{RunId, RunRecord, TenantId, Trigger};
use crate::error::QueueError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunJob {
    pub tenant: TenantId,
    pub run_id: RunId,
    pub trigger: Trigger,
    /// A run held by the deletion guard whose removals an admin approved: this run applies
    /// those of them that are still planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approves: Option<RunId>,
}

impl RunJob {
    /// A new run of `trigger` for the tenant.
    pub fn new(tenant: TenantId, trigger: Trigger) -> Self {
        Self {
            tenant,
            run_id: RunId::new(),
            trigger,
            approves: None,
        }
    }
}

#[async_trait]
pub trait RunQueue: Send + Sync {
    async fn enqueue(&self, job: RunJob) -> Result<(), QueueError>;
}

/// The local queue: jobs go to [`run_worker`] in the same process.
#[derive(Clone)]
pub struct InProcessQueue {
    sender: mpsc::UnboundedSender<RunJob>,
}

impl InProcessQueue {
    pub fn new() -> (Self, mpsc::UnboundedReceiver<RunJob>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Self { sender }, receiver)
    }
}

#[async_trait]
impl RunQueue for InProcessQueue {
    async fn enqueue(&self, job: RunJob) -> Result<(), QueueError> {
        self.sender
            .send(job)
            .map_err(|_| QueueError("the local worker has stopped".into()))
    }
}

/// Called with each finished run, e.g. to print it.
pub type OnFinished = Arc<dyn Fn(&RunJob, &RunRecord) + Send + Sync>;

/// Runs every job it receives, each in its own task (the tenant lease keeps one run per
/// tenant).
pub async fn run_worker(
    engine: SyncEngine,
    mut jobs: mpsc::UnboundedReceiver<RunJob>,
    on_finished: OnFinished,
) {
    while let Some(job) = jobs.recv().await {
        let engine = engine.clone();
        let on_finished = on_finished.clone();
        tokio::spawn(async move {
            match engine.run_job(&job).await {
                Ok(record) => on_finished(&job, &record),
                Err(error) => {
                    tracing::warn!(tenant = %job.tenant, run_id = %job.run_id, error = %error, "sync not run")
                }
            }
        });
    }
}
