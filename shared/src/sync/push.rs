//! Runs that SCIM pushes make (CONTRACTS section 6): every write of the SCIM routes queues
//! [`RunJob::pushed`], one job per tenant and minute (the queue drops the copies of a minute:
//! SQS FIFO by its deduplication id, [`InProcessQueue`](super::InProcessQueue) likewise). So
//! that the pushes of one minute make one run that sees them all, the job's run starts only
//! once its minute has ended ([`RunJob::not_before`]); a push in the next minute makes the
//! next job. A push job whose tenant is busy is dropped only when the running run reads the
//! directory after the job's minute ended, so that it carries the job's changes; otherwise it
//! is retried like any job whose tenant is busy.

use chrono::{DateTime, TimeDelta, Utc};

use super::engine::SyncEngine;
use super::queue::RunJob;
use crate::domain::{RunId, TenantId, Trigger, QUEUED_SUMMARY};
use crate::error::SyncError;

impl RunJob {
    /// When the job's run may start: for a push, the end of its minute (the last push the
    /// job stands for came before); `None` (at once) for every other job.
    pub fn not_before(&self) -> Option<DateTime<Utc>> {
        match (self.trigger, self.slot) {
            (Trigger::Push, Some(minute)) => Some(minute + TimeDelta::minutes(1)),
            _ => None,
        }
    }

    /// Waits until [`RunJob::not_before`]; at most a minute, whatever the slot says.
    pub async fn wait_until_due(&self) {
        let Some(due) = self.not_before() else {
            return;
        };
        if let Ok(wait) = (due - Utc::now()).to_std() {
            tokio::time::sleep(wait.min(std::time::Duration::from_secs(60))).await;
        }
    }
}

impl SyncEngine {
    /// What a job whose tenant's lease `running` holds ends in: for a push that the running
    /// run covers, [`SyncError::Covered`] (done); else [`SyncError::AlreadyRunning`] (retried).
    /// A run covers the push when it reads the directory after the push's minute ended: its
    /// worker started it after that, or has not started it yet (claimed by the API and
    /// queued: it reads when it starts). A record that cannot be read covers nothing.
    pub(super) async fn busy(&self, tenant: &TenantId, job: &RunJob, running: RunId) -> SyncError {
        let Some(due) = job.not_before() else {
            return SyncError::AlreadyRunning(running);
        };
        match self.store.get_run(tenant, &running).await {
            Ok(Some(run))
                if run.summary.started_at >= due || run.summary.summary == QUEUED_SUMMARY =>
            {
                SyncError::Covered(running)
            }
            _ => SyncError::AlreadyRunning(running),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_job_is_due_when_its_minute_ends_and_others_at_once() {
        let tenant = TenantId::parse("acme").unwrap();
        let at = "2031-11-02T05:30:42Z".parse().unwrap();
        let pushed = RunJob::pushed(tenant.clone(), at);
        assert_eq!(
            pushed.not_before(),
            Some("2031-11-02T05:31:00Z".parse().unwrap())
        );
        assert_eq!(RunJob::scheduled(tenant.clone(), at).not_before(), None);
        assert_eq!(RunJob::new(tenant, Trigger::Manual).not_before(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_never_takes_more_than_a_minute() {
        let tenant = TenantId::parse("acme").unwrap();
        let mut job = RunJob::pushed(tenant, Utc::now());
        job.slot = Some(Utc::now() + TimeDelta::days(1));
        let started = tokio::time::Instant::now();
        job.wait_until_due().await;
        assert_eq!(started.elapsed(), std::time::Duration::from_secs(60));
    }
}
