//! Routes without auth: health and the OpenAPI document.

use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

#[utoipa::path(get, path = "/v1/health", tag = "meta",
    responses((status = 200, description = "the API is up", body = crate::api::schemas::HealthSchema)))]
pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "this document", body = crate::api::schemas::OpenApiDocumentSchema)))]
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::api::openapi_json(),
    )
}
