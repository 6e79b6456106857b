//! The `okta` provider against the Okta test server: paging, group scope, rate limits,
//! failures, API tokens and service apps, user statuses, and syncs through the real engine.

use dirsync::directory::OktaDirectory;
use dirsync::domain::{
    CheckName, Coverage, DirectoryConfig, EndpointPolicy, Outcome, Snapshot, UserState,
};
use dirsync::error::DirectoryError;
use dirsync::ports::{Directory, TenantSecrets};
use dirsync_integration_tests::okta_server::{
    okta_user, okta_user_id, service_app_key, OktaServer, OktaState, TestKeyPair,
    SERVICE_APP_CLIENT_ID,
};
use dirsync_integration_tests::{fast_cloud_options, Harness, ACCOUNT};
use serde_json::{json, Value};

#[path = "okta_groups.rs"]
mod groups;

const API_TOKEN: &str = "00Okta-api-token-SSWS-very-secret";

fn users(n: u32) -> Vec<Value> {
    (1..=n).map(|i| okta_user(i, "ACTIVE")).collect()
}

fn token_config(server: &OktaServer) -> Value {
    json!({"provider": {"type": "okta", "org_url": server.org_url()}})
}

fn jwt_config(server: &OktaServer) -> Value {
    json!({"provider": {"type": "okta", "org_url": server.org_url(), "auth": "private_key_jwt",
        "client_id": SERVICE_APP_CLIENT_ID}})
}

fn api_token(token: &str) -> TenantSecrets {
    TenantSecrets {
        api_token: Some(token.to_string().into()),
        ..TenantSecrets::default()
    }
}

fn private_key() -> TenantSecrets {
    TenantSecrets {
        private_key_pem: Some(service_app_key().private_pem.clone().into()),
        ..TenantSecrets::default()
    }
}

fn directory(body: &Value, secrets: &TenantSecrets) -> Result<OktaDirectory, DirectoryError> {
    let config = dirsync_integration_tests::cloud_server::config_of(body.clone());
    OktaDirectory::new(
        dirsync_integration_tests::okta_of(&config),
        &config,
        secrets,
        &fast_cloud_options(None, None),
    )
}

async fn read(body: &Value, secrets: &TenantSecrets) -> Result<Snapshot, DirectoryError> {
    directory(body, secrets)?.read_users().await
}

fn user(snapshot: &Snapshot, n: u32) -> &dirsync::domain::DirectoryUser {
    snapshot
        .users
        .iter()
        .find(|u| u.object_id.as_str() == okta_user_id(n))
        .unwrap()
}

#[tokio::test]
async fn paging_follows_the_link_header_across_many_pages() {
    let mut state = OktaState::new(users(23));
    state.page_cap = 4;
    let server = OktaServer::start(state).await;
    let snapshot = read(&token_config(&server), &api_token(API_TOKEN))
        .await
        .unwrap();
    assert_eq!(snapshot.users.len(), 23);
    assert_eq!(snapshot.coverage, Coverage::WholeDirectory);
    let u5 = user(&snapshot, 5);
    assert_eq!(u5.first_name.as_deref(), Some("Given5"));
    assert_eq!(u5.last_name.as_deref(), Some("Family5"));
    assert_eq!(u5.email.as_deref(), Some("user5@acme.com"));
    assert_eq!(u5.mobile.as_deref(), Some("+1 555 0205"));
    assert_eq!(u5.extension.as_deref(), Some("1005"));
    let pages: Vec<usize> = server.with(|s| s.log.iter().filter_map(|l| l.page).collect());
    assert_eq!(pages, (0..6).collect::<Vec<_>>());
}

#[tokio::test]
async fn statuses_decide_state_and_deprovisioned_users_are_absent() {
    let statuses = [
        "ACTIVE",
        "STAGED",
        "PROVISIONED",
        "RECOVERY",
        "PASSWORD_EXPIRED",
        "LOCKED_OUT",
        "SUSPENDED",
        "DEPROVISIONED",
    ];
    let mut list: Vec<Value> = (1..).zip(statuses).map(|(n, s)| okta_user(n, s)).collect();
    // Missing and blank profile fields read as missing.
    list[0]["profile"]
        .as_object_mut()
        .unwrap()
        .remove("primaryPhone");
    list[0]["profile"]["mobilePhone"] = Value::Null;
    list[1]["profile"]["email"] = json!("  ");
    let server = OktaServer::start(OktaState::new(list)).await;
    let snapshot = read(&token_config(&server), &api_token(API_TOKEN))
        .await
        .unwrap();
    for n in 1..=6 {
        assert_eq!(user(&snapshot, n).state, UserState::Active, "user {n}");
    }
    assert_eq!(user(&snapshot, 7).state, UserState::Disabled);
    assert_eq!(user(&snapshot, 1).extension, None);
    assert_eq!(user(&snapshot, 1).mobile, None);
    assert_eq!(user(&snapshot, 2).email, None);
    assert_eq!(user(&snapshot, 2).first_name.as_deref(), Some("Given2"));
    assert_eq!(
        snapshot.users.len(),
        7,
        "Okta's listing leaves DEPROVISIONED out"
    );

    // A group still lists its deprovisioned members: they read as deleted.
    server.with(|s| {
        s.groups
            .insert("00g1".into(), vec![okta_user_id(7), okta_user_id(8)])
    });
    let body = json!({"provider": {"type": "okta", "org_url": server.org_url()},
        "scope": {"type": "groups", "groups": ["00g1"]}});
    let snapshot = read(&body, &api_token(API_TOKEN)).await.unwrap();
    assert_eq!(user(&snapshot, 8).state, UserState::Deleted);
}

#[tokio::test]
async fn group_scope_reads_members_once_each() {
    let mut state = OktaState::new(users(6));
    state.page_cap = 2;
    let id = |n| okta_user_id(n);
    state
        .groups
        .insert("00gSales".into(), vec![id(1), id(2), id(3)]);
    state.groups.insert("00gSupport".into(), vec![id(3), id(4)]);
    let server = OktaServer::start(state).await;
    let body = json!({"provider": {"type": "okta", "org_url": server.org_url()},
        "scope": {"type": "groups", "groups": ["00gSales", "00gSupport"]}});
    let snapshot = read(&body, &api_token(API_TOKEN)).await.unwrap();
    assert_eq!(snapshot.coverage, Coverage::ScopeOnly);
    assert_eq!(snapshot.users.len(), 4);
    assert_eq!(user(&snapshot, 3).groups, ["00gSales", "00gSupport"]);

    let missing = json!({"provider": {"type": "okta", "org_url": server.org_url()},
        "scope": {"type": "groups", "groups": ["00gGone"]}});
    let text = read(&missing, &api_token(API_TOKEN))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("E0000007") && text.contains("scope.groups"),
        "{text}"
    );
}

#[tokio::test]
async fn a_429_waits_for_the_rate_limit_reset() {
    let mut state = OktaState::new(users(8));
    state.page_cap = 2;
    state.faults.throttle.insert(2, 1);
    let server = OktaServer::start(state).await;
    let snapshot = read(&token_config(&server), &api_token(API_TOKEN))
        .await
        .unwrap();
    assert_eq!(snapshot.users.len(), 8);
    server.with(|s| {
        let at = s.log.iter().position(|l| l.status == 429).unwrap();
        let reset_ms = u128::from(s.log[at].reset.unwrap()) * 1000;
        let retry = &s.log[at + 1];
        assert_eq!(retry.page, Some(2));
        assert!(
            retry.epoch_ms >= reset_ms,
            "the retry came at {} ms, before the reset at {reset_ms} ms",
            retry.epoch_ms
        );
    });
}

#[tokio::test]
async fn reads_slow_down_before_the_rate_limit_runs_out() {
    let mut state = OktaState::new(users(10));
    state.page_cap = 1;
    state.rate_limit = 4;
    state.rate_window_secs = 1;
    let server = OktaServer::start(state).await;
    let snapshot = read(&token_config(&server), &api_token(API_TOKEN))
        .await
        .unwrap();
    assert_eq!(snapshot.users.len(), 10);
    server.with(|s| {
        assert_eq!(s.log.len(), 10, "no request was refused or repeated");
        assert!(s.log.iter().all(|l| l.status == 200));
        for pair in s.log.windows(2) {
            if pair[0].remaining.unwrap() <= 1 {
                let reset_ms = u128::from(pair[0].reset.unwrap()) * 1000;
                assert!(pair[1].epoch_ms >= reset_ms, "waited for the reset");
            }
        }
    });
}

#[tokio::test]
async fn a_page_failing_for_good_fails_the_read() {
    let mut state = OktaState::new(users(6));
    state.page_cap = 2;
    state.faults.failing_page = Some(2);
    let server = OktaServer::start(state).await;
    let error = read(&token_config(&server), &api_token(API_TOKEN))
        .await
        .unwrap_err();
    assert!(
        matches!(error, DirectoryError::Incomplete { users_read: 4, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("E0000009"), "{error}");
}

#[tokio::test]
async fn a_bad_api_token_is_explained_without_showing_it() {
    let server = OktaServer::start(OktaState::new(users(2))).await;
    let wrong = "00wrong-token-abcdef";
    let error = read(&token_config(&server), &api_token(wrong))
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, DirectoryError::Credentials(_)));
    assert!(
        text.contains("E0000011") && text.contains("API token"),
        "{text}"
    );
    assert!(!text.contains(wrong), "{text}");

    let report = directory(&token_config(&server), &api_token(wrong))
        .unwrap()
        .test_connection()
        .await;
    assert!(!report.ok);
    assert_eq!(report.checks[0].name, CheckName::Token);
    assert!(!format!("{report:?}").contains(wrong));

    let report = directory(&token_config(&server), &api_token(API_TOKEN))
        .unwrap()
        .test_connection()
        .await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.checks[0].message, "Okta accepted the API token");
    assert_eq!(report.sample.len(), 2);
}

#[tokio::test]
async fn a_service_app_signs_in_with_private_key_jwt() {
    let mut state = OktaState::new(users(5));
    state.page_cap = 2;
    state.faults.expire_tokens_at_page = Some(1);
    let server = OktaServer::start(state).await;
    let snapshot = read(&jwt_config(&server), &private_key()).await.unwrap();
    assert_eq!(snapshot.users.len(), 5);
    server.with(|s| {
        assert_eq!(
            s.tokens_issued, 2,
            "a token refused mid-read is renewed once"
        );
        let statuses: Vec<u16> = s.log.iter().map(|l| l.status).collect();
        assert_eq!(statuses, [200, 401, 200, 200]);
    });

    let report = directory(&jwt_config(&server), &private_key())
        .unwrap()
        .test_connection()
        .await;
    assert!(report.ok, "{report:?}");
    let steps: Vec<CheckName> = report.checks.iter().map(|c| c.name).collect();
    assert_eq!(steps, [CheckName::Token, CheckName::Search]);
    assert_eq!(report.sample.len(), 5);
}

#[tokio::test]
async fn a_service_app_demanding_dpop_is_refused_clearly() {
    let mut state = OktaState::new(users(1));
    state.require_dpop = true;
    let server = OktaServer::start(state).await;
    let text = read(&jwt_config(&server), &private_key())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("DPoP") && text.contains("not support"),
        "{text}"
    );
    assert!(!text.contains("PRIVATE KEY"));
}

#[tokio::test]
async fn a_wrong_key_is_refused_by_the_org() {
    let server = OktaServer::start(OktaState::new(users(1))).await;
    // A valid RSA key, but not the one whose public half the app holds.
    let other = TenantSecrets {
        private_key_pem: Some(TestKeyPair::generate().private_pem.into()),
        ..TenantSecrets::default()
    };
    let text = read(&jwt_config(&server), &other)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("client assertion") && text.contains("public key"),
        "{text}"
    );
    assert!(!text.contains("PRIVATE KEY"));
}

#[tokio::test]
async fn private_org_addresses_are_refused_unless_the_operator_allows_them() {
    let server = OktaServer::start(OktaState::new(users(1))).await;
    let config = DirectoryConfig::from_json(
        token_config(&server).to_string().as_bytes(),
        EndpointPolicy {
            allow_private: true,
        },
    )
    .unwrap();
    let strict = dirsync::directory::CloudOptions {
        endpoint_policy: EndpointPolicy::default(),
        ..fast_cloud_options(None, None)
    };
    let error = OktaDirectory::new(
        dirsync_integration_tests::okta_of(&config),
        &config,
        &api_token(API_TOKEN),
        &strict,
    )
    .err()
    .unwrap();
    assert!(error.to_string().contains("https"), "{error}");
    assert_eq!(server.with(|s| s.log.len()), 0, "nothing was sent");
}

#[tokio::test]
async fn syncs_from_okta_create_update_and_remove_extensions() {
    let server = OktaServer::start(OktaState::new(users(5))).await;
    let h = Harness::with_cloud(
        token_config(&server),
        fast_cloud_options(None, None),
        api_token(API_TOKEN),
    )
    .await;
    let first = h.sync().await;
    assert_eq!(first.summary.summary, "5 new, 0 updated, 0 removed");

    server.with(|s| {
        s.users[0]["profile"]["lastName"] = json!("Renamed");
        s.users[1]["status"] = json!("SUSPENDED");
        s.users[2]["status"] = json!("DEPROVISIONED");
    });
    let second = h.sync().await;
    assert_eq!(second.summary.outcome, Outcome::Success);
    assert_eq!(second.summary.summary, "0 new, 1 updated, 2 removed");
    let exts = h.simulator.extensions(ACCOUNT);
    assert_eq!(exts.len(), 3);
    assert_eq!(
        exts.iter()
            .find(|e| e.number == "1001")
            .unwrap()
            .last_name
            .as_deref(),
        Some("Renamed")
    );

    // A full read that fails part-way removes nothing. (The change read finds nothing
    // changed; a System Log it may not read sends the run to a full read.)
    server.with(|s| {
        s.logs_readable = false;
        s.page_cap = 1;
        s.faults.failing_page = Some(1);
    });
    let failed = h.sync().await;
    assert_eq!(failed.summary.outcome, Outcome::Failed);
    assert_eq!(h.simulator.extensions(ACCOUNT).len(), 3, "nothing removed");
    assert!(!failed.summary.error.unwrap().contains(API_TOKEN));
}
