//! One directory user explained.

use axum::extract::{Path, State};
use axum::Json;

use crate::api::auth::TenantAccess;
use crate::api::schemas::UserExplanationSchema;
use crate::api::{ApiError, ApiState};
use crate::domain::ObjectId;
use crate::planner::UserExplanation;

/// `GET .../users/{object_id}`: what the directory holds for the user (synced fields only),
/// in scope or not and why, eligible or the skip reason, the mapping, and what the next run
/// would do to them. Reads the directory and the PBX like a preview; changes nothing.
#[utoipa::path(get, path = "/v1/tenants/{t}/users/{object_id}", tag = "sync",
    params(("t" = String, Path, description = "tenant id"),
        ("object_id" = String, Path, description = "the directory's object id of the user")),
    responses((status = 200, description = "the user explained", body = UserExplanationSchema),
        (status = 404, body = crate::api::ErrorBody), (status = 409, body = crate::api::ErrorBody),
        (status = 503, body = crate::api::ErrorBody)))]
pub async fn explain(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
    Path((_, object_id)): Path<(String, String)>,
) -> Result<Json<UserExplanation>, ApiError> {
    let not_found =
        || ApiError::NotFound("neither the directory nor the mappings know this user".into());
    let object_id = ObjectId::parse(object_id).map_err(|_| not_found())?;
    state
        .engine
        .explain_user(&id, &object_id)
        .await?
        .map(Json)
        .ok_or_else(not_found)
}
