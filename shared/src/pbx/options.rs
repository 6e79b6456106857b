//! Tuning of the PBX client, and the counters it keeps of what it sent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;

use crate::domain::EndpointPolicy;

/// Limits and retry policy of an [`super::HttpPbx`].
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

impl PbxClientOptions {
    /// The defaults with the operator's settings for their PBX platform:
    /// `DIRSYNC_PBX_REQUESTS_PER_SECOND` (its rate limit per tenant),
    /// `DIRSYNC_PBX_CONCURRENCY` (calls in flight per run) and `DIRSYNC_PBX_PAGE_SIZE` (the
    /// largest listing page it serves: fewer pages make a quicker no-op sync).
    pub fn from_env() -> Result<Self, String> {
        Self::from_settings(|name| std::env::var(name).ok())
    }

    /// [`Self::from_env`] with the settings looked up by `setting`. A value that is not a
    /// positive integer is an error naming the variable: a typo never silently means the
    /// default.
    pub fn from_settings(setting: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let positive = |name: &str, default: u32| match setting(name) {
            Some(value) if !value.trim().is_empty() => value
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name} must be a positive integer, not '{value}'")),
            _ => Ok(default),
        };
        let defaults = Self::default();
        Ok(Self {
            requests_per_second: positive(
                "DIRSYNC_PBX_REQUESTS_PER_SECOND",
                defaults.requests_per_second,
            )?,
            concurrency: positive("DIRSYNC_PBX_CONCURRENCY", defaults.concurrency as u32)? as usize,
            page_size: positive("DIRSYNC_PBX_PAGE_SIZE", defaults.page_size)?,
            ..defaults
        })
    }
}

/// Requests sent by method, retries included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallCounts {
    pub get: u64,
    pub post: u64,
    pub patch: u64,
    pub delete: u64,
}

impl CallCounts {
    pub fn total(&self) -> u64 {
        self.get + self.post + self.patch + self.delete
    }
}

#[derive(Debug, Default)]
pub(crate) struct CallCounters {
    get: AtomicU64,
    post: AtomicU64,
    patch: AtomicU64,
    delete: AtomicU64,
}

impl CallCounters {
    pub fn count(&self, method: &Method) {
        let counter = match *method {
            Method::GET => &self.get,
            Method::POST => &self.post,
            Method::PATCH => &self.patch,
            _ => &self.delete,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> CallCounts {
        CallCounts {
            get: self.get.load(Ordering::Relaxed),
            post: self.post.load(Ordering::Relaxed),
            patch: self.patch.load(Ordering::Relaxed),
            delete: self.delete.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn operator_settings_replace_the_defaults_and_typos_are_refused() {
        let unset = PbxClientOptions::from_settings(settings(&[])).unwrap();
        assert_eq!(unset, PbxClientOptions::default());
        let set = PbxClientOptions::from_settings(settings(&[
            ("DIRSYNC_PBX_REQUESTS_PER_SECOND", "200"),
            ("DIRSYNC_PBX_CONCURRENCY", " 16 "),
            ("DIRSYNC_PBX_PAGE_SIZE", "500"),
        ]))
        .unwrap();
        assert_eq!(
            (set.requests_per_second, set.concurrency, set.page_size),
            (200, 16, 500)
        );
        for bad in ["0", "-5", "fast", "1.5"] {
            let error = PbxClientOptions::from_settings(settings(&[(
                "DIRSYNC_PBX_REQUESTS_PER_SECOND",
                bad,
            )]))
            .unwrap_err();
            assert!(error.contains("DIRSYNC_PBX_REQUESTS_PER_SECOND"), "{error}");
        }
    }
}
