//! `GET .../users/{object_id}`: one directory user explained, before and after a sync.

use dirsync_integration_tests::api::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{assert_error, people};

#[tokio::test]
async fn a_user_is_explained_with_what_the_next_run_does() {
    let app = spawn_app().await;
    let mut directory = people(3);
    directory[2].mail = None;
    app.connect("acme", &directory, json!({})).await;
    let path = |n: usize| format!("/users/{}", directory[n].uuid);
    let explain = |n| {
        let path = path(n);
        let app = &app;
        async move { app.tenant_call(Method::GET, "acme", &path, None).await }
    };

    let before = explain(0).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    assert_eq!(before.body["in_scope"], true);
    assert_eq!(before.body["eligible"], true);
    assert_eq!(before.body["mapping"], json!(null));
    assert_eq!(before.body["next_run"]["action"], "create");
    assert_eq!(before.body["next_run"]["create"]["number"], "1001");
    assert_eq!(before.body["directory"]["email"], "user1@example.com");
    let writes = app.service.simulator.stats("acme").writes;
    assert_eq!(writes, 0, "explaining writes nothing");

    app.sync("acme").await;
    let after = explain(0).await;
    assert_eq!(
        after.body["next_run"]["action"], "nothing",
        "{}",
        after.text
    );
    assert!(after.body["mapping"]["link"]["extension_id"].is_string());

    let no_email = explain(2).await;
    assert_eq!(no_email.body["eligible"], false);
    assert_eq!(no_email.body["skip_reason"], "missing_email");
    assert_eq!(no_email.body["next_run"]["action"], "skip");

    let unknown = app
        .tenant_call(Method::GET, "acme", "/users/not-a-user", None)
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "not_found");
}
