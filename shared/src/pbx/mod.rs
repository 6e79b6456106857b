//! The PBX side: the REST client dirsync uses ([`HttpPbx`]). The simulator of a hosted PBX
//! that tests, benchmarks and local mode run it against is the `dirsync-pbx-sim` crate.

mod avatar;
mod http_client;
mod listing;
mod options;
mod resources;
mod responses;

pub use http_client::{HttpPbx, PbxPool};
pub use options::{CallCounts, PbxClientOptions};
