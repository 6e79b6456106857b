//! The four calls every PBX resource answers the same way (CONTRACTS section 4): a paged
//! listing, a create with `Idempotency-Key`, a PATCH of what changed and a DELETE. The `Pbx`
//! methods of `HttpPbx` are these calls on extensions, organizations, extension groups and
//! phonebook entries (which have no PATCH).

use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::http_client::{Call, HttpPbx};
use crate::error::PbxError;

pub(super) const EXTENSIONS: &str = "extensions";
pub(super) const ORGANIZATIONS: &str = "organizations";
pub(super) const GROUPS: &str = "extension-groups";
pub(super) const PHONEBOOK: &str = "phonebook";

impl HttpPbx {
    /// `POST /v1/{resource}`; a retry with the same key gets the object the first one made.
    pub(super) async fn create<T: DeserializeOwned>(
        &self,
        resource: &str,
        request: &(impl Serialize + Sync),
        idempotency_key: &str,
    ) -> Result<T, PbxError> {
        if HeaderValue::from_str(idempotency_key).is_err() || idempotency_key.is_empty() {
            return Err(PbxError::Protocol(
                "the idempotency key is empty or not a valid header value".into(),
            ));
        }
        let call = Call {
            body: Some(json_body(request)?),
            idempotency_key: Some(idempotency_key),
            ..Call::new(Method::POST, self.url(&[resource])?)
        };
        let answer = self.send(&call).await?;
        match answer.status {
            StatusCode::CREATED | StatusCode::OK => answer.json(),
            _ => Err(answer.into_error()),
        }
    }

    /// `PATCH /v1/{resource}/{id}`: 404 is `NotFound`.
    pub(super) async fn update<T: DeserializeOwned>(
        &self,
        resource: &str,
        id: &str,
        patch: &(impl Serialize + Sync),
    ) -> Result<T, PbxError> {
        let call = Call {
            body: Some(json_body(patch)?),
            ..Call::new(Method::PATCH, self.url(&[resource, id])?)
        };
        let answer = self.send(&call).await?;
        match answer.status {
            StatusCode::OK => answer.json(),
            _ => Err(answer.into_error()),
        }
    }

    /// `DELETE /v1/{resource}/{id}`: already gone (404) counts as deleted.
    pub(super) async fn delete(&self, resource: &str, id: &str) -> Result<(), PbxError> {
        let call = Call::new(Method::DELETE, self.url(&[resource, id])?);
        let answer = self.send(&call).await?;
        match answer.status {
            status if status.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Ok(()),
            _ => Err(answer.into_error()),
        }
    }
}

fn json_body<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, PbxError> {
    serde_json::to_vec(value)
        .map_err(|e| PbxError::Protocol(format!("the request could not be encoded: {e}")))
}
