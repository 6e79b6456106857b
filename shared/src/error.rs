//! One error enum per layer. Causes are kept as sources; messages never carry a secret.

use std::fmt;

use crate::domain::object_plan::ObjectConflictReason;
use crate::domain::plan::ConflictReason;
use crate::domain::RunId;

/// Reading a directory failed. Every variant means the read is incomplete: nothing is removed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("the directory could not be reached: {0}")]
    Unreachable(String),
    #[error("the directory refused the credentials: {0}")]
    Credentials(String),
    #[error("the directory read was cut short after {users_read} users: {reason}")]
    Incomplete { users_read: usize, reason: String },
    #[error("the directory answered something unexpected: {0}")]
    Protocol(String),
    #[error("{0}")]
    NotAvailable(String),
    /// A change-only read cannot say what changed (no support, an expired delta token,
    /// another domain controller, a gap in a log): the engine reads in full instead.
    #[error("the changes since the last read are not available: {0}")]
    ChangesUnavailable(String),
    /// The directory refused a write (LDAP insufficientAccessRights, Graph or Okta 403, ...).
    #[error("the directory refused the write: {0}")]
    WriteRefused(String),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}, line {line}: {message}")]
    Ldif {
        path: String,
        line: usize,
        message: String,
    },
    /// The tenant's LDIF path may not be read (outside the operator's folder, ...).
    #[error(transparent)]
    LdifPath(#[from] crate::directory::ldif::LdifPathError),
}

/// A PBX call failed (after the client's retries, where retrying was allowed).
#[derive(Debug, thiserror::Error)]
pub enum PbxError {
    #[error("the PBX already holds this {}", match .0 { ConflictReason::NumberTaken => "number", ConflictReason::EmailTaken => "email", ConflictReason::LimitReached => "quota", ConflictReason::WriteBackFailed => "write-back" })]
    Conflict(ConflictReason),
    #[error("the PBX extension limit is reached (403 limit_reached)")]
    LimitReached,
    /// An organization or group call refused: 409 `name_taken` or `in_use`.
    #[error("the PBX refused the change: {}", match .0 { ObjectConflictReason::NameTaken => "the name is taken (409 name_taken)", ObjectConflictReason::InUse => "extensions still belong to it (409 in_use)", ObjectConflictReason::LimitReached => "its limit is reached (403 limit_reached)", ObjectConflictReason::ParentNotSynced => "its parent is not synced", ObjectConflictReason::NumberTaken => "the number is taken (409 number_taken)" })]
    ObjectConflict(ObjectConflictReason),
    /// A replayed create whose extension was deleted since: the PBX will not reuse the key.
    #[error("the PBX refused to reuse an idempotency key (409 idempotency_key_reused)")]
    KeyReused,
    #[error("the extension does not exist on the PBX (404)")]
    NotFound,
    #[error("the PBX refused the token (401): check the tenant's PBX credentials")]
    Unauthorized,
    #[error("the PBX refused access (403): {0}")]
    Forbidden(String),
    #[error("the PBX rejected the request (422): {0}")]
    Rejected(String),
    #[error("the PBX kept throttling (429) for {attempts} attempts")]
    Throttled { attempts: u32 },
    #[error("the PBX answered {status} for {attempts} attempts")]
    Server { status: u16, attempts: u32 },
    #[error("the PBX could not be reached: {}", with_causes(.0))]
    Transport(#[source] reqwest::Error),
    #[error("the PBX answered something unexpected: {0}")]
    Protocol(String),
    #[error("invalid PBX endpoint: {0}")]
    Endpoint(String),
}

/// An error with the causes below it, for messages where the root cause is what an admin can
/// act on (a refused address, a TLS failure) and the top level only says "request failed".
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let text = next.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = next.source();
    }
    message
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored item could not be read: {0}")]
    Format(#[from] serde_json::Error),
    #[error("store error: {0}")]
    Backend(String),
    /// The database file, or its `-wal`/`-shm`, could not be created or made private.
    #[error("cannot make the store file {path} private: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A conditional write found the item changed since it was read: read again and retry.
    #[error("the stored tenant changed since it was read")]
    Stale,
    /// A page cursor that no listing made: the caller's mistake, not the store's.
    #[error("invalid page cursor")]
    InvalidCursor,
    /// A pushed resource of the same kind already has that name (`userName`/`displayName`).
    #[error("another resource already has that name")]
    NameTaken,
    /// A record bigger than the store keeps (a pushed resource's JSON over
    /// [`crate::store::MAX_PUSHED_BYTES`]): nothing is written.
    #[error("the record is {bytes} bytes, more than the {max} bytes the store keeps")]
    TooLarge { bytes: usize, max: usize },
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("secret store file error: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored secrets could not be read: {0}")]
    Format(#[from] serde_json::Error),
    #[error("secret store error: {0}")]
    Backend(String),
}

#[derive(Debug, thiserror::Error)]
#[error("the sync queue refused the job: {0}")]
pub struct QueueError(pub String);

/// Why a tenant operation (`app::TenantService`) did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("no directory is connected")]
    NotConnected,
    /// The stored config was written by a newer release of dirsync (during a deploy or after a
    /// rollback): it is kept as it is and not touched by this one.
    #[error("the directory config was written by a newer release of dirsync; try again once the deploy is complete")]
    NewerConfig,
    /// The request cannot be carried out as it stands (missing credentials, say).
    #[error("invalid request")]
    Invalid(Vec<crate::domain::FieldError>),
    #[error("the tenant kept changing while it was written: try again")]
    Contended,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
}

/// Why a sync (or preview) could not run or could not finish.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the tenant has no {0} configured")]
    NotConfigured(&'static str),
    #[error("the tenant is {0}: syncs are not run")]
    NotActive(BlockingState),
    #[error("a sync is already running for this tenant (run {0})")]
    AlreadyRunning(RunId),
    #[error("the {0} credentials are not set")]
    MissingCredentials(&'static str),
    #[error("the sync lost its lease to another run")]
    LeaseLost,
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Pbx(#[from] PbxError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Tenant(#[from] TenantError),
}

/// The tenant state that keeps a job from running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockingState {
    Paused,
    Disconnected,
    /// A disconnect run for a tenant whose directory is connected again.
    StillConnected,
}

impl fmt::Display for BlockingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BlockingState::Paused => "paused",
            BlockingState::Disconnected => "disconnected",
            BlockingState::StillConnected => "still connected",
        })
    }
}

/// What a queue does with a job after an attempt to run it: drop it, or deliver it again
/// later (SQS after the visibility timeout, the local worker after its delay), until the
/// queue's delivery bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Done,
    Retry,
}

impl SyncError {
    /// The one retry policy of every worker, for a job whose run did not start (a run that
    /// starts leaves a record and is done). A job that the tenant's setup or state refuses
    /// is done: delivering it again would not help. Anything else, a busy tenant first, may
    /// pass: it is retried.
    pub fn disposition(&self) -> Disposition {
        match self {
            SyncError::NotConfigured(_) | SyncError::NotActive(_) => Disposition::Done,
            SyncError::AlreadyRunning(_)
            | SyncError::MissingCredentials(_)
            | SyncError::LeaseLost
            | SyncError::Directory(_)
            | SyncError::Pbx(_)
            | SyncError::Store(_)
            | SyncError::Secrets(_)
            | SyncError::Queue(_) => Disposition::Retry,
            SyncError::Tenant(e) => match e {
                TenantError::NotConnected | TenantError::Invalid(_) => Disposition::Done,
                // A newer release's worker reads it: the deploy completes, the job comes again.
                TenantError::NewerConfig
                | TenantError::Contended
                | TenantError::Store(_)
                | TenantError::Secrets(_) => Disposition::Retry,
            },
        }
    }
}
