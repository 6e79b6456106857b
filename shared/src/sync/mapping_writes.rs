//! A run's mapping writes, batched (a first sync of 10,000 users would otherwise make 20,000
//! single writes). Two rules keep batching safe:
//! - a create's intent (its pending mapping) is durable before the PBX hears of the create:
//!   intents are written a batch at a time, the next batch while the current one's creates run;
//! - results (linked, updated, disabled mappings) may wait in a buffer: losing one to a crash
//!   costs nothing, as the next run replays the intent's create with the same idempotency key
//!   (and gets the same extension back), or repeats the idempotent update.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use tokio::sync::OnceCell;

use crate::domain::plan::PlannedCreate;
use crate::domain::{Mapping, MappingLink, TenantId};
use crate::error::StoreError;
use crate::ports::Store;

/// A mapping write that failed: the run stops, since what it changes could not be recorded.
#[derive(Debug, thiserror::Error)]
pub(super) enum MappingWriteError {
    /// A batch of create intents; every create of the batch gets the same error, hence the
    /// `Arc`. None of them is sent to the PBX.
    #[error("the create intents could not be written: {0}")]
    Intents(#[source] Arc<StoreError>),
    #[error("the mappings could not be written: {0}")]
    Results(#[source] StoreError),
    #[error("the run has no create intent number {0}")]
    NoIntent(usize),
}

/// Mappings per write: DynamoDB's BatchWriteItem limit.
pub(super) const BATCH: usize = 25;

pub(super) struct MappingWrites<'a> {
    tenant: &'a TenantId,
    store: &'a dyn Store,
    /// The pending mapping of each planned create, in plan order.
    intents: Vec<Mapping>,
    /// Whether each batch of intents is written (or why it is not).
    intent_batches: Vec<OnceCell<Result<(), Arc<StoreError>>>>,
    results: Mutex<Vec<Mapping>>,
}

impl<'a> MappingWrites<'a> {
    pub fn new(tenant: &'a TenantId, store: &'a dyn Store, creates: &[PlannedCreate]) -> Self {
        let intents: Vec<Mapping> = creates.iter().map(intent).collect();
        let batches = intents.len().div_ceil(BATCH);
        Self {
            tenant,
            store,
            intents,
            intent_batches: (0..batches).map(|_| OnceCell::new()).collect(),
            results: Mutex::new(Vec::new()),
        }
    }

    /// The intent of create `index` and its idempotency key, once the intent is durable.
    /// The first create of a batch also writes the next batch, so that later creates seldom
    /// wait.
    pub async fn durable_intent(
        &self,
        index: usize,
    ) -> Result<(&Mapping, &str), MappingWriteError> {
        let batch = index / BATCH;
        if index.is_multiple_of(BATCH) {
            let (this, next) =
                tokio::join!(self.write_intents(batch), self.write_intents(batch + 1));
            this.and(next).map_err(MappingWriteError::Intents)?;
        } else {
            self.write_intents(batch)
                .await
                .map_err(MappingWriteError::Intents)?;
        }
        match self.intents.get(index) {
            Some(
                intent @ Mapping {
                    link:
                        MappingLink::Pending {
                            idempotency_key, ..
                        },
                    ..
                },
            ) => Ok((intent, idempotency_key)),
            _ => Err(MappingWriteError::NoIntent(index)),
        }
    }

    async fn write_intents(&self, batch: usize) -> Result<(), Arc<StoreError>> {
        let Some(cell) = self.intent_batches.get(batch) else {
            return Ok(());
        };
        let start = batch * BATCH;
        let end = (start + BATCH).min(self.intents.len());
        cell.get_or_init(|| async {
            self.store
                .put_mappings(self.tenant, &self.intents[start..end])
                .await
                .map_err(Arc::new)
        })
        .await
        .clone()
    }

    /// Records a mapping the PBX's answer produced; writes a full batch at once.
    pub async fn record(&self, mapping: Mapping) -> Result<(), MappingWriteError> {
        let full = {
            let mut results = self.results.lock().unwrap_or_else(|e| e.into_inner());
            results.push(mapping);
            if results.len() >= BATCH {
                std::mem::take(&mut *results)
            } else {
                Vec::new()
            }
        };
        self.write(&full).await
    }

    /// Writes what is left in the buffer.
    pub async fn flush(&self) -> Result<(), MappingWriteError> {
        let rest = std::mem::take(&mut *self.results.lock().unwrap_or_else(|e| e.into_inner()));
        self.write(&rest).await
    }

    async fn write(&self, mappings: &[Mapping]) -> Result<(), MappingWriteError> {
        if mappings.is_empty() {
            return Ok(());
        }
        self.store
            .put_mappings(self.tenant, mappings)
            .await
            .map_err(MappingWriteError::Results)
    }
}

/// The pending mapping of a create: its request and a fresh idempotency key, so that a
/// replay after a crash can never create a second extension.
fn intent(create: &PlannedCreate) -> Mapping {
    Mapping {
        avatar_seen: None,
        avatar_sha256: None,
        object_id: create.object_id.clone(),
        link: MappingLink::Pending {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            request: create.request.clone(),
        },
        number: create.number.clone(),
        first_name: create.request.first_name.clone(),
        last_name: create.request.last_name.clone(),
        email: create.request.email.clone(),
        last_synced_at: Utc::now(),
        // Set once the create succeeded with the password (see `Applier::create`).
        sip_password_hash: None,
    }
}
