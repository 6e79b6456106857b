//! What the simulator stores and answers: extensions with their telephony settings,
//! organizations, extension groups, counters and the JSON error bodies.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

/// Voicemail settings: present on every extension, never sent by dirsync.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voicemail {
    pub enabled: bool,
    pub pin_set: bool,
}

/// Call forwarding settings: present on every extension, never sent by dirsync.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forwarding {
    pub enabled: bool,
    pub to: Option<String>,
}

/// An extension as the simulated PBX holds and lists it, telephony settings included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimExtension {
    pub id: String,
    pub number: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub enabled: bool,
    pub job_title: Option<String>,
    pub organization_id: Option<String>,
    pub managed_by: Option<String>,
    pub voicemail: Voicemail,
    pub forwarding: Forwarding,
    pub did: Option<String>,
    /// Hex SHA-256 of the photo `PUT .../avatar` stored; `None` without one.
    #[serde(default)]
    pub avatar_sha256: Option<String>,
}

impl SimExtension {
    /// A manual extension (no sync marker) with default telephony settings; `id` empty lets
    /// [`crate::PbxSimulator::seed`] assign one.
    pub fn manual(number: &str, email: Option<&str>) -> Self {
        Self {
            id: String::new(),
            number: number.to_string(),
            first_name: None,
            last_name: None,
            email: email.map(str::to_string),
            mobile: None,
            enabled: true,
            job_title: None,
            organization_id: None,
            managed_by: None,
            voicemail: Voicemail::default(),
            forwarding: Forwarding::default(),
            did: None,
            avatar_sha256: None,
        }
    }
}

/// An organization as the simulated PBX holds and lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimOrganization {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub managed_by: Option<String>,
}

impl SimOrganization {
    /// A manual organization (no sync marker); `id` empty lets
    /// [`crate::PbxSimulator::seed_organization`] assign one.
    pub fn manual(name: &str, parent_id: Option<&str>) -> Self {
        Self {
            id: String::new(),
            name: name.to_string(),
            parent_id: parent_id.map(str::to_string),
            managed_by: None,
        }
    }
}

/// An extension group as the simulated PBX holds and lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimGroup {
    pub id: String,
    pub name: String,
    /// Extension ids.
    pub members: Vec<String>,
    pub managed_by: Option<String>,
}

impl SimGroup {
    /// A manual group (no sync marker); `id` empty lets [`crate::PbxSimulator::seed_group`]
    /// assign one.
    pub fn manual(name: &str, members: &[&str]) -> Self {
        Self {
            id: String::new(),
            name: name.to_string(),
            members: members.iter().map(|m| m.to_string()).collect(),
            managed_by: None,
        }
    }
}

/// Counters of one account, for assertions and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Authenticated requests by method.
    pub gets: u64,
    pub posts: u64,
    pub patches: u64,
    /// `PUT .../avatar` requests.
    pub puts: u64,
    pub deletes: u64,
    /// POST/PATCH/DELETE requests that changed state (idempotent replays do not).
    pub writes: u64,
    /// 429 answers injected by `fault_rate`.
    pub injected_429: u64,
    /// 500/503 answers injected by `fault_rate` or `fault_after_commit_rate`.
    pub injected_5xx: u64,
    /// 429 answers from `rate_limit_per_second`.
    pub rate_limited: u64,
    /// The most requests of this account handled at the same time.
    pub max_in_flight: usize,
    /// Creates that asked for a welcome email (replays not counted).
    pub welcome_emails: u64,
    /// Extension listings answered 304 Not Modified (`If-None-Match` of the current ETag).
    pub not_modified: u64,
}

/// What the PBX was told of one extension's SIP password: never the password.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SipPasswordSet {
    /// SHA-256 of the password last set, lowercase hex.
    pub sha256: String,
    /// How many requests set it (creates and PATCHes; a replayed create does not).
    pub times: u64,
}

impl SimStats {
    pub fn requests(&self) -> u64 {
        self.gets + self.posts + self.patches + self.puts + self.deletes
    }
}

/// An error answer: always a JSON body `{"error", "message"}` (plus `field` for validation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// 422 naming the offending field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::unprocessable(field, "invalid", message)
    }

    /// 422 with its own code, naming the offending field.
    pub fn unprocessable(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_string()),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn throttled(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests, retry later",
            )
        }
    }

    pub fn server(status: StatusCode) -> Self {
        Self::new(status, "server_error", "the PBX failed, try again")
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code,
            message: &self.message,
            field: self.field.as_deref(),
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}
