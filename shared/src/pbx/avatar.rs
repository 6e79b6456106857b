//! An extension's photo: `PUT /v1/extensions/{id}/avatar` (the image bytes, 204) and its
//! `DELETE` (204).

use reqwest::{Method, StatusCode};

use super::http_client::{Call, HttpPbx};
use super::resources::EXTENSIONS;
use crate::error::PbxError;

const AVATAR: &str = "avatar";

impl HttpPbx {
    /// 404 is `NotFound`; 413 and 415 (the PBX refused the image) are errors of this upload.
    pub(super) async fn put_photo(
        &self,
        id: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), PbxError> {
        let call = Call {
            body: Some(bytes),
            content_type: Some(content_type),
            ..Call::new(Method::PUT, self.url(&[EXTENSIONS, id, AVATAR])?)
        };
        let answer = self.send(&call).await?;
        match answer.status {
            StatusCode::NO_CONTENT | StatusCode::OK => Ok(()),
            _ => Err(answer.into_error()),
        }
    }

    /// 404 is `NotFound` (the extension is gone).
    pub(super) async fn delete_photo(&self, id: &str) -> Result<(), PbxError> {
        let call = Call::new(Method::DELETE, self.url(&[EXTENSIONS, id, AVATAR])?);
        let answer = self.send(&call).await?;
        match answer.status {
            StatusCode::NO_CONTENT | StatusCode::OK => Ok(()),
            _ => Err(answer.into_error()),
        }
    }
}
