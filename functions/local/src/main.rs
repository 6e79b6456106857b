//! `dirsync-local`: the API, the scheduler and the worker in one process (CONTRACTS section 5).

use std::process::ExitCode;

use clap::Parser;
use dirsync::settings::{Deployment, Settings};
use dirsync_local::tokens::{jwt_secret, mint, TokenFor};
use dirsync_local::{Command, LocalError, LocalOptions, LocalService, DEMO_TENANT};

/// Hours the page link's token is valid: a working day.
const PAGE_HOURS: i64 = 8;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(LocalOptions::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("dirsync-local: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: LocalOptions) -> Result<(), LocalError> {
    let settings = Settings::from_env(Deployment::Local)?;
    if let Some(Command::Token {
        tenant,
        operator: _,
        login,
        hours,
    }) = &options.command
    {
        let token_for = match tenant.clone() {
            Some(tenant) if *login => TokenFor::Login(tenant),
            Some(tenant) => TokenFor::Tenant(tenant),
            None => TokenFor::Operator,
        };
        let secret = jwt_secret(&settings, &options.state)?;
        println!("{}", mint(&secret, &token_for, *hours)?);
        return Ok(());
    }
    let secret = jwt_secret(&settings, &options.state)?;
    let service = LocalService::start(options, settings).await?;
    println!(
        "API: http://{}/v1 (a token: dirsync-local token --tenant NAME)",
        service.api_addr
    );
    if service.demo.is_some() {
        // The token rides in the fragment, which the browser never sends to a server.
        let token = mint(
            &secret,
            &TokenFor::Tenant(DEMO_TENANT.to_string()),
            PAGE_HOURS,
        )?;
        // A browser cannot open 0.0.0.0: listening on every address includes the loopback one.
        let mut page = service.api_addr;
        if page.ip().is_unspecified() {
            page.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        println!("Directory Sync page: http://{page}/console#token={token}&tenant={DEMO_TENANT}");
    }
    println!("dirsync-local is running; Ctrl-C stops it.");
    if tokio::signal::ctrl_c().await.is_err() {
        eprintln!("dirsync-local: cannot listen for Ctrl-C; stopping");
    }
    service.shutdown().await;
    Ok(())
}
