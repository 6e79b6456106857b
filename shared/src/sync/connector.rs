//! Builds a tenant's directory and PBX adapters from its config and secrets.

use std::path::PathBuf;
use std::sync::Arc;

use crate::directory::{
    CloudOptions, GraphDirectory, LdapDirectory, LdapOptions, LdifDirectory, OktaDirectory,
    ScimDirectory,
};
use crate::domain::config::ProviderConfig;
use crate::domain::{DirectoryConfig, EndpointPolicy, PbxEndpoint, TenantId};
use crate::error::{DirectoryError, PbxError};
use crate::pbx::{HttpPbx, PbxClientOptions, PbxPool};
use crate::ports::{Directory, Pbx, Store, TenantSecrets};
use crate::settings::Settings;

/// Where adapters come from: the one place that knows every provider. Tests swap it to put a
/// failing directory in front of the real engine.
pub trait Connector: Send + Sync {
    fn directory(
        &self,
        config: &DirectoryConfig,
        secrets: &TenantSecrets,
    ) -> Result<Box<dyn Directory>, DirectoryError>;

    /// The directory of `tenant`: for provider `scim` the users and groups its identity
    /// provider pushed, read from `store` (which config and secrets alone cannot name), else
    /// [`Connector::directory`]'s. What reads a tenant's users (a run, a preview, a
    /// connection test) comes here; the other uses (photos, write-back, login) are refused
    /// for `scim` when its config is written.
    fn tenant_directory(
        &self,
        tenant: &TenantId,
        store: &Arc<dyn Store>,
        config: &DirectoryConfig,
        secrets: &TenantSecrets,
    ) -> Result<Box<dyn Directory>, DirectoryError> {
        match &config.provider {
            ProviderConfig::Scim(_) => Ok(Box::new(ScimDirectory::new(
                store.clone(),
                tenant.clone(),
                config,
            )?)),
            _ => self.directory(config, secrets),
        }
    }

    fn pbx(
        &self,
        endpoint: &PbxEndpoint,
        secrets: &TenantSecrets,
    ) -> Result<Arc<dyn Pbx>, PbxError>;
}

/// The adapters of this build.
#[derive(Debug, Clone, Default)]
pub struct DefaultConnector {
    /// The folder LDIF paths must lie in (`Settings::ldif_dir`). `None` turns the `ldif`
    /// provider off, as on AWS, where a tenant must not read the function's files.
    pub ldif_root: Option<PathBuf>,
    pub pbx_options: PbxClientOptions,
    /// Graph and Okta: operator host overrides, endpoint rules and retry limits.
    pub cloud_options: CloudOptions,
    /// LDAP: endpoint rules, timeouts and page size.
    pub ldap_options: LdapOptions,
    /// The PBX clients' one connection pool (leave it `default()`): a warm function keeps
    /// its connections to the PBX platform from run to run and tenant to tenant.
    pub pbx_pool: PbxPool,
}

impl DefaultConnector {
    /// The adapters under the operator's settings; the `ldif` provider reads only under
    /// `settings.ldif_dir`, and is off without one (Lambda).
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            ldif_root: settings.ldif_dir.clone(),
            ..Self::with_policy(
                settings.endpoint_policy,
                settings.cloud.clone(),
                settings.pbx.clone(),
            )
        }
    }

    /// Every adapter under the same endpoint rule; `cloud` carries the Graph host overrides
    /// and `pbx` the PBX platform's limits.
    pub fn with_policy(policy: EndpointPolicy, cloud: CloudOptions, pbx: PbxClientOptions) -> Self {
        Self {
            ldif_root: None,
            pbx_options: PbxClientOptions {
                endpoint_policy: policy,
                ..pbx
            },
            cloud_options: CloudOptions {
                endpoint_policy: policy,
                ..cloud
            },
            ldap_options: LdapOptions {
                allow_private: policy.allow_private,
                ..LdapOptions::default()
            },
            pbx_pool: PbxPool::default(),
        }
    }
}

impl Connector for DefaultConnector {
    fn directory(
        &self,
        config: &DirectoryConfig,
        secrets: &TenantSecrets,
    ) -> Result<Box<dyn Directory>, DirectoryError> {
        match &config.provider {
            ProviderConfig::Ldap(ldap) => Ok(Box::new(LdapDirectory::new(
                ldap,
                config,
                secrets,
                self.ldap_options,
            )?)),
            ProviderConfig::Ldif(ldif) => Ok(Box::new(LdifDirectory::new(
                ldif,
                config,
                self.ldif_root.as_deref(),
            )?)),
            ProviderConfig::Azure(azure) => Ok(Box::new(GraphDirectory::new(
                azure,
                config,
                secrets,
                &self.cloud_options,
            )?)),
            ProviderConfig::Okta(okta) => Ok(Box::new(OktaDirectory::new(
                okta,
                config,
                secrets,
                &self.cloud_options,
            )?)),
            ProviderConfig::Scim(_) => Err(DirectoryError::NotAvailable(
                "a SCIM directory is what its identity provider pushed: it has no connection"
                    .into(),
            )),
        }
    }

    fn pbx(
        &self,
        endpoint: &PbxEndpoint,
        secrets: &TenantSecrets,
    ) -> Result<Arc<dyn Pbx>, PbxError> {
        let token = secrets
            .pbx_token
            .clone()
            .ok_or_else(|| PbxError::Endpoint("the PBX token is not set".into()))?;
        let client = self.pbx_pool.client(&self.pbx_options)?;
        Ok(Arc::new(HttpPbx::with_client(
            &endpoint.base_url,
            token,
            self.pbx_options.clone(),
            client,
        )?))
    }
}
