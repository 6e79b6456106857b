//! Finds the tenants whose sync is due and puts one job per tenant on the queue.

use chrono::{DateTime, Duration, Utc};

use super::queue::{RunJob, RunQueue};
use crate::domain::Trigger;
use crate::error::SyncError;
use crate::ports::Store;

/// Tenants read from the due index per call.
const DUE_PAGE: usize = 500;

/// Enqueues a scheduled run for every due, active tenant and moves its `next_sync_at` on by its
/// `schedule.every_hours`. Returns how many jobs were sent. A job is sent before the tenant's
/// next time is written, so a crash in between repeats a run (harmless: the lease and the
/// planner make a second run a no-op) rather than skipping one.
pub async fn dispatch_due(
    store: &dyn Store,
    queue: &dyn RunQueue,
    now: DateTime<Utc>,
) -> Result<usize, SyncError> {
    let mut sent = 0;
    loop {
        let due = store.due_tenants(now, DUE_PAGE).await?;
        let page_len = due.len();
        for id in due {
            let Some(mut tenant) = store.get_tenant(&id).await? else {
                continue;
            };
            let every = tenant
                .directory
                .as_ref()
                .map_or(1, |d| d.schedule.every_hours);
            let job = RunJob::new(id.clone(), Trigger::Schedule);
            queue.enqueue(job).await?;
            tenant.next_sync_at = Some(now + Duration::hours(i64::from(every)));
            store.put_tenant(&tenant).await?;
            sent += 1;
        }
        if page_len < DUE_PAGE {
            return Ok(sent);
        }
    }
}
