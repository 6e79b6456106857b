//! The scheduler Lambda's handler: an EventBridge scheduled event in, one SQS message per due
//! tenant out (see [`dirsync::sync::dispatch_due`]).

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use dirsync::error::SyncError;
use dirsync::ports::Store;
use dirsync::sync::{dispatch_due, RunQueue};
use serde::Serialize;

/// What one tick did, returned to Lambda (and so visible in a test invoke).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct TickReport {
    pub dispatched: usize,
}

/// Dispatches the tenants due at the event's time (the tick it was scheduled for, so a
/// retried invocation looks at the same instant).
pub async fn handle(
    store: &dyn Store,
    queue: &dyn RunQueue,
    event: CloudWatchEvent,
) -> Result<TickReport, SyncError> {
    let dispatched = dispatch_due(store, queue, event.time).await?;
    tracing::info!(dispatched, tick = %event.time, "scheduler tick");
    Ok(TickReport { dispatched })
}
