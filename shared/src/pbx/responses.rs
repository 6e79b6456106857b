//! What the client makes of an answer: which ones to retry and after how long, and the
//! `PbxError` of each final error status.

use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::options::PbxClientOptions;
use crate::domain::object_plan::ObjectConflictReason;
use crate::domain::plan::ConflictReason;
use crate::error::PbxError;

/// The longest server message copied into an error.
const MAX_MESSAGE_CHARS: usize = 200;

/// A complete answer of one attempt.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    /// The `ETag` field, when it is a valid entity tag.
    pub etag: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, PbxError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            PbxError::Protocol(format!(
                "the {} answer is not the expected JSON: {e}",
                self.status.as_u16()
            ))
        })
    }

    fn error_body(&self) -> ErrorBody {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }

    /// The server's explanation, short: its `message`, else its `error` code, else the status.
    fn message(&self) -> String {
        let body = self.error_body();
        let text = body
            .message
            .or(body.error)
            .unwrap_or_else(|| format!("status {}", self.status.as_u16()));
        text.chars()
            .filter(|c| !c.is_control())
            .take(MAX_MESSAGE_CHARS)
            .collect()
    }

    /// The error of a final answer the caller did not expect (never 429 or 5xx, which the
    /// retry loop turns into `Throttled`/`Server`).
    pub fn into_error(self) -> PbxError {
        let code = self.error_body().error.unwrap_or_default();
        match self.status {
            StatusCode::UNAUTHORIZED => PbxError::Unauthorized,
            StatusCode::FORBIDDEN if code == "limit_reached" => PbxError::LimitReached,
            StatusCode::FORBIDDEN => PbxError::Forbidden(self.message()),
            StatusCode::NOT_FOUND => PbxError::NotFound,
            StatusCode::CONFLICT => match code.as_str() {
                "number_taken" => PbxError::Conflict(ConflictReason::NumberTaken),
                "email_taken" => PbxError::Conflict(ConflictReason::EmailTaken),
                "name_taken" => PbxError::ObjectConflict(ObjectConflictReason::NameTaken),
                "in_use" => PbxError::ObjectConflict(ObjectConflictReason::InUse),
                "limit_reached" => PbxError::LimitReached,
                "idempotency_key_reused" => PbxError::KeyReused,
                _ => PbxError::Protocol(format!("409 {code}: {}", self.message())),
            },
            StatusCode::UNPROCESSABLE_ENTITY => PbxError::Rejected(self.message()),
            status => PbxError::Protocol(format!(
                "unexpected status {}: {}",
                status.as_u16(),
                self.message()
            )),
        }
    }
}

pub(crate) use crate::http_retry::{is_retryable, retry_after};

/// Full-jitter exponential backoff before retry number `retry` (0 for the first retry).
pub(crate) fn backoff(options: &PbxClientOptions, retry: u32) -> Duration {
    crate::http_retry::full_jitter(options.base_backoff, options.max_backoff, retry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, RETRY_AFTER};

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            retry_after: None,
            etag: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn error_statuses_map_to_their_errors() {
        let e = |status, body| answer(status, body).into_error();
        assert!(matches!(e(401, "{}"), PbxError::Unauthorized));
        assert!(matches!(
            e(403, r#"{"error":"limit_reached"}"#),
            PbxError::LimitReached
        ));
        assert!(
            matches!(e(403, r#"{"error":"forbidden","message":"no"}"#), PbxError::Forbidden(m) if m == "no")
        );
        assert!(matches!(e(404, ""), PbxError::NotFound));
        assert!(matches!(
            e(409, r#"{"error":"number_taken"}"#),
            PbxError::Conflict(ConflictReason::NumberTaken)
        ));
        assert!(matches!(
            e(409, r#"{"error":"email_taken"}"#),
            PbxError::Conflict(ConflictReason::EmailTaken)
        ));
        assert!(matches!(
            e(409, r#"{"error":"name_taken"}"#),
            PbxError::ObjectConflict(ObjectConflictReason::NameTaken)
        ));
        assert!(matches!(
            e(409, r#"{"error":"in_use"}"#),
            PbxError::ObjectConflict(ObjectConflictReason::InUse)
        ));
        assert!(matches!(
            e(409, r#"{"error":"other"}"#),
            PbxError::Protocol(_)
        ));
        assert!(
            matches!(e(422, r#"{"error":"invalid","message":"bad email"}"#), PbxError::Rejected(m) if m == "bad email")
        );
        assert!(matches!(e(400, "<html>"), PbxError::Protocol(m) if m.contains("400")));
    }

    #[test]
    fn long_messages_are_cut() {
        let long = "x".repeat(1000);
        let error = answer(422, &format!(r#"{{"message":"{long}"}}"#)).into_error();
        assert!(matches!(error, PbxError::Rejected(m) if m.len() == MAX_MESSAGE_CHARS));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let options = PbxClientOptions {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
            ..PbxClientOptions::default()
        };
        for retry in 0..40 {
            let wait = backoff(&options, retry);
            let ceiling =
                Duration::from_millis(100 * 2u64.pow(retry.min(20))).min(options.max_backoff);
            assert!(wait <= ceiling, "retry {retry}: {wait:?} > {ceiling:?}");
        }
        // Full jitter: over many draws the first retry's waits spread below its ceiling.
        let waits: Vec<Duration> = (0..200).map(|_| backoff(&options, 0)).collect();
        assert!(waits.iter().any(|w| *w < Duration::from_millis(50)));
        assert!(waits.iter().any(|w| *w > Duration::from_millis(50)));
    }

    #[test]
    fn retry_after_reads_seconds() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
