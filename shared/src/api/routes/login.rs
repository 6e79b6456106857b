//! `POST .../auth/verify`: directory login for the PBX's UC clients (CONTRACTS section 1).
//! The password is read into a `SecretString` and handed to the engine; no answer, error
//! or log line of this route holds it, nor the username.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::auth::LoginAccess;
use crate::api::error::error_response;
use crate::api::{ApiError, ApiState};
use crate::domain::{ExtensionId, ObjectId};
use crate::error::SyncError;
use crate::sync::LoginResult;

/// Longest username and password taken (bytes): longer ones are no one's.
const MAX_USERNAME: usize = 256;
const MAX_PASSWORD: usize = 1024;

/// The body: the user's email, UPN or (AD) sAMAccountName, and password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

/// A verified login: who it is on the PBX.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginVerified {
    pub ok: bool,
    #[schema(value_type = String)]
    pub object_id: ObjectId,
    #[schema(value_type = String)]
    pub extension_id: ExtensionId,
    pub number: String,
}

/// The one answer for every failed check, whatever the cause.
fn invalid_credentials() -> Response {
    error_response(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "the username or password is not valid".into(),
    )
}

/// `POST .../auth/verify`: checks a user's directory password (`login.enabled`). 200 for a
/// mapped, enabled, unexpired user with that password; 401 `invalid_credentials` for
/// everything else; 429 after 5 failures of the username in 15 minutes (the directory is
/// not asked); 422 for providers without password checks (Entra ID: single sign-on).
#[utoipa::path(post, path = "/v1/tenants/{t}/auth/verify", tag = "login",
    params(("t" = String, Path, description = "tenant id")),
    request_body(content = LoginRequest),
    responses((status = 200, description = "the password is the user's", body = LoginVerified),
        (status = 400, description = "the body is not `{\"username\", \"password\"}` (nothing of it is quoted)", body = crate::api::ErrorBody),
        (status = 401, description = "`invalid_credentials` for every failed check (or `unauthorized`: no valid token)", body = crate::api::ErrorBody),
        (status = 403, description = "the token lacks the dirsync:login scope or is another tenant's", body = crate::api::ErrorBody),
        (status = 409, description = "`login_disabled` (login.enabled is off) or `not_configured`", body = crate::api::ErrorBody),
        (status = 422, description = "`login_unsupported`: the provider checks no passwords (Entra ID: use SSO)", body = crate::api::ErrorBody),
        (status = 429, description = "`too_many_attempts`, with Retry-After in seconds", body = crate::api::ErrorBody),
        (status = 503, description = "`directory_unavailable`: the directory could not answer (not counted as a failure)", body = crate::api::ErrorBody)))]
pub async fn verify(
    State(state): State<ApiState>,
    LoginAccess(id): LoginAccess,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Decoding errors may quote what was sent: none is passed on.
    let request: LoginRequest = serde_json::from_slice(&body).map_err(|_| {
        ApiError::field(
            "body",
            "must be {\"username\": string, \"password\": string} and nothing else",
        )
    })?;
    if request.username.len() > MAX_USERNAME
        || request.password.expose_secret().len() > MAX_PASSWORD
    {
        return Ok(invalid_credentials());
    }
    let result = state
        .engine
        .verify_login(&id, &request.username, &request.password)
        .await;
    Ok(match result {
        Ok(LoginResult::Verified {
            object_id,
            extension_id,
            number,
        }) => Json(LoginVerified {
            ok: true,
            object_id,
            extension_id,
            number,
        })
        .into_response(),
        Ok(LoginResult::Rejected) => invalid_credentials(),
        Ok(LoginResult::Throttled { until }) => {
            let seconds = (until - Utc::now()).num_seconds().max(1);
            let mut response = error_response(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "too many failed logins for this username: try again later".into(),
            );
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Ok(LoginResult::Disabled) => error_response(
            StatusCode::CONFLICT,
            "login_disabled",
            "directory login is off for this tenant: set login.enabled in the directory config"
                .into(),
        ),
        Ok(LoginResult::Unsupported(message)) => error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "login_unsupported",
            message,
        ),
        Err(SyncError::Directory(error)) => {
            // The cause is for the operator's log; the caller learns only that it may retry.
            tracing::warn!(tenant = %id, %error, "directory login could not be checked");
            error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "directory_unavailable",
                "the directory could not check the password: try again later".into(),
            )
        }
        Err(other) => return Err(other.into()),
    })
}
