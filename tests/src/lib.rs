//! Test harness: a tenant with an LDIF directory in a temp folder, the real sync engine, the
//! embedded store and the PBX simulator on 127.0.0.1 — each test gets its own.

pub mod cloud_server;
mod graph_login;
pub mod graph_server;
pub mod images;
pub mod leaks;
mod okta_login;
pub mod okta_server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use dirsync::directory::{CloudOptions, LdapOptions};
use dirsync::domain::{
    DirectoryConfig, EndpointPolicy, Outcome, PbxEndpoint, RunId, RunRecord, Tenant, TenantId,
    TenantState, Trigger,
};
use dirsync::pbx::PbxClientOptions;
use dirsync::ports::{Secrets, Store, TenantSecrets};
use dirsync::secrets::MemorySecrets;
use dirsync::store::SqliteStore;
use dirsync::sync::{Connector, DefaultConnector, EngineOptions, SyncEngine};
use dirsync_pbx_sim::{PbxSimulator, RunningSimulator, SimulatorOptions};
use serde_json::json;

pub mod api;
pub mod aws;
pub mod dynalite;
pub mod e2e;
pub mod moto;
pub mod samba;
pub mod scim_client;
pub mod slapd;
pub mod sshd;

pub const TENANT: &str = "acme";
pub const ACCOUNT: &str = "acme";
pub const TOKEN: &str = "test-pbx-token-0123456789";

/// A directory user as the tests describe it; rendered to LDIF by [`ldif`].
#[derive(Debug, Clone)]
pub struct Person {
    pub uuid: String,
    pub given: String,
    pub sn: String,
    pub mail: Option<String>,
    pub phone: Option<String>,
    pub disabled: bool,
}

impl Person {
    /// User `n`: uuid ...-{n:012}, mail user{n}@example.com, extension 1000+n.
    pub fn numbered(n: u32) -> Self {
        Self {
            uuid: format!("00000000-0000-4000-8000-{n:012}"),
            given: format!("Given{n}"),
            sn: format!("Family{n}"),
            mail: Some(format!("user{n}@example.com")),
            phone: Some(format!("{}", 1000 + n)),
            disabled: false,
        }
    }
}

/// An OpenLDAP-style LDIF export of `people`.
pub fn ldif(people: &[Person]) -> String {
    let mut out = String::from("version: 1\n\n");
    for p in people {
        out.push_str(&format!(
            "dn: uid={uuid},ou=People,dc=example,dc=com\nobjectClass: inetOrgPerson\nentryUUID: {uuid}\n\
             cn: {given} {sn}\ngivenName: {given}\nsn: {sn}\n",
            uuid = p.uuid,
            given = p.given,
            sn = p.sn
        ));
        if let Some(mail) = &p.mail {
            out.push_str(&format!("mail: {mail}\n"));
        }
        if let Some(phone) = &p.phone {
            out.push_str(&format!("telephoneNumber: {phone}\n"));
        }
        if p.disabled {
            out.push_str("pwdAccountLockedTime: 20260101000000Z\n");
        }
        out.push('\n');
    }
    out
}

pub struct Harness {
    pub tenant: TenantId,
    pub store: Arc<SqliteStore>,
    pub secrets: Arc<MemorySecrets>,
    pub simulator: PbxSimulator,
    pub simulator_addr: SocketAddr,
    pub engine: SyncEngine,
    pub ldif_path: PathBuf,
    _running: RunningSimulator,
    _dir: tempfile::TempDir,
}

/// Fast retries so that fault tests finish quickly.
pub fn fast_pbx_options() -> PbxClientOptions {
    PbxClientOptions {
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        max_attempts: 10,
        requests_per_second: 10_000,
        endpoint_policy: EndpointPolicy {
            allow_private: true,
        },
        ..PbxClientOptions::default()
    }
}

/// Cloud directory options pointing at test servers (both hosts at `login` and `graph`),
/// private endpoints allowed, fast backoff; `Retry-After` and rate-limit resets are honoured.
pub fn fast_cloud_options(login: Option<String>, graph: Option<String>) -> CloudOptions {
    CloudOptions {
        login_url: login,
        graph_url: graph,
        endpoint_policy: EndpointPolicy {
            allow_private: true,
        },
        max_attempts: 4,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        max_wait: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
    }
}

impl Harness {
    /// A tenant whose config is the defaults plus `overrides` (top-level keys replaced).
    pub async fn new(people: &[Person], overrides: serde_json::Value) -> Self {
        Self::with_connector(people, overrides, EngineOptions::default(), |root| {
            Arc::new(DefaultConnector {
                ldif_root: Some(root),
                pbx_options: fast_pbx_options(),
                // The test peers (slapd, sshd) listen on loopback.
                ldap_options: LdapOptions {
                    allow_private: true,
                    ..LdapOptions::default()
                },
                ..DefaultConnector::default()
            })
        })
        .await
    }

    /// A tenant reading a cloud directory: `overrides` names the provider, `cloud` points
    /// the connector at the test servers, `directory` holds the provider's credentials.
    pub async fn with_cloud(
        overrides: serde_json::Value,
        cloud: CloudOptions,
        directory: TenantSecrets,
    ) -> Self {
        Self::with_cloud_engine(overrides, cloud, directory, EngineOptions::default()).await
    }

    /// [`Harness::with_cloud`] with these engine options.
    pub async fn with_cloud_engine(
        overrides: serde_json::Value,
        cloud: CloudOptions,
        directory: TenantSecrets,
        engine_options: EngineOptions,
    ) -> Self {
        let connector = |root| -> Arc<dyn Connector> {
            Arc::new(DefaultConnector {
                ldif_root: Some(root),
                pbx_options: fast_pbx_options(),
                cloud_options: cloud,
                ..DefaultConnector::default()
            })
        };
        let harness = Self::with_connector(&[], overrides, engine_options, connector).await;
        let secrets = TenantSecrets {
            pbx_token: Some(TOKEN.to_string().into()),
            ..directory
        };
        harness
            .secrets
            .put(&harness.tenant, &secrets)
            .await
            .expect("secrets");
        harness
    }

    pub async fn with_connector(
        people: &[Person],
        overrides: serde_json::Value,
        engine_options: EngineOptions,
        connector: impl FnOnce(PathBuf) -> Arc<dyn Connector>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ldif_path = dir.path().join("directory.ldif");
        std::fs::write(&ldif_path, ldif(people)).expect("write ldif");
        let simulator = PbxSimulator::new(SimulatorOptions::default());
        simulator.add_account(ACCOUNT, TOKEN, 100_000);
        let running = simulator
            .serve(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("simulator");
        let simulator_addr = running.addr();
        let store = Arc::new(SqliteStore::in_memory().expect("store"));
        let secrets = Arc::new(MemorySecrets::default());
        let tenant = TenantId::parse(TENANT).expect("tenant id");
        secrets
            .put(
                &tenant,
                &TenantSecrets {
                    pbx_token: Some(TOKEN.to_string().into()),
                    ..TenantSecrets::default()
                },
            )
            .await
            .expect("secrets");
        let engine = SyncEngine::new(
            store.clone(),
            secrets.clone(),
            connector(dir.path().to_path_buf()),
            engine_options,
        );
        let harness = Self {
            tenant,
            store,
            secrets,
            simulator,
            simulator_addr,
            engine,
            ldif_path,
            _running: running,
            _dir: dir,
        };
        harness.configure(overrides).await;
        harness
    }

    /// Stores the tenant's config: LDIF directory, simulator PBX, and `overrides` (over the
    /// stored revision, so that it can be called again).
    pub async fn configure(&self, overrides: serde_json::Value) {
        let mut tenant = configured_tenant(
            &self.tenant,
            &self.ldif_path,
            self.simulator_addr,
            overrides,
        );
        if let Some(stored) = self
            .store
            .get_tenant(&self.tenant)
            .await
            .expect("read tenant")
        {
            tenant.revision = stored.revision;
        }
        self.store.put_tenant(&tenant).await.expect("store tenant");
    }

    /// The simulator's extension with that number (the tests' users have 1000 + n).
    pub fn extension(&self, number: u32) -> dirsync_pbx_sim::SimExtension {
        let number = number.to_string();
        self.simulator
            .extensions(ACCOUNT)
            .into_iter()
            .find(|e| e.number == number)
            .unwrap_or_else(|| panic!("an extension numbered {number}"))
    }

    pub fn set_directory(&self, people: &[Person]) {
        std::fs::write(&self.ldif_path, ldif(people)).expect("write ldif");
    }

    /// Stores `body`, a directory config in its request form (private endpoints allowed), as
    /// the tenant's directory, keeping its PBX.
    pub async fn use_directory(&self, body: serde_json::Value) {
        let policy = EndpointPolicy {
            allow_private: true,
        };
        let config =
            DirectoryConfig::from_json(body.to_string().as_bytes(), policy).expect("config");
        let mut tenant = self
            .store
            .get_tenant(&self.tenant)
            .await
            .expect("read tenant")
            .expect("tenant");
        tenant.directory = Some(config);
        self.store.put_tenant(&tenant).await.expect("store tenant");
    }

    /// A sync that must succeed.
    pub async fn synced(&self) -> RunRecord {
        let run = self.sync().await;
        assert_eq!(
            run.summary.outcome,
            Outcome::Success,
            "{:?} {:?}",
            run.summary.error,
            run.errors
        );
        run
    }

    pub async fn sync(&self) -> RunRecord {
        self.engine
            .run(&self.tenant, RunId::new(), Trigger::Manual)
            .await
            .expect("run starts")
    }
}

/// An active tenant reading the LDIF file at `ldif_path` into the simulator at
/// `simulator_addr`, with its config the defaults plus `overrides` (top-level keys replaced).
pub fn configured_tenant(
    id: &TenantId,
    ldif_path: &std::path::Path,
    simulator_addr: SocketAddr,
    overrides: serde_json::Value,
) -> Tenant {
    let mut body = json!({"provider": {"type": "ldif", "path": ldif_path.display().to_string()}});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), overrides.as_object()) {
        for (k, v) in extra {
            body.insert(k.clone(), v.clone());
        }
    }
    let config = DirectoryConfig::from_json(
        body.to_string().as_bytes(),
        EndpointPolicy {
            allow_private: true,
        },
    )
    .expect("valid test config");
    let mut tenant = Tenant::new(id.clone(), Utc::now());
    tenant.state = TenantState::Active;
    tenant.directory = Some(config);
    tenant.pbx = Some(PbxEndpoint {
        base_url: PbxSimulator::base_url(simulator_addr, ACCOUNT),
    });
    tenant
}

/// The LDAP reader of an LDAP config, built as the connector builds it, with `options`.
pub fn ldap_directory(
    config: &DirectoryConfig,
    secrets: &dirsync::ports::TenantSecrets,
    options: dirsync::directory::LdapOptions,
) -> dirsync::directory::LdapDirectory {
    let dirsync::domain::config::ProviderConfig::Ldap(ldap) = &config.provider else {
        panic!("an LDAP config, not {}", config.provider.kind());
    };
    dirsync::directory::LdapDirectory::new(ldap, config, secrets, options).expect("directory")
}

/// The Entra ID part of a config.
pub fn azure_of(config: &DirectoryConfig) -> &dirsync::domain::config::AzureConfig {
    match &config.provider {
        dirsync::domain::config::ProviderConfig::Azure(azure) => azure,
        other => panic!("an Entra ID config, not {}", other.kind()),
    }
}

/// The Okta part of a config.
pub fn okta_of(config: &DirectoryConfig) -> &dirsync::domain::config::OktaConfig {
    match &config.provider {
        dirsync::domain::config::ProviderConfig::Okta(okta) => okta,
        other => panic!("an Okta config, not {}", other.kind()),
    }
}
