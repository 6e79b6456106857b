//! A running run's counts so far, written to its record every few seconds while it applies,
//! so that `GET .../runs/{id}` (and the Directory Sync page, which polls it) shows the run
//! going rather than zeros until it ends. Throttled by time: a run that changes little writes
//! nothing extra, and a long one writes once per interval, never once per action.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::apply::Applied;
use crate::domain::{RunRecord, TenantId};
use crate::ports::Store;

pub(crate) struct RunProgress<'a> {
    tenant: &'a TenantId,
    store: &'a dyn Store,
    /// The record as the run started (outcome `running`, counts zero).
    started: RunRecord,
    every: Duration,
    last_write: Mutex<Instant>,
}

impl<'a> RunProgress<'a> {
    pub fn new(
        tenant: &'a TenantId,
        store: &'a dyn Store,
        started: &RunRecord,
        every: Duration,
    ) -> Self {
        Self {
            tenant,
            store,
            started: started.clone(),
            every,
            last_write: Mutex::new(Instant::now()),
        }
    }

    /// Writes the counts of `applied` when the interval has passed since the last write. A
    /// failed write only leaves the shown counts older: the run goes on.
    pub async fn report(&self, applied: &Applied) {
        {
            let Ok(mut last) = self.last_write.lock() else {
                return;
            };
            if last.elapsed() < self.every {
                return;
            }
            *last = Instant::now();
        }
        let mut record = self.started.clone();
        let counts = &mut record.summary.counts;
        counts.new = applied.created.len();
        counts.updated = applied.updated.len();
        counts.removed = applied.removed.len();
        counts.conflicts = applied.conflicts.len();
        if let Err(error) = self.store.put_run(self.tenant, &record).await {
            tracing::warn!(tenant = %self.tenant, error = %error, "run progress not written");
        }
    }
}

impl super::engine::SyncEngine {
    /// The progress of the run whose record (as started) is `record`.
    pub(super) fn progress<'a>(
        &'a self,
        tenant: &'a TenantId,
        record: &RunRecord,
    ) -> RunProgress<'a> {
        RunProgress::new(
            tenant,
            self.store.as_ref(),
            record,
            self.options.progress_every,
        )
    }
}
