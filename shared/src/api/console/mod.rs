//! `GET /console`: the Directory Sync page of CONTRACTS section 7. Static files compiled into
//! the binary, no auth of their own: the page reads the tenant's token from the URL fragment
//! (which browsers never send) and calls the API with it.
//!
//! The script and the style sheet are separate files so that the page runs under a policy
//! that allows no inline script or style at all: tenant data the page shows can never run.

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

const PAGE: &str = include_str!("index.html");
const SCRIPT: &str = include_str!("console.js");
const STYLE: &str = include_str!("console.css");

/// Only our own files, nothing inline, calls only to this origin, never framed.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// The page's routes, to merge into the API router (they need no state).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/console",
            get(|| async { file(PAGE, "text/html; charset=utf-8") }),
        )
        .route(
            "/console/console.js",
            get(|| async { file(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/console/console.css",
            get(|| async { file(STYLE, "text/css; charset=utf-8") }),
        )
}

fn file(body: &'static str, content_type: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, POLICY),
        // The page's address never leaves it (the fragment is dropped anyway; this is belt
        // and braces for any link).
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    let mut response = body.into_response();
    for (name, value) in headers {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    response.headers_mut().insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page must not need anything the policy forbids: no inline script or style, no
    /// `innerHTML` (tenant data is rendered with DOM text only), no other origin.
    #[test]
    fn the_files_fit_the_policy() {
        assert!(PAGE.contains(r#"<script src="/console/console.js" defer></script>"#));
        assert!(PAGE.contains(r#"href="/console/console.css""#));
        assert_eq!(PAGE.matches("<script").count(), 1);
        assert!(!PAGE.contains("<style") && !PAGE.contains(" style="));
        assert!(!has_inline_handler(PAGE), "no inline event handlers");
        for text in [PAGE, SCRIPT, STYLE] {
            assert!(!text.contains("http://") && !text.contains("https://"));
        }
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!SCRIPT.contains(sink), "console.js uses {sink}");
        }
    }

    /// An attribute such as ` onclick=`.
    fn has_inline_handler(html: &str) -> bool {
        html.match_indices(" on").any(|(at, _)| {
            let rest = &html[at + 3..];
            let name = rest.len()
                - rest
                    .trim_start_matches(|c: char| c.is_ascii_lowercase())
                    .len();
            name > 0 && rest[name..].starts_with('=')
        })
    }
}
