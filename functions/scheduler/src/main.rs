//! The scheduler Lambda: clients built once per cold start, then [`dirsync_scheduler::handle`]
//! per EventBridge tick. Env: `DIRSYNC_TABLE`, `DIRSYNC_QUEUE_URL`.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use dirsync::lambda::Services;
use dirsync::settings::{Deployment, Settings};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = Services::cold_start(Settings::from_env(Deployment::Lambda)?).await;
    let store = services.store()?;
    let queue = services.queue()?;
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
