//! `PUT /v1/extensions/{id}/avatar` and its `DELETE`, strict like a real PBX: JPEG or PNG by
//! both the `Content-Type` and the bytes' magic, at most 256 KB; the extension then lists the
//! body's SHA-256 as `avatar_sha256`.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use dirsync::domain::avatar::{sha256_hex, ImageType, MAX_AVATAR_BYTES};

use crate::model::ApiError;
use crate::routes::{admit, body_error, committed, path_error};
use crate::{lock, PbxSimulator};

pub(crate) fn router() -> Router<PbxSimulator> {
    Router::new().route(
        "/{account}/v1/extensions/{id}/avatar",
        axum::routing::put(put_avatar).delete(delete_avatar),
    )
}

async fn put_avatar(
    State(sim): State<PbxSimulator>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path((account, id)) = path.map_err(path_error)?;
    let admitted = admit(&sim, &account, &headers, Method::PUT).await?;
    let body = body.map_err(body_error)?;
    if body.len() > MAX_AVATAR_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "a photo is at most 256 KB",
        ));
    }
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let detected = ImageType::detect(&body);
    if detected.is_none() || declared.as_deref() != detected.map(ImageType::content_type) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be a JPEG (image/jpeg) or PNG (image/png) image",
        ));
    }
    set(&sim, &admitted.cell, &id, Some(sha256_hex(&body)))
}

async fn delete_avatar(
    State(sim): State<PbxSimulator>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path((account, id)) = path.map_err(path_error)?;
    let admitted = admit(&sim, &account, &headers, Method::DELETE).await?;
    set(&sim, &admitted.cell, &id, None)
}

fn set(
    sim: &PbxSimulator,
    cell: &crate::AccountCell,
    id: &str,
    sha256: Option<String>,
) -> Result<Response, ApiError> {
    lock(&cell.state).extensions.get_mut(id)?.avatar_sha256 = sha256;
    committed(sim, cell)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
