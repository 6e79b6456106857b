//! Auth, validation and the error shapes every request gets.

use dirsync::ports::Store;
use dirsync_integration_tests::api::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::assert_error;

/// Every tenant route with a body that passes validation where one is needed.
fn tenant_routes() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (
            Method::PUT,
            "/directory",
            Some(json!({"provider": {"type": "ldif", "path": "x.ldif"}})),
        ),
        (Method::GET, "/directory", None),
        (Method::DELETE, "/directory?delete_extensions=false", None),
        (Method::POST, "/directory/pause", None),
        (Method::POST, "/directory/resume", None),
        (
            Method::PUT,
            "/pbx",
            Some(json!({"base_url": "https://pbx.example.com", "credentials": {"token": "t"}})),
        ),
        (Method::POST, "/directory/test", None),
        (Method::POST, "/sync/preview", None),
        (Method::POST, "/sync", None),
        (Method::GET, "/sync/status", None),
        (Method::GET, "/sync/runs", None),
        (Method::GET, "/sync/runs/some-run", None),
        (Method::POST, "/sync/runs/some-run/approve", None),
        (Method::GET, "/extensions", None),
        (
            Method::PUT,
            "/associations/u-1",
            Some(json!({"extension_id": "e-1"})),
        ),
        (Method::DELETE, "/associations/u-1", None),
    ]
}

#[tokio::test]
async fn health_and_openapi_need_no_token_and_the_document_is_checked_in() {
    let app = spawn_app().await;
    let health = app.call(Method::GET, "/v1/health", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "ok");
    let doc = app.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc.body["paths"]["/v1/tenants/{t}/sync/runs/{run_id}/approve"].is_object());

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json");
    if std::env::var("DIRSYNC_WRITE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(path, format!("{}\n", doc.text)).unwrap();
    }
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(
        checked_in.trim_end(),
        doc.text,
        "openapi.json differs from the code: regenerate it with \
         DIRSYNC_WRITE_OPENAPI=1 cargo nextest run -p dirsync-integration-tests --test api_routes"
    );
    app.service.shutdown().await;
}

#[tokio::test]
async fn every_tenant_route_wants_a_valid_token_for_that_tenant() {
    let app = spawn_app().await;
    let expired = {
        // Signed with the right key but expired an hour ago.
        dirsync_local::tokens::mint(
            &app.jwt,
            &dirsync_local::tokens::TokenFor::Tenant("acme".into()),
            -1,
        )
        .unwrap()
    };
    let wrong_key = dirsync_local::tokens::mint(
        &"another-secret".to_string().into(),
        &dirsync_local::tokens::TokenFor::Tenant("acme".into()),
        1,
    )
    .unwrap();
    let other = app.token("globex");
    for (method, path, body) in tenant_routes() {
        let url = format!("/v1/tenants/acme{path}");
        for token in [
            None,
            Some("not-a-jwt"),
            Some(expired.as_str()),
            Some(wrong_key.as_str()),
        ] {
            let answer = app.call(method.clone(), &url, token, body.clone()).await;
            assert_error(&answer, StatusCode::UNAUTHORIZED, "unauthorized");
        }
        let answer = app
            .call(method.clone(), &url, Some(&other), body.clone())
            .await;
        assert_error(&answer, StatusCode::FORBIDDEN, "forbidden");
    }
    // The operator may act on any tenant; a tenant may not list tenants.
    let as_operator = app
        .call(
            Method::GET,
            "/v1/tenants/acme/sync/runs",
            Some(&app.operator()),
            None,
        )
        .await;
    assert_eq!(as_operator.status, StatusCode::OK, "{}", as_operator.text);
    let listing = app
        .call(Method::GET, "/v1/tenants", Some(&app.token("acme")), None)
        .await;
    assert_error(&listing, StatusCode::FORBIDDEN, "forbidden");
    app.service.shutdown().await;
}

#[tokio::test]
async fn invalid_config_gets_400_with_one_detail_per_field_and_changes_nothing() {
    let app = spawn_app().await;
    let body = json!({
        "provider": {"type": "ldap", "url": "http://dc.example.com", "bind_dn": "cn=x",
                     "base_dn": "dc=example,dc=com"},
        "scope": {"type": "filter", "filter": "(&(cn=a)"},
        "extension_numbers": {"mode": "auto", "start": 2000, "end": 1000},
        "record_limit": 20000,
    });
    let answer = app
        .tenant_call(Method::PUT, "acme", "/directory", Some(body))
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
    let fields: Vec<&str> = answer.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    for field in [
        "provider.url",
        "scope.filter",
        "extension_numbers",
        "record_limit",
    ] {
        assert!(
            fields.iter().any(|f| f.starts_with(field)),
            "{field} in {fields:?}"
        );
    }
    for (body, field) in [
        (json!({"provider": {"type": "ftp"}}), "provider"),
        (
            json!({"provider": {"type": "ldif", "path": "x"}, "colour": "red"}),
            "colour",
        ),
        (
            json!({"provider": {"type": "ldif", "path": "x"}, "extension_numbers": {"mode": "attribute", "pattern": "\\d+"}}),
            "extension_numbers.pattern",
        ),
        (
            json!({"provider": {"type": "ldif", "path": "x"}, "record_limit": "many"}),
            "record_limit",
        ),
        (
            json!({"provider": {"type": "azure", "tenant_id": "4f1c2b1e-8d3a-4c55-9f0e-2a6b7c8d9e01", "client_id": "0b7e5a2c-1d4f-4e6a-8b9c-3d2e1f0a9b8c"}}),
            "credentials.client_secret",
        ),
    ] {
        let answer = app
            .tenant_call(Method::PUT, "acme", "/directory", Some(body.clone()))
            .await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
        let first = answer.body["details"][0]["field"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(first.starts_with(field), "{body} -> {}", answer.text);
    }
    let malformed = app
        .http
        .put(format!("{}/v1/tenants/acme/directory", app.base))
        .bearer_auth(app.token("acme"))
        .header("content-type", "application/json")
        .body("{\"provider\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let body: Value = malformed.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");

    let pbx = app
        .tenant_call(
            Method::PUT,
            "acme",
            "/pbx",
            Some(json!({"base_url": "ftp://pbx", "credentials": {"token": "t"}})),
        )
        .await;
    assert_error(&pbx, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(pbx.body["details"][0]["field"], "base_url");
    let pbx = app
        .tenant_call(
            Method::PUT,
            "acme",
            "/pbx",
            Some(json!({"base_url": "https://pbx.example.com"})),
        )
        .await;
    assert_eq!(
        pbx.body["details"][0]["field"], "credentials.token",
        "{}",
        pbx.text
    );

    let acme = dirsync::domain::TenantId::parse("acme").unwrap();
    assert!(
        app.service.store.get_tenant(&acme).await.unwrap().is_none(),
        "nothing stored"
    );
    app.service.shutdown().await;
}

#[tokio::test]
async fn framework_errors_are_json_too_and_every_answer_has_a_request_id() {
    let app = spawn_app().await;
    let token = app.token("acme");
    let missing = app
        .call(Method::GET, "/v1/nowhere", Some(&token), None)
        .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "not_found");
    let wrong_method = app.call(Method::PATCH, "/v1/health", None, None).await;
    assert_error(
        &wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    let big = json!({"provider": {"type": "ldif", "path": "x".repeat(300 * 1024)}});
    let too_large = app
        .tenant_call(Method::PUT, "acme", "/directory", Some(big))
        .await;
    assert_error(
        &too_large,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    let bad_limit = app
        .tenant_call(Method::GET, "acme", "/sync/runs?limit=0", None)
        .await;
    assert_error(&bad_limit, StatusCode::BAD_REQUEST, "invalid_request");
    let bad_tenant = app
        .call(
            Method::GET,
            "/v1/tenants/NOT_VALID/sync/status",
            Some(&app.operator()),
            None,
        )
        .await;
    assert_error(&bad_tenant, StatusCode::BAD_REQUEST, "invalid_request");
    for answer in [&missing, &wrong_method, &too_large, &bad_limit] {
        assert!(
            answer
                .request_id
                .as_deref()
                .is_some_and(|id| id.len() >= 32),
            "{answer:?}"
        );
    }
    app.service.shutdown().await;
}
