//! The admin's "test connection": each step of reaching the directory, timed, with a message
//! the admin can act on, and a few users as they would be mapped.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::user::DirectoryUser;

/// Users shown as a sample of what the mapping gives.
pub const SAMPLE_SIZE: usize = 5;

/// The steps of CONTRACTS section 1, in the order a provider goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    Tunnel,
    Connect,
    Tls,
    Bind,
    Token,
    Search,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: CheckName,
    pub ok: bool,
    pub ms: u64,
    pub message: String,
}

impl Check {
    /// A step that started at `started` and ended now; `Err` carries the admin-facing message.
    pub fn timed(name: CheckName, started: Instant, result: Result<String, String>) -> Self {
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (ok, message) = match result {
            Ok(message) => (true, message),
            Err(message) => (false, message),
        };
        Self {
            name,
            ok,
            ms,
            message,
        }
    }
}

/// The outcome of a connection test: `ok` only when every step passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionReport {
    pub ok: bool,
    pub checks: Vec<Check>,
    pub sample: Vec<DirectoryUser>,
}

impl ConnectionReport {
    pub fn new(checks: Vec<Check>, mut sample: Vec<DirectoryUser>) -> Self {
        sample.truncate(SAMPLE_SIZE);
        Self {
            ok: !checks.is_empty() && checks.iter().all(|c| c.ok),
            checks,
            sample,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_only_when_every_step_passed() {
        let started = Instant::now();
        let pass = Check::timed(CheckName::Connect, started, Ok("connected".into()));
        let fail = Check::timed(CheckName::Bind, started, Err("bind failed".into()));
        assert!(ConnectionReport::new(vec![pass.clone()], vec![]).ok);
        assert!(!ConnectionReport::new(vec![pass, fail], vec![]).ok);
        assert!(
            !ConnectionReport::new(vec![], vec![]).ok,
            "no step is no proof"
        );
    }
}
