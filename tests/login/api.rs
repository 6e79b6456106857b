//! The route: scopes, one 401 body for every cause, 429 with Retry-After, 409 when off, 422
//! for Entra ID, and no user password in any answer, log line or stored file.

use dirsync_integration_tests::api::{spawn_app, Answer, TestApp};
use dirsync_integration_tests::leaks::{files_under, CapturedLogs};
use dirsync_integration_tests::slapd::{uuid, SYNC_PASSWORD};
use dirsync_local::tokens::{mint, TokenFor};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{password_of, slapd, starttls};

/// The PBX platform's token: the tenant's claim and the login scope (`dirsync-local token
/// --tenant T --login`).
fn login_token(app: &TestApp, tenant: &str) -> String {
    mint(&app.jwt, &TokenFor::Login(tenant.into()), 1).unwrap()
}

async fn verify(app: &TestApp, tenant: &str, token: Option<&str>, body: Value) -> Answer {
    let path = format!("/v1/tenants/{tenant}/auth/verify");
    app.call(Method::POST, &path, token, Some(body)).await
}

#[tokio::test]
async fn the_route_answers_by_scope_and_never_shows_a_user_password() {
    let logs = CapturedLogs::install("trace");

    let server = slapd();
    let app = spawn_app().await;
    let overrides = json!({"provider": starttls(&server),
        "credentials": {"bind_password": SYNC_PASSWORD}, "login": {"enabled": true}});
    app.connect("acme", &[], overrides.clone()).await;
    let run = app.sync("acme").await;
    assert_eq!(run["counts"]["new"], 3, "{run}");
    let token = login_token(&app, "acme");
    let mut answers = Vec::new();
    let right = json!({"username": "user1@example.com", "password": password_of(1)});

    let ok = verify(&app, "acme", Some(&token), right.clone()).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["ok"], true);
    assert_eq!(ok.body["object_id"], uuid(1));
    assert_eq!(ok.body["number"], "1001");
    assert!(ok.body["extension_id"]
        .as_str()
        .is_some_and(|e| !e.is_empty()));
    answers.push(ok);
    // The operator may check too; a tenant admin's token (no login scope) may not, nor the
    // login token of another tenant; no token is 401.
    let operator = verify(&app, "acme", Some(&app.operator()), right.clone()).await;
    assert_eq!(operator.status, StatusCode::OK, "{}", operator.text);
    let admin = verify(&app, "acme", Some(&app.token("acme")), right.clone()).await;
    assert_eq!(admin.status, StatusCode::FORBIDDEN, "{}", admin.text);
    let other = verify(
        &app,
        "acme",
        Some(&login_token(&app, "other")),
        right.clone(),
    )
    .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{}", other.text);
    let none = verify(&app, "acme", None, right.clone()).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    answers.extend([operator, admin, other, none]);

    // One body for every cause.
    let mut refusals = Vec::new();
    for body in [
        json!({"username": "user1@example.com", "password": "guess-LEAK-1"}),
        json!({"username": "nobody@example.com", "password": "guess-LEAK-2"}),
        json!({"username": "user4@example.com", "password": password_of(4)}),
        json!({"username": "u2", "password": ""}),
        json!({"username": "u2", "password": "x".repeat(2000)}),
    ] {
        let answer = verify(&app, "acme", Some(&token), body).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
        assert_eq!(answer.body["error"], "invalid_credentials");
        refusals.push(answer.text.clone());
        answers.push(answer);
    }
    assert!(refusals.windows(2).all(|w| w[0] == w[1]), "{refusals:?}");

    // A bad body quotes nothing of it.
    let bad = verify(
        &app,
        "acme",
        Some(&token),
        json!({"username": "u2", "password": "guess-LEAK-3", "otp": "guess-LEAK-4"}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    let typed = verify(
        &app,
        "acme",
        Some(&token),
        json!({"username": "u2", "password": 4711}),
    )
    .await;
    assert_eq!(typed.status, StatusCode::BAD_REQUEST, "{}", typed.text);
    assert!(!typed.text.contains("4711"), "{}", typed.text);
    answers.extend([bad, typed]);

    // The guesser: 5 failures of u3, then 429 with Retry-After, even for the right password.
    for i in 0..5 {
        let body = json!({"username": "u3", "password": format!("guess-LEAK-u3-{i}")});
        let answer = verify(&app, "acme", Some(&token), body).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        answers.push(answer);
    }
    let searches = server.searches();
    let throttled = app
        .http
        .post(format!("{}/v1/tenants/acme/auth/verify", app.base))
        .bearer_auth(&token)
        .json(&json!({"username": "u3", "password": password_of(3)}))
        .send()
        .await
        .unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((800..=900).contains(&retry), "{retry}");
    let text = throttled.text().await.unwrap();
    assert!(text.contains("too_many_attempts"), "{text}");
    assert_eq!(server.searches(), searches, "the directory was not asked");

    // Login off: 409 login_disabled.
    let mut off = overrides.clone();
    off["login"] = json!({"enabled": false});
    app.connect("acme", &[], off).await;
    let disabled = verify(&app, "acme", Some(&token), right.clone()).await;
    assert_eq!(disabled.status, StatusCode::CONFLICT, "{}", disabled.text);
    assert_eq!(disabled.body["error"], "login_disabled");
    answers.push(disabled);

    // Entra ID: 422, pointing to SSO.
    app.connect(
        "entra",
        &[],
        json!({"provider": {"type": "azure",
        "tenant_id": "11111111-2222-4333-8444-555555555555",
        "client_id": "66666666-7777-4888-8999-000000000000"},
        "credentials": {"client_secret": "entra-client-secret-0123456789"},
        "login": {"enabled": true}}),
    )
    .await;
    let entra = verify(
        &app,
        "entra",
        Some(&login_token(&app, "entra")),
        json!({"username": "a@contoso.com", "password": "guess-LEAK-5"}),
    )
    .await;
    assert_eq!(
        entra.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        entra.text
    );
    assert_eq!(entra.body["error"], "login_unsupported");
    assert!(entra.body["message"]
        .as_str()
        .unwrap()
        .contains("single sign-on"));
    answers.push(entra);

    // No user password in any answer, log line or file of the service's state.
    let stored: String = files_under(app.state.path(), None)
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    let logged = logs.text();
    assert!(
        logged.contains("auth/verify"),
        "the capture holds the route's log lines"
    );
    let passwords: Vec<String> = (1..=4)
        .map(password_of)
        .chain(["guess-LEAK".into()])
        .collect();
    for password in &passwords {
        for answer in &answers {
            assert!(
                !answer.text.contains(password.as_str()),
                "answer: {}",
                answer.text
            );
        }
        assert!(
            !logged.contains(password.as_str()),
            "a log line holds {password}"
        );
        assert!(
            !stored.contains(password.as_str()),
            "the state holds {password}"
        );
    }
    assert!(
        !logged.contains("user1@example.com"),
        "no username is logged"
    );
}
