//! The cloud directories: 10,000 users read from the Graph and Okta test servers (in this
//! process, on 127.0.0.1), with the requests each read took, its wall time and peak heap.

use std::time::Instant;

use dirsync::directory::{GraphDirectory, OktaDirectory};
use dirsync::domain::{DirectoryConfig, EndpointPolicy};
use dirsync::ports::{Directory, TenantSecrets};
use dirsync_integration_tests::fast_cloud_options;
use dirsync_integration_tests::graph_server::{graph_user, GraphServer, GraphState};
use dirsync_integration_tests::okta_server::{okta_user, OktaServer, OktaState};
use serde_json::json;

use crate::{alloc, Row};

const USERS: u32 = 10_000;

pub fn run() -> Vec<Row> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut rows = runtime.block_on(graph());
    rows.extend(runtime.block_on(okta()));
    rows
}

fn config(body: serde_json::Value) -> DirectoryConfig {
    let policy = EndpointPolicy {
        allow_private: true,
    };
    DirectoryConfig::from_json(body.to_string().as_bytes(), policy).expect("bench config")
}

async fn graph() -> Vec<Row> {
    let state = GraphState::new((1..=USERS).map(graph_user).collect());
    let secret = state.client_secret.clone();
    let server = GraphServer::start(state).await;
    let config = config(json!({"provider": {"type": "azure",
        "tenant_id": "contoso.onmicrosoft.com", "client_id": "11111111-2222-3333-4444-555555555555"}}));
    let secrets = TenantSecrets {
        client_secret: Some(secret.into()),
        ..TenantSecrets::default()
    };
    let options = fast_cloud_options(Some(server.url()), Some(server.url()));
    let directory = GraphDirectory::new(
        dirsync_integration_tests::azure_of(&config),
        &config,
        &secrets,
        &options,
    )
    .expect("graph directory");
    let base = alloc::reset_peak();
    let start = Instant::now();
    let snapshot = directory.read_users().await.expect("graph read");
    let elapsed = start.elapsed();
    let peak = alloc::peak() - base;
    let pages = server.with(|s| s.log.len());
    rows(
        "Graph",
        snapshot.users.len(),
        pages,
        11,
        directory.requests(),
        elapsed,
        peak,
    )
}

async fn okta() -> Vec<Row> {
    let state = OktaState::new((1..=USERS).map(|n| okta_user(n, "ACTIVE")).collect());
    let token = state.api_token.clone();
    let server = OktaServer::start(state).await;
    let config = config(json!({"provider": {"type": "okta", "org_url": server.org_url()}}));
    let secrets = TenantSecrets {
        api_token: Some(token.into()),
        ..TenantSecrets::default()
    };
    let options = fast_cloud_options(None, None);
    let directory = OktaDirectory::new(
        dirsync_integration_tests::okta_of(&config),
        &config,
        &secrets,
        &options,
    )
    .expect("okta directory");
    let base = alloc::reset_peak();
    let start = Instant::now();
    let snapshot = directory.read_users().await.expect("okta read");
    let elapsed = start.elapsed();
    let peak = alloc::peak() - base;
    let pages = server.with(|s| s.log.len());
    rows(
        "Okta",
        snapshot.users.len(),
        pages,
        50,
        directory.requests(),
        elapsed,
        peak,
    )
}

fn rows(
    vendor: &str,
    users: usize,
    pages: usize,
    expected_pages: usize,
    requests: u64,
    elapsed: std::time::Duration,
    peak: usize,
) -> Vec<Row> {
    let ms = elapsed.as_secs_f64() * 1000.0;
    let mb = peak as f64 / (1024.0 * 1024.0);
    vec![
        Row {
            figure: format!("{vendor}: pages requested to read {users} users (HTTP requests, retries and token requests included: {requests})"),
            value: pages.to_string(),
            target: format!("= {expected_pages}"),
            met: pages == expected_pages && users == USERS as usize,
        },
        Row {
            figure: format!("{vendor}: wall time of the read (test server on 127.0.0.1, no latency)"),
            value: format!("{ms:.0} ms"),
            target: "< 5000 ms".into(),
            met: ms < 5000.0,
        },
        Row {
            figure: format!("{vendor}: peak heap during the read (client and in-process test server)"),
            value: format!("{mb:.1} MB"),
            target: "< 128 MB".into(),
            met: mb < 128.0,
        },
    ]
}
