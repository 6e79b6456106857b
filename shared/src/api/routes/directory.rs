//! The tenant's connection: directory config, PBX endpoint, pause/resume, disconnect and the
//! connection test.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::{runs, RunStarted};
use crate::api::auth::TenantAccess;
use crate::api::body::{parse_json, JsonBody, QueryParams};
use crate::api::schemas::{
    ConnectionReportSchema, DirectoryConfigSchema, PbxAnswerSchema, ReleasedSchema,
    StateAnswerSchema, StoredConfigSchema,
};
use crate::api::{ApiError, ApiState};
use crate::directory::ldif::check_configured_path;
use crate::domain::config::{
    check_http_url, required_credentials, DirectoryCredentials, ProviderConfig,
};
use crate::domain::{
    Check, CheckName, ConnectionReport, DirectoryConfig, FieldError, Tenant, TenantId, TenantState,
    Trigger,
};
use crate::ports::TenantSecrets;
use crate::sync::RunJob;

/// `PUT /v1/tenants/{t}/directory`: create or replace the config (the rules: `TenantService::
/// connect_directory`).
#[utoipa::path(put, path = "/v1/tenants/{t}/directory", tag = "directory",
    params(("t" = String, Path, description = "tenant id")),
    request_body(content = DirectoryConfigSchema, description = "directory config (CONTRACTS section 2)"),
    responses((status = 200, description = "the stored config, without secrets", body = StoredConfigSchema),
        (status = 409, body = crate::api::ErrorBody)))]
pub async fn put(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut config = DirectoryConfig::from_json(&body, state.policy)?;
    if let ProviderConfig::Ldif(ldif) = &config.provider {
        check_configured_path(state.ldif_root.as_deref(), &ldif.path)
            .map_err(|e| ApiError::field("provider.path", e.to_string()))?;
    }
    let credentials = config.take_credentials();
    credentials.as_ref().map(check_credentials).transpose()?;
    let (tenant, secrets) = state
        .tenants()
        .connect_directory(&id, config, credentials)
        .await?;
    shown_config(&tenant, &secrets)
}

/// `GET /v1/tenants/{t}/directory`: the stored config, never a secret.
#[utoipa::path(get, path = "/v1/tenants/{t}/directory", tag = "directory",
    params(("t" = String, Path, description = "tenant id")),
    responses((status = 200, description = "the stored config, without secrets", body = StoredConfigSchema),
        (status = 404, body = crate::api::ErrorBody),
        (status = 503, description = "the config was written by a newer release (during a deploy)", body = crate::api::ErrorBody)))]
pub async fn get(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
) -> Result<Json<Value>, ApiError> {
    let tenant = state.tenants().connected(&id).await?;
    let secrets = state.secrets.get(&id).await?.unwrap_or_default();
    shown_config(&tenant, &secrets)
}

/// Every directory credential given is a usable secret: an empty one would replace the working
/// one. (Keys and PEM text hold line breaks, so only emptiness is checked here.)
fn check_credentials(credentials: &DirectoryCredentials) -> Result<(), ApiError> {
    let given = [
        ("bind_password", &credentials.bind_password),
        ("ssh_private_key", &credentials.ssh_private_key),
        ("client_secret", &credentials.client_secret),
        ("api_token", &credentials.api_token),
        ("private_key_pem", &credentials.private_key_pem),
    ];
    let empty: Vec<FieldError> = given
        .into_iter()
        .filter(|(_, secret)| {
            secret
                .as_ref()
                .is_some_and(|s| s.expose_secret().trim().is_empty())
        })
        .map(|(name, _)| FieldError::new(format!("credentials.{name}"), "must not be empty"))
        .collect();
    if empty.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(empty))
    }
}

/// A PBX token goes into an `Authorization` header: it must be there (empty would replace
/// the working one) and hold no control character (CR/LF would inject headers).
fn check_pbx_token(token: &SecretString) -> Result<(), ApiError> {
    let token = token.expose_secret();
    let field = "credentials.token";
    if token.trim().is_empty() {
        Err(ApiError::field(field, "must not be empty"))
    } else if token.chars().any(char::is_control) {
        Err(ApiError::field(
            field,
            "must not contain control characters",
        ))
    } else {
        Ok(())
    }
}

fn shown_config(tenant: &Tenant, secrets: &TenantSecrets) -> Result<Json<Value>, ApiError> {
    let config = tenant
        .directory
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("no directory is connected".into()))?;
    let mut shown = serde_json::to_value(config).map_err(|e| ApiError::Internal(Box::new(e)))?;
    let names = required_credentials(&config.provider);
    let set = names.iter().all(|n| secrets.has_directory_credential(n));
    if let Value::Object(fields) = &mut shown {
        fields.insert(
            "credentials_set".into(),
            Value::Bool(set && !names.is_empty()),
        );
        fields.insert("state".into(), json!(tenant.state));
    }
    Ok(Json(shown))
}

/// `DELETE /v1/tenants/{t}/directory?delete_extensions=true|false`. The choice is required:
/// deleting every extension is not something to do by default, nor to forget to do.
#[utoipa::path(delete, path = "/v1/tenants/{t}/directory", tag = "directory",
    params(("t" = String, Path, description = "tenant id"),
        ("delete_extensions" = bool, Query, description = "delete the extensions sync created (a run), or release them")),
    responses((status = 202, description = "the disconnect run", body = RunStarted),
        (status = 200, description = "released", body = ReleasedSchema),
        (status = 404, body = crate::api::ErrorBody), (status = 409, body = crate::api::ErrorBody),
        (status = 503, description = "the config was written by a newer release (during a deploy)", body = crate::api::ErrorBody)))]
pub async fn delete(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
    QueryParams(query): QueryParams,
) -> Result<Response, ApiError> {
    let delete_extensions = match query.get("delete_extensions").map(String::as_str) {
        Some("true") => true,
        Some("false") => false,
        _ => {
            return Err(ApiError::field(
                "delete_extensions",
                "must be true or false",
            ))
        }
    };
    let tenants = state.tenants();
    tenants.connected(&id).await?;
    if !delete_extensions {
        if let Some(running) = state.store.lease_holder(&id, Utc::now()).await? {
            return Err(crate::error::SyncError::AlreadyRunning(running).into());
        }
        let released = state.store.all_mappings(&id).await?.len();
        state.engine.release_all(&id).await?;
        return Ok(
            Json(json!({"state": "disconnected", "released_extensions": released})).into_response(),
        );
    }
    // The disconnect run holds the lease from here, so no other run starts; the run then
    // deletes the extensions and forgets the config.
    let job = RunJob::new(id.clone(), Trigger::Disconnect);
    runs::claim(&state, &job).await?;
    if let Err(error) = tenants.stop_syncs(&id).await {
        state.store.release_lease(&id, &job.run_id).await?;
        return Err(error.into());
    }
    Ok(runs::queue(&state, job).await?.into_response())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PauseBody {
    #[serde(default)]
    delete_extensions: bool,
}

/// `POST .../directory/pause`: scheduled and manual syncs stop until resumed.
#[utoipa::path(post, path = "/v1/tenants/{t}/directory/pause", tag = "directory",
    params(("t" = String, Path, description = "tenant id")),
    request_body(content = Option<PauseBody>, description = "optional"),
    responses((status = 200, description = "paused", body = StateAnswerSchema),
        (status = 404, body = crate::api::ErrorBody), (status = 409, body = crate::api::ErrorBody), (status = 422, body = crate::api::ErrorBody)))]
pub async fn pause(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
    JsonBody(body): JsonBody<PauseBody>,
) -> Result<Json<Value>, ApiError> {
    if body.delete_extensions {
        return Err(ApiError::Unprocessable(
            "pausing keeps the extensions; to delete them, disconnect with delete_extensions=true"
                .into(),
        ));
    }
    set_state(&state, &id, TenantState::Paused).await
}

/// `POST .../directory/resume`: syncs start again, the next one at the next scheduler tick.
#[utoipa::path(post, path = "/v1/tenants/{t}/directory/resume", tag = "directory",
    params(("t" = String, Path, description = "tenant id")),
    responses((status = 200, description = "active", body = StateAnswerSchema),
        (status = 404, body = crate::api::ErrorBody), (status = 409, body = crate::api::ErrorBody)))]
pub async fn resume(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
) -> Result<Json<Value>, ApiError> {
    set_state(&state, &id, TenantState::Active).await
}

async fn set_state(
    state: &ApiState,
    id: &TenantId,
    to: TenantState,
) -> Result<Json<Value>, ApiError> {
    state.tenants().set_state(id, to).await?;
    Ok(Json(json!({"state": to})))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PbxBody {
    base_url: String,
    #[serde(default)]
    credentials: Option<PbxCredentials>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PbxCredentials {
    /// Write-only.
    #[schema(value_type = String, min_length = 1)]
    token: SecretString,
}

/// `PUT /v1/tenants/{t}/pbx`: the PBX endpoint; the token is write-only.
#[utoipa::path(put, path = "/v1/tenants/{t}/pbx", tag = "directory",
    params(("t" = String, Path, description = "tenant id")),
    request_body(content = PbxBody),
    responses((status = 200, description = "the stored endpoint, without its token", body = PbxAnswerSchema),
        (status = 409, body = crate::api::ErrorBody)))]
pub async fn put_pbx(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
    JsonBody(body): JsonBody<PbxBody>,
) -> Result<Json<Value>, ApiError> {
    check_http_url(&body.base_url, state.policy).map_err(|m| ApiError::field("base_url", m))?;
    let token = body.credentials.map(|c| c.token);
    token.as_ref().map(check_pbx_token).transpose()?;
    let tenant = state.tenants().set_pbx(&id, &body.base_url, token).await?;
    Ok(Json(json!({
        "base_url": tenant.pbx.map(|p| p.base_url),
        "credentials_set": true,
    })))
}

/// `POST .../directory/test`: the stored config, or the candidate config in the body (not
/// saved; its credentials, when left out, are the stored ones).
#[utoipa::path(post, path = "/v1/tenants/{t}/directory/test", tag = "directory",
    params(("t" = String, Path, description = "tenant id")),
    request_body(content = Option<DirectoryConfigSchema>, description = "optional candidate config"),
    responses((status = 200, description = "the checks and a sample", body = ConnectionReportSchema),
        (status = 404, body = crate::api::ErrorBody), (status = 503, description = "the config was written by a newer release (during a deploy)", body = crate::api::ErrorBody)))]
pub async fn test(
    State(state): State<ApiState>,
    TenantAccess(id): TenantAccess,
    body: Bytes,
) -> Result<Json<ConnectionReport>, ApiError> {
    let mut secrets = state.secrets.get(&id).await?.unwrap_or_default();
    let candidate = !parse_json::<Value>(&body)?
        .as_object()
        .is_none_or(|o| o.is_empty());
    let config = if candidate {
        let mut config = DirectoryConfig::from_json(&body, state.policy)?;
        if let Some(credentials) = config.take_credentials() {
            check_credentials(&credentials)?;
            secrets.set_directory(credentials);
        }
        config
    } else {
        state
            .tenants()
            .connected(&id)
            .await?
            .directory
            .ok_or_else(|| ApiError::NotFound("no directory is connected".into()))?
    };
    let started = std::time::Instant::now();
    let run = state.engine.test_connection(&id, &config, &secrets);
    let report = match tokio::time::timeout(state.test_timeout, run).await {
        Ok(report) => report,
        Err(_) => {
            let message = format!(
                "no answer within {} s: check the host, port and firewall",
                state.test_timeout.as_secs()
            );
            ConnectionReport::new(
                vec![Check::timed(CheckName::Connect, started, Err(message))],
                Vec::new(),
            )
        }
    };
    Ok(Json(report))
}
