//! The provisioning API over HTTP through the real router: auth, validation, error shapes and
//! each route's behaviour (CONTRACTS section 1).

use dirsync::ports::Store;
use dirsync_integration_tests::api::{spawn_app, TestApp};
use dirsync_integration_tests::Person;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn people(n: u32) -> Vec<Person> {
    (1..=n).map(Person::numbered).collect()
}

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
    ]
}

fn assert_error(answer: &dirsync_integration_tests::api::Answer, status: StatusCode, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert_eq!(answer.body["error"], code, "{}", answer.text);
    assert!(answer.body["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert!(answer.body["details"].is_array());
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
        let secret = dirsync_local::tokens::jwt_secret(app.state.path()).unwrap();
        dirsync_local::tokens::mint(
            &secret,
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

#[tokio::test]
async fn configure_test_preview_sync_status_runs_and_extensions() {
    let app = spawn_app().await;
    app.connect("acme", &people(7), json!({})).await;
    let config = app
        .tenant_call(Method::GET, "acme", "/directory", None)
        .await;
    assert_eq!(config.status, StatusCode::OK);
    assert_eq!(config.body["provider"]["type"], "ldif");
    assert_eq!(
        config.body["credentials_set"], false,
        "ldif takes no credentials"
    );

    let test = app
        .tenant_call(Method::POST, "acme", "/directory/test", None)
        .await;
    assert_eq!(test.status, StatusCode::OK, "{}", test.text);
    assert_eq!(test.body["ok"], true);
    assert_eq!(test.body["sample"].as_array().unwrap().len(), 5);
    let candidate = json!({"provider": {"type": "ldif", "path": "/nonexistent/x.ldif"}});
    let test = app
        .tenant_call(Method::POST, "acme", "/directory/test", Some(candidate))
        .await;
    assert_eq!(test.body["ok"], false, "{}", test.text);

    let writes = || {
        let s = app.service.simulator.stats("acme");
        s.posts + s.patches + s.deletes
    };
    let preview = app
        .tenant_call(Method::POST, "acme", "/sync/preview", None)
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert_eq!(preview.body["creates"].as_array().unwrap().len(), 7);
    assert_eq!(preview.body["summary"], "7 new, 0 updated, 0 removed");
    assert_eq!(writes(), 0, "preview writes nothing to the PBX");
    let acme = dirsync::domain::TenantId::parse("acme").unwrap();
    assert!(app
        .service
        .store
        .all_mappings(&acme)
        .await
        .unwrap()
        .is_empty());
    let runs = app
        .tenant_call(Method::GET, "acme", "/sync/runs", None)
        .await;
    assert_eq!(runs.body["runs"], json!([]), "preview records no run");

    let run = app.sync("acme").await;
    assert_eq!(run["outcome"], "success", "{run}");
    assert_eq!(run["summary"], "7 new, 0 updated, 0 removed");
    assert_eq!(run["counts"]["new"], 7);
    assert_eq!(run["trigger"], "manual");
    assert_eq!(run["plan"]["creates"].as_array().unwrap().len(), 7);

    let status = app
        .tenant_call(Method::GET, "acme", "/sync/status", None)
        .await;
    assert_eq!(status.body["state"], "active");
    assert_eq!(status.body["provider"], "ldif");
    assert_eq!(status.body["synced_extensions"], 7);
    assert_eq!(status.body["record_limit"], 10000);
    assert_eq!(status.body["last_sync"]["run_id"], run["run_id"]);
    assert!(status.body["next_sync_at"].is_string());

    let second = app.sync("acme").await;
    assert_eq!(second["summary"], "Everything is up to date");
    let page = app
        .tenant_call(Method::GET, "acme", "/sync/runs?limit=1", None)
        .await;
    assert_eq!(
        page.body["runs"][0]["run_id"], second["run_id"],
        "newest first"
    );
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let page = app
        .tenant_call(
            Method::GET,
            "acme",
            &format!("/sync/runs?limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(page.body["runs"][0]["run_id"], run["run_id"]);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor.map_or(String::new(), |c| format!("&cursor={c}"));
        let page = app
            .tenant_call(
                Method::GET,
                "acme",
                &format!("/extensions?limit=3{query}"),
                None,
            )
            .await;
        for item in page.body["items"].as_array().unwrap() {
            assert!(item["extension_id"].is_string());
            seen.push(item["number"].as_str().unwrap().to_string());
        }
        cursor = page.body["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        ["1001", "1002", "1003", "1004", "1005", "1006", "1007"]
    );

    let missing_run = app
        .tenant_call(Method::GET, "acme", "/sync/runs/no-such-run", None)
        .await;
    assert_error(&missing_run, StatusCode::NOT_FOUND, "not_found");
    let tenants = app
        .call(Method::GET, "/v1/tenants", Some(&app.operator()), None)
        .await;
    assert_eq!(tenants.body["tenants"][0]["tenant"], "acme");
    assert_eq!(tenants.body["tenants"][0]["last_outcome"], "success");
    app.service.shutdown().await;
}

#[tokio::test]
async fn sync_now_conflicts_while_running_paused_or_unconfigured() {
    let app = spawn_app().await;
    let unconfigured = app.tenant_call(Method::POST, "acme", "/sync", None).await;
    assert_error(&unconfigured, StatusCode::CONFLICT, "not_configured");
    app.connect("acme", &people(2), json!({})).await;

    // A run holds the tenant's lease (as another worker would).
    let acme = dirsync::domain::TenantId::parse("acme").unwrap();
    let running = dirsync::domain::RunId::new();
    let ttl = std::time::Duration::from_secs(60);
    app.service
        .store
        .acquire_lease(&acme, &running, ttl, chrono::Utc::now())
        .await
        .unwrap();
    let busy = app.tenant_call(Method::POST, "acme", "/sync", None).await;
    assert_error(&busy, StatusCode::CONFLICT, "sync_running");
    assert_eq!(busy.body["run_id"], running.to_string());
    app.service
        .store
        .release_lease(&acme, &running)
        .await
        .unwrap();

    let paused = app
        .tenant_call(
            Method::POST,
            "acme",
            "/directory/pause",
            Some(json!({"delete_extensions": false})),
        )
        .await;
    assert_eq!(paused.body["state"], "paused", "{}", paused.text);
    let refused = app.tenant_call(Method::POST, "acme", "/sync", None).await;
    assert_error(&refused, StatusCode::CONFLICT, "paused");
    // The scheduler skips a paused tenant even when it is due.
    let later = chrono::Utc::now() + chrono::Duration::days(1);
    let due = app.service.store.due_tenants(later, 10).await.unwrap();
    assert!(due.is_empty(), "{due:?}");
    let status = app
        .tenant_call(Method::GET, "acme", "/sync/status", None)
        .await;
    assert_eq!(status.body["state"], "paused");
    let delete_on_pause = app
        .tenant_call(
            Method::POST,
            "acme",
            "/directory/pause",
            Some(json!({"delete_extensions": true})),
        )
        .await;
    assert_error(
        &delete_on_pause,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
    );

    app.tenant_call(Method::POST, "acme", "/directory/resume", None)
        .await;
    let run = app.sync("acme").await;
    assert_eq!(run["summary"], "2 new, 0 updated, 0 removed");

    // A directory that cannot be read: the preview says so, and a sync changes nothing.
    std::fs::remove_file(app.state.path().join("acme.ldif")).unwrap();
    let preview = app
        .tenant_call(Method::POST, "acme", "/sync/preview", None)
        .await;
    assert_error(
        &preview,
        StatusCode::SERVICE_UNAVAILABLE,
        "directory_unavailable",
    );
    assert!(
        preview.body["message"]
            .as_str()
            .unwrap()
            .contains("acme.ldif"),
        "{}",
        preview.text
    );
    let failed = app.sync("acme").await;
    assert_eq!(failed["outcome"], "failed");
    assert_eq!(
        app.service.simulator.extensions("acme").len(),
        2,
        "nothing removed"
    );
    app.service.shutdown().await;
}

#[tokio::test]
async fn held_removals_are_applied_once_approved() {
    let app = spawn_app().await;
    app.connect(
        "acme",
        &people(5),
        json!({"deletion_guard": {"max_deletes": 1}}),
    )
    .await;
    app.sync("acme").await;
    let first_run = app
        .tenant_call(Method::GET, "acme", "/sync/runs", None)
        .await;
    let success_id = first_run.body["runs"][0]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let not_held = app
        .tenant_call(
            Method::POST,
            "acme",
            &format!("/sync/runs/{success_id}/approve"),
            None,
        )
        .await;
    assert_error(&not_held, StatusCode::CONFLICT, "not_held");

    app.write_directory("acme", &people(2));
    let held = app.sync("acme").await;
    assert_eq!(held["outcome"], "held", "{held}");
    assert_eq!(
        app.service.simulator.extensions("acme").len(),
        5,
        "nothing removed yet"
    );

    let held_id = held["run_id"].as_str().unwrap();
    let approve = app
        .tenant_call(
            Method::POST,
            "acme",
            &format!("/sync/runs/{held_id}/approve"),
            None,
        )
        .await;
    assert_eq!(approve.status, StatusCode::ACCEPTED, "{}", approve.text);
    let applying = approve.body["run_id"].as_str().unwrap();
    let applied = app.finished_run("acme", applying).await;
    assert_eq!(applied["outcome"], "success", "{applied}");
    assert_eq!(applied["counts"]["removed"], 3);
    assert_eq!(app.service.simulator.extensions("acme").len(), 2);

    let again = app
        .tenant_call(
            Method::POST,
            "acme",
            &format!("/sync/runs/{held_id}/approve"),
            None,
        )
        .await;
    assert_error(&again, StatusCode::CONFLICT, "already_approved");
    app.service.shutdown().await;
}

async fn connected_and_synced(app: &TestApp) {
    app.connect("acme", &people(3), json!({})).await;
    let manual = dirsync::pbx::SimExtension::manual("900", Some("frontdesk@example.com"));
    app.service.simulator.seed("acme", manual).expect("seeded");
    let run = app.sync("acme").await;
    assert_eq!(run["counts"]["new"], 3);
}

#[tokio::test]
async fn disconnect_releasing_keeps_the_extensions_and_forgets_the_mappings() {
    let app = spawn_app().await;
    connected_and_synced(&app).await;
    let required = app
        .tenant_call(Method::DELETE, "acme", "/directory", None)
        .await;
    assert_error(&required, StatusCode::BAD_REQUEST, "invalid_request");
    let released = app
        .tenant_call(
            Method::DELETE,
            "acme",
            "/directory?delete_extensions=false",
            None,
        )
        .await;
    assert_eq!(released.status, StatusCode::OK, "{}", released.text);
    assert_eq!(released.body["released_extensions"], 3);
    assert_eq!(app.service.simulator.extensions("acme").len(), 4);
    let extensions = app
        .tenant_call(Method::GET, "acme", "/extensions", None)
        .await;
    assert_eq!(extensions.body["items"], json!([]));
    let config = app
        .tenant_call(Method::GET, "acme", "/directory", None)
        .await;
    assert_error(&config, StatusCode::NOT_FOUND, "not_found");
    let status = app
        .tenant_call(Method::GET, "acme", "/sync/status", None)
        .await;
    assert_eq!(status.body["state"], "disconnected");
    let sync = app.tenant_call(Method::POST, "acme", "/sync", None).await;
    assert_error(&sync, StatusCode::CONFLICT, "not_configured");
    app.service.shutdown().await;
}

#[tokio::test]
async fn disconnect_deleting_removes_every_synced_extension_and_only_those() {
    let app = spawn_app().await;
    connected_and_synced(&app).await;
    let deleting = app
        .tenant_call(
            Method::DELETE,
            "acme",
            "/directory?delete_extensions=true",
            None,
        )
        .await;
    assert_eq!(deleting.status, StatusCode::ACCEPTED, "{}", deleting.text);
    let run = app
        .finished_run("acme", deleting.body["run_id"].as_str().unwrap())
        .await;
    assert_eq!(run["trigger"], "disconnect");
    assert_eq!(run["outcome"], "success", "{run}");
    assert_eq!(run["counts"]["removed"], 3);
    let left: Vec<_> = app
        .service
        .simulator
        .extensions("acme")
        .into_iter()
        .map(|e| e.number)
        .collect();
    assert_eq!(left, ["900"], "the manual extension stays");
    let status = app
        .tenant_call(Method::GET, "acme", "/sync/status", None)
        .await;
    assert_eq!(status.body["state"], "disconnected");
    assert_eq!(status.body["synced_extensions"], 0);
    app.service.shutdown().await;
}
