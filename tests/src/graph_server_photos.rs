//! The Graph test server's user photos, as strict as Graph on what dirsync uses: photo
//! metadata `GET /v1.0/users/{id}/photo` (`@odata.mediaEtag`; 404 `ImageNotFound` without a
//! photo), the bytes `GET /v1.0/users/{id}/photo/$value` with their content type, and JSON
//! batching `POST /v1.0/$batch` (at most 20 requests, unique ids, each answered with its own
//! status, headers and body; photo metadata, `GET users/{id}` lookups and
//! `POST users/{id}/checkMemberGroups`; throttling injected per request with its own `Retry-After`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{denial, graph_error, GraphState};
use crate::cloud_server::{lock, Logged};

/// Graph's limit of requests per batch.
pub const BATCH_LIMIT: usize = 20;
pub const BATCH_PATH: &str = "/v1.0/$batch";

/// A user's photo as the server holds it.
#[derive(Debug, Clone)]
pub struct GraphPhoto {
    pub bytes: Vec<u8>,
    pub content_type: String,
    pub etag: String,
}

impl GraphState {
    /// Sets (or replaces, with a new ETag) user `id`'s photo.
    pub fn set_photo(&mut self, id: &str, bytes: Vec<u8>, content_type: &str) {
        self.photo_versions += 1;
        let etag = format!("W/\"{:08X}\"", self.photo_versions);
        self.photos.insert(
            id.to_string(),
            GraphPhoto {
                bytes,
                content_type: content_type.to_string(),
                etag,
            },
        );
    }

    /// How many `$value` requests (photo bytes) were answered.
    pub fn photo_downloads(&self) -> usize {
        self.log
            .iter()
            .filter(|l| l.path.ends_with("/$value"))
            .count()
    }
}

fn image_not_found() -> (StatusCode, Value) {
    (
        StatusCode::NOT_FOUND,
        json!({"error": {"code": "ImageNotFound",
            "message": "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown."}}),
    )
}

/// The metadata of `id`'s photo: status and body.
fn metadata(s: &GraphState, id: &str) -> (StatusCode, Value) {
    if !s.users.iter().any(|u| u["id"] == json!(id)) {
        return (
            StatusCode::NOT_FOUND,
            json!({"error": {"code": "Request_ResourceNotFound",
                "message": format!("Resource '{id}' does not exist.")}}),
        );
    }
    match s.photos.get(id) {
        None => image_not_found(),
        Some(photo) => (
            StatusCode::OK,
            json!({"@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#users('{id}')/photo/$entity"),
                   "@odata.mediaContentType": photo.content_type,
                   "@odata.mediaEtag": photo.etag,
                   "id": "default", "height": 96, "width": 96}),
        ),
    }
}

pub(super) async fn photo(
    State(state): State<Arc<Mutex<GraphState>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut s = lock(&state);
    let mut logged = Logged::now(&format!("/v1.0/users/{id}/photo"), None);
    let response = match denial(&s, &headers) {
        Some(denied) => denied,
        None => {
            let (status, body) = metadata(&s, &id);
            (status, Json(body)).into_response()
        }
    };
    logged.status = response.status().as_u16();
    s.log.push(logged);
    response
}

pub(super) async fn photo_value(
    State(state): State<Arc<Mutex<GraphState>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut s = lock(&state);
    let mut logged = Logged::now(&format!("/v1.0/users/{id}/photo/$value"), None);
    let response = match (denial(&s, &headers), s.photos.get(&id)) {
        (Some(denied), _) => denied,
        (None, None) => {
            let (status, body) = image_not_found();
            (status, Json(body)).into_response()
        }
        (None, Some(photo)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, photo.content_type.clone())],
            photo.bytes.clone(),
        )
            .into_response(),
    };
    logged.status = response.status().as_u16();
    s.log.push(logged);
    response
}

/// `POST /v1.0/$batch`: each request answered on its own; only photo metadata is served.
pub(super) async fn batch(
    State(state): State<Arc<Mutex<GraphState>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut s = lock(&state);
    let mut logged = Logged::now(BATCH_PATH, None);
    let response = batch_response(&mut s, &headers, &body);
    logged.status = response.status().as_u16();
    s.log.push(logged);
    response
}

fn bad_request(message: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "BadRequest", message)
}

fn batch_response(s: &mut GraphState, headers: &HeaderMap, body: &[u8]) -> Response {
    if let Some(denied) = denial(s, headers) {
        return denied;
    }
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_body {
        return bad_request("Invalid content type: application/json is required.");
    }
    let Ok(parsed) = serde_json::from_slice::<Value>(body) else {
        return bad_request("Unable to read JSON request payload.");
    };
    let Some(requests) = parsed.get("requests").and_then(Value::as_array) else {
        return bad_request("The batch request must have a requests array.");
    };
    if requests.len() > BATCH_LIMIT {
        return bad_request("The number of batch requests exceeds the limit of 20.");
    }
    s.batch_sizes.push(requests.len());
    let mut ids = HashSet::new();
    let mut responses = Vec::new();
    for request in requests {
        let (Some(id), Some(method), Some(url)) = (
            request.get("id").and_then(Value::as_str),
            request.get("method").and_then(Value::as_str),
            request.get("url").and_then(Value::as_str),
        ) else {
            return bad_request("Each batch request needs an id, a method and a url.");
        };
        if !ids.insert(id.to_string()) {
            return bad_request("Batch request ids must be unique.");
        }
        let user = url
            .trim_start_matches('/')
            .strip_prefix("users/")
            .and_then(|rest| rest.strip_suffix("/photo"))
            .filter(|user| !user.contains('/'));
        let lookup = url
            .trim_start_matches('/')
            .strip_prefix("users/")
            .map(|rest| rest.split_once('?').unwrap_or((rest, "")))
            .filter(|(user, _)| !user.contains('/'));
        let member_check = url
            .trim_start_matches('/')
            .strip_prefix("users/")
            .and_then(|rest| rest.strip_suffix("/checkMemberGroups"))
            .filter(|user| !user.contains('/'));
        let (status, headers, body) = match (method, user, lookup) {
            ("POST", _, _) if member_check.is_some() => {
                let user = member_check.unwrap_or_default();
                let (status, body) =
                    super::delta::check_member_groups(s, user, request.get("body"));
                (status, json!({"Content-Type": "application/json"}), body)
            }
            ("GET", None, Some((user, query))) => {
                let select = url::form_urlencoded::parse(query.as_bytes())
                    .find(|(name, _)| name == "$select")
                    .map(|(_, value)| value.into_owned());
                let (status, body) = super::delta::lookup(s, user, select.as_deref());
                (status, json!({"Content-Type": "application/json"}), body)
            }
            ("GET", Some(user), _) => {
                let throttled = s.photo_throttle.get_mut(user).filter(|n| **n > 0);
                if let Some(left) = throttled {
                    *left -= 1;
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        json!({"Retry-After": "1", "Content-Type": "application/json"}),
                        json!({"error": {"code": "TooManyRequests",
                            "message": "Too many requests."}}),
                    )
                } else {
                    let (status, body) = metadata(s, user);
                    (status, json!({"Content-Type": "application/json"}), body)
                }
            }
            _ => (
                StatusCode::BAD_REQUEST,
                json!({"Content-Type": "application/json"}),
                json!({"error": {"code": "BadRequest",
                    "message": "This test server batches photo metadata, user lookups and membership checks only."}}),
            ),
        };
        responses
            .push(json!({"id": id, "status": status.as_u16(), "headers": headers, "body": body}));
    }
    // Graph answers a batch's requests in any order.
    responses.reverse();
    Json(json!({"responses": responses})).into_response()
}
