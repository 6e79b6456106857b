//! The application layer: what a tenant admin (through the API) and the engine do to a tenant,
//! as one set of operations with one write order, so that no route carries the rules itself.

mod tenants;

pub use crate::error::TenantError;
pub use tenants::{scim_token_hash, scim_token_matches, TenantService};
