//! The demo tenant: `examples/demo.ldif` synced into the built-in PBX simulator.

use std::net::SocketAddr;
use std::path::Path;

use chrono::Utc;
use dirsync::domain::{
    DirectoryConfig, EndpointPolicy, PbxEndpoint, RunId, RunRecord, Tenant, TenantId, TenantState,
    Trigger,
};
use dirsync::ports::{Secrets, Store};
use dirsync::private_fs;
use dirsync::sync::{first_run, SyncEngine};
use dirsync_pbx_sim::PbxSimulator;
use rand::distr::{Alphanumeric, SampleString};

use crate::{report, LocalError};

/// Embedded so that the demo works from any working directory.
const DEMO_LDIF: &str = include_str!("../../../examples/demo.ldif");
/// Its name in the LDIF folder; the config names it relative to that folder.
const DEMO_LDIF_FILE: &str = "demo.ldif";
pub const DEMO_TENANT: &str = "demo";
/// PBX extensions the demo's simulated PBX account may hold.
const DEMO_QUOTA: usize = 200;

/// The demo's first run, and the second that shows a no-op.
#[derive(Debug, Clone)]
pub struct DemoOutcome {
    pub first: RunRecord,
    pub second: RunRecord,
    /// POST, PATCH and DELETE calls the simulator received during the second run.
    pub second_run_pbx_writes: u64,
}

pub async fn set_up(
    engine: &SyncEngine,
    store: &dyn Store,
    secrets: &dyn Secrets,
    simulator: &PbxSimulator,
    simulator_addr: SocketAddr,
    ldif_root: &Path,
) -> Result<DemoOutcome, LocalError> {
    let state_error = |source| LocalError::State {
        path: ldif_root.display().to_string(),
        source,
    };
    // The export goes where `ldif` paths may be read from (the state folder by default).
    let ldif_path = std::path::absolute(ldif_root.join(DEMO_LDIF_FILE)).map_err(state_error)?;
    private_fs::write_private_file(&ldif_path, DEMO_LDIF.as_bytes()).map_err(state_error)?;

    let id = TenantId::parse(DEMO_TENANT).map_err(|e| LocalError::Demo(e.to_string()))?;
    let body = serde_json::json!({
        "provider": {"type": "ldif", "path": DEMO_LDIF_FILE},
        "extension_numbers": {"mode": "attribute", "pattern": "(\\d{3,6})$"},
    });
    let policy = EndpointPolicy {
        allow_private: true,
    };
    let config = DirectoryConfig::from_json(body.to_string().as_bytes(), policy)
        .map_err(|e| LocalError::Demo(e.to_string()))?;

    let token = Alphanumeric.sample_string(&mut rand::rng(), 32);
    simulator.add_account(DEMO_TENANT, &token, DEMO_QUOTA);
    let mut tenant_secrets = secrets.get(&id).await?.unwrap_or_default();
    tenant_secrets.pbx_token = Some(token.into());
    secrets.put(&id, &tenant_secrets).await?;

    let mut tenant = store
        .get_tenant(&id)
        .await?
        .unwrap_or_else(|| Tenant::new(id.clone(), Utc::now()));
    tenant.state = TenantState::Active;
    tenant.directory = Some(config);
    tenant.pbx = Some(PbxEndpoint {
        base_url: PbxSimulator::base_url(simulator_addr, DEMO_TENANT),
    });
    tenant.next_sync_at = None;
    store.put_tenant(&tenant).await?;

    println!(
        "Demo tenant '{DEMO_TENANT}': {} -> built-in PBX simulator",
        ldif_path.display()
    );
    let first = engine.run(&id, RunId::new(), Trigger::Manual).await?;
    report::print_details("First sync", &first);

    let writes_before = write_calls(simulator);
    let second = engine.run(&id, RunId::new(), Trigger::Manual).await?;
    let second_run_pbx_writes = write_calls(simulator) - writes_before;
    println!(
        "Second sync: {} ({second_run_pbx_writes} PBX write calls)",
        second.summary.summary
    );

    // From here on the scheduler keeps the demo in sync on its schedule.
    if let Some(mut tenant) = store.get_tenant(&id).await? {
        let schedule = tenant
            .directory
            .as_ref()
            .map(|d| d.schedule.clone())
            .unwrap_or_default();
        tenant.next_sync_at = Some(first_run(&schedule, &id, Utc::now()));
        store.put_tenant(&tenant).await?;
    }
    println!(
        "PBX simulator: {} (bearer token in the local secret store)",
        PbxSimulator::base_url(simulator_addr, DEMO_TENANT)
    );
    Ok(DemoOutcome {
        first,
        second,
        second_run_pbx_writes,
    })
}

/// POST, PATCH and DELETE requests the demo account received, refused ones included.
fn write_calls(simulator: &PbxSimulator) -> u64 {
    let stats = simulator.stats(DEMO_TENANT);
    stats.posts + stats.patches + stats.deletes
}
