//! SCIM 2.0 (RFC 7643/7644, CONTRACTS section 6) at `/scim/v2/{t}/`: identity providers
//! (Entra ID, Okta) push a tenant's users and groups, kept in the store as
//! [`PushedResource`](crate::domain::PushedResource)s. Not under `/v1` and not in the
//! OpenAPI document: its contract is the RFCs, its auth the tenant's SCIM token, and every
//! answer (errors included) is `application/scim+json`.

mod auth;
mod crud;
mod discovery;
mod error;
mod filter;
mod list;
mod members;
mod patch;
mod path;
mod resource;
mod schema;

use axum::body::to_bytes;
use axum::extract::{DefaultBodyLimit, Extension};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::ApiState;
use crate::domain::PushedKind;
use error::{scim_error_response, SCIM_JSON};

pub use members::{MAX_GROUPS, MAX_USERS};
pub use resource::MAX_MEMBERS;

/// Request bodies above this are refused with 413: a group of [`MAX_MEMBERS`] members fits.
pub const SCIM_BODY_LIMIT: usize = 1024 * 1024;

/// The routes under `/scim/v2/{t}`.
pub fn routes() -> Router<ApiState> {
    let collection = |kind: PushedKind| get(crud::list).post(crud::create).layer(Extension(kind));
    let one = |kind: PushedKind| {
        get(crud::get)
            .put(crud::replace)
            .patch(crud::modify)
            .delete(crud::delete)
            .layer(Extension(kind))
    };
    Router::new()
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{id}", get(discovery::resource_type))
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{id}", get(discovery::schema))
        .route("/.search", post(discovery::search))
        .route("/Users", collection(PushedKind::User))
        .route("/Users/{id}", one(PushedKind::User))
        .route("/Groups", collection(PushedKind::Group))
        .route("/Groups/{id}", one(PushedKind::Group))
        .fallback(|| async {
            scim_error_response(StatusCode::NOT_FOUND, None, "no such SCIM endpoint")
        })
        .layer(axum::middleware::map_response(scim_errors))
        .layer(DefaultBodyLimit::max(SCIM_BODY_LIMIT))
}

/// Gives the framework's own error answers (405, 413, a path it could not read) the SCIM
/// error shape.
async fn scim_errors(response: Response) -> Response {
    let status = response.status();
    let is_scim = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(SCIM_JSON.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_scim {
        return response;
    }
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => "this endpoint does not take that method".to_string(),
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!(
                "request bodies are limited to {} KiB",
                SCIM_BODY_LIMIT / 1024
            )
        }
        other => to_bytes(response.into_body(), 4096)
            .await
            .ok()
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| other.canonical_reason().unwrap_or("error").to_string()),
    };
    scim_error_response(status, None, &detail)
}
