//! Holds a tenant's lease for the length of a run, renewing it in the background.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;

use crate::domain::{RunId, TenantId};
use crate::ports::Store;

/// Renews the lease every third of its TTL; raises `lost` when a renewal fails, so that the run
/// stops making calls another run might also be making. Dropping it stops the renewals.
pub struct LeaseKeeper {
    renewer: JoinHandle<()>,
    pub lost: Arc<AtomicBool>,
}

impl LeaseKeeper {
    pub fn start(store: Arc<dyn Store>, tenant: TenantId, run_id: RunId, ttl: Duration) -> Self {
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        let renewer = tokio::spawn(async move {
            let mut tick = tokio::time::interval(ttl / 3);
            tick.tick().await;
            loop {
                tick.tick().await;
                match store.renew_lease(&tenant, &run_id, ttl, Utc::now()).await {
                    Ok(true) => {}
                    Ok(false) | Err(_) => {
                        tracing::warn!(tenant = %tenant, run_id = %run_id, "lease lost; stopping the run");
                        flag.store(true, Ordering::SeqCst);
                        return;
                    }
                }
            }
        });
        Self { renewer, lost }
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}
