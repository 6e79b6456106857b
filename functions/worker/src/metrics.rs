//! One CloudWatch Embedded Metric Format line per run: CloudWatch Logs turns it into metrics
//! (namespace `dirsync`, dimension `Outcome`) with no API call. The tenant and run id ride as
//! properties, not dimensions, so metrics stay cheap with 10,000 tenants.

use std::time::Duration;

use dirsync::domain::{RunSummary, TenantId};
use serde_json::json;

pub fn emf_line(tenant: &TenantId, summary: &RunSummary, took: Duration) -> String {
    let counts = &summary.counts;
    let outcome = serde_json::to_value(summary.outcome).unwrap_or_default();
    json!({
        "_aws": {
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": "dirsync",
                "Dimensions": [["Outcome"]],
                "Metrics": [
                    {"Name": "Created", "Unit": "Count"},
                    {"Name": "Updated", "Unit": "Count"},
                    {"Name": "Removed", "Unit": "Count"},
                    {"Name": "Skipped", "Unit": "Count"},
                    {"Name": "Conflicts", "Unit": "Count"},
                    {"Name": "DurationMs", "Unit": "Milliseconds"},
                ],
            }],
        },
        "Outcome": outcome,
        "Created": counts.new,
        "Updated": counts.updated,
        "Removed": counts.removed,
        "Skipped": counts.skipped,
        "Conflicts": counts.conflicts,
        "DurationMs": u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        "tenant": tenant.as_str(),
        "run_id": summary.run_id.as_str(),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dirsync::domain::{RunId, Trigger};

    #[test]
    fn every_declared_metric_has_a_value() {
        let tenant = TenantId::parse("acme").unwrap();
        let mut summary = RunSummary::started(RunId::new(), Trigger::Schedule, chrono::Utc::now());
        summary.counts.new = 3;
        let line: serde_json::Value =
            serde_json::from_str(&emf_line(&tenant, &summary, Duration::from_millis(1500)))
                .unwrap();
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "dirsync");
        for metric in declared["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(line[name].is_number(), "{name} has no value");
        }
        assert_eq!(line["Created"], 3);
        assert_eq!(line["DurationMs"], 1500);
        assert_eq!(line["Outcome"], "running");
        assert_eq!(line["tenant"], "acme");
    }
}
