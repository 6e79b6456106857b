//! Tuning of the PBX client, and the counters it keeps of what it sent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;

use crate::domain::EndpointPolicy;

/// Limits and retry policy of an [`super::HttpPbx`]; the operator's values arrive in
/// [`crate::settings::Settings::pbx`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbxClientOptions {
    /// Requests in flight at once (at least 1).
    pub concurrency: usize,
    /// Client-side rate limit shared by every request of the client (at least 1).
    pub requests_per_second: u32,
    /// Attempts per call, the first included, before giving up on 429, 5xx or transport
    /// errors (at least 1).
    pub max_attempts: u32,
    /// Backoff before retry n (0-based) is random in `0..=min(base_backoff * 2^n, max_backoff)`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured; longer ones are cut to this.
    pub max_retry_after: Duration,
    /// Per attempt, connect to end of body.
    pub timeout: Duration,
    /// `limit` of each listing page.
    pub page_size: u32,
    /// Which addresses the PBX host may resolve to (CONTRACTS section 2): public ones only,
    /// unless the operator allows private endpoints (local mode, tests).
    pub endpoint_policy: EndpointPolicy,
}

impl Default for PbxClientOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            requests_per_second: 50,
            max_attempts: 6,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
            timeout: Duration::from_secs(15),
            page_size: 200,
            endpoint_policy: EndpointPolicy::default(),
        }
    }
}

/// Requests sent by method, retries included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallCounts {
    pub get: u64,
    pub post: u64,
    pub patch: u64,
    /// Photo uploads (`PUT .../avatar`).
    pub put: u64,
    pub delete: u64,
}

impl CallCounts {
    pub fn total(&self) -> u64 {
        self.get + self.post + self.patch + self.put + self.delete
    }
}

#[derive(Debug, Default)]
pub(crate) struct CallCounters {
    get: AtomicU64,
    post: AtomicU64,
    patch: AtomicU64,
    put: AtomicU64,
    delete: AtomicU64,
}

impl CallCounters {
    pub fn count(&self, method: &Method) {
        let counter = match *method {
            Method::GET => &self.get,
            Method::POST => &self.post,
            Method::PATCH => &self.patch,
            Method::PUT => &self.put,
            _ => &self.delete,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> CallCounts {
        CallCounts {
            get: self.get.load(Ordering::Relaxed),
            post: self.post.load(Ordering::Relaxed),
            patch: self.patch.load(Ordering::Relaxed),
            put: self.put.load(Ordering::Relaxed),
            delete: self.delete.load(Ordering::Relaxed),
        }
    }
}
