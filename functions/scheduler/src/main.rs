//! The scheduler Lambda: clients built once per cold start, then [`dirsync_scheduler::handle`]
//! per EventBridge tick. Env: `DIRSYNC_TABLE`, `DIRSYNC_QUEUE_URL`.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use dirsync::aws::services;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = services::cold_start().await;
    let store = services::store(&config)?;
    let queue = services::queue(&config)?;
    let (store, queue) = (&store, &queue);
    run(service_fn(
        |event: LambdaEvent<CloudWatchEvent>| async move {
            dirsync_scheduler::handle(store, queue, event.payload)
                .await
                .map_err(Error::from)
        },
    ))
    .await
}
