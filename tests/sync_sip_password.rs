//! `fields.sip_password` through the whole local service: the password reaches the PBX on the
//! create and again only when it changes, and appears in no answer, no log line and no stored
//! record (neither itself nor its plain SHA-256).

use dirsync_integration_tests::api::{spawn_app, TestApp};
use dirsync_integration_tests::leaks::{files_under, CapturedLogs};
use dirsync_integration_tests::{ldif, Person};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const TENANT: &str = "acme";
const FIRST: &str = "Sip-FIRST-pass-7f3a9c";
const SECOND: &str = "Sip-SECOND-pass-41d2e8";

fn sha256(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

/// The LDIF export of `people`, the first one with `sipSecret: password`.
fn write_directory(app: &TestApp, people: &[Person], password: &str) {
    let path = app.write_directory(TENANT, people);
    let marker = format!("entryUUID: {}\n", people[0].uuid);
    let text = ldif(people).replacen(&marker, &format!("{marker}sipSecret: {password}\n"), 1);
    std::fs::write(path, text).unwrap();
}

/// Every file under the service's state folder but the directory export (which holds the
/// passwords: it stands for the customer's directory), as text.
fn stored_state(app: &TestApp) -> Vec<(String, String)> {
    files_under(app.state.path(), Some("ldif"))
}

#[tokio::test]
async fn the_sip_password_goes_to_the_pbx_only_and_only_when_it_changes() {
    let logs = CapturedLogs::install("debug");

    let app = spawn_app().await;
    let people: Vec<Person> = (1..=2).map(Person::numbered).collect();
    app.connect(
        TENANT,
        &people,
        json!({"fields": {"sip_password": "sipSecret"}}),
    )
    .await;
    write_directory(&app, &people, FIRST);
    let mut answers: Vec<String> = Vec::new();
    let get = |path: &'static str| {
        let app = &app;
        async move { app.tenant_call(Method::GET, TENANT, path, None).await }
    };

    let preview = app
        .tenant_call(Method::POST, TENANT, "/sync/preview", None)
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert_eq!(preview.body["creates"].as_array().unwrap().len(), 2);
    answers.push(preview.text);
    let run = app.sync(TENANT).await;
    assert_eq!(run["outcome"], "success", "{run}");
    answers.push(run.to_string());

    let sim = &app.service.simulator;
    let ext_of = |n: u32| {
        let number = format!("{}", 1000 + n);
        sim.extensions(TENANT)
            .into_iter()
            .find(|e| e.number == number)
            .unwrap()
            .id
    };
    let (first, second) = (ext_of(1), ext_of(2));
    let set = sim.sip_password(TENANT, &first).expect("the create set it");
    assert_eq!(
        (set.sha256.as_str(), set.times),
        (sha256(FIRST).as_str(), 1)
    );
    assert!(
        sim.sip_password(TENANT, &second).is_none(),
        "no password, none sent"
    );

    // Unchanged: nothing to send.
    let patches = sim.stats(TENANT).patches;
    let again = app.sync(TENANT).await;
    assert_eq!(again["summary"], "Everything is up to date", "{again}");
    assert_eq!(sim.stats(TENANT).patches, patches, "no PATCH");
    assert_eq!(sim.sip_password(TENANT, &first).unwrap().times, 1);
    answers.push(again.to_string());

    // Changed in the directory: one PATCH with the new one, shown redacted.
    write_directory(&app, &people, SECOND);
    let preview = app
        .tenant_call(Method::POST, TENANT, "/sync/preview", None)
        .await;
    assert_eq!(
        preview.body["updates"][0]["changes"]["sip_password"],
        json!(["[redacted]", "[redacted]"]),
        "{}",
        preview.text
    );
    answers.push(preview.text);
    let explained = app
        .tenant_call(
            Method::GET,
            TENANT,
            &format!("/users/{}", people[0].uuid),
            None,
        )
        .await;
    assert_eq!(explained.status, StatusCode::OK, "{}", explained.text);
    assert_eq!(
        explained.body["next_run"]["action"], "update",
        "{}",
        explained.text
    );
    answers.push(explained.text);
    let changed = app.sync(TENANT).await;
    assert_eq!(changed["outcome"], "success", "{changed}");
    assert_eq!(sim.stats(TENANT).patches, patches + 1, "one PATCH");
    let set = sim.sip_password(TENANT, &first).unwrap();
    assert_eq!((set.sha256, set.times), (sha256(SECOND), 2));
    answers.push(changed.to_string());
    let after = app.sync(TENANT).await;
    assert_eq!(sim.stats(TENANT).patches, patches + 1, "sent once: {after}");

    for path in ["/sync/status", "/directory", "/sync/runs", "/extensions"] {
        let answer = get(path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text);
        answers.push(answer.text);
    }
    answers.push(
        app.tenant_call(Method::POST, TENANT, "/directory/test", None)
            .await
            .text,
    );
    for n in [0, 1] {
        let path = format!("/users/{}", people[n].uuid);
        answers.push(app.tenant_call(Method::GET, TENANT, &path, None).await.text);
    }

    let forbidden: Vec<String> = [FIRST, SECOND]
        .into_iter()
        .flat_map(|p| [p.to_string(), sha256(p)])
        .collect();
    let logs = logs.text();
    assert!(logs.contains("sync run finished"), "the logs were captured");
    let stored = stored_state(&app);
    assert!(
        stored
            .iter()
            .any(|(_, text)| text.contains(&people[0].uuid)),
        "the store was scanned"
    );
    for secret in &forbidden {
        for answer in &answers {
            assert!(
                !answer.contains(secret.as_str()),
                "an answer shows it: {answer}"
            );
            assert!(!answer.contains("sip_password_hash"), "{answer}");
        }
        assert!(!logs.contains(secret.as_str()), "a log line shows it");
        for (path, text) in &stored {
            assert!(!text.contains(secret.as_str()), "{path} holds it");
        }
    }
}

#[tokio::test]
async fn a_bad_sip_password_attribute_is_refused_with_its_field() {
    let app = spawn_app().await;
    app.connect(TENANT, &[], json!({})).await;
    let path = app.write_directory(TENANT, &[]);
    let put = app
        .tenant_call(
            Method::PUT,
            TENANT,
            "/directory",
            Some(
                json!({"provider": {"type": "ldif", "path": path.display().to_string()},
                        "fields": {"sip_password": "bad attr)"}}),
            ),
        )
        .await;
    assert_eq!(put.status, StatusCode::BAD_REQUEST, "{}", put.text);
    let fields: Vec<&Value> = put.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["field"])
        .collect();
    assert_eq!(fields, vec!["fields.sip_password"], "{}", put.text);
}
