//! The worker Lambda: store, secrets (cached briefly) and engine built once per cold start,
//! then [`dirsync_worker::handle`] per SQS batch. Env: `DIRSYNC_TABLE`.

use aws_lambda_events::event::sqs::SqsEvent;
use dirsync::lambda::Services;
use dirsync::settings::{Deployment, Settings};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

// One thread: a Lambda of this size gets a fraction of one vCPU, so more runtime threads
// would add only their memory (an allocator arena each), not speed.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let services = Services::cold_start(Settings::from_env(Deployment::Lambda)?).await;
    let store = services.store()?;
    let engine = services.engine(&store, services.secrets());
    let engine = &engine;
    run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
        dirsync_worker::handle(engine, event.payload)
            .await
            .map_err(Error::from)
    }))
    .await
}
