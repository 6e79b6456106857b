//! Finds the tenants whose sync is due and puts one job per tenant on the queue.

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use futures::stream::{self, StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use super::queue::{RunJob, RunQueue};
use crate::domain::config::{Day, LocalTime, Schedule};
use crate::domain::TenantId;
use crate::error::SyncError;
use crate::ports::{DueTenant, Store};

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

/// The tenant's next run after `now` on `schedule`: its spread slot for `every_hours`, else
/// the first local time on a scheduled day that is later than `now`. A local time that a DST
/// change skips runs at the first valid minute after it; one that repeats runs at its first
/// occurrence only.
pub fn next_run(schedule: &Schedule, tenant: &TenantId, now: DateTime<Utc>) -> DateTime<Utc> {
    match schedule {
        Schedule::EveryHours { every_hours } => next_slot(tenant, *every_hours, now),
        Schedule::Daily { daily_at, timezone } => next_local(None, *daily_at, *timezone, now),
        Schedule::Weekly {
            weekly,
            at,
            timezone,
        } => next_local(Some(weekly), *at, *timezone, now),
    }
}

/// A config's first scheduled run: one `every_hours` period away, so that the admin can
/// preview first; a calendar schedule's own next time (at least the wait until it comes).
pub fn first_run(schedule: &Schedule, tenant: &TenantId, now: DateTime<Utc>) -> DateTime<Utc> {
    match schedule {
        Schedule::EveryHours { every_hours } => now + TimeDelta::hours(i64::from(*every_hours)),
        Schedule::Daily { .. } | Schedule::Weekly { .. } => next_run(schedule, tenant, now),
    }
}

fn next_local(days: Option<&[Day]>, at: LocalTime, zone: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.with_timezone(&zone).date_naive();
    // From yesterday: yesterday's time pushed past a gap can still lie ahead. Eight days on
    // reach every weekday's next occurrence.
    let mut date = today - Days::new(1);
    for _ in 0..10 {
        let scheduled = days.is_none_or(|d| d.iter().any(|d| d.weekday() == date.weekday()));
        if scheduled {
            let run = resolve(zone, date.and_time(at.time()));
            if run > now {
                return run;
            }
        }
        date = date + Days::new(1);
    }
    // Only a weekly schedule without days gets here (the API refuses one).
    now + TimeDelta::days(7)
}

/// The instant of a local time: the earlier of two when clocks fall back, the first minute
/// after the gap when they spring forward (gaps last hours at most, a day at the very most).
fn resolve(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut minute = local;
    for _ in 0..=24 * 60 {
        match zone.from_local_datetime(&minute) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return t.to_utc(),
            LocalResult::None => minute += TimeDelta::minutes(1),
        }
    }
    local.and_utc()
}

/// The due tenant's next run. The due index holds the period of an `every_hours` schedule;
/// a calendar schedule (period 0) needs its zone, so that tenant's record is read (once per
/// run at most, so far fewer reads than the hourly tenants would take).
async fn next_due(
    store: &dyn Store,
    tenant: &DueTenant,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, SyncError> {
    if tenant.every_hours > 0 {
        return Ok(next_slot(&tenant.id, tenant.every_hours, now));
    }
    let schedule = store
        .get_tenant(&tenant.id)
        .await?
        .and_then(|t| t.directory)
        .map(|d| d.schedule)
        .unwrap_or_default();
    Ok(next_run(&schedule, &tenant.id, now))
}

/// Enqueues a scheduled run for every due, active tenant (in batches, one per page of the due
/// index) and moves its `next_sync_at` to its next slot. Returns how many jobs were sent.
///
/// Per page: one index read (starting after the previous page, so that an index lagging
/// behind the writes cannot serve the same tenants twice), the jobs (SQS batches of 10), then
/// one conditional write per tenant (16 at a time); only tenants on a daily or weekly schedule
/// are read, for their zone.
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
            .map(|tenant| async move {
                let next = next_due(store, tenant, now).await?;
                Ok::<_, SyncError>(
                    store
                        .advance_next_sync(&tenant.id, tenant.next_sync_at, next)
                        .await?,
                )
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
    use proptest::prelude::*;
    use serde_json::json;

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

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn schedule(json: serde_json::Value) -> Schedule {
        serde_json::from_value(json).unwrap()
    }

    /// Each step: from `now`, the next run is the one given, and from it the one after.
    fn assert_runs(schedule: &Schedule, now: &str, runs: &[&str]) {
        let tenant = TenantId::parse("acme").unwrap();
        let mut now = at(now);
        for run in runs {
            let next = next_run(schedule, &tenant, now);
            assert_eq!(next, at(run), "after {now} on {schedule:?}");
            now = next;
        }
    }

    #[test]
    fn every_hours_keeps_its_spread_slot() {
        let now = Utc.with_ymd_and_hms(2031, 3, 30, 0, 59, 59).unwrap();
        for n in 0..100 {
            let tenant = TenantId::parse(format!("tenant-{n}")).unwrap();
            for every_hours in [1, 6, 24, 168] {
                let schedule = Schedule::EveryHours { every_hours };
                let expected = next_slot(&tenant, every_hours, now);
                assert_eq!(next_run(&schedule, &tenant, now), expected);
            }
        }
    }

    #[test]
    fn daily_schedules_in_berlin_across_both_dst_changes() {
        // Spring forward 2031-03-30 02:00 CET -> 03:00 CEST (01:00 UTC).
        let half_past_midnight =
            schedule(json!({"daily_at": "00:30", "timezone": "Europe/Berlin"}));
        assert_runs(
            &half_past_midnight,
            "2031-03-29T12:00:00Z",
            &["2031-03-29T23:30:00Z", "2031-03-30T22:30:00Z"],
        );
        // 02:30 does not exist that day: the next valid minute, 03:00 CEST.
        let skipped = schedule(json!({"daily_at": "02:30", "timezone": "Europe/Berlin"}));
        assert_runs(
            &skipped,
            "2031-03-29T02:00:00Z",
            &["2031-03-30T01:00:00Z", "2031-03-31T00:30:00Z"],
        );
        // Fall back 2031-10-26 03:00 CEST -> 02:00 CET: 02:30 comes twice, runs the first time.
        assert_runs(
            &skipped,
            "2031-10-25T12:00:00Z",
            &["2031-10-26T00:30:00Z", "2031-10-27T01:30:00Z"],
        );
        assert_runs(&skipped, "2031-10-26T01:00:00Z", &["2031-10-27T01:30:00Z"]);
    }

    #[test]
    fn daily_schedules_in_new_york_across_both_dst_changes() {
        // Spring forward 2031-03-09 02:00 EST -> 03:00 EDT (07:00 UTC).
        let skipped = schedule(json!({"daily_at": "02:15", "timezone": "America/New_York"}));
        assert_runs(
            &skipped,
            "2031-03-08T12:00:00Z",
            &["2031-03-09T07:00:00Z", "2031-03-10T06:15:00Z"],
        );
        // Fall back 2031-11-02 02:00 EDT -> 01:00 EST: 01:30 comes twice, runs once.
        let repeated = schedule(json!({"daily_at": "01:30", "timezone": "America/New_York"}));
        assert_runs(
            &repeated,
            "2031-11-01T12:00:00Z",
            &["2031-11-02T05:30:00Z", "2031-11-03T06:30:00Z"],
        );
        assert_runs(&repeated, "2031-11-02T06:00:00Z", &["2031-11-03T06:30:00Z"]);
    }

    #[test]
    fn weekly_schedules_run_on_their_days_only() {
        // Saturday 2031-11-01; New York falls back in the night to Sunday.
        let weekend = schedule(
            json!({"weekly": ["sat", "mon"], "at": "23:59", "timezone": "America/New_York"}),
        );
        assert_runs(
            &weekend,
            "2031-11-01T12:00:00Z",
            &[
                "2031-11-02T03:59:00Z",
                "2031-11-04T04:59:00Z",
                "2031-11-09T04:59:00Z",
            ],
        );
        // Monday 2031-03-24 in Berlin; Sunday's 02:30 is skipped by the spring change.
        let sunday =
            schedule(json!({"weekly": ["sun"], "at": "02:30", "timezone": "Europe/Berlin"}));
        assert_runs(
            &sunday,
            "2031-03-24T00:00:00Z",
            &[
                "2031-03-30T01:00:00Z",
                "2031-04-06T00:30:00Z",
                "2031-04-13T00:30:00Z",
            ],
        );
        // Wednesday 10:00 CET is past at 09:00 UTC: Friday's comes next, then Wednesday's.
        let midweek =
            schedule(json!({"weekly": ["fri", "wed"], "at": "09:00", "timezone": "Europe/Berlin"}));
        assert_runs(
            &midweek,
            "2031-03-26T09:00:00Z",
            &[
                "2031-03-28T08:00:00Z",
                "2031-04-02T07:00:00Z",
                "2031-04-04T07:00:00Z",
            ],
        );
        // A run at exactly `now` is not the next one.
        assert_runs(&midweek, "2031-03-28T08:00:00Z", &["2031-04-02T07:00:00Z"]);
    }

    fn any_schedule() -> impl Strategy<Value = Schedule> {
        let zone = prop::sample::select(vec![
            "Europe/Berlin",
            "America/New_York",
            "Australia/Lord_Howe",
            "Asia/Kathmandu",
            "America/Santiago",
            "UTC",
        ]);
        let time = (0u32..24, 0u32..60).prop_map(|(h, m)| format!("{h:02}:{m:02}"));
        let days =
            prop::sample::subsequence(vec!["mon", "tue", "wed", "thu", "fri", "sat", "sun"], 1..=7);
        prop_oneof![
            (1u32..=168).prop_map(|every_hours| json!({"every_hours": every_hours})),
            (time.clone(), zone.clone()).prop_map(|(t, z)| json!({"daily_at": t, "timezone": z})),
            (days, time, zone).prop_map(|(d, t, z)| json!({"weekly": d, "at": t, "timezone": z})),
        ]
        .prop_map(schedule)
    }

    proptest! {
        #[test]
        fn the_next_run_is_after_now_and_within_a_week_and_an_hour(
            schedule in any_schedule(),
            tenant in "[a-z0-9][a-z0-9-]{1,20}",
            seconds in 946_684_800i64..2_208_988_800,
        ) {
            let tenant = TenantId::parse(tenant).unwrap();
            let now = DateTime::from_timestamp(seconds, 0).unwrap();
            let next = next_run(&schedule, &tenant, now);
            prop_assert!(next > now, "{next} after {now}");
            prop_assert!(next <= now + TimeDelta::days(7) + TimeDelta::hours(1), "{next} after {now}");
        }
    }

    /// The local loop's store: a daily 01:30 in New York, due on the night the clocks fall
    /// back, runs once that night (05:30 UTC, EDT) and next at 01:30 EST (06:30 UTC).
    #[tokio::test]
    async fn dispatch_moves_a_calendar_schedule_by_its_zone() {
        use crate::domain::{DirectoryConfig, EndpointPolicy, Tenant};
        use crate::store::SqliteStore;
        use crate::sync::InProcessQueue;

        let store = SqliteStore::in_memory().unwrap();
        let id = TenantId::parse("acme").unwrap();
        let mut tenant = Tenant::new(id.clone(), at("2031-11-01T00:00:00Z"));
        tenant.state = TenantState::Active;
        tenant.directory = Some(
            DirectoryConfig::from_json(
                br#"{"provider": {"type": "ldif", "path": "/d.ldif"},
                    "schedule": {"daily_at": "01:30", "timezone": "America/New_York"}}"#,
                EndpointPolicy::default(),
            )
            .unwrap(),
        );
        tenant.next_sync_at = Some(at("2031-11-02T05:30:00Z"));
        store.put_tenant(&tenant).await.unwrap();
        let (queue, mut jobs) = InProcessQueue::new();

        let now = at("2031-11-02T05:30:20Z");
        assert_eq!(dispatch_due(&store, &queue, now).await.unwrap(), 1);
        let job = jobs.try_recv().unwrap();
        assert_eq!(job.slot, Some(at("2031-11-02T05:30:00Z")));
        let stored = store.get_tenant(&id).await.unwrap().unwrap();
        assert_eq!(stored.next_sync_at, Some(at("2031-11-03T06:30:00Z")));
        // The repeated 01:30 (06:30 UTC) finds nothing due.
        let repeat = at("2031-11-02T06:30:00Z");
        assert_eq!(dispatch_due(&store, &queue, repeat).await.unwrap(), 0);
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
