//! Graph photos (`fields.avatar`): the user listing carries none, so each in-scope user's
//! photo metadata (`GET /users/{id}/photo`, its `@odata.mediaEtag`) is asked for with JSON
//! batching, 20 users a `POST /v1.0/$batch`; a 404 is "no photo". The bytes
//! (`/users/{id}/photo/$value`) are read one user at a time, and never past the largest photo
//! the PBX takes plus one byte.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::http::{CloudHttp, Credential, Vendor};
use super::urls::url_under;
use crate::domain::avatar::{PhotoRef, MAX_AVATAR_BYTES};
use crate::domain::{DirectoryUser, ObjectId};
use crate::error::DirectoryError;

/// The most requests Graph takes in one batch.
pub(super) const BATCH_LIMIT: usize = 20;
/// A batch's answer: 20 small metadata objects.
const MAX_BATCH_BYTES: usize = 1024 * 1024;

#[derive(Serialize)]
struct BatchRequest {
    id: String,
    method: &'static str,
    url: String,
}

#[derive(Deserialize)]
struct BatchAnswer {
    responses: Vec<BatchResponse>,
}

#[derive(Deserialize)]
struct BatchResponse {
    id: String,
    status: u16,
    #[serde(default)]
    headers: Map<String, Value>,
    #[serde(default)]
    body: Value,
}

/// What one metadata answer says about a user's photo.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Metadata {
    Photo(PhotoRef),
    NoPhoto,
    /// Throttled or failing: asked again, after this wait if Graph named one.
    Retry(Option<Duration>),
}

/// One batch response read: 200 with a media ETag, 404 (no photo), 429/5xx (again), or any
/// other answer, which leaves the photo unknown.
pub(super) fn metadata(status: u16, headers: &Map<String, Value>, body: &Value) -> Metadata {
    match status {
        200 => match body.get("@odata.mediaEtag").and_then(Value::as_str) {
            Some(etag) if !etag.is_empty() => Metadata::Photo(PhotoRef::Etag(etag.to_string())),
            _ => Metadata::Photo(PhotoRef::Unknown),
        },
        404 => Metadata::NoPhoto,
        429 | 500..=599 => {
            let wait = headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
                .and_then(|(_, v)| v.as_str()?.trim().parse().ok())
                .map(Duration::from_secs);
            Metadata::Retry(wait)
        }
        _ => {
            let code = body.pointer("/error/code").and_then(Value::as_str);
            tracing::warn!(
                status,
                ?code,
                "Graph refused a photo's metadata; photo left as it is"
            );
            Metadata::Photo(PhotoRef::Unknown)
        }
    }
}

/// Where Graph's requests go, and with what.
pub(super) struct GraphPhotos<'a> {
    pub base: &'a Url,
    pub http: &'a CloudHttp,
    pub credential: &'a dyn Credential,
    pub vendor: &'a dyn Vendor,
}

impl GraphPhotos<'_> {
    /// Sets `avatar_ref` of every in-scope user: their photo's ETag, or unknown where Graph
    /// would not say. A batch that fails as a whole fails the read.
    pub async fn refs(&self, users: &mut [DirectoryUser]) -> Result<(), DirectoryError> {
        let in_scope: Vec<usize> = (0..users.len()).filter(|&i| users[i].in_scope).collect();
        let prefix = url_under(self.base, &["v1.0"], "the Graph URL")?;
        let batch_url = url_under(self.base, &["v1.0", "$batch"], "the Graph URL")?;
        for chunk in in_scope.chunks(BATCH_LIMIT) {
            let mut pending: Vec<usize> = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                attempt += 1;
                let mut requests = Vec::with_capacity(pending.len());
                for &i in &pending {
                    let path = ["users", users[i].object_id.as_str(), "photo"];
                    let url = url_under(&prefix, &path, "the Graph URL")?;
                    let relative = url.path()[prefix.path().len()..].to_string();
                    requests.push(BatchRequest {
                        id: i.to_string(),
                        method: "GET",
                        url: relative,
                    });
                }
                let body = serde_json::json!({ "requests": requests });
                let answer = self.post(&batch_url, &body).await?;
                let answer: BatchAnswer = answer.json("a Graph batch answer")?;
                let mut again = Vec::new();
                let mut wait = None;
                let by_id: HashMap<&str, &BatchResponse> = answer
                    .responses
                    .iter()
                    .map(|r| (r.id.as_str(), r))
                    .collect();
                for &i in &pending {
                    let told = match by_id.get(i.to_string().as_str()) {
                        Some(r) => metadata(r.status, &r.headers, &r.body),
                        // An answer without this request's response: as if it failed.
                        None => Metadata::Retry(None),
                    };
                    match told {
                        Metadata::Photo(reference) => users[i].avatar_ref = Some(reference),
                        Metadata::NoPhoto => users[i].avatar_ref = None,
                        Metadata::Retry(asked) if attempt < self.http.max_attempts() => {
                            wait = wait.max(asked);
                            again.push(i);
                        }
                        Metadata::Retry(_) => {
                            tracing::warn!(user = %users[i].object_id, "Graph kept failing the photo metadata; photo left as it is");
                            users[i].avatar_ref = Some(PhotoRef::Unknown);
                        }
                    }
                }
                if !again.is_empty() {
                    tokio::time::sleep(self.http.wait_for(wait, attempt)).await;
                }
                pending = again;
            }
        }
        Ok(())
    }

    async fn post(&self, url: &Url, body: &Value) -> Result<super::http::Answer, DirectoryError> {
        let build = |authorization: &HeaderValue| {
            self.http
                .client()
                .post(url.clone())
                .header(AUTHORIZATION, authorization.clone())
                .header(ACCEPT, "application/json")
                .header(CONTENT_TYPE, "application/json")
                .json(body)
        };
        let answer = self
            .http
            .authorized(&build, MAX_BATCH_BYTES, self.credential, self.vendor)
            .await?;
        self.http.checked(answer, self.vendor).await
    }

    /// One user's photo bytes (`None`: no photo), at most [`MAX_AVATAR_BYTES`] + 1 of them:
    /// a longer photo is too large whatever its rest.
    pub async fn bytes(&self, user: &ObjectId) -> Result<Option<Vec<u8>>, DirectoryError> {
        let path = ["v1.0", "users", user.as_str(), "photo", "$value"];
        let url = url_under(self.base, &path, "the Graph URL")?;
        let build = |authorization: &HeaderValue| {
            self.http
                .client()
                .get(url.clone())
                .header(AUTHORIZATION, authorization.clone())
                .header(ACCEPT, "image/*")
        };
        let answer = self
            .http
            .authorized(&build, MAX_AVATAR_BYTES + 1, self.credential, self.vendor)
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let answer = self.http.checked(answer, self.vendor).await?;
        Ok(Some(answer.body).filter(|b| !b.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn metadata_answers() {
        let none = Map::new();
        let body = json!({"@odata.mediaContentType": "image/jpeg",
                          "@odata.mediaEtag": "W/\"BA09D118\"", "id": "240X240"});
        assert_eq!(
            metadata(200, &none, &body),
            Metadata::Photo(PhotoRef::Etag("W/\"BA09D118\"".into()))
        );
        assert_eq!(
            metadata(200, &none, &json!({})),
            Metadata::Photo(PhotoRef::Unknown)
        );
        let missing = json!({"error": {"code": "ImageNotFound", "message": "Exception of type"}});
        assert_eq!(metadata(404, &none, &missing), Metadata::NoPhoto);
        let throttled = json!({"Retry-After": "7"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            metadata(429, &throttled, &Value::Null),
            Metadata::Retry(Some(Duration::from_secs(7)))
        );
        assert_eq!(metadata(503, &none, &Value::Null), Metadata::Retry(None));
        assert_eq!(
            metadata(403, &none, &Value::Null),
            Metadata::Photo(PhotoRef::Unknown)
        );
    }
}
