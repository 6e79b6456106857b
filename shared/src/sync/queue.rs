//! Sync jobs and the queue they travel on: SQS FIFO on AWS, an in-process channel locally.
//! Scheduled and manual runs take the same path to the same worker code.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::domain::{RunId, TenantId, Trigger};
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
    /// For a scheduled run: the due time it is for. A queue drops a second send of the same
    /// tenant and slot (a scheduler retried after a crash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<DateTime<Utc>>,
}

impl RunJob {
    /// A new run of `trigger` for the tenant.
    pub fn new(tenant: TenantId, trigger: Trigger) -> Self {
        Self {
            tenant,
            run_id: RunId::new(),
            trigger,
            approves: None,
            slot: None,
        }
    }

    /// The scheduled run of the tenant for the slot due at `slot`.
    pub fn scheduled(tenant: TenantId, slot: DateTime<Utc>) -> Self {
        Self {
            slot: Some(slot),
            ..Self::new(tenant, Trigger::Schedule)
        }
    }

    /// The run a SCIM push at `now` asks for: one per tenant and minute, so that the pushes
    /// of a burst collapse into the queue's one job of that minute.
    pub fn pushed(tenant: TenantId, now: DateTime<Utc>) -> Self {
        use chrono::{DurationRound, TimeDelta};
        let minute = now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now);
        Self {
            slot: Some(minute),
            ..Self::new(tenant, Trigger::Push)
        }
    }

    /// What a queue deduplicates on: the tenant, trigger and slot for a scheduled or pushed
    /// run, else the run id. Hashed, so that it fits any queue's id rules (SQS: 128
    /// characters of a small set).
    pub fn dedup_id(&self) -> String {
        use sha2::{Digest, Sha256};
        let source = match (self.slot, self.trigger) {
            (Some(slot), Trigger::Schedule) => {
                format!("slot\n{}\n{}", self.tenant, slot.timestamp())
            }
            (Some(slot), trigger) => {
                format!("{trigger:?}\n{}\n{}", self.tenant, slot.timestamp())
            }
            (None, _) => format!("run\n{}", self.run_id),
        };
        format!("{:x}", Sha256::digest(source.as_bytes()))
    }
}

#[async_trait]
pub trait RunQueue: Send + Sync {
    async fn enqueue(&self, job: RunJob) -> Result<(), QueueError>;

    /// Sends many jobs (the scheduler's fan-out); queues with batch sends override it.
    async fn enqueue_batch(&self, jobs: Vec<RunJob>) -> Result<(), QueueError> {
        for job in jobs {
            self.enqueue(job).await?;
        }
        Ok(())
    }
}

/// How long a queue remembers a deduplication id: SQS FIFO's deduplication interval.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(300);

/// The local queue: jobs go to [`run_worker`](super::run_worker) in the same process. Like
/// SQS FIFO, it drops a job whose [`RunJob::dedup_id`] it took in the last
/// [`DEDUP_WINDOW`]: the pushes of a minute make one job.
#[derive(Clone)]
pub struct InProcessQueue {
    sender: mpsc::UnboundedSender<RunJob>,
    seen: Arc<Mutex<HashMap<String, Instant>>>,
}

impl InProcessQueue {
    pub fn new() -> (Self, mpsc::UnboundedReceiver<RunJob>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let seen = Arc::default();
        (Self { sender, seen }, receiver)
    }

    /// Whether `id` is new in the window (then it is remembered); forgets expired ids.
    fn first_of(&self, id: String) -> bool {
        let now = Instant::now();
        // A poisoned lock only means another send panicked: the map is still whole.
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, at| now.duration_since(*at) < DEDUP_WINDOW);
        match seen.entry(id) {
            Entry::Occupied(_) => false,
            Entry::Vacant(slot) => {
                slot.insert(now);
                true
            }
        }
    }
}

#[async_trait]
impl RunQueue for InProcessQueue {
    async fn enqueue(&self, job: RunJob) -> Result<(), QueueError> {
        if !self.first_of(job.dedup_id()) {
            tracing::debug!(tenant = %job.tenant, run_id = %job.run_id, "a copy of a queued job: dropped");
            return Ok(());
        }
        self.sender
            .send(job)
            .map_err(|_| QueueError("the local worker has stopped".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn pushes_of_one_minute_share_a_dedup_id() {
        let tenant = TenantId::parse("acme").unwrap();
        let first = RunJob::pushed(tenant.clone(), at("2031-11-02T05:30:01Z"));
        let same_minute = RunJob::pushed(tenant.clone(), at("2031-11-02T05:30:59.9Z"));
        let next_minute = RunJob::pushed(tenant.clone(), at("2031-11-02T05:31:00Z"));
        assert_eq!(first.trigger, Trigger::Push);
        assert_eq!(first.dedup_id(), same_minute.dedup_id());
        assert_ne!(first.dedup_id(), next_minute.dedup_id());
        let other = RunJob::pushed(
            TenantId::parse("other").unwrap(),
            at("2031-11-02T05:30:01Z"),
        );
        assert_ne!(first.dedup_id(), other.dedup_id());
        // A scheduled run of the same minute is a job of its own.
        let scheduled = RunJob::scheduled(tenant, at("2031-11-02T05:30:00Z"));
        assert_ne!(first.dedup_id(), scheduled.dedup_id());
    }

    #[tokio::test(start_paused = true)]
    async fn the_local_queue_drops_copies_within_the_window() {
        let tenant = TenantId::parse("acme").unwrap();
        let (queue, mut jobs) = InProcessQueue::new();
        let minute = at("2031-11-02T05:30:00Z");
        for second in 0..60 {
            let now = minute + chrono::TimeDelta::seconds(second);
            queue
                .enqueue(RunJob::pushed(tenant.clone(), now))
                .await
                .unwrap();
        }
        let manual = RunJob::new(tenant.clone(), Trigger::Manual);
        queue.enqueue(manual.clone()).await.unwrap();
        queue.enqueue(manual).await.unwrap();
        let next = RunJob::pushed(tenant.clone(), at("2031-11-02T05:31:00Z"));
        queue.enqueue(next).await.unwrap();
        let triggers: Vec<Trigger> = std::iter::from_fn(|| jobs.try_recv().ok())
            .map(|j| j.trigger)
            .collect();
        assert_eq!(triggers, [Trigger::Push, Trigger::Manual, Trigger::Push]);
        // After the window, the same id is a new job again.
        tokio::time::advance(DEDUP_WINDOW).await;
        queue.enqueue(RunJob::pushed(tenant, minute)).await.unwrap();
        assert!(jobs.try_recv().is_ok());
    }
}
