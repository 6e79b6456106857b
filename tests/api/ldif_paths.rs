//! The `ldif` provider in local mode reads only under the LDIF folder (the `--state` folder
//! here): a tenant cannot read the server's files through `PUT .../directory` or
//! `POST .../directory/test`, and no answer quotes a file (CONTRACTS section 5).

use dirsync_integration_tests::api::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{assert_error, people};

/// Paths outside the state folder, as a tenant would try them.
fn outside_paths(state: &std::path::Path) -> Vec<String> {
    vec![
        "/proc/self/environ".into(),
        "/etc/shadow".into(),
        "/etc/passwd".into(),
        "../../../../etc/passwd".into(),
        format!("{}/../outside.ldif", state.display()),
    ]
}

#[tokio::test]
async fn paths_outside_the_ldif_folder_are_a_400_at_put_and_a_failed_check_at_test() {
    let app = spawn_app().await;
    let environ = std::fs::read("/proc/self/environ").unwrap_or_default();
    for path in outside_paths(app.state.path()) {
        let config = json!({"provider": {"type": "ldif", "path": path}});
        let put = app
            .tenant_call(Method::PUT, "acme", "/directory", Some(config.clone()))
            .await;
        assert_error(&put, StatusCode::BAD_REQUEST, "invalid_request");
        assert_eq!(put.body["details"][0]["field"], "provider.path", "{path}");

        let test = app
            .tenant_call(Method::POST, "acme", "/directory/test", Some(config))
            .await;
        assert_eq!(test.status, StatusCode::OK, "{}", test.text);
        assert_eq!(test.body["ok"], false, "{path}: {}", test.text);
        let message = test.body["checks"][0]["message"].as_str().unwrap();
        assert!(message.contains("outside the folder"), "{path}: {message}");
        // Nothing of the environment (the JWT secret lives there) comes back.
        for word in environ
            .split(|b| *b == 0 || *b == b'=')
            .filter(|w| w.len() >= 8)
        {
            let word = String::from_utf8_lossy(word);
            assert!(!test.text.contains(&*word), "{path}: {}", test.text);
        }
    }
    app.service.shutdown().await;
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlink_in_the_ldif_folder_to_a_file_outside_is_refused() {
    let app = spawn_app().await;
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("other.ldif");
    std::fs::write(&target, dirsync_integration_tests::ldif(&people(3))).unwrap();
    std::os::unix::fs::symlink(&target, app.state.path().join("link.ldif")).unwrap();
    let config = json!({"provider": {"type": "ldif", "path": "link.ldif"}});
    let put = app
        .tenant_call(Method::PUT, "acme", "/directory", Some(config.clone()))
        .await;
    assert_error(&put, StatusCode::BAD_REQUEST, "invalid_request");
    let test = app
        .tenant_call(Method::POST, "acme", "/directory/test", Some(config))
        .await;
    assert_eq!(test.body["ok"], false, "{}", test.text);
    assert!(test.body["sample"].as_array().unwrap().is_empty());
    app.service.shutdown().await;
}

#[tokio::test]
async fn a_file_inside_the_ldif_folder_is_accepted_even_before_it_exists() {
    let app = spawn_app().await;
    let config = json!({"provider": {"type": "ldif", "path": "later.ldif"},
                        "extension_numbers": {"mode": "attribute"}});
    let put = app
        .tenant_call(Method::PUT, "acme", "/directory", Some(config))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    let test = app
        .tenant_call(Method::POST, "acme", "/directory/test", None)
        .await;
    assert_eq!(test.body["ok"], false, "{}", test.text);
    assert!(test.text.contains("does not exist"), "{}", test.text);

    let path = app.write_directory("acme", &people(3));
    let absolute = json!({"provider": {"type": "ldif", "path": path.display().to_string()},
                          "extension_numbers": {"mode": "attribute"}});
    let test = app
        .tenant_call(Method::POST, "acme", "/directory/test", Some(absolute))
        .await;
    assert_eq!(test.body["ok"], true, "{}", test.text);
    app.service.shutdown().await;
}
