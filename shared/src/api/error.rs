//! The API's errors and the one place they become HTTP statuses and JSON bodies.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::TenantError;
use crate::domain::{FieldError, InvalidConfig, RunId};
use crate::error::{BlockingState, QueueError, SecretsError, StoreError, SyncError};

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable code, e.g. `invalid_request`, `sync_running`.
    pub error: String,
    /// A sentence for people.
    pub message: String,
    /// One entry per bad field, for `invalid_request`.
    #[schema(value_type = Vec<super::schemas::FieldErrorSchema>)]
    pub details: Vec<FieldError>,
    /// The run that makes a request conflict, e.g. the sync already running.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub run_id: Option<RunId>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request is invalid")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        run_id: Option<RunId>,
    },
    #[error("{0}")]
    Unprocessable(String),
    #[error("the request URI is longer than {0} bytes")]
    UriTooLong(usize),
    /// The directory or the PBX could not be used; the message says why (never a secret).
    #[error("{message}")]
    Upstream { code: &'static str, message: String },
    /// Our own storage or queue failed: logged with its cause, shown without it.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
            Self::UriTooLong(_) => (StatusCode::URI_TOO_LONG, "uri_too_long"),
            Self::Upstream { code, .. } => (StatusCode::SERVICE_UNAVAILABLE, code),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// An error response in the contract's shape.
pub fn error_response(status: StatusCode, code: &str, message: String) -> Response {
    let body = ErrorBody {
        error: code.to_string(),
        message,
        details: Vec::new(),
        run_id: None,
    };
    (status, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        if let Self::Internal(source) = &self {
            tracing::error!(error = %source, "request failed");
        }
        let this = match self {
            Self::Invalid(details) => Self::Invalid(details.into_iter().map(redacted).collect()),
            other => other,
        };
        let message = match &this {
            Self::Invalid(details) if details.len() == 1 => {
                format!("{}: {}", details[0].field, details[0].message)
            }
            Self::Internal(_) => "something went wrong on our side; try again later".to_string(),
            other => other.to_string(),
        };
        let (details, run_id) = match this {
            Self::Invalid(details) => (details, None),
            Self::Conflict { run_id, .. } => (Vec::new(), run_id),
            _ => (Vec::new(), None),
        };
        let body = ErrorBody {
            error: code.to_string(),
            message,
            details,
            run_id,
        };
        (status, Json(body)).into_response()
    }
}

/// The credential names of every provider and of the PBX: a detail may name these fields.
const CREDENTIAL_NAMES: [&str; 6] = [
    "bind_password",
    "ssh_private_key",
    "client_secret",
    "api_token",
    "private_key_pem",
    "token",
];

/// The message of a detail about `credentials` that could quote what was sent there.
const CREDENTIALS_MESSAGE: &str =
    "must be an object of strings named as the provider's credentials (CONTRACTS section 2)";

/// A detail about `credentials` without anything sent there. A decoding error quotes the value
/// or key it stumbled on (`invalid type: string "..."`, ``unknown field `...` ``) and its path
/// may hold an unknown key: only our own messages (no quotes) about known names are kept.
fn redacted(detail: FieldError) -> FieldError {
    let Some(rest) = detail.field.strip_prefix("credentials") else {
        return detail;
    };
    let known = rest
        .strip_prefix('.')
        .filter(|name| CREDENTIAL_NAMES.contains(name));
    let quotes = detail.message.contains(['"', '`']);
    match known {
        Some(_) if !quotes => detail,
        Some(name) => FieldError::new(format!("credentials.{name}"), CREDENTIALS_MESSAGE),
        None if rest.is_empty() && !quotes => detail,
        None => FieldError::new("credentials", CREDENTIALS_MESSAGE),
    }
}

impl From<InvalidConfig> for ApiError {
    fn from(e: InvalidConfig) -> Self {
        Self::Invalid(e.0)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidCursor => {
                Self::field("cursor", "is not a next_cursor that a listing answered")
            }
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<SecretsError> for ApiError {
    fn from(e: SecretsError) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl From<SyncError> for ApiError {
    fn from(e: SyncError) -> Self {
        let message = e.to_string();
        match e {
            SyncError::NotConfigured(_) => Self::Conflict {
                code: "not_configured",
                message,
                run_id: None,
            },
            SyncError::NotActive(BlockingState::Paused) => Self::Conflict {
                code: "paused",
                message: "syncs are paused for this tenant: resume them first".into(),
                run_id: None,
            },
            SyncError::NotActive(_) => Self::Conflict {
                code: "not_active",
                message,
                run_id: None,
            },
            SyncError::AlreadyRunning(run_id) | SyncError::Covered(run_id) => Self::Conflict {
                code: "sync_running",
                message,
                run_id: Some(run_id),
            },
            SyncError::MissingCredentials(_) => Self::Conflict {
                code: "credentials_missing",
                message,
                run_id: None,
            },
            SyncError::LeaseLost => Self::Conflict {
                code: "sync_running",
                message,
                run_id: None,
            },
            SyncError::Directory(_) => Self::Upstream {
                code: "directory_unavailable",
                message,
            },
            SyncError::Pbx(_) => Self::Upstream {
                code: "pbx_unavailable",
                message,
            },
            SyncError::Store(e) => e.into(),
            SyncError::Secrets(e) => e.into(),
            SyncError::Queue(e) => e.into(),
            SyncError::Tenant(e) => e.into(),
        }
    }
}

impl From<TenantError> for ApiError {
    fn from(e: TenantError) -> Self {
        match e {
            TenantError::NotConnected => Self::NotFound(e.to_string()),
            TenantError::NewerConfig => Self::Upstream {
                code: "newer_config",
                message: e.to_string(),
            },
            TenantError::Invalid(details) => Self::Invalid(details),
            TenantError::Contended => Self::Conflict {
                code: "conflict",
                message: e.to_string(),
                run_id: None,
            },
            TenantError::Store(e) => e.into(),
            TenantError::Secrets(e) => e.into(),
        }
    }
}
