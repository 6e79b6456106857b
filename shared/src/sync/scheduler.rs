//! Finds the tenants whose sync is due and puts one job per tenant on the queue.

use chrono::{DateTime, TimeDelta, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use super::queue::{RunJob, RunQueue};
use crate::domain::TenantId;
use crate::error::SyncError;
use crate::ports::Store;

/// Tenants read from the due index per call.
const DUE_PAGE: usize = 500;
/// Next-time writes in flight at once: 10,000 one after the other at ~5 ms each would use a
/// good part of the scheduler's 240 s timeout; each write is to its own tenant's item.
const ADVANCES_IN_FLIGHT: usize = 16;

/// The tenant's fixed place within its schedule period, in whole minutes: a hash of its id,
/// so that tenants spread evenly over the period instead of all syncing at minute 0, and each
/// keeps its minute across deploys.
pub fn slot_offset(tenant: &TenantId, every_hours: u32) -> TimeDelta {
    let minutes = u64::from(every_hours.max(1)) * 60;
    let digest = Sha256::digest(tenant.as_str().as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let offset = u64::from_be_bytes(first) % minutes;
    TimeDelta::minutes(i64::try_from(offset).unwrap_or(0))
}

/// The tenant's first slot after `now`: a time `offset + k * period` from the Unix epoch.
pub fn next_slot(tenant: &TenantId, every_hours: u32, now: DateTime<Utc>) -> DateTime<Utc> {
    let period = i64::from(every_hours.max(1)) * 3600;
    let offset = slot_offset(tenant, every_hours).num_seconds();
    let since = now.timestamp() - offset;
    let next = (since.div_euclid(period) + 1) * period + offset;
    DateTime::from_timestamp(next, 0).unwrap_or(now + TimeDelta::seconds(period))
}

/// Enqueues a scheduled run for every due, active tenant (in batches, one per page of the due
/// index) and moves its `next_sync_at` to its next slot. Returns how many jobs were sent.
///
/// Per page: one index read (starting after the previous page, so that an index lagging
/// behind the writes cannot serve the same tenants twice), the jobs (SQS batches of 10), then
/// one conditional write per tenant (16 at a time); no tenant is read.
///
/// Jobs are sent before the next times are written, so a crash in between repeats a send
/// rather than skipping one; the queue drops the repeat (same tenant and slot) and the lease
/// and planner would make a second run a no-op anyway. The write moves the time only if the
/// tenant is still active with the time read: one paused or rescheduled since keeps what it
/// has. DynamoDB's index may lag a pause by a moment; such a tenant's job is dropped by the
/// worker, which reads the tenant before running.
pub async fn dispatch_due(
    store: &dyn Store,
    queue: &dyn RunQueue,
    now: DateTime<Utc>,
) -> Result<usize, SyncError> {
    let mut sent = 0;
    let mut after = None;
    loop {
        let mut due = store.due_tenants(now, after.as_ref(), DUE_PAGE).await?;
        let page_len = due.len();
        let jobs = due
            .iter()
            .map(|t| RunJob::scheduled(t.id.clone(), t.next_sync_at))
            .collect::<Vec<_>>();
        sent += jobs.len();
        queue.enqueue_batch(jobs).await?;
        // A false result means changed since the index read (paused, rescheduled): theirs
        // stands. The futures are made up front: a lazy `map` over borrowed tenants would not
        // be `Send` (a known limit of the compiler with closures returning borrowing futures).
        let advances: Vec<_> = due
            .iter()
            .map(|tenant| {
                let next = next_slot(&tenant.id, tenant.every_hours, now);
                store.advance_next_sync(&tenant.id, tenant.next_sync_at, next)
            })
            .collect();
        stream::iter(advances)
            .buffer_unordered(ADVANCES_IN_FLIGHT)
            .try_for_each(|_| async { Ok(()) })
            .await?;
        if page_len < DUE_PAGE {
            return Ok(sent);
        }
        after = due.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TenantState;
    use chrono::TimeZone;

    #[test]
    fn slots_are_stable_spread_and_in_the_future() {
        let now = Utc.with_ymd_and_hms(2031, 3, 14, 15, 9, 26).unwrap();
        let mut minutes = std::collections::HashSet::new();
        for n in 0..1000 {
            let tenant = TenantId::parse(format!("tenant-{n}")).unwrap();
            let next = next_slot(&tenant, 1, now);
            assert!(next > now && next <= now + TimeDelta::hours(1), "{next}");
            assert_eq!(next, next_slot(&tenant, 1, now), "stable");
            assert_eq!(next_slot(&tenant, 1, next - TimeDelta::seconds(1)), next);
            assert_eq!(next_slot(&tenant, 1, next), next + TimeDelta::hours(1));
            minutes.insert(slot_offset(&tenant, 1).num_minutes());
            let daily = next_slot(&tenant, 24, now);
            assert!(daily > now && daily <= now + TimeDelta::hours(24));
        }
        // 1000 tenants cover (nearly) every minute of the hour, not just minute 0.
        assert!(minutes.len() > 55, "{} distinct minutes", minutes.len());
    }

    /// More due tenants than one index page: each active one gets one job for its slot and
    /// moves to its next slot (in its own period); paused ones get none; a second tick, and a
    /// tick repeated with the same time, find nothing.
    #[tokio::test]
    async fn dispatch_pages_through_due_tenants_once_each() {
        use crate::domain::{DirectoryConfig, EndpointPolicy, Tenant};
        use crate::store::SqliteStore;
        use crate::sync::InProcessQueue;

        let now = Utc.with_ymd_and_hms(2031, 3, 14, 15, 9, 26).unwrap();
        let store = SqliteStore::in_memory().unwrap();
        let daily = DirectoryConfig::from_json(
            br#"{"provider": {"type": "ldif", "path": "/d.ldif"}, "schedule": {"every_hours": 24}}"#,
            EndpointPolicy::default(),
        )
        .unwrap();
        let count = 2 * DUE_PAGE + 7;
        for n in 0..count {
            let mut tenant = Tenant::new(TenantId::parse(format!("t-{n:04}")).unwrap(), now);
            tenant.state = if n % 10 == 3 {
                TenantState::Paused
            } else {
                TenantState::Active
            };
            // Due times spread over the last hour, some equal, so that ties cross pages.
            tenant.next_sync_at = Some(now - TimeDelta::minutes((n % 60) as i64));
            if n % 7 == 0 {
                tenant.directory = Some(daily.clone());
            }
            store.put_tenant(&tenant).await.unwrap();
        }
        let (queue, mut jobs) = InProcessQueue::new();

        let sent = dispatch_due(&store, &queue, now).await.unwrap();
        let active = (0..count).filter(|n| n % 10 != 3).count();
        assert_eq!(sent, active);
        let mut seen = std::collections::HashSet::new();
        while let Ok(job) = jobs.try_recv() {
            let tenant = store.get_tenant(&job.tenant).await.unwrap().unwrap();
            assert_eq!(tenant.state, TenantState::Active, "{}", job.tenant);
            let every = if tenant.directory.is_some() { 24 } else { 1 };
            assert_eq!(tenant.next_sync_at, Some(next_slot(&tenant.id, every, now)));
            assert!(job.slot.is_some_and(|slot| slot <= now));
            assert!(seen.insert(job.tenant.clone()), "{} twice", job.tenant);
        }
        assert_eq!(seen.len(), active);
        let paused = store.get_tenant(&TenantId::parse("t-0003").unwrap()).await;
        assert_eq!(
            paused.unwrap().unwrap().next_sync_at,
            Some(now - TimeDelta::minutes(3)),
            "a paused tenant keeps its time"
        );

        assert_eq!(dispatch_due(&store, &queue, now).await.unwrap(), 0);
        assert!(jobs.try_recv().is_err());
    }
}
