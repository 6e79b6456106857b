//! The route handlers, by resource.

pub mod associations;
pub mod directory;
pub mod listing;
pub mod login;
pub mod meta;
pub mod runs;
pub mod scim_token;
pub mod users;

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::RunId;

/// The answer to a request that started a run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunStarted {
    #[schema(value_type = String)]
    pub run_id: RunId,
}

/// Page size of listings: `limit` (1 to 100, default 20).
pub fn page_limit(limit: Option<usize>) -> Result<usize, super::ApiError> {
    match limit.unwrap_or(20) {
        n @ 1..=100 => Ok(n),
        _ => Err(super::ApiError::field("limit", "must be between 1 and 100")),
    }
}
