//! Graph photos (`fields.avatar`): the user listing carries none, so each in-scope user's
//! photo metadata (`GET /users/{id}/photo`, its `@odata.mediaEtag`) is asked for with JSON
//! batching, 20 users a `POST /v1.0/$batch`; a 404 is "no photo". The bytes
//! (`/users/{id}/photo/$value`) are read one user at a time, and never past the largest photo
//! the PBX takes plus one byte.

use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::StatusCode;
use serde_json::{Map, Value};

use super::graph_batch::{wait_asked, BatchItem, GraphCalls};
use super::urls::url_under;
use crate::domain::avatar::{PhotoRef, MAX_AVATAR_BYTES};
use crate::domain::{DirectoryUser, ObjectId};
use crate::error::DirectoryError;

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
        429 | 500..=599 => Metadata::Retry(wait_asked(headers)),
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

impl GraphCalls<'_> {
    /// Sets `avatar_ref` of every in-scope user: their photo's ETag, or unknown where Graph
    /// would not say. A batch that fails as a whole fails the read.
    pub async fn photo_refs(&self, users: &mut [DirectoryUser]) -> Result<(), DirectoryError> {
        let in_scope: Vec<usize> = (0..users.len()).filter(|&i| users[i].in_scope).collect();
        let items: Vec<BatchItem> = in_scope
            .iter()
            .map(|&i| BatchItem {
                method: "GET",
                path: vec![
                    "users".into(),
                    users[i].object_id.to_string(),
                    "photo".into(),
                ],
                query: Vec::new(),
                body: None,
            })
            .collect();
        let answers = self.batch(&items).await?;
        for (&i, answer) in in_scope.iter().zip(answers) {
            let told = answer.map_or(Metadata::Retry(None), |r| {
                metadata(r.status, &r.headers, &r.body)
            });
            match told {
                Metadata::Photo(reference) => users[i].avatar_ref = Some(reference),
                Metadata::NoPhoto => users[i].avatar_ref = None,
                Metadata::Retry(_) => {
                    tracing::warn!(user = %users[i].object_id, "Graph kept failing the photo metadata; photo left as it is");
                    users[i].avatar_ref = Some(PhotoRef::Unknown);
                }
            }
        }
        Ok(())
    }

    /// One user's photo bytes (`None`: no photo), at most [`MAX_AVATAR_BYTES`] + 1 of them:
    /// a longer photo is too large whatever its rest.
    pub async fn photo_bytes(&self, user: &ObjectId) -> Result<Option<Vec<u8>>, DirectoryError> {
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
