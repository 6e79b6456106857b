//! The findings of the API's security review, each pinned: runs answered 202 always exist,
//! bad cursors and repeated query keys are 400s, secrets are never empty nor echoed, long URIs
//! get a JSON 414, and tokens are read as identity providers issue them.

use std::time::Duration;

use dirsync_integration_tests::api::{spawn_app, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{assert_error, people};

/// A secret no answer may ever quote.
const SENTINEL: &str = "SEKRET-4711";

fn ldap(credentials: Value) -> Value {
    json!({
        "provider": {"type": "ldap", "url": "ldaps://dc.example.com:636",
                     "bind_dn": "cn=sync,dc=example,dc=com", "base_dn": "dc=example,dc=com"},
        "credentials": credentials,
    })
}

/// Polls a run until it exists (bounded: 10 s); its record.
async fn run_record(app: &TestApp, tenant: &str, run_id: &str) -> Value {
    for _ in 0..200 {
        let run = app
            .tenant_call(Method::GET, tenant, &format!("/sync/runs/{run_id}"), None)
            .await;
        if run.status == StatusCode::OK {
            return run.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {run_id} never became a record");
}

#[tokio::test]
async fn every_run_answered_202_becomes_a_record_and_every_409_names_one() {
    let app = spawn_app().await;
    app.connect("acme", &people(3), json!({})).await;
    let starts = (0..20).map(|_| app.tenant_call(Method::POST, "acme", "/sync", None));
    let answers = futures::future::join_all(starts).await;
    let mut started = Vec::new();
    for answer in &answers {
        let run_id = answer.body["run_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        match answer.status {
            StatusCode::ACCEPTED => started.push(run_id.clone()),
            StatusCode::CONFLICT => assert_eq!(answer.body["error"], "sync_running"),
            _ => panic!("unexpected answer {}", answer.text),
        }
        let record = run_record(&app, "acme", &run_id).await;
        assert_eq!(record["run_id"], run_id.as_str());
    }
    assert!(!started.is_empty());
    for run_id in &started {
        // Within the test's bound, far below the worker's redelivery delay (40 s).
        let run = app.finished_run("acme", run_id).await;
        assert_eq!(run["outcome"], "success", "{run}");
    }
    app.service.shutdown().await;
}

#[tokio::test]
async fn a_cursor_that_no_listing_made_is_a_400_naming_cursor() {
    let app = spawn_app().await;
    let operator = app.operator();
    for path in [
        "/v1/tenants/acme/extensions?cursor=zzz",
        "/v1/tenants/acme/sync/runs?cursor=",
        "/v1/tenants?cursor=%%%",
    ] {
        let answer = app.call(Method::GET, path, Some(&operator), None).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
        assert_eq!(answer.body["details"][0]["field"], "cursor", "{path}");
    }
    app.service.shutdown().await;
}

#[tokio::test]
async fn an_empty_secret_or_a_pbx_token_with_control_characters_is_a_400() {
    let app = spawn_app().await;
    let okta = json!({"provider": {"type": "okta", "org_url": "https://acme.okta.com"},
                      "credentials": {"api_token": ""}});
    let bind_password = "credentials.bind_password";
    for (method, route, body, field) in [
        (
            Method::PUT,
            "/directory",
            ldap(json!({"bind_password": ""})),
            bind_password,
        ),
        (
            Method::PUT,
            "/directory",
            ldap(json!({"bind_password": " "})),
            bind_password,
        ),
        (
            Method::PUT,
            "/directory",
            okta.clone(),
            "credentials.api_token",
        ),
        (
            Method::POST,
            "/directory/test",
            okta,
            "credentials.api_token",
        ),
    ] {
        let answer = app.tenant_call(method, "acme", route, Some(body)).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
        assert_eq!(answer.body["details"][0]["field"], field, "{}", answer.text);
    }
    for token in ["", "abc\r\nX-Injected: 1", "abc\u{7}def", "abc\tdef"] {
        let body = json!({"base_url": "https://pbx.example.com", "credentials": {"token": token}});
        let answer = app
            .tenant_call(Method::PUT, "acme", "/pbx", Some(body))
            .await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
        assert_eq!(answer.body["details"][0]["field"], "credentials.token");
    }
    let acme = dirsync::domain::TenantId::parse("acme").unwrap();
    use dirsync::ports::Store;
    assert!(app.service.store.get_tenant(&acme).await.unwrap().is_none());
    app.service.shutdown().await;
}

#[tokio::test]
async fn no_answer_quotes_what_was_sent_under_credentials() {
    let app = spawn_app().await;
    let ldif = json!({"type": "ldif", "path": "x.ldif"});
    let pbx = "https://pbx.example.com";
    let directory_bodies = [
        json!({"provider": ldif, "credentials": SENTINEL}),
        json!({"provider": ldif, "credentials": {SENTINEL: "x"}}),
        json!({"provider": ldif, "credentials": {"bind_password": [SENTINEL]}}),
        json!({"provider": ldif, "credentials": {"bind_password": {SENTINEL: 1}}}),
        ldap(json!({"bind_password": 4711})),
        ldap(json!({"bind_password": SENTINEL, SENTINEL: SENTINEL})),
    ];
    let mut requests: Vec<(Method, &str, Value)> = Vec::new();
    for body in directory_bodies {
        requests.push((Method::PUT, "/directory", body.clone()));
        requests.push((Method::POST, "/directory/test", body));
    }
    for credentials in [
        json!(SENTINEL),
        json!({"token": 4711}),
        json!({"token": [SENTINEL]}),
        json!({SENTINEL: SENTINEL}),
    ] {
        requests.push((
            Method::PUT,
            "/pbx",
            json!({"base_url": pbx, "credentials": credentials}),
        ));
    }
    for (method, route, body) in requests {
        let answer = app
            .tenant_call(method, "acme", route, Some(body.clone()))
            .await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(
            !answer.text.contains(SENTINEL) && !answer.text.contains("4711"),
            "{body} -> {}",
            answer.text
        );
        let field = answer.body["details"][0]["field"]
            .as_str()
            .unwrap_or_default();
        assert!(
            field.starts_with("credentials"),
            "{body} -> {}",
            answer.text
        );
    }
    app.service.shutdown().await;
}

#[tokio::test]
async fn a_repeated_query_key_is_a_400_and_does_nothing() {
    let app = spawn_app().await;
    app.connect("acme", &people(2), json!({})).await;
    app.sync("acme").await;
    let answer = app
        .tenant_call(
            Method::DELETE,
            "acme",
            "/directory?delete_extensions=false&delete_extensions=true",
            None,
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(answer.body["details"][0]["field"], "delete_extensions");
    let listing = app
        .tenant_call(Method::GET, "acme", "/sync/runs?limit=5&limit=6", None)
        .await;
    assert_error(&listing, StatusCode::BAD_REQUEST, "invalid_request");
    let directory = app
        .tenant_call(Method::GET, "acme", "/directory", None)
        .await;
    assert_eq!(directory.status, StatusCode::OK, "still connected");
    let extensions = app
        .tenant_call(Method::GET, "acme", "/extensions", None)
        .await;
    assert_eq!(extensions.body["items"].as_array().map(Vec::len), Some(2));
    app.service.shutdown().await;
}

#[tokio::test]
async fn a_uri_over_the_limit_is_a_json_414() {
    let app = spawn_app().await;
    let path = format!("/v1/tenants/acme/sync/runs?cursor={}", "a".repeat(10_000));
    let answer = app
        .call(Method::GET, &path, Some(&app.token("acme")), None)
        .await;
    assert_error(&answer, StatusCode::URI_TOO_LONG, "uri_too_long");
    app.service.shutdown().await;
}

fn signed(app: &TestApp, claims: Value) -> String {
    use secrecy::ExposeSecret;
    let key = jsonwebtoken::EncodingKey::from_secret(app.jwt.expose_secret().as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
}

#[tokio::test]
async fn tokens_are_read_as_identity_providers_issue_them() {
    let app = spawn_app().await;
    let now = chrono::Utc::now().timestamp();
    let status = format!("{}/v1/tenants/acme/sync/status", app.base);
    let tenants = format!("{}/v1/tenants", app.base);
    let send = |url: &str, authorization: String| {
        app.http
            .get(url)
            .header("authorization", authorization)
            .send()
    };
    let not_yet = signed(
        &app,
        json!({"tenant": "acme", "exp": now + 3600, "nbf": now + 600}),
    );
    let answer = send(&status, format!("Bearer {not_yet}")).await.unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "nbf is checked");

    let token = app.token("acme");
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let answer = send(&status, format!("{scheme} {token}")).await.unwrap();
        assert_ne!(answer.status(), StatusCode::UNAUTHORIZED, "{scheme}");
    }
    for scope in [
        json!(["openid", "dirsync:operator"]),
        json!("openid dirsync:operator"),
    ] {
        let operator = signed(&app, json!({"scope": scope, "exp": now + 3600}));
        let answer = send(&tenants, format!("Bearer {operator}")).await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{scope}");
    }
    app.service.shutdown().await;
}
