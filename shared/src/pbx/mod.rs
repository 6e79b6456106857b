//! The PBX side: the REST client dirsync uses ([`HttpPbx`]) and the in-process simulator of
//! a hosted PBX ([`PbxSimulator`]) that tests, benchmarks and local mode run against.

mod http_client;
mod options;
mod responses;
pub mod simulator;

#[cfg(test)]
mod http_client_tests;

pub use http_client::HttpPbx;
pub use options::{CallCounts, PbxClientOptions};
pub use simulator::{PbxSimulator, RunningSimulator, SimExtension, SimStats, SimulatorOptions};
