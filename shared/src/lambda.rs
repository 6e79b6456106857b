//! The Lambdas' composition: which adapters they run on (DynamoDB store, Secrets Manager
//! secrets behind a cache, SQS queue, the engine on them), built once per cold start from the
//! operator's [`Settings`]. Each function's `main` takes the parts it needs.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;

use crate::secrets::{CachedSecrets, SecretsManagerSecrets};
use crate::settings::{Settings, SettingsError};
use crate::store::DynamoStore;
use crate::sync::{DefaultConnector, EngineOptions, SqsQueue, SyncEngine};

/// How long a warm Lambda reuses a tenant's secrets before reading them again.
const SECRETS_TTL: Duration = Duration::from_secs(300);

/// The function's AWS configuration and the operator's settings.
pub struct Services {
    config: SdkConfig,
    settings: Settings,
}

impl Services {
    /// A Lambda's cold start: JSON logs (each line with its spans: tenant and run ids) and the
    /// AWS configuration of the function's role and region.
    pub async fn cold_start(settings: Settings) -> Self {
        tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_target(false)
            .init();
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self { config, settings }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store in the `DIRSYNC_TABLE` table.
    pub fn store(&self) -> Result<DynamoStore, SettingsError> {
        Ok(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&self.config),
            self.settings.table()?.to_string(),
        ))
    }

    /// The queue at `DIRSYNC_QUEUE_URL`.
    pub fn queue(&self) -> Result<SqsQueue, SettingsError> {
        Ok(SqsQueue::new(
            aws_sdk_sqs::Client::new(&self.config),
            self.settings.queue_url()?.to_string(),
        ))
    }

    /// Secrets Manager behind a [`SECRETS_TTL`] cache.
    pub fn secrets(&self) -> Arc<CachedSecrets<SecretsManagerSecrets>> {
        let client = aws_sdk_secretsmanager::Client::new(&self.config);
        Arc::new(CachedSecrets::new(
            SecretsManagerSecrets::new(client),
            SECRETS_TTL,
        ))
    }

    /// The engine on the AWS adapters; the `ldif` provider is off (AWS sets no
    /// `DIRSYNC_LDIF_DIR`: a tenant must not read the function's files).
    /// A run keeps twice as many actions going as the PBX client lets through, so that
    /// actions waiting on a mapping write never leave the PBX's rate unused.
    pub fn engine(
        &self,
        store: &DynamoStore,
        secrets: Arc<CachedSecrets<SecretsManagerSecrets>>,
    ) -> SyncEngine {
        let connector = DefaultConnector::from_settings(&self.settings);
        let options = EngineOptions {
            concurrency: 2 * connector.pbx_options.concurrency,
            full_read_every: self.settings.full_read_every,
            ..EngineOptions::default()
        };
        SyncEngine::new(
            Arc::new(store.clone()),
            secrets,
            Arc::new(connector),
            options,
        )
    }
}
