//! What local mode prints about runs.

use dirsync::domain::RunRecord;
use dirsync::sync::RunJob;

/// One line per finished run, for runs the scheduler or the API started.
pub fn print_run(job: &RunJob, record: &RunRecord) {
    let s = &record.summary;
    println!(
        "[{}] run {} ({}): {}: {}",
        job.tenant,
        s.run_id,
        contract_name(&s.trigger),
        contract_name(&s.outcome),
        s.summary
    );
}

/// A run with the users it skipped and the conflicts it met, each with its reason.
pub fn print_details(title: &str, record: &RunRecord) {
    let s = &record.summary;
    println!("{title}: {} ({})", s.summary, contract_name(&s.outcome));
    if let Some(error) = &s.error {
        println!("  error: {error}");
    }
    let Some(plan) = &record.plan else {
        return;
    };
    for skipped in &plan.skipped {
        println!(
            "  skipped {}: {}",
            skipped.name,
            contract_name(&skipped.reason)
        );
    }
    for conflict in plan.conflicts.iter().chain(&record.apply_conflicts) {
        println!(
            "  conflict {}: {}",
            conflict.name,
            contract_name(&conflict.reason)
        );
    }
    for error in &record.errors {
        println!(
            "  failed {} ({:?}): {}",
            error.name, error.kind, error.message
        );
    }
}

/// A reason as the API and CONTRACTS spell it (`missing_email`, `number_taken`, ...).
fn contract_name(reason: &impl serde::Serialize) -> String {
    match serde_json::to_value(reason) {
        Ok(serde_json::Value::String(name)) => name,
        _ => "unknown".to_string(),
    }
}
