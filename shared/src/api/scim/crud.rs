//! `/Users` and `/Groups`: create, read, replace, patch, delete and list (RFC 7644 section 3),
//! with `meta.version` as a weak ETag and `If-Match` checked on every write.

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::Value;

use super::auth::ScimTenant;
use super::error::{scim_json, ScimError, ScimType};
use super::list::{list_response, Lookup, Query};
use super::members::{check_cap, check_members, leave_groups};
use super::patch;
use super::resource::{self, etag, render, Document};
use crate::api::ApiState;
use crate::domain::{ObjectId, PushedKind, PushedResource, Tenant};
use crate::error::StoreError;
use crate::sync::RunJob;

/// The provider kind whose tenants take the pushed set as their directory.
const SCIM_PROVIDER: &str = "scim";
/// Tries of a write that another write keeps overtaking.
const ATTEMPTS: usize = 3;

fn parse_body(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body).map_err(|e| {
        ScimError::bad(
            ScimType::InvalidSyntax,
            format!(
                "the body is not JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })
}

/// An id from the path; one that could never be stored is simply not found.
fn object_id(raw: String, kind: PushedKind) -> Result<ObjectId, ScimError> {
    ObjectId::parse(raw).map_err(|_| not_found(kind))
}

fn not_found(kind: PushedKind) -> ScimError {
    ScimError::not_found(match kind {
        PushedKind::User => "user",
        PushedKind::Group => "group",
    })
}

fn name_attr(kind: PushedKind) -> &'static str {
    match kind {
        PushedKind::User => "userName",
        PushedKind::Group => "displayName",
    }
}

/// The resource answered with its `ETag` (and `Location` when it was just made).
fn answer(status: StatusCode, resource: &PushedResource, body: Value, base: &str) -> Response {
    let mut response = scim_json(status, body.to_string());
    if let Ok(tag) = HeaderValue::from_str(&etag(resource.version)) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    if status == StatusCode::CREATED {
        let location = format!(
            "{base}/{}/{}",
            super::schema::endpoint(resource.kind),
            resource.id
        );
        if let Ok(location) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, location);
        }
    }
    response
}

/// `If-Match` (`*`, `W/"3"`, `"3"`, a list of them): whether it allows a write over `version`;
/// no header allows any.
fn check_if_match(headers: &HeaderMap, version: u64) -> Result<bool, ScimError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(false);
    };
    let text = value
        .to_str()
        .map_err(|_| ScimError::precondition_failed())?;
    let matches = text.split(',').map(str::trim).any(|tag| {
        tag == "*"
            || tag
                .strip_prefix("W/")
                .unwrap_or(tag)
                .trim_matches('"')
                .parse::<u64>()
                .is_ok_and(|v| v == version)
    });
    if matches {
        Ok(true)
    } else {
        Err(ScimError::precondition_failed())
    }
}

/// After a write: a tenant whose directory is the pushed set gets its run of this minute.
/// A queue failure is logged, not answered: the write is kept and the next push or the
/// schedule runs the sync.
async fn pushed(state: &ApiState, tenant: &Tenant) {
    let is_scim = tenant
        .directory
        .as_ref()
        .is_some_and(|d| d.provider.kind() == SCIM_PROVIDER);
    if !is_scim {
        return;
    }
    if let Err(error) = state
        .queue
        .enqueue(RunJob::pushed(tenant.id.clone(), Utc::now()))
        .await
    {
        tracing::warn!(tenant = %tenant.id, %error, "the run of a SCIM push could not be queued");
    }
}

fn taken(kind: PushedKind, error: StoreError) -> ScimError {
    match error {
        StoreError::NameTaken => ScimError::taken(name_attr(kind)),
        other => other.into(),
    }
}

pub async fn create(
    State(state): State<ApiState>,
    Extension(kind): Extension<PushedKind>,
    access: ScimTenant,
    body: Bytes,
) -> Result<Response, ScimError> {
    let id = &access.tenant.id;
    let doc = resource::read(kind, &parse_body(&body)?)?;
    if kind == PushedKind::Group {
        check_members(state.store.as_ref(), id, &doc, None).await?;
    }
    check_cap(state.store.as_ref(), id, kind).await?;
    let now = Utc::now();
    let name = resource::name_of(kind, &doc);
    let (external_id, attributes) = resource::into_parts(doc);
    let resource = PushedResource {
        kind,
        id: ObjectId::parse(uuid::Uuid::new_v4().to_string()).map_err(|_| not_found(kind))?,
        external_id,
        name,
        version: 1,
        created: now,
        last_modified: now,
        attributes,
    };
    state
        .store
        .create_pushed(id, &resource)
        .await
        .map_err(|e| taken(kind, e))?;
    pushed(&state, &access.tenant).await;
    let body = render(&resource, &access.base);
    Ok(answer(StatusCode::CREATED, &resource, body, &access.base))
}

pub async fn get(
    State(state): State<ApiState>,
    Extension(kind): Extension<PushedKind>,
    access: ScimTenant,
    Path((_, raw)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, ScimError> {
    let query = Query::parse(kind, uri.query())?;
    let resource = state
        .store
        .get_pushed(&access.tenant.id, kind, &object_id(raw, kind)?)
        .await?
        .ok_or_else(|| not_found(kind))?;
    let body = query.projection.apply(render(&resource, &access.base));
    Ok(answer(StatusCode::OK, &resource, body, &access.base))
}

pub async fn list(
    State(state): State<ApiState>,
    Extension(kind): Extension<PushedKind>,
    access: ScimTenant,
    uri: Uri,
) -> Result<Response, ScimError> {
    let query = Query::parse(kind, uri.query())?;
    let tenant = &access.tenant.id;
    let candidates = match query.lookup(kind) {
        Some((Lookup::Key(key), value)) => {
            state.store.find_pushed(tenant, kind, key, &value).await?
        }
        Some((Lookup::Id, value)) => match ObjectId::parse(value) {
            Ok(id) => state
                .store
                .get_pushed(tenant, kind, &id)
                .await?
                .into_iter()
                .collect(),
            Err(_) => Vec::new(),
        },
        None => state.store.all_pushed(tenant, kind).await?,
    };
    let matching: Vec<Value> = candidates
        .iter()
        .map(|r| render(r, &access.base))
        .filter(|r| query.filter.as_ref().is_none_or(|f| f.matches(r)))
        .collect();
    let total = matching.len();
    let page = matching
        .into_iter()
        .skip(query.start_index.saturating_sub(1))
        .take(query.count)
        .map(|r| query.projection.apply(r))
        .collect();
    let body = list_response(total, query.start_index, page);
    Ok(scim_json(StatusCode::OK, body.to_string()))
}

/// How a write changes a stored resource's document.
enum Change {
    Replace(Document),
    Patch(Vec<patch::Operation>),
}

/// PUT and PATCH: read, check `If-Match`, change, check members, write guarded by the version
/// read (again from the read when another write came first and no `If-Match` pinned it).
async fn update(
    state: &ApiState,
    kind: PushedKind,
    access: &ScimTenant,
    raw: String,
    headers: &HeaderMap,
    change: Change,
) -> Result<Response, ScimError> {
    let tenant = &access.tenant.id;
    let id = object_id(raw, kind)?;
    for _ in 0..ATTEMPTS {
        let before = state
            .store
            .get_pushed(tenant, kind, &id)
            .await?
            .ok_or_else(|| not_found(kind))?;
        let pinned = check_if_match(headers, before.version)?;
        let old = resource::document(&before);
        let doc = match &change {
            Change::Replace(doc) => doc.clone(),
            Change::Patch(operations) => {
                let mut doc = old.clone();
                patch::apply(kind, &mut doc, operations)?;
                doc
            }
        };
        if doc == old {
            // Nothing changes (identity providers resend what is stored): no new version.
            let body = render(&before, &access.base);
            return Ok(answer(StatusCode::OK, &before, body, &access.base));
        }
        if kind == PushedKind::Group {
            check_members(state.store.as_ref(), tenant, &doc, Some(&old)).await?;
        }
        let name = resource::name_of(kind, &doc);
        let (external_id, attributes) = resource::into_parts(doc);
        let after = PushedResource {
            external_id,
            name,
            version: before.version + 1,
            last_modified: Utc::now(),
            attributes,
            ..before.clone()
        };
        match state
            .store
            .replace_pushed(tenant, &after, before.version)
            .await
        {
            Ok(()) => {
                pushed(state, &access.tenant).await;
                let body = render(&after, &access.base);
                return Ok(answer(StatusCode::OK, &after, body, &access.base));
            }
            Err(StoreError::Stale) if pinned => return Err(ScimError::precondition_failed()),
            Err(StoreError::Stale) => continue,
            Err(other) => return Err(taken(kind, other)),
        }
    }
    Err(ScimError::new(
        StatusCode::CONFLICT,
        "the resource kept changing while it was written: try again",
    ))
}

pub async fn replace(
    State(state): State<ApiState>,
    Extension(kind): Extension<PushedKind>,
    access: ScimTenant,
    Path((_, raw)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let doc = resource::read(kind, &parse_body(&body)?)?;
    update(&state, kind, &access, raw, &headers, Change::Replace(doc)).await
}

pub async fn modify(
    State(state): State<ApiState>,
    Extension(kind): Extension<PushedKind>,
    access: ScimTenant,
    Path((_, raw)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let operations = patch::operations(&parse_body(&body)?)?;
    update(
        &state,
        kind,
        &access,
        raw,
        &headers,
        Change::Patch(operations),
    )
    .await
}

pub async fn delete(
    State(state): State<ApiState>,
    Extension(kind): Extension<PushedKind>,
    access: ScimTenant,
    Path((_, raw)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let tenant = &access.tenant.id;
    let id = object_id(raw, kind)?;
    if headers.contains_key(header::IF_MATCH) {
        let stored = state
            .store
            .get_pushed(tenant, kind, &id)
            .await?
            .ok_or_else(|| not_found(kind))?;
        check_if_match(&headers, stored.version)?;
    }
    if !state.store.delete_pushed(tenant, kind, &id).await? {
        return Err(not_found(kind));
    }
    if kind == PushedKind::User {
        if let Err(error) = leave_groups(state.store.as_ref(), tenant, &id).await {
            // The user is gone; a group still naming it keeps that stale member until its
            // next write (the identity provider removes it too).
            tracing::warn!(tenant = %tenant, %error, "a deleted user could not be taken out of its groups");
        }
    }
    pushed(&state, &access.tenant).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}
