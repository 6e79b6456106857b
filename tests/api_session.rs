//! A whole admin session through the API — configure, test, preview, sync, status, disconnect —
//! with every response body and every log line captured: no secret may appear in any of them.

use dirsync_integration_tests::api::{spawn_app, Answer};
use dirsync_integration_tests::leaks::CapturedLogs;
use dirsync_integration_tests::Person;
use reqwest::{Method, StatusCode};
use serde_json::json;

const PBX_TOKEN: &str = "pbx-SECRET-token-7f3a9c";
const BIND_PASSWORD: &str = "bind-SECRET-password-41d2";
const SSH_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nSECRET-key-material-9b8e\n-----END OPENSSH PRIVATE KEY-----";
const SECRETS: [&str; 3] = [PBX_TOKEN, BIND_PASSWORD, "SECRET-key-material-9b8e"];

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows a secret: {text}");
    }
}

#[tokio::test]
async fn no_secret_in_any_response_or_log_line_of_a_whole_session() {
    let logs = CapturedLogs::install("debug");

    let app = spawn_app().await;
    let mut answers: Vec<Answer> = Vec::new();
    let tenant = "acme";
    app.service.simulator.add_account(tenant, PBX_TOKEN, 100);
    let base_url = app.service.simulator_base_url(tenant);
    answers.push(
        app.tenant_call(
            Method::PUT,
            tenant,
            "/pbx",
            Some(json!({"base_url": base_url, "credentials": {"token": PBX_TOKEN}})),
        )
        .await,
    );
    let ldap = json!({
        "provider": {"type": "ldap", "url": "ldaps://127.0.0.1:1", "bind_dn": "cn=sync,dc=example,dc=com",
                     "base_dn": "dc=example,dc=com",
                     "tunnel": {"type": "ssh", "host": "127.0.0.1", "port": 1, "user": "sync",
                                "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"}},
        "credentials": {"bind_password": BIND_PASSWORD, "ssh_private_key": SSH_KEY},
    });
    let put = app
        .tenant_call(Method::PUT, tenant, "/directory", Some(ldap))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(put.body["credentials_set"], true);
    answers.push(put);
    let stored = std::fs::read_to_string(app.state.path().join("secrets/acme.json")).unwrap();
    assert!(
        stored.contains(BIND_PASSWORD),
        "the secret store holds the credentials"
    );
    answers.push(
        app.tenant_call(Method::GET, tenant, "/directory", None)
            .await,
    );
    let test = app
        .tenant_call(Method::POST, tenant, "/directory/test", None)
        .await;
    assert_eq!(test.body["ok"], false, "{}", test.text);
    answers.push(test);

    let people: Vec<Person> = (1..=4).map(Person::numbered).collect();
    let path = app.write_directory(tenant, &people);
    let ldif = json!({"provider": {"type": "ldif", "path": path.display().to_string()},
                      "extension_numbers": {"mode": "attribute"}});
    answers.push(
        app.tenant_call(Method::POST, tenant, "/directory/test", Some(ldif.clone()))
            .await,
    );
    let put = app
        .tenant_call(Method::PUT, tenant, "/directory", Some(ldif))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    let stored = std::fs::read_to_string(app.state.path().join("secrets/acme.json")).unwrap();
    assert!(
        !stored.contains(BIND_PASSWORD),
        "another provider's credentials are dropped"
    );
    answers.push(put);
    answers.push(
        app.tenant_call(Method::POST, tenant, "/sync/preview", None)
            .await,
    );
    let run = app.sync(tenant).await;
    assert_eq!(run["counts"]["new"], 4, "{run}");
    let run_id = run["run_id"].as_str().unwrap();
    answers.push(
        app.tenant_call(Method::GET, tenant, &format!("/sync/runs/{run_id}"), None)
            .await,
    );
    answers.push(
        app.tenant_call(Method::GET, tenant, "/sync/status", None)
            .await,
    );
    answers.push(
        app.tenant_call(Method::GET, tenant, "/sync/runs", None)
            .await,
    );
    answers.push(
        app.tenant_call(Method::GET, tenant, "/extensions", None)
            .await,
    );
    let bye = app
        .tenant_call(
            Method::DELETE,
            tenant,
            "/directory?delete_extensions=true",
            None,
        )
        .await;
    assert_eq!(bye.status, StatusCode::ACCEPTED, "{}", bye.text);
    let last = app
        .finished_run(tenant, bye.body["run_id"].as_str().unwrap())
        .await;
    assert_eq!(last["outcome"], "success", "{last}");
    answers.push(bye);
    answers.push(
        app.call(Method::GET, "/v1/tenants", Some(&app.operator()), None)
            .await,
    );

    for answer in &answers {
        assert!(answer.status.is_success(), "{answer:?}");
        assert_no_secret("a response", &answer.text);
    }
    app.service.shutdown().await;
    let logs = logs.text();
    assert!(
        logs.contains("request_id"),
        "the logs were captured: {logs}"
    );
    assert_no_secret("the log", &logs);
}
