//! The organization and extension-group routes: the same requests as extensions' (see
//! `routes`), with their own bodies and rules.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::model::ApiError;
use crate::object_bodies::{parse_group, parse_organization};
use crate::routes::{change, creation, listing, path_error, removal};
use crate::state::Account;
use crate::PbxSimulator;

pub(crate) fn router() -> Router<PbxSimulator> {
    Router::new()
        .route(
            "/{account}/v1/organizations",
            get(list_organizations).post(create_organization),
        )
        .route(
            "/{account}/v1/organizations/{id}",
            axum::routing::patch(update_organization).delete(delete_organization),
        )
        .route(
            "/{account}/v1/extension-groups",
            get(list_groups).post(create_group),
        )
        .route(
            "/{account}/v1/extension-groups/{id}",
            axum::routing::patch(update_group).delete(delete_group),
        )
}

async fn list_organizations(
    State(sim): State<PbxSimulator>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(account) = path.map_err(path_error)?;
    listing(&sim, &account, query, &headers, |a| &a.organizations).await
}

async fn create_organization(
    State(sim): State<PbxSimulator>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path(account) = path.map_err(path_error)?;
    let parse = |b: &[u8]| parse_organization(b, true);
    creation(
        &sim,
        &account,
        &headers,
        body,
        parse,
        Account::create_organization,
    )
    .await
}

async fn update_organization(
    State(sim): State<PbxSimulator>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path((account, id)) = path.map_err(path_error)?;
    let parse = |b: &[u8]| parse_organization(b, false);
    change(
        &sim,
        &account,
        &id,
        &headers,
        body,
        parse,
        Account::update_organization,
    )
    .await
}

async fn delete_organization(
    State(sim): State<PbxSimulator>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path((account, id)) = path.map_err(path_error)?;
    removal(&sim, &account, &id, &headers, Account::delete_organization).await
}

async fn list_groups(
    State(sim): State<PbxSimulator>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(account) = path.map_err(path_error)?;
    listing(&sim, &account, query, &headers, |a| &a.groups).await
}

async fn create_group(
    State(sim): State<PbxSimulator>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path(account) = path.map_err(path_error)?;
    let parse = |b: &[u8]| parse_group(b, true);
    creation(&sim, &account, &headers, body, parse, Account::create_group).await
}

async fn update_group(
    State(sim): State<PbxSimulator>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path((account, id)) = path.map_err(path_error)?;
    let parse = |b: &[u8]| parse_group(b, false);
    change(
        &sim,
        &account,
        &id,
        &headers,
        body,
        parse,
        Account::update_group,
    )
    .await
}

async fn delete_group(
    State(sim): State<PbxSimulator>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path((account, id)) = path.map_err(path_error)?;
    removal(&sim, &account, &id, &headers, Account::delete_group).await
}
