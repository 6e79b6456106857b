//! dirsync benchmarks. `cargo run --release -p dirsync-bench -- NAME` prints a table and
//! appends it, with the machine's core count and the date, to BENCHMARKS.md. NAME: `planner`;
//! `cloud` (Graph and Okta reads); `ldap` (slapd direct and through an SSH tunnel, against
//! ldapsearch); `scheduler` and `worker` (on moto); `e2e` (the whole sync path of a 10,000-user
//! tenant in the worker process, with the planner alone and `noop`); `noop` (the no-op sync
//! against the bare directory read, alone); `organisation` (10,000 users in 200 OUs and 63
//! groups: the no-op with organizations and groups against the one without); `scim` (1,000
//! SCIM pushes in one minute to the local service, and the runs they make); or `all`.

mod alloc;
mod cloud;
mod e2e;
mod incremental;
mod ldap;
mod noop;
mod organisation;
mod planner;
mod scheduler;
mod scim_burst;
mod worker;

use std::io::Write;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// One row of a results table.
pub struct Row {
    pub figure: String,
    pub value: String,
    pub target: String,
    pub met: bool,
}

fn main() -> ExitCode {
    let which = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    let rows = match which.as_str() {
        "planner" => planner::run(),
        "cloud" => cloud::run(),
        "ldap" => ldap::run(),
        "scheduler" => scheduler::run(),
        "worker" => worker::run(),
        "e2e" => [planner::run(), e2e::run(), organisation::run()]
            .into_iter()
            .flatten()
            .collect(),
        "noop" => noop::run(),
        "incremental" => e2e::incremental(),
        "organisation" => organisation::run(),
        "scim" => scim_burst::run(),
        "all" => [
            planner::run(),
            cloud::run(),
            ldap::run(),
            scheduler::run(),
            worker::run(),
            e2e::run(),
            organisation::run(),
            scim_burst::run(),
        ]
        .into_iter()
        .flatten()
        .collect(),
        other => {
            eprintln!(
                "unknown benchmark '{other}'; known: planner, cloud, ldap, scheduler, worker, e2e, noop, organisation, scim, all"
            );
            return ExitCode::FAILURE;
        }
    };
    let table = render(&which, &rows);
    print!("{table}");
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open("BENCHMARKS.md")
        .and_then(|mut f| f.write_all(table.as_bytes()));
    if let Err(e) = appended {
        eprintln!("cannot append to BENCHMARKS.md: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn render(which: &str, rows: &[Row]) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut out = format!(
        "\n## `{which}` — {} — {cores} cores\n\n| figure | value | target | met |\n|---|---|---|---|\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    for r in rows {
        let met = if r.met { "yes" } else { "NO" };
        out.push_str(&format!(
            "| {} | {} | {} | {met} |\n",
            r.figure, r.value, r.target
        ));
    }
    out
}
