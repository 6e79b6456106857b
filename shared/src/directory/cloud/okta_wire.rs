//! Okta's wire conventions: the `Link` header of the next page, the `X-Rate-Limit-*` headers
//! that pace a read, and the `errorCode` / `errorSummary` error body.

use std::time::Duration;

use reqwest::header::{HeaderMap, LINK};
use serde::Deserialize;

use super::http::{shorten, Answer, Vendor};
use crate::error::DirectoryError;

/// The `rel="next"` target among the `Link` headers.
pub(crate) fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|link| {
            let (target, params) = link.trim().strip_prefix('<')?.split_once('>')?;
            params
                .split(';')
                .map(str::trim)
                .any(|p| p == "rel=\"next\"" || p == "rel=next")
                .then(|| target.to_string())
        })
}

/// `X-Rate-Limit-*` as (limit, remaining, seconds until the reset).
fn rate_limit(headers: &HeaderMap) -> Option<(u64, u64, Duration)> {
    let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
    let limit = number("x-rate-limit-limit")?;
    let remaining = number("x-rate-limit-remaining")?;
    let reset = i64::try_from(number("x-rate-limit-reset")?).ok()?;
    let until = reset.saturating_sub(chrono::Utc::now().timestamp()).max(0);
    // The reset is in whole seconds: waiting one more second makes sure it has passed.
    Some((
        limit,
        remaining,
        Duration::from_secs(until.unsigned_abs() + 1),
    ))
}

/// Okta's error body.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct OktaError {
    #[serde(default)]
    error_code: String,
    #[serde(default)]
    error_summary: String,
}

pub(crate) struct OktaVendor;

impl Vendor for OktaVendor {
    /// A 429 waits for the window's reset; a 5xx backs off (its rate headers say nothing
    /// about the fault).
    fn wait_asked(&self, answer: &Answer) -> Option<Duration> {
        if answer.status != reqwest::StatusCode::TOO_MANY_REQUESTS {
            return None;
        }
        rate_limit(&answer.headers).map(|(_, _, until_reset)| until_reset)
    }

    /// Waits for the reset once a tenth of the window (at least one request) is left, so that
    /// the org's other integrations are not starved and this read never hits 429.
    fn pace(&self, answer: &Answer) -> Option<Duration> {
        let (limit, remaining, until_reset) = rate_limit(&answer.headers)?;
        (remaining <= (limit / 10).max(1)).then_some(until_reset)
    }

    fn error(&self, answer: &Answer) -> DirectoryError {
        let body: OktaError = serde_json::from_slice(&answer.body).unwrap_or_default();
        let said = format!(
            "{}: {}",
            shorten(&body.error_code),
            shorten(&body.error_summary)
        );
        match (answer.status.as_u16(), body.error_code.as_str()) {
            (401, _) => DirectoryError::Credentials(format!(
                "Okta refused the credentials ({said}). Create a new API token (Security > API > \
                 Tokens) or check the service app, and save it again"
            )),
            (403, _) => DirectoryError::Credentials(format!(
                "the credentials may not read users and groups ({said}). Use a token of a \
                 read-only admin, or grant okta.users.read and okta.groups.read to the app"
            )),
            (404, _) => DirectoryError::NotAvailable(format!(
                "a group was not found ({said}). Check the Okta group ids in scope.groups \
                 and extension_groups.groups"
            )),
            (429, _) => DirectoryError::Unreachable(format!("Okta kept rate-limiting ({said})")),
            (status, _) => DirectoryError::Protocol(format!("Okta answered {status} ({said})")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_is_found_among_several() {
        let mut headers = HeaderMap::new();
        headers.append(
            LINK,
            "<https://a.okta.com/api/v1/users?limit=200>; rel=\"self\""
                .parse()
                .unwrap(),
        );
        headers.append(
            LINK,
            "<https://a.okta.com/api/v1/users?after=x&limit=200>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("https://a.okta.com/api/v1/users?after=x&limit=200")
        );
        let mut one = HeaderMap::new();
        one.insert(
            LINK,
            "<https://a/s>; rel=\"self\", <https://a/n>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_link(&one).as_deref(), Some("https://a/n"));
        one.insert(LINK, "<https://a/s>; rel=\"self\"".parse().unwrap());
        assert_eq!(next_link(&one), None);
    }
}
