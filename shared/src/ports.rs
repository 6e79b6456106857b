//! The ports the sync core talks through. Each has implementations named after their
//! technology (one per file) under `directory/`, `pbx/`, `store/` and `secrets/`.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::domain::connection::SAMPLE_SIZE;
use crate::domain::organization::{
    ExtensionGroupPatch, NewExtensionGroup, NewOrganization, OrganizationPatch,
};
use crate::domain::phonebook::{NewPhonebookEntry, PhonebookEntry};
use crate::domain::plan::ExtensionPatch;
use crate::domain::sip_password::SipPassword;
use crate::domain::{
    ChangeCursor, Check, CheckName, ConnectionReport, DirectoryChanges, DirectoryUser, Extension,
    ExtensionGroup, ExtensionId, GroupId, KeptReads, Mapping, NewExtension, ObjectId, ObjectKind,
    ObjectMapping, Organization, OrganizationId, PushedKey, PushedKind, PushedResource, ReadHead,
    ReadState, RunId, RunRecord, RunSummary, Snapshot, Tenant, TenantId,
};
use crate::error::{DirectoryError, PbxError, SecretsError, StoreError};

/// A company directory, configured for one tenant.
#[async_trait]
pub trait Directory: Send + Sync {
    /// Reads every user of the scope. A read that fails part-way returns an error, never a
    /// shorter list: a failed read must not look like deleted users.
    async fn read_users(&self) -> Result<Snapshot, DirectoryError>;

    /// The changes since `cursor`, which this provider's last read left (its
    /// [`Snapshot::change_cursor`] or [`DirectoryChanges::cursor`]) under the same config.
    /// [`DirectoryError::ChangesUnavailable`] when it cannot say: the engine then reads in
    /// full. Like [`Directory::read_users`], a read that fails part-way is an error, never
    /// fewer changes.
    async fn read_changes(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<DirectoryChanges, DirectoryError> {
        let _ = cursor;
        Err(DirectoryError::ChangesUnavailable(
            "this directory is read in full".into(),
        ))
    }

    /// `write_back`: writes each `(user, value)` to the user's `attribute`, one result per
    /// write, in order. Directories that cannot write refuse them all.
    async fn write_back(
        &self,
        attribute: &str,
        writes: &[(&DirectoryUser, &str)],
    ) -> Vec<Result<(), DirectoryError>> {
        let _ = attribute;
        writes
            .iter()
            .map(|_| {
                Err(DirectoryError::WriteRefused(
                    "this directory is read-only".into(),
                ))
            })
            .collect()
    }

    /// The bytes of one user's photo (`fields.avatar`), read one user at a time for its
    /// upload: `None` when the user has none. Providers without photos keep this default.
    async fn read_photo(
        &self,
        _user: &ObjectId,
        _dn: Option<&str>,
    ) -> Result<Option<Vec<u8>>, DirectoryError> {
        Ok(None)
    }

    /// The admin's "test connection": every step (tunnel, connect, tls, bind or token, search)
    /// with its time and an actionable message, and a few users as mapped. A failed step is a
    /// check with `ok: false`, never an error. Providers with finer steps override this one,
    /// which reports the whole read as the `search` step.
    async fn test_connection(&self) -> ConnectionReport {
        let started = std::time::Instant::now();
        match self.read_users().await {
            Ok(snapshot) => {
                let message = format!("{} users read", snapshot.users.len());
                let check = Check::timed(CheckName::Search, started, Ok(message));
                let in_scope = snapshot.users.into_iter().filter(|u| u.in_scope);
                ConnectionReport::new(vec![check], in_scope.take(SAMPLE_SIZE).collect())
            }
            Err(error) => {
                let check = Check::timed(CheckName::Search, started, Err(error.to_string()));
                ConnectionReport::new(vec![check], Vec::new())
            }
        }
    }

    /// Checks a user's password (`POST .../auth/verify`): finds the user by `username` and
    /// asks the directory. `mapped` are the object ids the PBX has an extension for: anyone
    /// else is rejected, if possible before the directory sees the password. Providers that
    /// cannot check passwords keep this default.
    async fn verify_login(
        &self,
        username: &str,
        password: &SecretString,
        mapped: &std::collections::HashSet<ObjectId>,
    ) -> Result<LoginOutcome, DirectoryError> {
        let _ = (username, password, mapped);
        Ok(LoginOutcome::Unsupported(
            "this directory cannot check passwords".into(),
        ))
    }
}

/// What a directory made of a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The password is the user's, and the user is mapped, enabled and unexpired.
    Verified(ObjectId),
    /// Any other answer: unknown, unmapped, disabled or expired user, or a wrong password.
    Rejected,
    /// This provider checks no passwords; the message says what to use instead.
    Unsupported(String),
}

/// One tenant's PBX, over the REST contract of CONTRACTS section 4.
#[async_trait]
pub trait Pbx: Send + Sync {
    /// Every extension, all pages.
    async fn list_extensions(&self) -> Result<Vec<Extension>, PbxError>;
    /// Every extension, unless the listing's `ETag` is still `etag` (CONTRACTS section 4:
    /// `If-None-Match` gets 304 while nothing changed). A PBX without ETags is listed in full.
    async fn list_extensions_if_changed(
        &self,
        etag: Option<&str>,
    ) -> Result<ExtensionListing, PbxError> {
        let _ = etag;
        Ok(ExtensionListing::Listed {
            extensions: self.list_extensions().await?,
            etag: None,
        })
    }
    /// Creates an extension; the same `idempotency_key` always yields the same extension.
    async fn create_extension(
        &self,
        request: &NewExtension,
        idempotency_key: &str,
    ) -> Result<Extension, PbxError> {
        self.create_extension_with(request, None, idempotency_key)
            .await
    }
    /// [`Pbx::create_extension`] with the user's SIP password in the body: kept apart from
    /// `request`, which is stored with the create's intent and must never hold it.
    async fn create_extension_with(
        &self,
        request: &NewExtension,
        sip_password: Option<&SipPassword>,
        idempotency_key: &str,
    ) -> Result<Extension, PbxError>;
    /// Changes only the fields the patch holds.
    async fn update_extension(
        &self,
        id: &ExtensionId,
        patch: &ExtensionPatch,
    ) -> Result<Extension, PbxError>;
    /// Deletes an extension; one that is already gone counts as deleted.
    async fn delete_extension(&self, id: &ExtensionId) -> Result<(), PbxError>;

    /// Every organization, all pages.
    async fn list_organizations(&self) -> Result<Vec<Organization>, PbxError>;
    /// 409 `name_taken` (same parent) is [`PbxError::ObjectConflict`].
    async fn create_organization(
        &self,
        request: &NewOrganization,
        idempotency_key: &str,
    ) -> Result<Organization, PbxError>;
    async fn update_organization(
        &self,
        id: &OrganizationId,
        patch: &OrganizationPatch,
    ) -> Result<Organization, PbxError>;
    /// 409 `in_use` while extensions belong to it; one already gone counts as deleted.
    async fn delete_organization(&self, id: &OrganizationId) -> Result<(), PbxError>;

    /// Every extension group, all pages.
    async fn list_groups(&self) -> Result<Vec<ExtensionGroup>, PbxError>;
    /// 403 `limit_reached` at 63 groups; 422 for an unknown member.
    async fn create_group(
        &self,
        request: &NewExtensionGroup,
        idempotency_key: &str,
    ) -> Result<ExtensionGroup, PbxError>;
    async fn update_group(
        &self,
        id: &GroupId,
        patch: &ExtensionGroupPatch,
    ) -> Result<ExtensionGroup, PbxError>;
    /// One already gone counts as deleted.
    async fn delete_group(&self, id: &GroupId) -> Result<(), PbxError>;

    /// `PUT /v1/extensions/{id}/avatar`: the bytes (JPEG or PNG, at most 256 KB) with their
    /// content type.
    async fn put_avatar(
        &self,
        id: &ExtensionId,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), PbxError>;
    /// `DELETE /v1/extensions/{id}/avatar`.
    async fn delete_avatar(&self, id: &ExtensionId) -> Result<(), PbxError>;

    /// Every phonebook entry, all pages.
    async fn list_phonebook(&self) -> Result<Vec<PhonebookEntry>, PbxError>;
    /// 409 `number_taken` (another entry has the number) is [`PbxError::Conflict`].
    async fn create_phonebook_entry(
        &self,
        request: &NewPhonebookEntry,
        idempotency_key: &str,
    ) -> Result<PhonebookEntry, PbxError>;
    /// Already gone (404) counts as deleted.
    async fn delete_phonebook_entry(&self, id: &str) -> Result<(), PbxError>;
}

/// What [`Pbx::list_extensions_if_changed`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum ExtensionListing {
    /// 304: the extensions are as they were when the listing had that ETag.
    NotModified,
    /// Every extension, with the ETag of this listing when the PBX sent one (and it held
    /// across all its pages).
    Listed {
        extensions: Vec<Extension>,
        etag: Option<String>,
    },
}

/// One page of a listing, with the opaque cursor of the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// What taking the tenant's lease gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOutcome {
    Acquired {
        /// The run that held a lease which expired before this one took it over (a crashed
        /// worker), so that its record can be closed.
        expired_run: Option<RunId>,
    },
    /// Another run holds the lease and it has not expired.
    HeldBy(RunId),
    /// No such tenant is stored: it has no lease to take, and nothing was written.
    NoTenant,
}

/// What [`Store::begin_run`] took and read in one step.
#[derive(Debug)]
pub struct RunStart {
    pub lease: LeaseOutcome,
    /// The tenant as stored (`None` exactly when the lease is [`LeaseOutcome::NoTenant`]).
    pub tenant: Option<Tenant>,
    /// The head of the read state the tenant's last run kept (`domain::read_state`), if
    /// any: one this release cannot read is an error of its own, so that the run can still
    /// start (reading in full).
    pub head: Result<Option<ReadHead>, StoreError>,
}

/// A tenant whose scheduled sync is due, as the due index shows it: what the scheduler needs,
/// read without fetching the tenant (on DynamoDB the index may lag the table by a moment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueTenant {
    pub id: TenantId,
    /// The tenant's `next_sync_at`: the slot that is due.
    pub next_sync_at: DateTime<Utc>,
    /// The tenant's schedule period in hours (1 when it has no directory config; 0 for a
    /// daily or weekly schedule, whose next time needs the tenant's record).
    pub every_hours: u32,
}

/// Durable state. Every method takes the tenant, so no call can reach another tenant's items.
#[async_trait]
pub trait Store: Send + Sync {
    /// Writes the tenant's settings (everything but `last_run`, which stays as stored) if the
    /// stored revision is still `tenant.revision` (0: not stored yet), and returns the new
    /// revision. [`StoreError::Stale`], with nothing written, when another write came first.
    async fn put_tenant(&self, tenant: &Tenant) -> Result<u64, StoreError>;
    /// The tenant with its revision and last run. Fields of the stored record that this
    /// version does not know (written by a newer one) are ignored, never an error.
    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError>;
    /// Sets the tenant's last run alone, leaving its settings and revision as they are, so
    /// that a run's end never overwrites an admin's change made while it ran. A tenant that
    /// is gone is left gone.
    async fn set_last_run(&self, id: &TenantId, summary: &RunSummary) -> Result<(), StoreError>;
    /// Tenants in id order (operator listing).
    async fn list_tenants(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Tenant>, StoreError>;
    /// Active tenants whose `next_sync_at` is at or before `now`, soonest first (ties by id),
    /// after `after` (the last of the previous page) when given.
    async fn due_tenants(
        &self,
        now: DateTime<Utc>,
        after: Option<&DueTenant>,
        limit: usize,
    ) -> Result<Vec<DueTenant>, StoreError>;
    /// Moves the tenant's `next_sync_at` from `from` to `to` in one atomic step, leaving the
    /// rest of the tenant as it is (its revision moves on, so a settings write read before
    /// is stale). False, with nothing written, when the tenant is gone, not
    /// active, or its `next_sync_at` is no longer `from` (changed since it was read).
    async fn advance_next_sync(
        &self,
        id: &TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Removes the tenant with its mappings (object mappings too), runs and lease.
    async fn delete_tenant(&self, id: &TenantId) -> Result<(), StoreError>;

    async fn all_mappings(&self, tenant: &TenantId) -> Result<Vec<Mapping>, StoreError>;
    /// Mappings in object id order.
    async fn list_mappings(
        &self,
        tenant: &TenantId,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Mapping>, StoreError>;
    /// Creates or replaces the mapping of each `object_id` (many at once where the backend
    /// batches writes). A failure may leave some of them written.
    async fn put_mappings(&self, tenant: &TenantId, mappings: &[Mapping])
        -> Result<(), StoreError>;
    async fn delete_mapping(
        &self,
        tenant: &TenantId,
        object_id: &ObjectId,
    ) -> Result<(), StoreError>;

    /// The tenant's organization and group mappings (both kinds), by kind then object id.
    async fn all_object_mappings(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<ObjectMapping>, StoreError>;
    /// Creates or replaces the mapping of `(mapping.kind, mapping.object_id)`.
    async fn put_object_mapping(
        &self,
        tenant: &TenantId,
        mapping: &ObjectMapping,
    ) -> Result<(), StoreError>;
    async fn delete_object_mapping(
        &self,
        tenant: &TenantId,
        kind: ObjectKind,
        object_id: &ObjectId,
    ) -> Result<(), StoreError>;

    /// Creates or replaces a run record.
    async fn put_run(&self, tenant: &TenantId, run: &RunRecord) -> Result<(), StoreError>;
    async fn get_run(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
    ) -> Result<Option<RunRecord>, StoreError>;
    /// Run summaries, newest first.
    async fn list_runs(
        &self,
        tenant: &TenantId,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<RunSummary>, StoreError>;

    /// Takes the tenant's lease for `run_id` unless another unexpired lease exists (or the
    /// tenant is not stored).
    async fn acquire_lease(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseOutcome, StoreError>;
    /// Takes the lease as [`Store::acquire_lease`] does and reads the tenant and its kept
    /// head with it, in one call where the backend can: a sync run's start.
    async fn begin_run(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<RunStart, StoreError>;
    /// Sets the tenant's last run and gives up `run_id`'s lease in one write: a sync run's
    /// end, so that the next run sees its last run once it can start. When `run_id` no
    /// longer holds the lease, the last run is set alone (as [`Store::set_last_run`]).
    async fn end_run(
        &self,
        tenant: &TenantId,
        summary: &RunSummary,
        run_id: &RunId,
    ) -> Result<(), StoreError>;
    /// Extends the lease; false when `run_id` no longer holds it.
    async fn renew_lease(
        &self,
        tenant: &TenantId,
        run_id: &RunId,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Gives the lease up if `run_id` holds it.
    async fn release_lease(&self, tenant: &TenantId, run_id: &RunId) -> Result<(), StoreError>;
    /// The run holding an unexpired lease, if any.
    async fn lease_holder(
        &self,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<Option<RunId>, StoreError>;

    /// Counts one login attempt of `key` (a hash of the username, never the name) in one
    /// atomic step: refused, with nothing written, when `limit.max` attempts were counted in
    /// the window that is still open; otherwise counted (a new window opens at `now` when
    /// none is open).
    async fn take_login_attempt(
        &self,
        tenant: &TenantId,
        key: &str,
        limit: LoginLimit,
        now: DateTime<Utc>,
    ) -> Result<LoginAttempt, StoreError>;
    /// Ends an attempt taken by [`Store::take_login_attempt`] that must not count against the
    /// user: `clear` (a success) forgets every attempt of the window, otherwise (the
    /// directory could not answer) only this one.
    async fn return_login_attempt(
        &self,
        tenant: &TenantId,
        key: &str,
        clear: bool,
    ) -> Result<(), StoreError>;

    /// The tenant's kept read state whole, with its head.
    async fn get_read_state(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<(ReadHead, ReadState)>, StoreError>;
    /// Replaces the tenant's read state whole: a reader sees the old one or the new one.
    async fn put_read_state(&self, tenant: &TenantId, state: &KeptReads) -> Result<(), StoreError>;
    /// Rewrites the head alone (a run that found nothing changed but its cursor).
    /// [`StoreError::Stale`], with nothing written, unless the stored head names the same
    /// body (`body_sha256`).
    async fn put_read_head(&self, tenant: &TenantId, head: &ReadHead) -> Result<(), StoreError>;
    /// Forgets the tenant's read state (absent: fine).
    async fn delete_read_state(&self, tenant: &TenantId) -> Result<(), StoreError>;

    // The users and groups pushed over SCIM (`domain::pushed`). Each resource's JSON is at
    // most `store::MAX_PUSHED_BYTES` ([`StoreError::TooLarge`] otherwise, nothing written).

    /// Stores a new resource. [`StoreError::NameTaken`], with nothing written, when one of
    /// the same kind has the same name (without case); [`StoreError::Stale`] when its id is
    /// already stored.
    async fn create_pushed(
        &self,
        tenant: &TenantId,
        resource: &PushedResource,
    ) -> Result<(), StoreError>;
    /// Replaces the resource of `resource.id` if its stored version is still `expected`
    /// ([`StoreError::Stale`], with nothing written, otherwise or when it is gone), keeping
    /// names unique as [`Store::create_pushed`] does.
    async fn replace_pushed(
        &self,
        tenant: &TenantId,
        resource: &PushedResource,
        expected: u64,
    ) -> Result<(), StoreError>;
    async fn get_pushed(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
        id: &ObjectId,
    ) -> Result<Option<PushedResource>, StoreError>;
    /// The resources of `kind` whose name (without case) or external id is `value`, without
    /// reading the others.
    async fn find_pushed(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
        key: PushedKey,
        value: &str,
    ) -> Result<Vec<PushedResource>, StoreError>;
    /// Every resource of `kind`, in id order.
    async fn all_pushed(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
    ) -> Result<Vec<PushedResource>, StoreError>;
    /// How many resources of `kind` the tenant keeps, without reading them.
    async fn count_pushed(&self, tenant: &TenantId, kind: PushedKind) -> Result<usize, StoreError>;
    /// Deletes the resource; false when there was none.
    async fn delete_pushed(
        &self,
        tenant: &TenantId,
        kind: PushedKind,
        id: &ObjectId,
    ) -> Result<bool, StoreError>;
}

/// At most `max` login attempts per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimit {
    pub max: u32,
    pub window: Duration,
}

/// What [`Store::take_login_attempt`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAttempt {
    Counted,
    /// Too many attempts; the window ends then.
    Refused {
        until: DateTime<Utc>,
    },
}

/// A tenant's credentials: the directory's and the PBX token. Debug output is redacted by
/// `SecretString`; serializing needs [`TenantSecrets::to_stored`], used only by secret stores.
#[derive(Clone, Default, Debug)]
pub struct TenantSecrets {
    pub bind_password: Option<SecretString>,
    pub ssh_private_key: Option<SecretString>,
    pub client_secret: Option<SecretString>,
    pub api_token: Option<SecretString>,
    pub private_key_pem: Option<SecretString>,
    pub pbx_token: Option<SecretString>,
    /// The key of the keyed hashes of SIP passwords (`domain::sip_password`), created by the
    /// first run that syncs one. Not a directory credential: a config change keeps it.
    pub sip_hash_key: Option<SecretString>,
}

/// The serialized form a secret store keeps. Only secret store adapters build it.
#[derive(Serialize, Deserialize, Default)]
pub struct StoredSecrets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_private_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pbx_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_hash_key: Option<String>,
}

impl TenantSecrets {
    pub fn to_stored(&self) -> StoredSecrets {
        use secrecy::ExposeSecret;
        let expose = |s: &Option<SecretString>| s.as_ref().map(|s| s.expose_secret().to_string());
        StoredSecrets {
            bind_password: expose(&self.bind_password),
            ssh_private_key: expose(&self.ssh_private_key),
            client_secret: expose(&self.client_secret),
            api_token: expose(&self.api_token),
            private_key_pem: expose(&self.private_key_pem),
            pbx_token: expose(&self.pbx_token),
            sip_hash_key: expose(&self.sip_hash_key),
        }
    }

    pub fn from_stored(stored: StoredSecrets) -> Self {
        let wrap = |s: Option<String>| s.map(SecretString::from);
        Self {
            bind_password: wrap(stored.bind_password),
            ssh_private_key: wrap(stored.ssh_private_key),
            client_secret: wrap(stored.client_secret),
            api_token: wrap(stored.api_token),
            private_key_pem: wrap(stored.private_key_pem),
            pbx_token: wrap(stored.pbx_token),
            sip_hash_key: wrap(stored.sip_hash_key),
        }
    }

    /// Whether the directory credential of that name (see `credential_names`) is set.
    pub fn has_directory_credential(&self, name: &str) -> bool {
        match name {
            "bind_password" => self.bind_password.is_some(),
            "ssh_private_key" => self.ssh_private_key.is_some(),
            "client_secret" => self.client_secret.is_some(),
            "api_token" => self.api_token.is_some(),
            "private_key_pem" => self.private_key_pem.is_some(),
            _ => false,
        }
    }

    /// These secrets with `other`'s directory credentials where these have none: what a
    /// provider switch stores until the new config is written, so that the old config keeps
    /// its credentials until then.
    pub fn kept_beside(&self, other: &TenantSecrets) -> TenantSecrets {
        let or = |mine: &Option<SecretString>, theirs: &Option<SecretString>| {
            mine.clone().or_else(|| theirs.clone())
        };
        TenantSecrets {
            bind_password: or(&self.bind_password, &other.bind_password),
            ssh_private_key: or(&self.ssh_private_key, &other.ssh_private_key),
            client_secret: or(&self.client_secret, &other.client_secret),
            api_token: or(&self.api_token, &other.api_token),
            private_key_pem: or(&self.private_key_pem, &other.private_key_pem),
            pbx_token: self.pbx_token.clone(),
            sip_hash_key: or(&self.sip_hash_key, &other.sip_hash_key),
        }
    }

    /// Which directory credentials are set (never their values).
    pub fn directory_set(&self) -> [bool; 5] {
        [
            self.bind_password.is_some(),
            self.ssh_private_key.is_some(),
            self.client_secret.is_some(),
            self.api_token.is_some(),
            self.private_key_pem.is_some(),
        ]
    }

    /// Replaces the directory credentials with the given ones, keeping the PBX token.
    pub fn set_directory(&mut self, credentials: crate::domain::config::DirectoryCredentials) {
        self.bind_password = credentials.bind_password;
        self.ssh_private_key = credentials.ssh_private_key;
        self.client_secret = credentials.client_secret;
        self.api_token = credentials.api_token;
        self.private_key_pem = credentials.private_key_pem;
    }
}

/// The secret store: one entry per tenant.
#[async_trait]
pub trait Secrets: Send + Sync {
    async fn get(&self, tenant: &TenantId) -> Result<Option<TenantSecrets>, SecretsError>;
    async fn put(&self, tenant: &TenantId, secrets: &TenantSecrets) -> Result<(), SecretsError>;
    async fn delete(&self, tenant: &TenantId) -> Result<(), SecretsError>;
}
