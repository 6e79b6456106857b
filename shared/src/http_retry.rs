//! Retry timing shared by every HTTP client of dirsync (the PBX client and the cloud
//! directories): full-jitter backoff, `Retry-After`, and which transport failures to retry.

use std::time::Duration;

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Full-jitter exponential backoff before retry number `retry` (0 for the first retry):
/// random in `0..=min(base * 2^retry, max)`.
pub(crate) fn full_jitter(base: Duration, max: Duration, retry: u32) -> Duration {
    let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
    let ceiling = base.saturating_mul(factor).min(max);
    let ceiling_micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(rand::rng().random_range(0..=ceiling_micros))
}

/// `Retry-After` in seconds (the HTTP-date form is not used by these services and falls back
/// to backoff).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Transport failures worth another attempt: the request may not have reached the server, or
/// its answer was lost.
pub(crate) fn is_retryable(error: &reqwest::Error) -> bool {
    error.is_timeout() || error.is_connect() || error.is_request() || error.is_body()
}
