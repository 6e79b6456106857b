//! What a cloud directory is around its provider: built from the tenant's config, an HTTP
//! client made on first use, the request counter, and the [`Directory`] port served by the
//! shared paging reader.

use std::collections::HashSet;

use async_trait::async_trait;
use secrecy::SecretString;
use tokio::sync::OnceCell;

use super::http::{CloudHttp, CloudOptions};
use super::read::{read_listing, token_then_search, PagedSource, Pager};
use super::urls::resolve_public;
use crate::domain::{
    ChangeCursor, ConnectionReport, DirectoryChanges, DirectoryConfig, DirectoryUser, ObjectId,
    Snapshot,
};
use crate::error::DirectoryError;
use crate::ports::{Directory, LoginOutcome, TenantSecrets};

/// What a provider is built from: one tenant's config and secrets, the operator's options.
pub struct Tenant<'a> {
    pub config: &'a DirectoryConfig,
    pub secrets: &'a TenantSecrets,
    pub options: &'a CloudOptions,
}

/// A cloud provider (Graph, Okta): its part of a [`CloudDirectory`].
pub trait Provider: Sized + Send + Sync + 'static {
    /// The provider's part of the config (`ProviderConfig`'s variant).
    type Config;

    /// The provider's reader of the tenant, and where its pages are.
    fn new(config: &Self::Config, tenant: Tenant<'_>) -> Result<(Self, Pager), DirectoryError>;

    /// Whether the pager's base is a tenant-supplied host: then the client connects only to
    /// its addresses that passed the endpoint rules, so a second DNS answer cannot point the
    /// requests elsewhere. The operator's and the vendor's own hosts are not checked.
    const TENANT_HOST: bool;
}

/// A directory read from a cloud provider's HTTP API.
pub struct CloudDirectory<P> {
    provider: P,
    pager: Pager,
    options: CloudOptions,
    /// Built on first use.
    http: OnceCell<CloudHttp>,
}

impl<P: Provider> CloudDirectory<P> {
    /// A reader of the tenant's directory; hosts come from the config, or from the operator's
    /// `options` overrides.
    pub fn new(
        provider: &P::Config,
        config: &DirectoryConfig,
        secrets: &TenantSecrets,
        options: &CloudOptions,
    ) -> Result<Self, DirectoryError> {
        let tenant = Tenant {
            config,
            secrets,
            options,
        };
        let (provider, pager) = P::new(provider, tenant)?;
        Ok(Self {
            provider,
            pager,
            options: options.clone(),
            http: OnceCell::new(),
        })
    }

    /// HTTP requests sent so far, token requests and retries included.
    pub fn requests(&self) -> u64 {
        self.http.get().map_or(0, CloudHttp::requests)
    }

    async fn http(&self) -> Result<&CloudHttp, DirectoryError> {
        self.http
            .get_or_try_init(|| async {
                if !P::TENANT_HOST {
                    return CloudHttp::new(self.options.clone(), None);
                }
                let base = &self.pager.base;
                let host = base.host_str().unwrap_or_default();
                let port = base.port_or_known_default().unwrap_or(443);
                let addrs = resolve_public(host, port, self.options.endpoint_policy).await?;
                CloudHttp::new(self.options.clone(), Some((host, &addrs)))
            })
            .await
    }
}

#[async_trait]
impl<P: Provider + PagedSource> Directory for CloudDirectory<P> {
    async fn read_users(&self) -> Result<Snapshot, DirectoryError> {
        let http = self.http().await?;
        // Asked for first: a change made while the listing is read is then in the next
        // change-only read. Without one, the next read is a full one too.
        let cursor = match self.provider.change_cursor(&self.pager, http).await {
            Ok(cursor) => cursor,
            Err(error) => {
                tracing::warn!(%error, "no change cursor; the next read is a full one");
                None
            }
        };
        let mut snapshot = read_listing(&self.provider, &self.pager, http).await?;
        self.provider
            .photo_refs(&self.pager, http, &mut snapshot.users)
            .await?;
        snapshot.change_cursor = cursor;
        Ok(snapshot)
    }

    async fn read_changes(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<DirectoryChanges, DirectoryError> {
        let http = self.http().await?;
        self.provider.read_changes(&self.pager, http, cursor).await
    }

    async fn read_photo(
        &self,
        user: &ObjectId,
        _dn: Option<&str>,
    ) -> Result<Option<Vec<u8>>, DirectoryError> {
        let http = self.http().await?;
        self.provider.read_photo(&self.pager, http, user).await
    }

    async fn test_connection(&self) -> ConnectionReport {
        let token = async {
            let http = self.http().await?;
            self.provider.check_token(&self.pager, http).await
        };
        token_then_search(token, self.read_users()).await
    }

    /// One request per user, in order; a refusal is the vendor's error for its answer.
    async fn write_back(
        &self,
        attribute: &str,
        writes: &[(&DirectoryUser, &str)],
    ) -> Vec<Result<(), DirectoryError>> {
        let mut results = Vec::with_capacity(writes.len());
        for (user, value) in writes {
            let written = async {
                let http = self.http().await?;
                let (method, url, body) = self.provider.write_back_request(
                    &self.pager.base,
                    &user.object_id,
                    attribute,
                    value,
                )?;
                let credential = self.provider.credential();
                http.send_json(method, &url, Some(&body), credential, self.pager.vendor)
                    .await
                    .map(|_| ())
                    .map_err(|e| DirectoryError::WriteRefused(e.to_string()))
            };
            results.push(written.await);
        }
        results
    }

    /// The vendor checks the password; a user it knows but the PBX has no extension for is
    /// rejected like a wrong password.
    async fn verify_login(
        &self,
        username: &str,
        password: &SecretString,
        mapped: &HashSet<ObjectId>,
    ) -> Result<LoginOutcome, DirectoryError> {
        let outcome = self
            .provider
            .verify_login(&self.pager, self.http().await?, username, password)
            .await?;
        Ok(match outcome {
            LoginOutcome::Verified(id) if !mapped.contains(&id) => LoginOutcome::Rejected,
            other => other,
        })
    }
}
