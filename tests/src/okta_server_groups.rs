//! The Okta test server's groups: `/api/v1/groups` (paged like the users) and
//! `/api/v1/groups/{id}`, with Okta's error bodies.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{authorized, count_request, listing, okta_error, with_rate_headers, OktaState};
use crate::cloud_server::{lock, Logged};

/// Every group, sorted by id.
pub(super) async fn groups(
    State(state): State<Arc<Mutex<OktaState>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    let mut ids: Vec<&String> = s.groups.keys().collect();
    ids.sort();
    let listed = ids.into_iter().map(|id| group_object(&s, id)).collect();
    listing(&mut s, "/api/v1/groups", &headers, &query, listed)
}

pub(super) async fn group(
    State(state): State<Arc<Mutex<OktaState>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut s = lock(&state);
    let mut logged = Logged::now(&format!("/api/v1/groups/{id}"), None);
    // Counted in the rate-limit window like every API request.
    let (limit, remaining, reset, over) = count_request(&mut s);
    let response = if over {
        okta_error(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        )
    } else if !authorized(&s, &headers) {
        invalid_token()
    } else if s.groups.contains_key(&id) {
        Json(group_object(&s, &id)).into_response()
    } else {
        group_not_found(&id)
    };
    let response = with_rate_headers(response, limit, remaining, reset);
    logged.reset = Some(reset);
    logged.remaining = Some(remaining);
    logged.status = response.status().as_u16();
    s.log.push(logged);
    response
}

fn group_object(s: &OktaState, id: &str) -> Value {
    let name = s
        .group_names
        .get(id)
        .cloned()
        .unwrap_or(format!("Group {id}"));
    json!({"id": id, "created": "2026-01-01T00:00:00.000Z", "type": "OKTA_GROUP",
        "objectClass": ["okta:user_group"],
        "profile": {"name": name, "description": null},
        "_links": {"users": {"href": format!("https://acme.okta.com/api/v1/groups/{id}/users")}}})
}

pub(super) fn invalid_token() -> Response {
    okta_error(
        StatusCode::UNAUTHORIZED,
        "E0000011",
        "Invalid token provided",
    )
}

pub(super) fn group_not_found(id: &str) -> Response {
    okta_error(
        StatusCode::NOT_FOUND,
        "E0000007",
        &format!("Not found: Resource not found: {id} (UserGroup)"),
    )
}
