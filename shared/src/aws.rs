//! What the AWS side shares: how an SDK error becomes a one-line message, and the services
//! the Lambdas build at cold start.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// "{operation} failed: {code}: {message}" for errors the service answered, and the error
/// chain for those it did not (timeouts, connection errors). Never the raw response.
pub(crate) fn sdk_error_message<E, R>(
    service: &str,
    operation: &str,
    error: &SdkError<E, R>,
) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{service} {operation} failed: {code}: {message}"),
        (Some(code), None) => format!("{service} {operation} failed: {code}"),
        _ => format!(
            "{service} {operation} failed: {}",
            DisplayErrorContext(error)
        ),
    }
}

/// What the Lambdas build once per cold start, from the environment: `DIRSYNC_TABLE` (the
/// DynamoDB table) and, where jobs are sent, `DIRSYNC_QUEUE_URL` (the SQS FIFO queue).
pub mod services {
    use std::sync::Arc;
    use std::time::Duration;

    /// A Lambda's cold start: JSON logs (each line with its spans: tenant and run ids) and the
    /// AWS configuration of the function's role and region.
    pub async fn cold_start() -> SdkConfig {
        tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_target(false)
            .init();
        aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
    }

    use aws_config::SdkConfig;

    use crate::secrets::{CachedSecrets, SecretsManagerSecrets};
    use crate::store::DynamoStore;
    use crate::sync::{DefaultConnector, EngineOptions, SqsQueue, SyncEngine};

    /// How long a warm Lambda reuses a tenant's secrets before reading them again.
    pub const SECRETS_TTL: Duration = Duration::from_secs(300);

    /// A required environment variable, or an error naming it.
    pub fn env(name: &str) -> Result<String, String> {
        std::env::var(name).map_err(|_| format!("the environment variable {name} is not set"))
    }

    pub fn store(config: &SdkConfig) -> Result<DynamoStore, String> {
        Ok(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(config),
            env("DIRSYNC_TABLE")?,
        ))
    }

    pub fn queue(config: &SdkConfig) -> Result<SqsQueue, String> {
        Ok(SqsQueue::new(
            aws_sdk_sqs::Client::new(config),
            env("DIRSYNC_QUEUE_URL")?,
        ))
    }

    /// Secrets Manager behind a [`SECRETS_TTL`] cache.
    pub fn secrets(config: &SdkConfig) -> Arc<CachedSecrets<SecretsManagerSecrets>> {
        let client = aws_sdk_secretsmanager::Client::new(config);
        Arc::new(CachedSecrets::new(
            SecretsManagerSecrets::new(client),
            SECRETS_TTL,
        ))
    }

    /// The engine on the AWS adapters; the `ldif` provider is off (no local files on AWS).
    /// A run keeps twice as many actions going as the PBX client lets through, so that
    /// actions waiting on a mapping write never leave the PBX's rate unused.
    pub fn engine(
        store: &DynamoStore,
        secrets: Arc<CachedSecrets<SecretsManagerSecrets>>,
    ) -> Result<SyncEngine, String> {
        let connector = DefaultConnector::from_env()?;
        let options = EngineOptions {
            concurrency: 2 * connector.pbx_options.concurrency,
            ..EngineOptions::default()
        };
        Ok(SyncEngine::new(
            Arc::new(store.clone()),
            secrets,
            Arc::new(connector),
            options,
        ))
    }
}
