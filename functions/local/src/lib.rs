//! The whole service in one process: embedded SQLite store, file secrets, the built-in PBX
//! simulator, an in-process queue with its worker, and the scheduler loop.

mod demo;
mod report;
pub mod tokens;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dirsync::api::{router, ApiState, Auth};
use dirsync::private_fs;
use dirsync::secrets::LocalFileSecrets;
use dirsync::settings::{Settings, SettingsError};
use dirsync::store::SqliteStore;
use dirsync::sync::{
    dispatch_due, run_worker, DefaultConnector, EngineOptions, InProcessQueue, Redelivery,
    SyncEngine,
};
use dirsync_pbx_sim::{PbxSimulator, RunningSimulator, SimulatorOptions};
use tokio::task::JoinHandle;

pub use demo::{DemoOutcome, DEMO_TENANT};

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "dirsync-local",
    about = "Run dirsync locally: API, scheduler and worker in one process"
)]
pub struct LocalOptions {
    /// Address of the provisioning API.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Folder of the embedded store and local secrets (made private: 0700, files 0600), and
    /// the folder `ldif` paths are read from unless `DIRSYNC_LDIF_DIR` says otherwise.
    #[arg(long, default_value = ".dirsync")]
    pub state: PathBuf,
    /// Do not set up the demo tenant.
    #[arg(long)]
    pub no_demo: bool,
    /// Seconds between scheduler ticks.
    #[arg(long, default_value_t = 30)]
    pub tick_seconds: u64,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Print an API token signed with this state folder's secret (or DIRSYNC_JWT_SECRET).
    Token {
        /// The tenant the token is for.
        #[arg(
            long,
            conflicts_with = "operator",
            required_unless_present = "operator"
        )]
        tenant: Option<String>,
        /// A token of the SaaS operator (scope dirsync:operator).
        #[arg(long)]
        operator: bool,
        /// The PBX platform's token for the tenant: scope dirsync:login (`POST .../auth/verify`).
        #[arg(long, requires = "tenant")]
        login: bool,
        /// Hours the token is valid.
        #[arg(long, default_value_t = 24)]
        hours: i64,
    },
}

impl LocalOptions {
    /// The embedded defaults, with the state in `state`: for tests and embedding.
    pub fn with_state(state: PathBuf) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            state,
            no_demo: true,
            tick_seconds: 30,
            command: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot prepare the state folder {path}: {source}")]
    State {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid setting: {0}")]
    Settings(#[from] SettingsError),
    #[error("cannot start the PBX simulator: {0}")]
    Simulator(#[source] std::io::Error),
    #[error(transparent)]
    Store(#[from] dirsync::error::StoreError),
    #[error(transparent)]
    Secrets(#[from] dirsync::error::SecretsError),
    #[error(transparent)]
    Sync(#[from] dirsync::error::SyncError),
    #[error("cannot set up the demo tenant: {0}")]
    Demo(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot sign the token: {0}")]
    Token(#[source] jsonwebtoken::errors::Error),
}

pub struct LocalService {
    pub engine: SyncEngine,
    pub store: Arc<SqliteStore>,
    pub simulator: PbxSimulator,
    pub simulator_addr: SocketAddr,
    pub queue: InProcessQueue,
    /// Where the provisioning API listens.
    pub api_addr: SocketAddr,
    /// The demo's two first runs, when the demo was set up.
    pub demo: Option<DemoOutcome>,
    running_simulator: RunningSimulator,
    tasks: Vec<JoinHandle<()>>,
}

impl LocalService {
    /// Starts everything under the operator's `settings` (read with `Deployment::Local`).
    pub async fn start(options: LocalOptions, mut settings: Settings) -> Result<Self, LocalError> {
        let state_error = |source| LocalError::State {
            path: options.state.display().to_string(),
            source,
        };
        private_fs::ensure_private_dir(&options.state).map_err(state_error)?;
        // Locally the LDIF folder defaults to the state folder (CONTRACTS section 5).
        let ldif_root = settings
            .ldif_dir
            .get_or_insert_with(|| options.state.clone())
            .clone();
        let store = Arc::new(SqliteStore::open(&options.state.join("dirsync.db"))?);
        let secrets = Arc::new(LocalFileSecrets::new(options.state.join("secrets")));
        let simulator = PbxSimulator::new(SimulatorOptions::default());
        let running_simulator = simulator
            .serve(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(LocalError::Simulator)?;
        let simulator_addr = running_simulator.addr();
        let connector = DefaultConnector::from_settings(&settings);
        let engine = SyncEngine::new(
            store.clone(),
            secrets.clone(),
            Arc::new(connector),
            EngineOptions {
                full_read_every: settings.full_read_every,
                ..EngineOptions::default()
            },
        );
        let demo = if options.no_demo {
            None
        } else {
            Some(
                demo::set_up(
                    &engine,
                    store.as_ref(),
                    secrets.as_ref(),
                    &simulator,
                    simulator_addr,
                    &ldif_root,
                )
                .await?,
            )
        };
        let (queue, jobs) = InProcessQueue::new();
        let api = ApiState {
            store: store.clone(),
            secrets: secrets.clone(),
            engine: engine.clone(),
            queue: Arc::new(queue.clone()),
            policy: settings.endpoint_policy,
            ldif_root: Some(ldif_root),
            auth: Arc::new(Auth::hs256(&tokens::jwt_secret(&settings, &options.state)?)),
            test_timeout: Duration::from_secs(30),
        };
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|source| LocalError::Listen {
                addr: options.listen,
                source,
            })?;
        let api_addr = listener.local_addr().map_err(|source| LocalError::Listen {
            addr: options.listen,
            source,
        })?;
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router(api)).await {
                tracing::error!(error = %error, "the API server stopped");
            }
        });
        let worker = tokio::spawn(run_worker(
            engine.clone(),
            jobs,
            Arc::new(report::print_run),
            Redelivery::default(),
        ));
        let scheduler = tokio::spawn(scheduler_loop(
            store.clone(),
            queue.clone(),
            Duration::from_secs(options.tick_seconds.max(1)),
        ));
        Ok(Self {
            engine,
            store,
            simulator,
            simulator_addr,
            queue,
            api_addr,
            demo,
            running_simulator,
            tasks: vec![worker, scheduler, server],
        })
    }

    /// The simulator URL of a PBX account.
    pub fn simulator_base_url(&self, account: &str) -> String {
        PbxSimulator::base_url(self.simulator_addr, account)
    }

    pub async fn shutdown(self) {
        for task in self.tasks {
            task.abort();
        }
        if let Err(error) = self.running_simulator.shutdown().await {
            tracing::warn!(error = %error, "PBX simulator did not stop cleanly");
        }
    }
}

async fn scheduler_loop(store: Arc<SqliteStore>, queue: InProcessQueue, tick: Duration) {
    let mut interval = tokio::time::interval(tick);
    loop {
        interval.tick().await;
        if let Err(error) = dispatch_due(store.as_ref(), &queue, chrono::Utc::now()).await {
            tracing::warn!(error = %error, "scheduler tick failed");
        }
    }
}
