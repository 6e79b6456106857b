//! Graph's JSON batching (`POST /v1.0/$batch`, at most 20 requests each), shared by the
//! photo metadata and the change-only reads' lookups: each request is answered on its own,
//! and one answered 429 or 5xx (or not at all) is sent again in a later batch, waiting as
//! Graph asked, up to the client's attempts.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::http::{Answer, CloudHttp, Credential, Vendor};
use super::urls::url_under;
use crate::error::DirectoryError;

/// The most requests Graph takes in one batch.
pub(super) const BATCH_LIMIT: usize = 20;
/// A batch's answer: 20 users or photo metadata objects.
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Where Graph's requests go, and with what.
pub(super) struct GraphCalls<'a> {
    pub base: &'a Url,
    pub http: &'a CloudHttp,
    pub credential: &'a dyn Credential,
    pub vendor: &'a dyn Vendor,
}

/// One request of a batch: a path under `/v1.0` with its query, and a JSON body for a POST.
pub(super) struct BatchItem {
    pub method: &'static str,
    /// Segments under `/v1.0`, each escaped when the URL is built.
    pub path: Vec<String>,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
}

#[derive(Serialize)]
struct BatchRequest<'a> {
    id: String,
    method: &'static str,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Value>,
}

#[derive(Deserialize)]
struct BatchAnswer {
    responses: Vec<BatchResponse>,
}

/// One request's answer inside a batch.
#[derive(Deserialize)]
pub(super) struct BatchResponse {
    id: String,
    pub status: u16,
    #[serde(default)]
    pub headers: Map<String, Value>,
    #[serde(default)]
    pub body: Value,
}

/// Whether a batched request is sent again: throttled or failing.
fn again(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// The `Retry-After` seconds of one batched answer.
pub(super) fn wait_asked(headers: &Map<String, Value>) -> Option<Duration> {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, v)| v.as_str()?.trim().parse().ok())
        .map(Duration::from_secs)
}

impl GraphCalls<'_> {
    /// Every item sent, 20 a batch; per item, in order, its last answer (`None`: Graph never
    /// answered it). A batch that fails as a whole is an error.
    pub async fn batch(
        &self,
        items: &[BatchItem],
    ) -> Result<Vec<Option<BatchResponse>>, DirectoryError> {
        let prefix = url_under(self.base, &["v1.0"], "the Graph URL")?;
        let batch_url = url_under(self.base, &["v1.0", "$batch"], "the Graph URL")?;
        let mut relative = Vec::with_capacity(items.len());
        for item in items {
            let path: Vec<&str> = item.path.iter().map(String::as_str).collect();
            let mut url = url_under(&prefix, &path, "the Graph URL")?;
            if !item.query.is_empty() {
                url.query_pairs_mut().extend_pairs(&item.query);
            }
            let mut text = url.path()[prefix.path().len()..].to_string();
            if let Some(query) = url.query() {
                text.push('?');
                text.push_str(query);
            }
            relative.push(text);
        }
        let mut answers: Vec<Option<BatchResponse>> = items.iter().map(|_| None).collect();
        let indices: Vec<usize> = (0..items.len()).collect();
        for chunk in indices.chunks(BATCH_LIMIT) {
            let mut pending: Vec<usize> = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() && attempt < self.http.max_attempts() {
                attempt += 1;
                let requests: Vec<BatchRequest> = pending
                    .iter()
                    .map(|&i| BatchRequest {
                        id: i.to_string(),
                        method: items[i].method,
                        url: relative[i].clone(),
                        body: items[i].body.as_ref(),
                        headers: items[i]
                            .body
                            .as_ref()
                            .map(|_| serde_json::json!({"Content-Type": "application/json"})),
                    })
                    .collect();
                let body = serde_json::json!({ "requests": requests });
                let answer: BatchAnswer = self
                    .post(&batch_url, &body)
                    .await?
                    .json("a Graph batch answer")?;
                let mut by_id: HashMap<String, BatchResponse> = answer
                    .responses
                    .into_iter()
                    .map(|r| (r.id.clone(), r))
                    .collect();
                let mut retry = Vec::new();
                let mut wait = None;
                for &i in &pending {
                    match by_id.remove(&i.to_string()) {
                        Some(r) if again(r.status) => {
                            wait = wait.max(wait_asked(&r.headers));
                            answers[i] = Some(r);
                            retry.push(i);
                        }
                        Some(r) => answers[i] = Some(r),
                        // An answer without this request's response: as if it failed.
                        None => retry.push(i),
                    }
                }
                if !retry.is_empty() && attempt < self.http.max_attempts() {
                    tokio::time::sleep(self.http.wait_for(wait, attempt)).await;
                }
                pending = retry;
            }
        }
        Ok(answers)
    }

    async fn post(&self, url: &Url, body: &Value) -> Result<Answer, DirectoryError> {
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

    /// Whether a final batched answer is one that was retried until the attempts ran out.
    pub fn gave_up(answer: &BatchResponse) -> bool {
        again(answer.status)
    }
}
