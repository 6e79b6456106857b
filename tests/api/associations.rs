//! `PUT` and `DELETE .../associations/{object_id}`: linking a directory user to an existing
//! extension, and releasing it.

use dirsync::ports::Store;
use dirsync_integration_tests::api::{spawn_app, Answer, TestApp};
use dirsync_pbx_sim::SimExtension;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{assert_error, people};

fn uuid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

async fn associate(app: &TestApp, n: u32, extension_id: &str) -> Answer {
    let body = json!({ "extension_id": extension_id });
    let path = format!("/associations/{}", uuid(n));
    app.tenant_call(Method::PUT, "acme", &path, Some(body))
        .await
}

#[tokio::test]
async fn an_associated_extension_is_updated_by_the_next_sync_never_created_twice() {
    let app = spawn_app().await;
    app.connect("acme", &people(3), json!({})).await;
    let sim = &app.service.simulator;
    // User 3's extension was made by hand before the directory was connected.
    let manual = sim
        .seed(
            "acme",
            SimExtension::manual("1003", Some("old@example.com")),
        )
        .expect("seeded");
    let spare = sim
        .seed("acme", SimExtension::manual("950", None))
        .expect("seeded");
    let path = |n: u32| format!("/associations/{}", uuid(n));
    let linked = associate(&app, 3, &manual).await;
    assert_eq!(linked.status, StatusCode::OK, "{}", linked.text);
    assert_eq!(linked.body["extension_id"], manual.as_str());
    assert_eq!(linked.body["number"], "1003");
    let again = associate(&app, 3, &manual).await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "linking twice changes nothing"
    );

    assert_error(
        &associate(&app, 1, "no-such-extension").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &associate(&app, 9, &spare).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &associate(&app, 1, &manual).await,
        StatusCode::CONFLICT,
        "extension_mapped",
    );
    assert_error(
        &associate(&app, 3, &spare).await,
        StatusCode::CONFLICT,
        "user_mapped",
    );
    assert_error(
        &associate(&app, 1, "").await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let unknown_field = app
        .tenant_call(
            Method::PUT,
            "acme",
            &path(1),
            Some(json!({"extension_id": spare, "number": "1"})),
        )
        .await;
    assert_error(&unknown_field, StatusCode::BAD_REQUEST, "invalid_request");
    let control = app
        .tenant_call(
            Method::PUT,
            "acme",
            "/associations/a%0Ab",
            Some(json!({"extension_id": spare})),
        )
        .await;
    assert_error(&control, StatusCode::BAD_REQUEST, "invalid_request");

    let run = app.sync("acme").await;
    assert_eq!(run["counts"]["new"], 2, "{run}");
    assert_eq!(run["counts"]["updated"], 1, "{run}");
    let exts = sim.extensions("acme");
    assert_eq!(exts.len(), 4, "two created, the manual two kept");
    let third = exts.iter().find(|e| e.id == manual).expect("still there");
    assert_eq!(third.first_name.as_deref(), Some("Given3"));
    assert_eq!(third.email.as_deref(), Some("user3@example.com"));
    assert_eq!(exts.iter().filter(|e| e.number == "1003").count(), 1);

    let released = app
        .tenant_call(Method::DELETE, "acme", &path(3), None)
        .await;
    assert_eq!(released.status, StatusCode::OK, "{}", released.text);
    assert_eq!(released.body["extension_id"], manual.as_str());
    assert_eq!(
        sim.extensions("acme").len(),
        4,
        "the extension is untouched"
    );
    let gone = app
        .tenant_call(Method::DELETE, "acme", &path(3), None)
        .await;
    assert_error(&gone, StatusCode::NOT_FOUND, "not_found");
    app.service.shutdown().await;
}

#[tokio::test]
async fn associations_wait_for_a_running_run() {
    let app = spawn_app().await;
    app.connect("acme", &people(1), json!({})).await;
    let manual = app
        .service
        .simulator
        .seed("acme", SimExtension::manual("1001", None))
        .expect("seeded");
    let acme = dirsync::domain::TenantId::parse("acme").unwrap();
    let running = dirsync::domain::RunId::new();
    let ttl = std::time::Duration::from_secs(60);
    let store = app.service.store.clone();
    store
        .acquire_lease(&acme, &running, ttl, chrono::Utc::now())
        .await
        .unwrap();
    let path = format!("/associations/{}", uuid(1));
    let put = app
        .tenant_call(
            Method::PUT,
            "acme",
            &path,
            Some(json!({"extension_id": manual})),
        )
        .await;
    assert_error(&put, StatusCode::CONFLICT, "sync_running");
    assert_eq!(put.body["run_id"], running.to_string());
    let delete = app.tenant_call(Method::DELETE, "acme", &path, None).await;
    assert_error(&delete, StatusCode::CONFLICT, "sync_running");
    store.release_lease(&acme, &running).await.unwrap();
    assert!(store.all_mappings(&acme).await.unwrap().is_empty());
    app.service.shutdown().await;
}
