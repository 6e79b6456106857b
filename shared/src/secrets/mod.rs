//! Secret stores: implementations of [`crate::ports::Secrets`].
//!
//! - [`LocalFileSecrets`]: one private JSON file per tenant (local mode);
//! - [`MemorySecrets`]: in memory, for tests and previews;
//! - `SecretsManagerSecrets` (feature `aws`): one AWS Secrets Manager secret per tenant;
//! - [`CachedSecrets`]: a short-TTL cache in front of any of them (the Lambdas).

mod cached;
mod local_file;
mod memory;
#[cfg(feature = "aws")]
mod secrets_manager;

pub use cached::CachedSecrets;
pub use local_file::LocalFileSecrets;
pub use memory::MemorySecrets;
#[cfg(feature = "aws")]
pub use secrets_manager::{SecretsManagerSecrets, DEFAULT_RECOVERY_DAYS, SECRET_PREFIX};
