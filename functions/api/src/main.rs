//! The `api` Lambda: the provisioning API router on DynamoDB, Secrets Manager and the SQS
//! queue, behind API Gateway's JWT authorizer. Env: `DIRSYNC_TABLE`, `DIRSYNC_QUEUE_URL`.

use std::sync::Arc;
use std::time::Duration;

use dirsync::api::{ApiState, Auth};
use dirsync::lambda::Services;
use dirsync::settings::{Deployment, Settings};
use lambda_http::{run, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = Services::cold_start(Settings::from_env(Deployment::Lambda)?).await;
    let store = services.store()?;
    let secrets = services.secrets();
    let state = ApiState {
        engine: services.engine(&store, secrets.clone()),
        store: Arc::new(store),
        secrets,
        queue: Arc::new(services.queue()?),
        // Tenants' endpoints must be public on AWS unless the operator opts out.
        policy: services.settings().endpoint_policy,
        // Unset on AWS: the ldif provider is off.
        ldif_root: services.settings().ldif_dir.clone(),
        auth: Arc::new(Auth::Gateway),
        test_timeout: Duration::from_secs(25),
    };
    run(dirsync_api::app(state)).await
}
