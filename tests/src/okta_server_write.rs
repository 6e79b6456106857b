//! `POST /api/v1/users/{id}` of the Okta test server: Okta's partial update, which sets only
//! the profile properties sent. 401 E0000011 without a valid token, 403 E0000006 for a
//! read-only administrator's token, 400 E0000001 for a property the profile does not define,
//! 404 E0000007 for an unknown user; 200 with the user.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::{authorized, okta_error, OktaState};
use crate::cloud_server::lock;

pub(super) async fn update_user(
    State(state): State<Arc<Mutex<OktaState>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut s = lock(&state);
    if !authorized(&s, &headers) {
        return okta_error(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        );
    }
    if s.read_only {
        return okta_error(
            StatusCode::FORBIDDEN,
            "E0000006",
            "You do not have permission to perform the requested action",
        );
    }
    let profile = match serde_json::from_str::<Value>(&body) {
        Ok(Value::Object(mut body)) => match body.remove("profile") {
            Some(Value::Object(profile)) => profile,
            _ => return validation_failed("profile: the request has no profile"),
        },
        _ => {
            return okta_error(
                StatusCode::BAD_REQUEST,
                "E0000003",
                "The request body was not well-formed.",
            )
        }
    };
    s.catch_up();
    let custom = s.custom_properties.clone();
    let Some(user) = s.users.iter_mut().find(|u| u["id"] == id.as_str()) else {
        return okta_error(
            StatusCode::NOT_FOUND,
            "E0000007",
            &format!("Not found: Resource not found: {id} (User)"),
        );
    };
    let Some(current) = user.get_mut("profile").and_then(Value::as_object_mut) else {
        return validation_failed("profile: the user has no profile");
    };
    for (name, value) in &profile {
        let defined = current.contains_key(name) || custom.contains(name);
        if !defined {
            return validation_failed(&format!("Property name '{name}' is not defined in profile"));
        }
        if !(value.is_string() || value.is_null()) {
            return validation_failed(&format!("{name}: Does not match required pattern"));
        }
    }
    for (name, value) in &profile {
        current.insert(name.clone(), value.clone());
    }
    // Okta moves `lastUpdated` and logs the update, which change reads then find.
    user["lastUpdated"] = Value::String(super::okta_now());
    let answer = user.clone();
    s.log_event("user.account.update_profile", &id, "SUCCESS");
    s.mark_seen();
    s.profile_updates.push((id, Value::Object(profile)));
    Json(answer).into_response()
}

fn validation_failed(cause: &str) -> Response {
    let body = serde_json::json!({"errorCode": "E0000001", "errorSummary": "Api validation failed: profile",
        "errorLink": "E0000001", "errorId": "oae-validation", "errorCauses": [{"errorSummary": cause}]});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}
