//! Request bodies and queries: JSON read with every problem reported as a 400 that names the
//! field, query keys given once, and error responses that did not come from our handlers
//! (404, 405, 413 ...) turned into the contract's JSON shape.

use std::collections::HashMap;

use axum::body::{to_bytes, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::error::{error_response, ApiError};

/// Request bodies above this are refused with 413.
pub const BODY_LIMIT: usize = 256 * 1024;

/// Request URIs above this are refused with 414 (API Gateway's own limit is near it).
pub const URI_LIMIT: usize = 8 * 1024;

/// A query whose every key is given once: a repeated key is a 400, since taking either copy
/// could act against what the caller meant (`delete_extensions=false&delete_extensions=true`).
pub struct QueryParams(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut params = HashMap::new();
        let query = parts.uri.query().unwrap_or_default().as_bytes();
        for (key, value) in url::form_urlencoded::parse(query) {
            if params.contains_key(key.as_ref()) {
                return Err(ApiError::field(&key, "is given more than once"));
            }
            params.insert(key.into_owned(), value.into_owned());
        }
        Ok(Self(params))
    }
}

/// Refuses a request whose URI is over [`URI_LIMIT`] with the contract's JSON 414 (the HTTP
/// server's own 414, for URIs far longer, has no body).
pub async fn uri_limit(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let length = uri.path_and_query().map_or(0, |pq| pq.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len());
    if length > URI_LIMIT {
        return ApiError::UriTooLong(URI_LIMIT).into_response();
    }
    next.run(request).await
}

/// A JSON body whose decoding errors name the field: `{"field": "base_url", ...}`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        parse_json(&bytes)
            .map(JsonBody)
            .map_err(IntoResponse::into_response)
    }
}

/// Decodes `bytes` as `T`; an empty body or `null` counts as `{}` so that optional bodies may be
/// left out (the document describes them as such: `null` or the object).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text = bytes.trim_ascii();
    let bytes: &[u8] = if text.is_empty() || text == b"null" {
        b"{}"
    } else {
        bytes
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "body".to_string()
        } else {
            path
        };
        ApiError::field(&field, e.into_inner().to_string())
    })
}

/// Gives every error response that is not JSON yet (the router's 404 and 405, the body
/// limit's 413, a panic's 500) the contract's JSON shape.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        // SCIM answers (`application/scim+json`) carry their own error shape.
        .is_some_and(|v| {
            v.as_bytes().starts_with(b"application/json")
                || v.as_bytes().starts_with(b"application/scim+json")
        });
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such route".to_string()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this route does not take that method".to_string(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            format!("request bodies are limited to {} KiB", BODY_LIMIT / 1024),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "send JSON with content-type application/json".to_string(),
        ),
        other => {
            // Keep the framework's own short text (never a stack trace) as the message.
            let text = to_bytes(response.into_body(), 4096)
                .await
                .ok()
                .and_then(|b| String::from_utf8(b.to_vec()).ok())
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| other.canonical_reason().unwrap_or("error").to_string());
            return error_response(other, "request_failed", text);
        }
    };
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut fixed = error_response(status, code, message);
    // Keep `allow` on 405, as HTTP wants.
    if let Some(allow) = allow {
        fixed.headers_mut().insert(header::ALLOW, allow);
    }
    fixed
}
