//! The Entra ID token endpoint of the Graph test server: the client-credentials grant with
//! Entra's `AADSTS` error bodies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde_json::json;

use crate::cloud_server::{lock, opaque};
use crate::graph_server::{GraphState, GRAPH_SCOPE};

/// Entra's OAuth error body, with the trace lines a real one carries.
fn entra_error(status: StatusCode, error: &str, code: u64, text: &str) -> Response {
    let description = format!(
        "AADSTS{code}: {text}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: 2026-01-01 00:00:00Z",
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4()
    );
    let body = json!({"error": error, "error_description": description, "error_codes": [code],
        "timestamp": "2026-01-01 00:00:00Z", "trace_id": uuid::Uuid::new_v4().to_string(),
        "correlation_id": uuid::Uuid::new_v4().to_string(),
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}")});
    (status, Json(body)).into_response()
}

pub(crate) async fn token(
    State(state): State<Arc<Mutex<GraphState>>>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if s.faults.token_unavailable > 0 {
        s.faults.token_unavailable -= 1;
        let mut response = entra_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            50196,
            "The server is temporarily unavailable.",
        );
        if let Ok(value) = s.faults.retry_after_secs.to_string().parse() {
            response.headers_mut().insert("retry-after", value);
        }
        return response;
    }
    if tenant != s.tenant_id {
        return entra_error(StatusCode::BAD_REQUEST, "invalid_request", 90002,
            &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."));
    }
    if field("grant_type") != "client_credentials" {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    if field("scope") != GRAPH_SCOPE {
        return entra_error(StatusCode::BAD_REQUEST, "invalid_scope", 1002012,
            "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.");
    }
    if field("client_id") != s.client_id {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            "Application was not found in the directory.",
        );
    }
    if !s.consented {
        return entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000229,
            "The client application is missing service principal in the tenant.",
        );
    }
    if field("client_secret") != s.client_secret {
        return entra_error(StatusCode::UNAUTHORIZED, "invalid_client", 7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.");
    }
    if s.secret_expired {
        return entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000222,
            "The provided client secret keys for app are expired.",
        );
    }
    let token = format!("eyJ0eXAiOiJKV1Qi.{}", opaque());
    s.tokens.insert(token.clone());
    let roles = s.roles.clone();
    s.token_roles.insert(token.clone(), roles);
    s.tokens_issued += 1;
    let lifetime = s.token_lifetime_secs;
    Json(
        json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
        "access_token": token}),
    )
    .into_response()
}
