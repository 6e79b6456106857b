//! Manual associations (CONTRACTS section 1): link a directory user to an extension that
//! already exists on the PBX, or release one to manual management.

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::auth::TenantAccess;
use crate::api::body::JsonBody;
use crate::api::{ApiError, ApiState};
use crate::domain::{ExtensionId, Mapping, ObjectId};
use crate::sync::Refusal;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssociationBody {
    /// The PBX's id of the extension.
    pub extension_id: String,
}

/// A user's mapping, as the answers show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Association {
    pub object_id: String,
    pub extension_id: Option<String>,
    pub number: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}

impl From<&Mapping> for Association {
    fn from(m: &Mapping) -> Self {
        Self {
            object_id: m.object_id.to_string(),
            extension_id: m.extension_id().map(ToString::to_string),
            number: m.number.clone(),
            first_name: m.first_name.clone(),
            last_name: m.last_name.clone(),
            email: m.email.clone(),
        }
    }
}

/// `PUT .../associations/{object_id}`: the user joins the mapping with that extension, which
/// the next sync updates (and never creates a second one for them).
#[utoipa::path(put, path = "/v1/tenants/{t}/associations/{object_id}", tag = "associations",
    params(("t" = String, Path, description = "tenant id"),
        ("object_id" = String, Path, description = "the directory user's object id")),
    request_body(content = AssociationBody),
    responses((status = 200, description = "the mapping", body = Association),
        (status = 404, description = "no such extension on the PBX, or no such user in the directory", body = crate::api::ErrorBody),
        (status = 409, description = "the extension or the user is mapped already, a run is running, or the tenant is not configured", body = crate::api::ErrorBody),
        (status = 503, description = "the directory or the PBX could not be read", body = crate::api::ErrorBody)))]
pub async fn put(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
    Path((_, object_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<AssociationBody>,
) -> Result<Json<Association>, ApiError> {
    let object_id = object_id_of(object_id)?;
    let extension_id = ExtensionId::parse(body.extension_id)
        .map_err(|e| ApiError::field("extension_id", e.message))?;
    let mapping = state
        .engine
        .associate(&id, &object_id, &extension_id)
        .await?
        .map_err(refused)?;
    Ok(Json(Association::from(&mapping)))
}

/// `DELETE .../associations/{object_id}`: the mapping goes, the extension stays as it is.
#[utoipa::path(delete, path = "/v1/tenants/{t}/associations/{object_id}", tag = "associations",
    params(("t" = String, Path, description = "tenant id"),
        ("object_id" = String, Path, description = "the directory user's object id")),
    responses((status = 200, description = "the released mapping", body = Association),
        (status = 404, description = "the user has no mapping", body = crate::api::ErrorBody),
        (status = 409, description = "a run is running", body = crate::api::ErrorBody)))]
pub async fn delete(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
    Path((_, object_id)): Path<(String, String)>,
) -> Result<Json<Association>, ApiError> {
    let object_id = object_id_of(object_id)?;
    let mapping = state
        .engine
        .dissociate(&id, &object_id)
        .await?
        .map_err(refused)?;
    Ok(Json(Association::from(&mapping)))
}

fn object_id_of(raw: String) -> Result<ObjectId, ApiError> {
    ObjectId::parse(raw).map_err(|e| ApiError::field("object_id", e.message))
}

fn refused(refusal: Refusal) -> ApiError {
    let conflict = |code, message: &str| ApiError::Conflict {
        code,
        message: message.to_string(),
        run_id: None,
    };
    match refusal {
        Refusal::NoExtension => ApiError::NotFound("the PBX has no extension with that id".into()),
        Refusal::NoUser => {
            ApiError::NotFound("the directory has no user with that object id".into())
        }
        Refusal::NotAssociated => ApiError::NotFound("this user has no association".into()),
        Refusal::ExtensionMapped(_) => conflict(
            "extension_mapped",
            "the extension is associated with another user",
        ),
        Refusal::UserMapped => conflict(
            "user_mapped",
            "the user is associated with another extension",
        ),
    }
}
