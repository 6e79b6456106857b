//! `PATCH /v1.0/users/{id}` of the Graph test server, as Graph answers it: a live token, the
//! `User.ReadWrite.All` application permission in it (else 403 `Authorization_RequestDenied`),
//! known writable properties with string or null values (else 400), 404 for an unknown user,
//! 204 when applied.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{denial, graph_error, GraphState, USER_PROPERTIES};
use crate::cloud_server::lock;

pub const USER_WRITE_ROLE: &str = "User.ReadWrite.All";

pub(super) async fn patch_user(
    State(state): State<Arc<Mutex<GraphState>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut s = lock(&state);
    if let Some(denied) = denial(&s, &headers) {
        return denied;
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let allowed = s
        .token_roles
        .get(token)
        .is_some_and(|roles| roles.iter().any(|r| r == USER_WRITE_ROLE));
    if !allowed {
        return graph_error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    let Ok(Value::Object(changes)) = serde_json::from_str::<Value>(&body) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        );
    };
    for (name, value) in &changes {
        if name == "id" || !USER_PROPERTIES.contains(&name.as_str()) {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                &format!("Property '{name}' does not exist as a declared property or extension property."),
            );
        }
        if !(value.is_string() || value.is_null()) {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                &format!("Invalid value specified for property '{name}' of resource 'User'."),
            );
        }
    }
    s.catch_up();
    let Some(user) = s.users.iter_mut().find(|u| u["id"] == id.as_str()) else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        );
    };
    for (name, value) in &changes {
        user.insert(name.clone(), value.clone());
    }
    s.record_user_change(&id, changes.keys().cloned().collect());
    s.mark_seen();
    s.patches.push((id, Value::Object(changes)));
    StatusCode::NO_CONTENT.into_response()
}
