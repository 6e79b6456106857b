//! The discovery endpoints (RFC 7644 section 4): `ServiceProviderConfig`, `ResourceTypes` and
//! `Schemas`, what identity providers and conformance suites read first.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::auth::ScimTenant;
use super::error::{scim_json, ScimError};
use super::list::{list_response, MAX_COUNT};
use super::schema;

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

fn ok(body: Value) -> Response {
    scim_json(StatusCode::OK, body.to_string())
}

pub async fn service_provider_config(access: ScimTenant) -> Response {
    ok(json!({
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "The tenant's SCIM token from POST /v1/tenants/{t}/scim/token",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig",
                 "location": format!("{}/ServiceProviderConfig", access.base)},
    }))
}

pub async fn resource_types(access: ScimTenant) -> Response {
    let all = schema::resource_types(&access.base);
    ok(list_response(all.len(), 1, all))
}

pub async fn resource_type(
    access: ScimTenant,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ScimError> {
    schema::resource_types(&access.base)
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .map(ok)
        .ok_or_else(|| ScimError::not_found("resource type"))
}

pub async fn schemas(access: ScimTenant) -> Response {
    let all = schema::schemas(&access.base);
    ok(list_response(all.len(), 1, all))
}

pub async fn schema(
    access: ScimTenant,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ScimError> {
    schema::schemas(&access.base)
        .into_iter()
        .find(|s| s["id"] == id.as_str())
        .map(ok)
        .ok_or_else(|| ScimError::not_found("schema"))
}

/// `/.search` across resource types is not served (RFC 7644 section 3.4.3 allows 501).
pub async fn search(_: ScimTenant) -> ScimError {
    ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        "searching every resource type at once is not supported: GET /Users or /Groups with a filter",
    )
}
