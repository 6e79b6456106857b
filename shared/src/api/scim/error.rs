//! SCIM error answers (RFC 7644 section 3.12): `{"schemas": [Error], "status": "400",
//! "scimType": "invalidFilter", "detail": "..."}` as `application/scim+json`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::StoreError;

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SCIM_JSON: &str = "application/scim+json";

/// The `scimType` values of RFC 7644 table 9 that dirsync answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
}

impl ScimType {
    fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFilter => "invalidFilter",
            Self::Uniqueness => "uniqueness",
            Self::Mutability => "mutability",
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidPath => "invalidPath",
            Self::NoTarget => "noTarget",
            Self::InvalidValue => "invalidValue",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<ScimType>,
    /// For people; never quotes a header or a secret.
    pub detail: String,
    /// Logged, never shown: our own storage's failure.
    #[source]
    pub cause: Option<StoreError>,
}

impl ScimError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: detail.into(),
            cause: None,
        }
    }

    /// A 400 of `scim_type`.
    pub fn bad(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self {
            scim_type: Some(scim_type),
            ..Self::new(StatusCode::BAD_REQUEST, detail)
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "a valid SCIM bearer token of this tenant is required",
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("no such {what}"))
    }

    pub fn precondition_failed() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "the resource changed since that version (If-Match): read it again",
        )
    }

    pub fn taken(what: &str) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            scim_type: Some(ScimType::Uniqueness),
            detail: format!("another resource already has this {what}"),
            cause: None,
        }
    }
}

impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> Self {
        Self {
            cause: Some(e),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "something went wrong on our side; try again later",
            )
        }
    }
}

/// A SCIM error body of `status` (also for the router's own 404, 405 and 413).
pub fn scim_error_response(
    status: StatusCode,
    scim_type: Option<ScimType>,
    detail: &str,
) -> Response {
    let mut body = json!({
        "schemas": [ERROR_SCHEMA],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        body["scimType"] = json!(t.as_str());
    }
    scim_json(status, body.to_string())
}

/// `body` as an `application/scim+json` answer of `status`.
pub fn scim_json(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            tracing::error!(error = %cause, "SCIM request failed");
        }
        scim_error_response(self.status, self.scim_type, &self.detail)
    }
}
