//! The `azure` provider against the Graph test server: paging, group scope, throttling,
//! failures, credentials, token expiry, user states, and syncs through the real engine.

use std::time::Duration;

use dirsync::directory::GraphDirectory;
use dirsync::domain::{CheckName, Coverage, Outcome, Snapshot, UserState};
use dirsync::error::DirectoryError;
use dirsync::ports::{Directory, TenantSecrets};
use dirsync_integration_tests::graph_server::{
    graph_user, graph_user_id, GraphServer, GraphState, Member,
};
use dirsync_integration_tests::{fast_cloud_options, Harness, ACCOUNT};
use serde_json::{json, Value};

#[path = "graph_groups.rs"]
mod groups;

const SECRET: &str = "graph-secret-Zq8~very-secret-value";

fn users(n: u32) -> Vec<serde_json::Map<String, Value>> {
    (1..=n).map(graph_user).collect()
}

fn provider(extra: Value) -> Value {
    let mut provider = json!({"type": "azure", "tenant_id": "contoso.onmicrosoft.com",
        "client_id": "11111111-2222-3333-4444-555555555555"});
    provider
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    provider
}

fn secrets(secret: &str) -> TenantSecrets {
    TenantSecrets {
        client_secret: Some(secret.to_string().into()),
        ..TenantSecrets::default()
    }
}

fn directory(server: &GraphServer, body: Value, secret: &str) -> GraphDirectory {
    let config = dirsync_integration_tests::cloud_server::config_of(body);
    let options = fast_cloud_options(Some(server.url()), Some(server.url()));
    GraphDirectory::new(
        dirsync_integration_tests::azure_of(&config),
        &config,
        &secrets(secret),
        &options,
    )
    .unwrap()
}

async fn read(server: &GraphServer, body: Value) -> Result<Snapshot, DirectoryError> {
    directory(server, body, SECRET).read_users().await
}

fn ids(snapshot: &Snapshot) -> Vec<String> {
    let mut ids: Vec<String> = snapshot
        .users
        .iter()
        .map(|u| u.object_id.to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn paging_reads_every_user_with_only_the_mapped_properties() {
    let mut state = GraphState::new(users(25));
    state.page_cap = 4;
    let server = GraphServer::start(state).await;
    let snapshot = read(&server, json!({"provider": provider(json!({}))}))
        .await
        .unwrap();
    assert_eq!(snapshot.users.len(), 25);
    assert_eq!(snapshot.coverage, Coverage::WholeDirectory);
    let u7 = snapshot
        .users
        .iter()
        .find(|u| u.object_id.as_str() == graph_user_id(7))
        .unwrap();
    assert_eq!(u7.first_name.as_deref(), Some("Given7"));
    assert_eq!(u7.last_name.as_deref(), Some("Family7"));
    assert_eq!(u7.email.as_deref(), Some("user7@contoso.com"));
    assert_eq!(u7.mobile.as_deref(), Some("+1 555 0107"));
    assert_eq!(u7.extension.as_deref(), Some("1007"));
    assert_eq!(u7.state, UserState::Active);
    server.with(|s| {
        let pages: Vec<usize> = s.log.iter().filter_map(|l| l.page).collect();
        assert_eq!(pages, (0..7).collect::<Vec<_>>(), "7 pages, each once");
        assert!(s.log.iter().all(|l| l.status == 200));
        assert!(
            s.log.iter().all(|l| l.path == "/v1.0/users"),
            "no group requests while extension_groups is off"
        );
        assert_eq!(
            s.selects,
            ["id,accountEnabled,userType,givenName,surname,mail,mobilePhone,businessPhones,jobTitle"]
        );
        assert_eq!(s.tokens_issued, 1, "one token for the whole read");
    });
}

#[tokio::test]
async fn group_scope_reads_nested_members_once_each() {
    let mut state = GraphState::new(users(6));
    state.page_cap = 2;
    let (a, b, c) = (
        "aaaaaaaa-0000-0000-0000-000000000001",
        "bbbbbbbb-0000-0000-0000-000000000002",
        "cccccccc-0000-0000-0000-000000000003",
    );
    let user = |n| Member::User(graph_user_id(n));
    state
        .groups
        .insert(a.into(), vec![user(1), user(2), Member::Group(c.into())]);
    state.groups.insert(b.into(), vec![user(2), user(3)]);
    // C nests back into A: a cycle must not loop.
    state
        .groups
        .insert(c.into(), vec![user(4), Member::Group(a.into())]);
    let server = GraphServer::start(state).await;
    let body = json!({"provider": provider(json!({})),
        "scope": {"type": "groups", "groups": [a, b]}});
    let snapshot = read(&server, body).await.unwrap();
    assert_eq!(snapshot.coverage, Coverage::ScopeOnly);
    assert_eq!(
        ids(&snapshot),
        [1, 2, 3, 4].map(graph_user_id),
        "user 2 (in A and B) once, user 4 (nested) in, users 5 and 6 out"
    );
    let u2 = snapshot
        .users
        .iter()
        .find(|u| u.object_id.as_str() == graph_user_id(2))
        .unwrap();
    assert_eq!(u2.groups, [a, b]);
}

#[tokio::test]
async fn users_scope_reads_every_user_and_marks_the_listed_ones() {
    let mut list = users(4);
    list[2].insert("userType".into(), json!("Guest"));
    let server = GraphServer::start(GraphState::new(list)).await;
    // Typed in capitals: the config keeps Graph's lowercase form, so they still match.
    let listed = [1, 3].map(|n| graph_user_id(n).to_uppercase());
    let body = json!({"provider": provider(json!({})),
        "scope": {"type": "users", "users": listed}});
    let snapshot = read(&server, body).await.unwrap();
    assert_eq!(snapshot.coverage, Coverage::WholeDirectory);
    assert_eq!(ids(&snapshot), [1, 2, 3, 4].map(graph_user_id));
    let scoped: Vec<String> = snapshot
        .users
        .iter()
        .filter(|u| u.in_scope)
        .map(|u| u.object_id.to_string())
        .collect();
    assert_eq!(
        scoped,
        [graph_user_id(1)],
        "user 3 is a guest, so still out"
    );
    server.with(|s| assert!(s.log.iter().all(|l| l.path == "/v1.0/users")));
}

#[tokio::test]
async fn throttled_and_unavailable_pages_wait_as_asked_and_the_read_completes() {
    let mut state = GraphState::new(users(15));
    state.page_cap = 3;
    state.faults.throttle.insert(1, 2);
    state.faults.throttle.insert(3, 1);
    state.faults.unavailable.insert(4, 1);
    state.faults.retry_after_secs = 1;
    let server = GraphServer::start(state).await;
    let snapshot = read(&server, json!({"provider": provider(json!({}))}))
        .await
        .unwrap();
    assert_eq!(snapshot.users.len(), 15);
    server.with(|s| {
        let refused = |l: &&dirsync_integration_tests::cloud_server::Logged| {
            l.status == 429 || l.status == 503
        };
        assert_eq!(s.log.iter().filter(refused).count(), 4);
        for (i, entry) in s.log.iter().enumerate().filter(|(_, l)| refused(l)) {
            let next = &s.log[i + 1];
            assert_eq!(next.page, entry.page, "the same page is asked again");
            let asked = Duration::from_secs(entry.retry_after.unwrap());
            assert!(
                next.at.duration_since(entry.at) >= asked,
                "the retry came {:?} after a Retry-After of {asked:?}",
                next.at.duration_since(entry.at)
            );
        }
    });
}

#[tokio::test]
async fn a_login_endpoint_that_is_briefly_unavailable_is_retried() {
    let mut state = GraphState::new(users(3));
    state.faults.token_unavailable = 2;
    let server = GraphServer::start(state).await;
    let directory = directory(&server, json!({"provider": provider(json!({}))}), SECRET);
    let snapshot = directory.read_users().await.unwrap();
    assert_eq!(snapshot.users.len(), 3);
    assert_eq!(
        directory.requests(),
        5,
        "two refused token requests, one token, the delta link, one page"
    );
    assert_eq!(server.with(|s| s.tokens_issued), 1);
}

#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed() {
    let mut state = GraphState::new(users(4));
    state.page_cap = 2;
    state.faults.next_link_host = Some("graph.attacker.example".into());
    let server = GraphServer::start(state).await;
    let error = read(&server, json!({"provider": provider(json!({}))}))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("away from the Graph host"),
        "{error}"
    );
    assert_eq!(
        server.with(|s| s.log.len()),
        1,
        "only the first page was asked for"
    );
}

#[tokio::test]
async fn a_page_failing_for_good_fails_the_read() {
    let mut state = GraphState::new(users(9));
    state.page_cap = 3;
    state.faults.failing_page = Some(1);
    let server = GraphServer::start(state).await;
    let error = read(&server, json!({"provider": provider(json!({}))}))
        .await
        .unwrap_err();
    assert!(
        matches!(error, DirectoryError::Incomplete { users_read: 3, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("503"), "{error}");
    let attempts = server.with(|s| s.log.iter().filter(|l| l.page == Some(1)).count());
    assert_eq!(attempts, 4, "bounded retries");
}

#[tokio::test]
async fn bad_credentials_say_what_to_fix_and_never_show_the_secret() {
    let server = GraphServer::start(GraphState::new(users(2))).await;
    let body = json!({"provider": provider(json!({}))});
    let wrong = "wrong-secret-value-123";
    let error = directory(&server, body.clone(), wrong)
        .read_users()
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, DirectoryError::Credentials(_)));
    assert!(
        text.contains("AADSTS7000215") && text.contains("Secret ID"),
        "{text}"
    );
    assert!(!text.contains(wrong) && !text.contains(SECRET), "{text}");

    server.with(|s| s.secret_expired = true);
    let text = read(&server, body.clone()).await.unwrap_err().to_string();
    assert!(
        text.contains("AADSTS7000222") && text.contains("expired"),
        "{text}"
    );
    assert!(!text.contains(SECRET));

    server.with(|s| s.consented = false);
    let text = read(&server, body.clone()).await.unwrap_err().to_string();
    assert!(text.contains("admin consent"), "{text}");

    let other_tenant =
        json!({"provider": provider(json!({"tenant_id": "fabrikam.onmicrosoft.com"}))});
    let text = read(&server, other_tenant).await.unwrap_err().to_string();
    assert!(
        text.contains("AADSTS90002") && text.contains("tenant_id"),
        "{text}"
    );

    let report = directory(&server, body, wrong).test_connection().await;
    assert!(!report.ok);
    assert_eq!(report.checks.len(), 1);
    assert_eq!(report.checks[0].name, CheckName::Token);
    assert!(report.checks[0].message.contains("AADSTS"));
    assert!(!format!("{report:?}").contains(wrong));
    assert_eq!(
        server.with(|s| s.log.len()),
        0,
        "no listing without a token"
    );
}

#[tokio::test]
async fn a_token_expiring_mid_read_is_renewed_once() {
    let mut state = GraphState::new(users(10));
    state.page_cap = 3;
    state.faults.expire_tokens_at_page = Some(2);
    let server = GraphServer::start(state).await;
    let snapshot = read(&server, json!({"provider": provider(json!({}))}))
        .await
        .unwrap();
    assert_eq!(snapshot.users.len(), 10);
    server.with(|s| {
        assert_eq!(s.tokens_issued, 2);
        let statuses: Vec<(Option<usize>, u16)> =
            s.log.iter().map(|l| (l.page, l.status)).collect();
        assert_eq!(
            statuses,
            [
                (Some(0), 200),
                (Some(1), 200),
                (Some(2), 401),
                (Some(2), 200),
                (Some(3), 200)
            ]
        );
    });
}

#[tokio::test]
async fn disabled_users_guests_and_missing_fields_are_reported_as_such() {
    let mut list = users(4);
    list[0].insert("accountEnabled".into(), json!(false));
    list[1].insert("userType".into(), json!("Guest"));
    list[2].remove("mail");
    list[2].insert("businessPhones".into(), json!([]));
    list[3].insert("mobilePhone".into(), Value::Null);
    let server = GraphServer::start(GraphState::new(list)).await;
    let body = json!({"provider": provider(json!({}))});
    let snapshot = read(&server, body).await.unwrap();
    let user = |n| {
        snapshot
            .users
            .iter()
            .find(|u| u.object_id.as_str() == graph_user_id(n))
            .unwrap()
    };
    assert_eq!(user(1).state, UserState::Disabled);
    assert!(!user(2).in_scope, "guests are out of scope by default");
    assert!(user(1).in_scope && user(3).in_scope);
    assert_eq!(user(3).email, None);
    assert_eq!(user(3).extension, None);
    assert_eq!(user(4).mobile, None);

    let with_guests = json!({"provider": provider(json!({"include_guests": true}))});
    let snapshot = read(&server, with_guests).await.unwrap();
    assert!(snapshot.users.iter().all(|u| u.in_scope));

    let by_upn = json!({"provider": provider(json!({})),
        "fields": {"email": "userPrincipalName", "mobile": null}});
    let snapshot = read(&server, by_upn).await.unwrap();
    assert_eq!(
        snapshot.users[2].email.as_deref(),
        Some("user3@contoso.onmicrosoft.com")
    );
    assert!(server.with(|s| s.selects[2].contains("userPrincipalName")));
    assert!(!server.with(|s| s.selects[2].contains("mobilePhone")));
}

#[tokio::test]
async fn test_connection_reports_token_and_search_with_a_sample() {
    let server = GraphServer::start(GraphState::new(users(8))).await;
    let report = directory(&server, json!({"provider": provider(json!({}))}), SECRET)
        .test_connection()
        .await;
    assert!(report.ok, "{report:?}");
    let steps: Vec<CheckName> = report.checks.iter().map(|c| c.name).collect();
    assert_eq!(steps, [CheckName::Token, CheckName::Search]);
    assert_eq!(report.sample.len(), 5);
    assert!(report.checks[1].message.contains("8 users"));
}

#[tokio::test]
async fn syncs_from_graph_create_update_and_remove_extensions() {
    let server = GraphServer::start(GraphState::new(users(5))).await;
    let options = fast_cloud_options(Some(server.url()), Some(server.url()));
    let h = Harness::with_cloud(
        json!({"provider": provider(json!({}))}),
        options,
        secrets(SECRET),
    )
    .await;
    let first = h.sync().await;
    assert_eq!(first.summary.summary, "5 new, 0 updated, 0 removed");
    assert_eq!(h.simulator.extensions(ACCOUNT).len(), 5);

    server.with(|s| {
        s.users[0].insert("surname".into(), json!("Renamed"));
        s.users[1].insert("accountEnabled".into(), json!(false));
        s.users.remove(2);
    });
    let second = h.sync().await;
    assert_eq!(second.summary.outcome, Outcome::Success);
    assert_eq!(second.summary.summary, "0 new, 1 updated, 2 removed");
    let exts = h.simulator.extensions(ACCOUNT);
    assert_eq!(exts.len(), 3);
    let renamed = exts.iter().find(|e| e.number == "1001").unwrap();
    assert_eq!(renamed.last_name.as_deref(), Some("Renamed"));
    assert!(!exts
        .iter()
        .any(|e| e.number == "1002" || e.number == "1003"));

    // A read that fails part-way removes nothing, even though users "vanished" from it.
    // (An expired delta link sends the run to a full read, which then fails.)
    server.with(|s| {
        s.expire_delta_tokens();
        s.page_cap = 1;
        s.faults.failing_page = Some(1);
    });
    let failed = h.sync().await;
    assert_eq!(failed.summary.outcome, Outcome::Failed);
    assert_eq!(h.simulator.extensions(ACCOUNT).len(), 3);
    let error = failed.summary.error.unwrap();
    assert!(!error.contains(SECRET), "{error}");
}
