//! `POST .../scim/token`: the tenant's SCIM bearer token (CONTRACTS sections 1 and 6).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use secrecy::ExposeSecret;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::auth::TenantAccess;
use crate::api::{ApiError, ApiState};

/// The new token: shown in this answer only, stored as its SHA-256.
#[derive(Serialize, ToSchema)]
pub struct ScimToken {
    /// The bearer token for `/scim/v2/{t}/` (the identity provider's "secret token").
    pub token: String,
}

/// `POST .../scim/token`: makes a new SCIM token for the tenant, replacing any earlier one
/// (which stops working at once). The token is in this answer only: dirsync keeps its hash.
#[utoipa::path(post, path = "/v1/tenants/{t}/scim/token", tag = "scim",
    params(("t" = String, Path, description = "tenant id")),
    responses((status = 201, description = "the new token, shown once", body = ScimToken),
        (status = 409, description = "the tenant kept changing while it was written: try again", body = crate::api::ErrorBody)))]
pub async fn create(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
) -> Result<(StatusCode, Json<ScimToken>), ApiError> {
    let token = state.tenants().new_scim_token(&id).await?;
    tracing::info!(tenant = %id, "a new SCIM token was made");
    Ok((
        StatusCode::CREATED,
        Json(ScimToken {
            token: token.expose_secret().to_string(),
        }),
    ))
}
