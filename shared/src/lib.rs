//! dirsync: one-way sync of company directories into hosted PBX extensions.
//!
//! - [`domain`]: the model (ids, config, users, mappings, plans, runs), no I/O;
//! - [`planner`]: the pure function from directory, mappings and PBX state to a plan;
//! - [`ports`]: the `Directory`, `Pbx`, `Store` and `Secrets` traits;
//! - adapters: [`directory`], [`pbx`], [`store`], [`secrets`];
//! - [`app`]: the application layer: what the API and the engine do to a tenant;
//! - [`sync`]: the run engine that applies a plan under the tenant's lease;
//! - [`api`]: the provisioning API (one axum router for the Lambda and local mode);
//! - [`settings`]: the operator's settings, read once by each binary and passed down;
//! - [`private_fs`]: the 0700 folders and 0600 files of local state;
//! - `lambda` (feature `aws`): the Lambdas' composition on the AWS adapters.

pub mod api;
pub mod app;
#[cfg(feature = "aws")]
mod aws;
pub mod directory;
pub mod domain;
pub mod endpoints;
pub mod error;
mod http_retry;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod pbx;
pub mod planner;
pub mod ports;
pub mod private_fs;
pub mod secrets;
pub mod settings;
pub mod store;
pub mod sync;
