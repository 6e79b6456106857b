//! Secret stores: implementations of [`crate::ports::Secrets`].
//!
//! - [`LocalFileSecrets`]: one private JSON file per tenant (local mode);
//! - [`MemorySecrets`]: in memory, for tests and previews.

mod local_file;
mod memory;

pub use local_file::LocalFileSecrets;
pub use memory::MemorySecrets;
