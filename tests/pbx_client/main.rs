//! `HttpPbx` against the simulator on 127.0.0.1:0: the calls, then retries and limits.

mod calls;
mod etag;
mod objects;
mod phonebook;
mod resilience;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dirsync::domain::plan::{ConflictReason, ExtensionPatch};
use dirsync::domain::{EndpointPolicy, ExtensionId, NewExtension, MANAGED_BY};
use dirsync::error::PbxError;
use dirsync::pbx::{CallCounts, HttpPbx, PbxClientOptions};
use dirsync::ports::Pbx;
use dirsync_pbx_sim::{Forwarding, PbxSimulator, RunningSimulator, SimExtension, SimulatorOptions};
use secrecy::SecretString;

const TOKEN: &str = "s3cr3t-pbx-token-XYZ";

fn fast() -> PbxClientOptions {
    PbxClientOptions {
        base_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(10),
        requests_per_second: 10_000,
        endpoint_policy: EndpointPolicy {
            allow_private: true,
        },
        ..PbxClientOptions::default()
    }
}

async fn start(options: SimulatorOptions, quota: usize) -> (PbxSimulator, RunningSimulator) {
    let sim = PbxSimulator::new(options);
    sim.add_account("acme", TOKEN, quota);
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    (sim, server)
}

fn client(server: &RunningSimulator, options: PbxClientOptions) -> HttpPbx {
    HttpPbx::new(&server.base_url("acme"), SecretString::from(TOKEN), options).unwrap()
}

fn new_ext(number: &str, email: &str) -> NewExtension {
    NewExtension {
        job_title: Default::default(),
        send_welcome_email: false,
        organization_id: Default::default(),
        number: number.into(),
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        email: Some(email.into()),
        mobile: None,
        managed_by: MANAGED_BY.into(),
    }
}
