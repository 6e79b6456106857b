//! Paged listings: a tenant's managed extensions, and every tenant for the operator.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::runs::paging;
use crate::api::auth::{Caller, TenantAccess};
use crate::api::body::QueryParams;
use crate::api::schemas::{ExtensionPageSchema, TenantPageSchema};
use crate::api::{ApiError, ApiState};

/// `GET .../extensions`: the directory-managed extensions, in object id order.
#[utoipa::path(get, path = "/v1/tenants/{t}/extensions", tag = "extensions",
    params(("t" = String, Path, description = "tenant id"),
        ("limit" = Option<usize>, Query, minimum = 1, maximum = 100, description = "default 20"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, description = "a page of extensions", body = ExtensionPageSchema)))]
pub async fn extensions(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
    QueryParams(query): QueryParams,
) -> Result<Json<Value>, ApiError> {
    let (limit, cursor) = paging(&query)?;
    let page = state.store.list_mappings(&id, limit, cursor).await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|m| {
            json!({
                "object_id": m.object_id,
                // Null while the create is pending: its extension is not confirmed yet.
                "extension_id": m.extension_id(),
                "number": m.number,
                "first_name": m.first_name,
                "last_name": m.last_name,
                "email": m.email,
                "last_synced_at": m.last_synced_at,
            })
        })
        .collect();
    Ok(Json(
        json!({"items": items, "next_cursor": page.next_cursor}),
    ))
}

/// `GET /v1/tenants`: operator only.
#[utoipa::path(get, path = "/v1/tenants", tag = "tenants",
    params(("limit" = Option<usize>, Query, minimum = 1, maximum = 100, description = "default 20"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, description = "a page of tenants", body = TenantPageSchema)))]
pub async fn tenants(
    State(state): State<ApiState>,
    caller: Caller,
    QueryParams(query): QueryParams,
) -> Result<Json<Value>, ApiError> {
    caller.require_operator()?;
    let (limit, cursor) = paging(&query)?;
    let page = state.store.list_tenants(limit, cursor).await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|t| {
            json!({
                "tenant": t.id,
                "state": t.state,
                "provider": t.directory.as_ref().map(|d| d.provider.kind()),
                "last_outcome": t.last_run.as_ref().map(|r| r.outcome),
                "last_sync_at": t.last_run.as_ref().and_then(|r| r.finished_at),
            })
        })
        .collect();
    Ok(Json(
        json!({"tenants": items, "next_cursor": page.next_cursor}),
    ))
}
