//! `dirsync-local`: the API, the scheduler and the worker in one process (CONTRACTS section 5).

use std::process::ExitCode;

use clap::Parser;
use dirsync_local::{LocalOptions, LocalService};

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
    let service = match LocalService::start(options).await {
        Ok(service) => service,
        Err(error) => {
            eprintln!("dirsync-local: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("dirsync-local is running; Ctrl-C stops it.");
    if tokio::signal::ctrl_c().await.is_err() {
        eprintln!("dirsync-local: cannot listen for Ctrl-C; stopping");
    }
    service.shutdown().await;
    ExitCode::SUCCESS
}
