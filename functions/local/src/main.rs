//! `dirsync-local`: the API, the scheduler and the worker in one process (CONTRACTS section 5).

use std::process::ExitCode;

use clap::Parser;
use dirsync_local::tokens::{jwt_secret, mint, TokenFor};
use dirsync_local::{Command, LocalOptions, LocalService};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let options = LocalOptions::parse();
    if let Some(Command::Token {
        tenant,
        operator: _,
        hours,
    }) = &options.command
    {
        let token_for = tenant.clone().map_or(TokenFor::Operator, TokenFor::Tenant);
        return match jwt_secret(&options.state).and_then(|s| mint(&s, &token_for, *hours)) {
            Ok(token) => {
                println!("{token}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("dirsync-local: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let service = match LocalService::start(options).await {
        Ok(service) => service,
        Err(error) => {
            eprintln!("dirsync-local: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "API: http://{}/v1 (a token: dirsync-local token --tenant NAME)",
        service.api_addr
    );
    println!("dirsync-local is running; Ctrl-C stops it.");
    if tokio::signal::ctrl_c().await.is_err() {
        eprintln!("dirsync-local: cannot listen for Ctrl-C; stopping");
    }
    service.shutdown().await;
    ExitCode::SUCCESS
}
