//! Running syncs: the engine, how it applies a plan, and the tenant lease it runs under.

mod apply;
mod apply_avatars;
mod apply_objects;
mod apply_phonebook;
mod apply_write_back;
mod associations;
mod connector;
mod disconnect;
mod engine;
mod gather;
mod incremental;
#[cfg(test)]
mod incremental_proptests;
#[cfg(test)]
mod incremental_tests;
mod lease;
mod login;
mod mapping_writes;
mod photo_refs;
mod preview;
mod progress;
mod push;
mod queue;
mod read_state;
mod runnable;
mod scheduler;
mod sip_passwords;
#[cfg(feature = "aws")]
mod sqs;
mod summary;
mod worker;

pub use associations::Refusal;
pub use connector::{Connector, DefaultConnector};
pub use engine::{EngineOptions, SyncEngine};
pub use incremental::merge_changes;
pub use login::{attempt_key, LoginResult, LOGIN_LIMIT};
pub use queue::{InProcessQueue, RunJob, RunQueue};
pub use runnable::runnable;
pub use scheduler::{dispatch_due, first_run, next_run, next_slot, slot_offset};
#[cfg(feature = "aws")]
pub use sqs::SqsQueue;
pub use worker::{run_worker, OnFinished, Redelivery};
