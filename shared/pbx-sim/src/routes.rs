//! The HTTP face of the simulator: authentication, injected faults, then the account's rules.
//! Every answer, errors included, is JSON.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

use crate::collection::{Collection, Stored};
use crate::etag::{etag_value, not_modified, IfNoneMatch};
use crate::model::ApiError;
use crate::state::{Account, Applied};
use crate::validate::{parse_create, parse_patch};
use crate::{lock, AccountCell, InFlight, PbxSimulator};
use crate::{object_routes, phonebook};

const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

pub(super) fn router(sim: PbxSimulator) -> Router {
    Router::<PbxSimulator>::new()
        .route("/{account}/v1/extensions", get(list).post(create))
        .route(
            "/{account}/v1/extensions/{id}",
            axum::routing::patch(update).delete(delete),
        )
        .merge(object_routes::router())
        .merge(crate::avatar::router())
        .merge(phonebook::router())
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this method is not allowed here",
            )
        })
        .with_state(sim)
}

/// A request admitted past authentication, rate limit and fault dice.
pub(crate) struct Admitted {
    pub(crate) cell: Arc<AccountCell>,
    _in_flight: InFlight,
}

/// Everything that happens before the account's rules: unknown account (404), token (401),
/// counting, latency, rate limit (429) and injected faults.
pub(crate) async fn admit(
    sim: &PbxSimulator,
    account: &str,
    headers: &HeaderMap,
    method: Method,
) -> Result<Admitted, ApiError> {
    let cell = sim.account(account).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "unknown_account", "no such account")
    })?;
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    {
        let mut state = lock(&cell.state);
        if presented != Some(state.token.as_str()) {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or invalid bearer token",
            ));
        }
        let stats = &mut state.stats;
        match method {
            Method::GET => stats.gets += 1,
            Method::POST => stats.posts += 1,
            Method::PATCH => stats.patches += 1,
            Method::PUT => stats.puts += 1,
            _ => stats.deletes += 1,
        }
    }
    let in_flight = InFlight::enter(cell.clone());
    let options = sim.options();
    if !options.latency.is_zero() {
        tokio::time::sleep(options.latency).await;
    }
    if let Some(per_second) = options.rate_limit_per_second {
        let mut state = lock(&cell.state);
        if let Err(retry_after) = state.admit(Instant::now(), per_second) {
            state.stats.rate_limited += 1;
            return Err(ApiError::throttled(retry_after));
        }
    }
    if let Some(fault) = sim.roll_fault(&options) {
        let mut state = lock(&cell.state);
        if fault.status == StatusCode::TOO_MANY_REQUESTS {
            state.stats.injected_429 += 1;
        } else {
            state.stats.injected_5xx += 1;
        }
        return Err(fault);
    }
    Ok(Admitted {
        cell,
        _in_flight: in_flight,
    })
}

/// Counts an applied write, and maybe answers it 500 as if the response were lost.
pub(crate) fn committed(sim: &PbxSimulator, cell: &AccountCell) -> Result<(), ApiError> {
    let lost = sim.roll_after_commit(&sim.options());
    let mut state = lock(&cell.state);
    state.stats.writes += 1;
    if lost {
        state.stats.injected_5xx += 1;
        return Err(ApiError::server(StatusCode::INTERNAL_SERVER_ERROR));
    }
    Ok(())
}

pub(crate) fn path_error(rejection: PathRejection) -> ApiError {
    ApiError::bad_request(format!("invalid path: {rejection}"))
}

pub(crate) fn body_error(rejection: BytesRejection) -> ApiError {
    ApiError::new(rejection.status(), "bad_request", rejection.body_text())
}

async fn list(
    State(sim): State<PbxSimulator>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(account) = path.map_err(path_error)?;
    let versioned = sim.options().etags;
    versioned_listing(
        &sim,
        &account,
        query,
        &headers,
        |a| &a.extensions,
        versioned,
    )
    .await
}

async fn create(
    State(sim): State<PbxSimulator>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path(account) = path.map_err(path_error)?;
    creation(
        &sim,
        &account,
        &headers,
        body,
        parse_create,
        Account::create,
    )
    .await
}

async fn update(
    State(sim): State<PbxSimulator>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path((account, id)) = path.map_err(path_error)?;
    change(
        &sim,
        &account,
        &id,
        &headers,
        body,
        parse_patch,
        Account::update,
    )
    .await
}

async fn delete(
    State(sim): State<PbxSimulator>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path((account, id)) = path.map_err(path_error)?;
    removal(&sim, &account, &id, &headers, Account::delete).await
}

/// One page of a resource's listing, `limit` and `cursor` checked as a real PBX does.
pub(crate) async fn listing<T: Stored + serde::Serialize>(
    sim: &PbxSimulator,
    account: &str,
    query: Option<String>,
    headers: &HeaderMap,
    resource: fn(&Account) -> &Collection<T>,
) -> Result<Response, ApiError> {
    versioned_listing(sim, account, query, headers, resource, false).await
}

/// [`listing`], `versioned`: each page with the collection's `ETag`, 304 for an
/// `If-None-Match` that names it (checked after the query, as RFC 9110 section 13.2.2 has
/// preconditions evaluated after the request's other checks).
async fn versioned_listing<T: Stored + serde::Serialize>(
    sim: &PbxSimulator,
    account: &str,
    query: Option<String>,
    headers: &HeaderMap,
    resource: fn(&Account) -> &Collection<T>,
    versioned: bool,
) -> Result<Response, ApiError> {
    let admitted = admit(sim, account, headers, Method::GET).await?;
    let max = sim.options().page_size_max;
    let mut limit = max.min(100);
    let mut after = None;
    let query = query.unwrap_or_default();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "limit" => {
                limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| {
                        query_error("limit", format!("`limit` must be between 1 and {max}"))
                    })?;
            }
            "cursor" => after = Some(decode_cursor(&value)?),
            other => {
                return Err(query_error(other, format!("unknown parameter `{other}`")));
            }
        }
    }
    if !versioned {
        let (items, next) =
            resource(&lock(&admitted.cell.state)).page(limit as usize, after.as_deref());
        return Ok(page_response(items, next));
    }
    // A PBX without ETags ignores the field; this one reads it only once the query is valid.
    let condition = IfNoneMatch::of(headers)?;
    let mut state = lock(&admitted.cell.state);
    let collection = resource(&state);
    let version = collection.version().to_string();
    if condition.matches(&version) {
        state.stats.not_modified += 1;
        return Ok(not_modified(&version));
    }
    let (items, next) = collection.page(limit as usize, after.as_deref());
    drop(state);
    let mut response = page_response(items, next);
    response
        .headers_mut()
        .insert(header::ETAG, etag_value(&version));
    Ok(response)
}

fn page_response<T: serde::Serialize>(items: Vec<T>, next: Option<String>) -> Response {
    let next_cursor = next.map(|id| URL_SAFE_NO_PAD.encode(id));
    Json(json!({ "items": items, "next_cursor": next_cursor })).into_response()
}

/// Every POST carries one: a retried create must never make a second object.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY_LEN)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "missing_idempotency_key",
                "POST needs an Idempotency-Key header of 1 to 255 characters",
            )
        })
}

fn query_error(field: &str, message: String) -> ApiError {
    ApiError {
        field: Some(field.to_string()),
        ..ApiError::new(StatusCode::BAD_REQUEST, "invalid", message)
    }
}

fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| query_error("cursor", "`cursor` is not a cursor this PBX issued".into()))
}

/// A POST: the key required, the body parsed, the account's rule applied; a replay changes
/// nothing and answers the first create's object.
pub(crate) async fn creation<V, T: serde::Serialize>(
    sim: &PbxSimulator,
    account: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    parse: impl FnOnce(&[u8]) -> Result<V, ApiError>,
    apply: fn(&mut Account, &str, V) -> Applied<T>,
) -> Result<Response, ApiError> {
    let admitted = admit(sim, account, headers, Method::POST).await?;
    let key = idempotency_key(headers)?;
    let values = parse(&body.map_err(body_error)?)?;
    let (object, created) = apply(&mut lock(&admitted.cell.state), key, values)?;
    if created {
        committed(sim, &admitted.cell)?;
    }
    Ok((StatusCode::CREATED, Json(object)).into_response())
}

/// A PATCH of the object `id`; counted as a write only when it changed something.
pub(crate) async fn change<V, T: serde::Serialize>(
    sim: &PbxSimulator,
    account: &str,
    id: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    parse: impl FnOnce(&[u8]) -> Result<V, ApiError>,
    apply: fn(&mut Account, &str, V) -> Applied<T>,
) -> Result<Response, ApiError> {
    let admitted = admit(sim, account, headers, Method::PATCH).await?;
    let values = parse(&body.map_err(body_error)?)?;
    let (object, changed) = apply(&mut lock(&admitted.cell.state), id, values)?;
    if changed {
        committed(sim, &admitted.cell)?;
    }
    Ok(Json(object).into_response())
}

/// A DELETE of the object `id`: 204, or the account's refusal.
pub(crate) async fn removal(
    sim: &PbxSimulator,
    account: &str,
    id: &str,
    headers: &HeaderMap,
    apply: fn(&mut Account, &str) -> Result<(), ApiError>,
) -> Result<Response, ApiError> {
    let admitted = admit(sim, account, headers, Method::DELETE).await?;
    apply(&mut lock(&admitted.cell.state), id)?;
    committed(sim, &admitted.cell)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
