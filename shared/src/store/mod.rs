//! Durable state: implementations of [`crate::ports::Store`].
//!
//! - [`SqliteStore`]: the embedded store of local mode (one SQLite file).
//! - [`conformance`]: the behaviour every `Store` must show, run against each implementation.

mod keys;
mod sqlite;
mod sqlite_lease;
mod sqlite_rows;
mod sqlite_schema;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use sqlite::SqliteStore;

/// The largest page a listing returns; larger limits are clamped to it (and 0 is taken as 1).
pub const MAX_PAGE_SIZE: usize = 1000;

/// The page size a listing really uses for a caller's `limit`.
pub fn clamp_page_size(limit: usize) -> usize {
    limit.clamp(1, MAX_PAGE_SIZE)
}
