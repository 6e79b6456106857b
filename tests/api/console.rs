//! `GET /console` (CONTRACTS section 7): the page and its two files, with the headers that keep
//! tenant data from running as script and the token out of every log. The page's behaviour in
//! a browser is tested by `scripts/browser-test` (tests/browser/).

use dirsync_integration_tests::api::spawn_app;
use reqwest::{Method, StatusCode};

use super::assert_error;

const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

#[tokio::test]
async fn the_page_and_its_files_are_served_without_a_token_under_a_strict_policy() {
    let app = spawn_app().await;
    for (path, content_type, marker) in [
        (
            "/console",
            "text/html; charset=utf-8",
            "<title>Directory Sync</title>",
        ),
        (
            "/console/console.js",
            "text/javascript; charset=utf-8",
            "Authorization",
        ),
        (
            "/console/console.css",
            "text/css; charset=utf-8",
            "color-scheme: light",
        ),
    ] {
        let response = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        assert_eq!(
            header("content-type").as_deref(),
            Some(content_type),
            "{path}"
        );
        assert_eq!(
            header("content-security-policy").as_deref(),
            Some(POLICY),
            "{path}"
        );
        assert_eq!(header("referrer-policy").as_deref(), Some("no-referrer"));
        assert_eq!(header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
        assert!(response.text().await.unwrap().contains(marker), "{path}");
    }
    app.service.shutdown().await;
}

/// Outside the page's three files the answers stay the API's JSON errors, and the page is not
/// an operation of the JSON API's document.
#[tokio::test]
async fn other_console_requests_get_json_errors_and_the_document_leaves_the_page_out() {
    let app = spawn_app().await;
    let post = app.call(Method::POST, "/console", None, None).await;
    assert_error(&post, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    let missing = app.call(Method::GET, "/console/other.js", None, None).await;
    assert_error(&missing, StatusCode::NOT_FOUND, "not_found");
    let doc = app.call(Method::GET, "/v1/openapi.json", None, None).await;
    let paths = doc.body["paths"].as_object().unwrap();
    assert!(paths.keys().all(|p| p.starts_with("/v1/")), "{paths:?}");
    app.service.shutdown().await;
}
