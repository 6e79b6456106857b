//! `pbx-sim`: the PBX simulator as a standalone server, for trying dirsync by hand and for
//! load tests. Serves until Ctrl-C.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use dirsync_pbx_sim::{PbxSimulator, SimulatorOptions};

/// An extension quota large enough not to get in the way unless asked for.
const DEFAULT_QUOTA: usize = 10_000;

#[derive(Parser, Debug)]
#[command(
    name = "pbx-sim",
    about = "A simulated hosted PBX speaking the dirsync PBX REST contract"
)]
struct Args {
    /// Address to listen on; loopback only unless --allow-remote.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// An account as NAME:TOKEN[:QUOTA] (the token may not contain ':'). Repeatable.
    #[arg(long = "account", required = true, value_parser = parse_account)]
    accounts: Vec<AccountArg>,
    /// Share of requests answered 429/500/503 before handling (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    fault_rate: f64,
    /// Share of writes applied but answered 500 (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    fault_after_commit_rate: f64,
    /// Delay added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Requests per second and account beyond which the answer is 429.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Seed of the fault dice.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Serve the extension listing without ETags (a PBX that ignores If-None-Match).
    #[arg(long)]
    no_etags: bool,
    /// Allow listening on a non-loopback address (the simulator has no TLS).
    #[arg(long)]
    allow_remote: bool,
}

#[derive(Clone, Debug)]
struct AccountArg {
    name: String,
    token: String,
    quota: usize,
}

fn parse_account(value: &str) -> Result<AccountArg, String> {
    let mut parts = value.splitn(3, ':');
    let name = parts.next().unwrap_or_default();
    let token = parts.next().unwrap_or_default();
    let quota = match parts.next() {
        None => DEFAULT_QUOTA,
        Some(quota) => quota
            .parse()
            .map_err(|_| "QUOTA must be a whole number".to_string())?,
    };
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !name_ok {
        return Err("NAME must be letters, digits, '-' or '_'".into());
    }
    if token.is_empty() {
        return Err("expected NAME:TOKEN[:QUOTA] with a non-empty TOKEN".into());
    }
    Ok(AccountArg {
        name: name.to_string(),
        token: token.to_string(),
        quota,
    })
}

fn parse_rate(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err("must be a number from 0.0 to 1.0".into()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if !args.listen.ip().is_loopback() && !args.allow_remote {
        eprintln!(
            "pbx-sim: refusing to listen on {} (not loopback); pass --allow-remote to do it anyway",
            args.listen
        );
        return ExitCode::from(2);
    }
    let sim = PbxSimulator::new(SimulatorOptions {
        fault_rate: args.fault_rate,
        fault_after_commit_rate: args.fault_after_commit_rate,
        latency: Duration::from_millis(args.latency_ms),
        rate_limit_per_second: args.rate_limit,
        seed: args.seed,
        etags: !args.no_etags,
        ..SimulatorOptions::default()
    });
    for account in &args.accounts {
        sim.add_account(&account.name, &account.token, account.quota);
    }
    let server = match sim.serve(args.listen).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("pbx-sim: cannot listen on {}: {error}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    for account in &args.accounts {
        println!(
            "account {} (quota {}): {}",
            account.name,
            account.quota,
            server.base_url(&account.name)
        );
    }
    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("pbx-sim: cannot wait for Ctrl-C: {error}");
    }
    match server.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pbx-sim: server error: {error}");
            ExitCode::FAILURE
        }
    }
}
