//! The end-to-end run of a large tenant: slapd loaded with N users, the PBX simulator (rate
//! limit, latency, faults), DynamoDB (moto's, or dynalite's) behind a metering proxy, Secrets
//! Manager on moto, and the real worker binary under a local Lambda Runtime API, handed SQS
//! events as Lambda hands them. `dirsync-bench -- e2e` runs it with 10,000 users and times it;
//! the worker's `e2e_counts` test runs it with 1,000 and checks the counts.

mod lambda_runtime;
mod meter;
mod organised;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dirsync::directory::{CloudOptions, LdapDirectory, LdapOptions};
use dirsync::domain::{DirectoryConfig, EndpointPolicy, ObjectId, RunRecord, TenantId, Trigger};
use dirsync::pbx::PbxClientOptions;
use dirsync::ports::{Directory, Pbx, Secrets, Store, TenantSecrets};
use dirsync::secrets::{MemorySecrets, SecretsManagerSecrets};
use dirsync::store::{DynamoStore, SqliteStore};
use dirsync::sync::{Connector, DefaultConnector, EngineOptions, RunJob, SyncEngine};
use dirsync_pbx_sim::{PbxSimulator, RunningSimulator, SimStats, SimulatorOptions};
use serde_json::{json, Value};

pub use lambda_runtime::WorkerProcess;
pub use meter::{item_size, DynamoMeter, MeterReport};

use crate::dynalite::Dynalite;
use crate::moto::Moto;
use crate::slapd::{Slapd, SlapdOptions, SUFFIX, SYNC_DN, SYNC_PASSWORD};

const PBX_TOKEN: &str = "e2e-pbx-token-0123456789";
/// The listing page the operator configures: the simulator's largest.
const PBX_PAGE_SIZE: u32 = 500;
pub use organised::organised_ldif;

pub const PEOPLE_OU: &str = "ou=People,dc=example,dc=com";

/// `users` people under ou=People and `extra` more under ou=Extra, all eligible: entryUUID,
/// names, mail, mobile, and a unique 5- or 6-digit telephoneNumber (the extension).
pub fn directory_ldif(users: u32, extra: u32) -> String {
    let mut out = format!("dn: ou=Extra,{SUFFIX}\nobjectClass: organizationalUnit\nou: Extra\n\n");
    for n in 1..=users + extra {
        let ou = if n <= users { "People" } else { "Extra" };
        out.push_str(&format!(
            "dn: uid=u{n},ou={ou},{SUFFIX}\nobjectClass: inetOrgPerson\nuid: u{n}\n\
             entryUUID: 00000000-0000-4000-8000-{n:012}\ncn: Given{n} Family{n}\n\
             givenName: Given{n}\nsn: Family{n}\nmail: user{n}@example.com\n\
             telephoneNumber: {}\nmobile: +1555{n:07}\n\n",
            10_000 + n
        ));
    }
    out
}

/// Which DynamoDB the run's table is on. Secrets Manager is always moto's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DynamoDb {
    Moto,
    /// See [`crate::dynalite`]: for timing a no-op, which moto's Query would swamp.
    Dynalite,
}

/// Every peer of the run, on 127.0.0.1.
pub struct Peers {
    pub slapd: Slapd,
    pub moto: Moto,
    /// Kept running until the peers drop.
    _dynalite: Option<Dynalite>,
    /// In front of the table's DynamoDB: every DynamoDB call of the worker goes through it.
    pub meter: DynamoMeter,
    /// The table, read and written directly (setup and checks: not metered).
    pub store: Arc<DynamoStore>,
    pub simulator: PbxSimulator,
    running: RunningSimulator,
}

/// One tenant of the run: its own PBX account on the simulator.
pub struct BenchTenant {
    pub id: TenantId,
    account: String,
}

impl Peers {
    pub async fn start(users: u32, extra: u32) -> Self {
        Self::start_on(users, extra, DynamoDb::Moto).await
    }

    /// The peers with the table on `dynamodb`.
    pub async fn start_on(users: u32, extra: u32, dynamodb: DynamoDb) -> Self {
        Self::start_with(&directory_ldif(users, extra), dynamodb).await
    }

    /// The peers with slapd holding `ldif`.
    pub async fn start_with(ldif: &str, dynamodb: DynamoDb) -> Self {
        let slapd = Slapd::start(ldif, SlapdOptions::default());
        let moto = Moto::start().await;
        let dynalite = (dynamodb == DynamoDb::Dynalite).then(Dynalite::start);
        let (meter, store) = match &dynalite {
            None => (DynamoMeter::start(&moto.endpoint).await, moto.store().await),
            Some(d) => (DynamoMeter::start(&d.endpoint).await, d.store().await),
        };
        let store = Arc::new(store);
        let simulator = PbxSimulator::new(SimulatorOptions::default());
        let running = simulator
            .serve(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("the PBX simulator");
        Self {
            slapd,
            moto,
            _dynalite: dynalite,
            meter,
            store,
            simulator,
            running,
        }
    }

    /// The provider part of the tenants' config: ldaps to slapd, its CA trusted.
    fn provider(&self) -> Value {
        json!({"type": "ldap", "url": format!("ldaps://localhost:{}", self.slapd.tls_port),
            "ca_pem": self.slapd.ca_pem, "bind_dn": SYNC_DN, "base_dn": SUFFIX,
            "flavor": "openldap"})
    }

    /// A directory config of the tenants, with `overrides` (top-level keys replaced).
    pub fn config(&self, overrides: Value) -> DirectoryConfig {
        let mut body = json!({"provider": self.provider()});
        for (key, value) in overrides.as_object().into_iter().flatten() {
            body[key] = value.clone();
        }
        DirectoryConfig::from_json(
            body.to_string().as_bytes(),
            EndpointPolicy {
                allow_private: true,
            },
        )
        .expect("a valid bench config")
    }

    /// Adds an active tenant with `config`, its own PBX account, and its secrets in Secrets
    /// Manager, as the API would.
    pub async fn tenant(&self, id: &str, config: DirectoryConfig) -> BenchTenant {
        let secrets = SecretsManagerSecrets::new(self.moto.secretsmanager());
        self.add_tenant(id, config, self.store.as_ref(), &secrets)
            .await
    }

    async fn add_tenant(
        &self,
        id: &str,
        config: DirectoryConfig,
        store: &dyn Store,
        secrets: &dyn Secrets,
    ) -> BenchTenant {
        let id = TenantId::parse(id).expect("tenant id");
        let account = format!("{id}-pbx");
        self.simulator.add_account(&account, PBX_TOKEN, 1_000_000);
        let tenant_secrets = TenantSecrets {
            pbx_token: Some(PBX_TOKEN.to_string().into()),
            bind_password: Some(SYNC_PASSWORD.to_string().into()),
            ..TenantSecrets::default()
        };
        secrets
            .put(&id, &tenant_secrets)
            .await
            .expect("tenant secrets");
        let mut tenant = dirsync::domain::Tenant::new(id.clone(), chrono::Utc::now());
        tenant.state = dirsync::domain::TenantState::Active;
        tenant.directory = Some(config);
        tenant.pbx = Some(dirsync::domain::PbxEndpoint {
            base_url: self.running.base_url(&account),
        });
        store.put_tenant(&tenant).await.expect("tenant");
        BenchTenant { id, account }
    }

    /// A tenant synced in this process on the embedded store (local mode's), with the PBX
    /// client paced at `pbx_requests_per_second`: the same sync path without moto.
    pub async fn embedded(
        &self,
        id: &str,
        config: DirectoryConfig,
        pbx_requests_per_second: u32,
    ) -> EmbeddedTenant {
        let store = Arc::new(SqliteStore::in_memory().expect("the embedded store"));
        let secrets = Arc::new(MemorySecrets::new());
        let tenant = self
            .add_tenant(id, config, store.as_ref(), secrets.as_ref())
            .await;
        let policy = EndpointPolicy {
            allow_private: true,
        };
        let connector = DefaultConnector::with_policy(
            policy,
            CloudOptions::default(),
            PbxClientOptions {
                requests_per_second: pbx_requests_per_second,
                page_size: PBX_PAGE_SIZE,
                ..PbxClientOptions::default()
            },
        );
        let pbx_secrets = TenantSecrets {
            pbx_token: Some(PBX_TOKEN.to_string().into()),
            ..TenantSecrets::default()
        };
        let endpoint = dirsync::domain::PbxEndpoint {
            base_url: self.running.base_url(&tenant.account),
        };
        let pbx = connector
            .pbx(&endpoint, &pbx_secrets)
            .expect("the PBX client");
        let engine = SyncEngine::new(
            store.clone(),
            secrets,
            Arc::new(connector),
            EngineOptions::default(),
        );
        EmbeddedTenant {
            engine,
            store,
            pbx,
            tenant,
        }
    }

    /// The LDAP provider alone on `config`: the reference read of the same users.
    pub fn directory(&self, config: &DirectoryConfig) -> LdapDirectory {
        let secrets = TenantSecrets {
            bind_password: Some(SYNC_PASSWORD.to_string().into()),
            ..TenantSecrets::default()
        };
        let options = LdapOptions {
            allow_private: true,
            ..LdapOptions::default()
        };
        crate::ldap_directory(config, &secrets, options)
    }

    /// The environment of the worker Lambda: its table, DynamoDB through the meter and moto
    /// for the rest of AWS, private endpoints allowed, and the PBX's rate limit as the
    /// operator sets it.
    pub fn worker_env(&self, pbx_requests_per_second: u32) -> Vec<(String, String)> {
        [
            ("DIRSYNC_TABLE", self.store.table().to_string()),
            ("DIRSYNC_ALLOW_PRIVATE_ENDPOINTS", "1".into()),
            (
                "DIRSYNC_PBX_REQUESTS_PER_SECOND",
                pbx_requests_per_second.to_string(),
            ),
            ("DIRSYNC_PBX_PAGE_SIZE", PBX_PAGE_SIZE.to_string()),
            ("AWS_ENDPOINT_URL", self.moto.endpoint.clone()),
            ("AWS_ENDPOINT_URL_DYNAMODB", self.meter.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("RUST_LOG", "warn".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// A PBX client of the tenant's account like the worker's, paced at
    /// `pbx_requests_per_second`: for timing PBX calls alone.
    pub fn pbx_client(&self, tenant: &BenchTenant, pbx_requests_per_second: u32) -> Arc<dyn Pbx> {
        let connector = DefaultConnector::with_policy(
            EndpointPolicy {
                allow_private: true,
            },
            CloudOptions::default(),
            PbxClientOptions {
                requests_per_second: pbx_requests_per_second,
                page_size: PBX_PAGE_SIZE,
                ..PbxClientOptions::default()
            },
        );
        let secrets = TenantSecrets {
            pbx_token: Some(PBX_TOKEN.to_string().into()),
            ..TenantSecrets::default()
        };
        let endpoint = dirsync::domain::PbxEndpoint {
            base_url: self.running.base_url(&tenant.account),
        };
        connector.pbx(&endpoint, &secrets).expect("the PBX client")
    }

    pub fn stats(&self, tenant: &BenchTenant) -> SimStats {
        self.simulator.stats(&tenant.account)
    }

    /// The tenant's extensions on the PBX: how many, and whether any number or email repeats.
    pub fn extensions(&self, tenant: &BenchTenant) -> PbxCensus {
        let extensions = self.simulator.extensions(&tenant.account);
        let numbers: BTreeSet<_> = extensions.iter().map(|e| e.number.clone()).collect();
        let emails: BTreeSet<_> = extensions.iter().map(|e| e.email.clone()).collect();
        PbxCensus {
            total: extensions.len(),
            distinct_numbers: numbers.len(),
            distinct_emails: emails.len(),
        }
    }

    pub async fn mapped(&self, tenant: &BenchTenant) -> usize {
        self.store
            .all_mappings(&tenant.id)
            .await
            .expect("mappings")
            .len()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PbxCensus {
    pub total: usize,
    pub distinct_numbers: usize,
    pub distinct_emails: usize,
}

/// A tenant of [`Peers::embedded`].
pub struct EmbeddedTenant {
    engine: SyncEngine,
    store: Arc<SqliteStore>,
    /// A PBX client like the run's, for timing the listing alone.
    pbx: Arc<dyn Pbx>,
    pub tenant: BenchTenant,
}

impl EmbeddedTenant {
    /// One scheduled run: its record and how long it took.
    pub async fn run(&self) -> (RunRecord, Duration) {
        let started = Instant::now();
        let record = self
            .engine
            .run(
                &self.tenant.id,
                dirsync::domain::RunId::new(),
                Trigger::Schedule,
            )
            .await
            .expect("an embedded run");
        (record, started.elapsed())
    }

    /// Forgets the read state its last run kept: the next run reads everything in full.
    pub async fn forget_reads(&self) {
        forget_reads(self.store.as_ref(), &self.tenant).await;
    }

    /// The run's other two reads alone: the PBX listing and the mappings.
    pub async fn reads(&self) -> (Duration, Duration) {
        let started = Instant::now();
        self.pbx.list_extensions().await.expect("the PBX listing");
        let listing = started.elapsed();
        let started = Instant::now();
        self.store
            .all_mappings(&self.tenant.id)
            .await
            .expect("the mappings");
        (listing, started.elapsed())
    }
}

/// Forgets the read state `tenant`'s last run kept in `store`, so that its next run reads the
/// directory and the PBX in full (a first run's reads, or the daily full read's without a
/// 304): what the no-op benchmarks time, the change-only figures being `incremental`'s.
pub async fn forget_reads(store: &dyn Store, tenant: &BenchTenant) {
    store
        .delete_read_state(&tenant.id)
        .await
        .expect("the kept read state forgotten");
}

/// One scheduled run of `tenant` in the worker process: the record it left, how long the
/// invocation took, the DynamoDB calls it made and what the PBX saw.
pub struct RunResult {
    pub record: RunRecord,
    pub took: Duration,
    pub dynamodb: MeterReport,
    pub pbx: SimStats,
}

impl RunResult {
    pub fn pbx_writes(&self) -> u64 {
        self.pbx.posts + self.pbx.patches + self.pbx.deletes
    }

    /// The object ids skipped for `reason` (snake case, as in the plan).
    pub fn skipped(&self, reason: &str) -> BTreeSet<ObjectId> {
        let skipped = self.record.plan.iter().flat_map(|p| p.skipped.iter());
        skipped
            .filter(|s| serde_json::to_value(s.reason).ok() == Some(json!(reason)))
            .map(|s| s.object_id.clone())
            .collect()
    }
}

/// Runs a scheduled sync of `tenant` through `worker` and collects what it did.
pub async fn scheduled_run(
    peers: &Peers,
    worker: &mut WorkerProcess,
    tenant: &BenchTenant,
) -> RunResult {
    let job = RunJob::new(tenant.id.clone(), Trigger::Schedule);
    let event = sqs_event(&job);
    let before = peers.stats(tenant);
    peers.meter.take();
    let started = Instant::now();
    let answer = worker.invoke(event).await.expect("the worker answers");
    let took = started.elapsed();
    assert_eq!(
        answer["batchItemFailures"],
        json!([]),
        "the worker finished the job"
    );
    let dynamodb = peers.meter.take();
    let after = peers.stats(tenant);
    let record = peers
        .store
        .get_run(&tenant.id, &job.run_id)
        .await
        .expect("the run record")
        .expect("the run was recorded");
    RunResult {
        record,
        took,
        dynamodb,
        pbx: SimStats {
            gets: after.gets - before.gets,
            posts: after.posts - before.posts,
            patches: after.patches - before.patches,
            puts: after.puts - before.puts,
            deletes: after.deletes - before.deletes,
            writes: after.writes - before.writes,
            injected_429: after.injected_429 - before.injected_429,
            injected_5xx: after.injected_5xx - before.injected_5xx,
            rate_limited: after.rate_limited - before.rate_limited,
            max_in_flight: after.max_in_flight,
            welcome_emails: after.welcome_emails - before.welcome_emails,
            not_modified: after.not_modified - before.not_modified,
        },
    }
}

/// The SQS event Lambda hands the worker for one job of the FIFO queue.
fn sqs_event(job: &RunJob) -> Value {
    json!({"Records": [{
        "messageId": job.run_id.to_string(),
        "receiptHandle": "handle",
        "body": serde_json::to_string(job).expect("a job as JSON"),
        "attributes": {"MessageGroupId": job.tenant.to_string(), "ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:dirsync-runs.fifo",
        "awsRegion": "us-east-1",
    }]})
}

/// The worker started in `dir` with `env`: see [`WorkerProcess::start`].
pub async fn start_worker(binary: &Path, env: &[(String, String)], dir: &Path) -> WorkerProcess {
    WorkerProcess::start(binary, env, &dir.join("worker.log")).await
}

/// One full read of `directory`: how long it took and how many users it gave.
pub async fn bare_read(directory: &LdapDirectory) -> (Duration, usize) {
    let started = Instant::now();
    let snapshot = directory.read_users().await.expect("the bare read");
    assert!(snapshot.complete, "the bare read is complete");
    (started.elapsed(), snapshot.users.len())
}
