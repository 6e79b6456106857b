//! Finds the tenants whose sync is due and puts one job per tenant on the queue.

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use super::queue::{RunJob, RunQueue};
use crate::domain::{TenantId, TenantState};
use crate::error::SyncError;
use crate::ports::Store;

/// Tenants read from the due index per call.
const DUE_PAGE: usize = 500;

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
/// Jobs are sent before the tenants' next times are written, so a crash in between repeats a
/// send rather than skipping one; the queue drops the repeat (same tenant and slot) and the
/// lease and planner would make a second run a no-op anyway.
pub async fn dispatch_due(
    store: &dyn Store,
    queue: &dyn RunQueue,
    now: DateTime<Utc>,
) -> Result<usize, SyncError> {
    let mut sent = 0;
    loop {
        let due = store.due_tenants(now, DUE_PAGE).await?;
        let page_len = due.len();
        let mut jobs = Vec::with_capacity(page_len);
        let mut tenants = Vec::with_capacity(page_len);
        for id in due {
            // The index may lag (DynamoDB's is eventually consistent): trust the tenant.
            let Some(tenant) = store.get_tenant(&id).await? else {
                continue;
            };
            let Some(due_at) = tenant.next_sync_at.filter(|at| *at <= now) else {
                continue;
            };
            if tenant.state != TenantState::Active {
                continue;
            }
            jobs.push(RunJob::scheduled(id, due_at));
            tenants.push(tenant);
        }
        sent += jobs.len();
        queue.enqueue_batch(jobs).await?;
        for mut tenant in tenants {
            let every = tenant
                .directory
                .as_ref()
                .map_or(1, |d| d.schedule.every_hours);
            tenant.next_sync_at = Some(next_slot(&tenant.id, every, now));
            store.put_tenant(&tenant).await?;
        }
        if page_len < DUE_PAGE {
            return Ok(sent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
