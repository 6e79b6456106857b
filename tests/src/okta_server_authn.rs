//! Okta's primary authentication, `POST /api/v1/authn`, as strict as Okta: the user by its
//! `profile.login` (case-insensitive), 401 `E0000004` for an unknown user, a wrong password
//! or a suspended or deactivated account; `LOCKED_OUT` and `PASSWORD_EXPIRED` as transaction
//! states; `SUCCESS` with a session token and the user.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{okta_error, OktaState};
use crate::cloud_server::{lock, opaque};

pub(super) async fn authn(
    State(state): State<Arc<Mutex<OktaState>>>,
    Json(body): Json<Value>,
) -> Response {
    let mut s = lock(&state);
    s.authn_requests += 1;
    let (Some(username), Some(password)) = (body["username"].as_str(), body["password"].as_str())
    else {
        return okta_error(
            StatusCode::BAD_REQUEST,
            "E0000001",
            "Api validation failed: username and password",
        );
    };
    let refused = || {
        okta_error(
            StatusCode::UNAUTHORIZED,
            "E0000004",
            "Authentication failed",
        )
    };
    let Some(user) = s
        .users
        .iter()
        .find(|u| {
            u["profile"]["login"]
                .as_str()
                .is_some_and(|l| l.eq_ignore_ascii_case(username))
        })
        .cloned()
    else {
        return refused();
    };
    let id = user["id"].as_str().unwrap_or_default().to_string();
    if s.passwords.get(&id).map(String::as_str) != Some(password) {
        return refused();
    }
    let status = match user["status"].as_str().unwrap_or_default() {
        "ACTIVE" => "SUCCESS",
        "LOCKED_OUT" => "LOCKED_OUT",
        "PASSWORD_EXPIRED" => "PASSWORD_EXPIRED",
        _ => return refused(),
    };
    let embedded = json!({"user": {"id": id, "profile": {"login": user["profile"]["login"]}}});
    let mut answer = json!({"expiresAt": "2026-01-01T00:05:00.000Z", "status": status,
                            "_embedded": embedded});
    if status == "SUCCESS" {
        answer["sessionToken"] = json!(format!("session-{}", opaque()));
    } else {
        answer["stateToken"] = json!(format!("state-{}", opaque()));
    }
    (StatusCode::OK, Json(answer)).into_response()
}
