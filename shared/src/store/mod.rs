//! Durable state: implementations of [`crate::ports::Store`].
//!
//! - [`SqliteStore`]: the embedded store of local mode (one SQLite file).
//! - `DynamoStore` (feature `aws`): the store on AWS, one DynamoDB table.
//! - [`conformance`]: the behaviour every `Store` must show, run against each implementation.

#[cfg(feature = "aws")]
mod dynamodb;
#[cfg(feature = "aws")]
mod dynamodb_items;
#[cfg(feature = "aws")]
mod dynamodb_lease;
#[cfg(feature = "aws")]
mod dynamodb_login;
#[cfg(feature = "aws")]
mod dynamodb_mapping;
#[cfg(feature = "aws")]
mod dynamodb_objects;
#[cfg(feature = "aws")]
mod dynamodb_pushed;
#[cfg(feature = "aws")]
mod dynamodb_pushed_count;
#[cfg(feature = "aws")]
mod dynamodb_read_state;
#[cfg(feature = "aws")]
mod dynamodb_schema;
#[cfg(feature = "aws")]
mod dynamodb_tenants;
#[cfg(feature = "aws")]
mod dynamodb_transact;
mod keys;
mod pushed_record;
pub(crate) mod read_state_codec;
mod sqlite;
mod sqlite_lease;
mod sqlite_login;
mod sqlite_objects;
mod sqlite_pushed;
mod sqlite_read_state;
mod sqlite_rows;
mod sqlite_schema;
mod tenant_record;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

#[cfg(feature = "aws")]
pub use dynamodb::{DynamoStore, DEFAULT_RUN_RETENTION};
#[cfg(feature = "aws")]
pub use dynamodb_schema::{create_table, create_table_and_indexes};
pub use pushed_record::MAX_PUSHED_BYTES;
pub use sqlite::SqliteStore;

/// The largest page a listing returns; larger limits are clamped to it (and 0 is taken as 1).
pub const MAX_PAGE_SIZE: usize = 1000;

/// The page size a listing really uses for a caller's `limit`.
pub fn clamp_page_size(limit: usize) -> usize {
    limit.clamp(1, MAX_PAGE_SIZE)
}
