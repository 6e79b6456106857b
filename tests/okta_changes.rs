//! Okta change-only reads against the Okta test server: profile changes, renames, new users,
//! status changes, deactivations and deletions, each checked by applying the changes to the
//! previous full read and comparing with a fresh one; an unchanged directory costing two
//! requests; and every gap (a log that no longer reaches back or may not be read, a user gone
//! without a deletion, an old cursor, a group scope) ending in `ChangesUnavailable`.

use std::collections::BTreeMap;

use dirsync::directory::OktaDirectory;
use dirsync::domain::{
    ChangeCursor, DirectoryChanges, DirectoryUser, ObjectId, Snapshot, UserState,
};
use dirsync::error::DirectoryError;
use dirsync::ports::{Directory, TenantSecrets};
use dirsync_integration_tests::fast_cloud_options;
use dirsync_integration_tests::okta_server::{
    okta_now, okta_user, okta_user_id, OktaServer, OktaState,
};
use serde_json::{json, Value};

const API_TOKEN: &str = "00Okta-api-token-SSWS-very-secret";

fn secrets() -> TenantSecrets {
    TenantSecrets {
        api_token: Some(API_TOKEN.to_string().into()),
        ..TenantSecrets::default()
    }
}

fn config(server: &OktaServer) -> Value {
    json!({"provider": {"type": "okta", "org_url": server.org_url()}})
}

fn directory(body: &Value) -> OktaDirectory {
    let config = dirsync_integration_tests::cloud_server::config_of(body.clone());
    OktaDirectory::new(
        dirsync_integration_tests::okta_of(&config),
        &config,
        &secrets(),
        &fast_cloud_options(None, None),
    )
    .unwrap()
}

async fn started(count: u32, page_cap: usize) -> OktaServer {
    let mut state = OktaState::new((1..=count).map(|n| okta_user(n, "ACTIVE")).collect());
    state.page_cap = page_cap;
    OktaServer::start(state).await
}

fn id(n: u32) -> String {
    okta_user_id(n)
}

/// The engine's merge: changed users replace theirs by object id, deleted ones go.
fn apply(previous: &Snapshot, changes: &DirectoryChanges) -> Vec<DirectoryUser> {
    let mut users: BTreeMap<ObjectId, DirectoryUser> = previous
        .users
        .iter()
        .map(|u| (u.object_id.clone(), u.clone()))
        .collect();
    for user in &changes.changed {
        users.insert(user.object_id.clone(), user.clone());
    }
    for gone in &changes.deleted {
        users.remove(gone);
    }
    users.into_values().collect()
}

fn sorted(snapshot: &Snapshot) -> Vec<DirectoryUser> {
    let mut users = snapshot.users.clone();
    users.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    users
}

fn ids(users: &[DirectoryUser]) -> Vec<String> {
    let mut ids: Vec<String> = users.iter().map(|u| u.object_id.to_string()).collect();
    ids.sort();
    ids
}

/// Reads the changes since `previous`, checks that they make a fresh full read, and returns
/// them with that read.
async fn changes_match_a_full_read(
    directory: &OktaDirectory,
    previous: &Snapshot,
) -> (DirectoryChanges, Snapshot) {
    let cursor = previous
        .change_cursor
        .as_ref()
        .expect("a full read leaves a cursor");
    let changes = directory.read_changes(cursor).await.unwrap();
    let fresh = directory.read_users().await.unwrap();
    assert_eq!(apply(previous, &changes), sorted(&fresh));
    assert!(changes.cursor.is_some());
    (changes, fresh)
}

#[tokio::test]
async fn an_unchanged_directory_costs_two_requests_and_changes_nothing() {
    let server = started(30, 4).await;
    let directory = directory(&config(&server));
    let snapshot = directory.read_users().await.unwrap();
    let cursor = snapshot.change_cursor.clone().unwrap();
    assert_eq!(cursor.provider, "okta");
    let changes = directory.read_changes(&cursor).await.unwrap();
    assert!(
        changes.changed.is_empty() && changes.deleted.is_empty(),
        "{changes:?}"
    );
    assert_eq!(changes.requests, 2, "one users page, one log page");
    let position: Value = serde_json::from_str(&changes.cursor.unwrap().position).unwrap();
    assert!(position["read_at"].is_string(), "{position}");
}

#[tokio::test]
async fn profile_changes_renames_and_new_users_are_read_across_pages() {
    let server = started(20, 2).await;
    let directory = directory(&config(&server));
    let before = directory.read_users().await.unwrap();
    server.with(|s| {
        s.update_profile(
            &id(3),
            json!({"lastName": "Renamed", "login": "renamed@acme.com"}),
        );
        s.update_profile(&id(7), json!({"mobilePhone": "+1 555 0999"}));
        s.update_profile(&id(11), json!({"firstName": "Eleven"}));
        s.create_user(okta_user(21, "STAGED"));
        s.create_user(okta_user(22, "ACTIVE"));
    });
    let (changes, fresh) = changes_match_a_full_read(&directory, &before).await;
    assert_eq!(
        ids(&changes.changed),
        [3, 7, 11, 21, 22].map(id).to_vec(),
        "only the changed users"
    );
    assert!(changes.deleted.is_empty());
    let renamed = fresh
        .users
        .iter()
        .find(|u| u.object_id.as_str() == id(3))
        .unwrap();
    assert_eq!(renamed.last_name.as_deref(), Some("Renamed"));
    // Five users on pages of two: three pages carrying the filter, then one log page.
    assert_eq!(changes.requests, 4, "{changes:?}");
}

#[tokio::test]
async fn status_changes_are_found_through_the_log() {
    let server = started(10, 200).await;
    let directory = directory(&config(&server));
    let before = directory.read_users().await.unwrap();
    // Status changes that leave `lastUpdated` as it was: only the log names them.
    server.with(|s| {
        s.set_status(&id(2), "SUSPENDED", "user.lifecycle.suspend");
        s.set_status(&id(4), "LOCKED_OUT", "user.lifecycle.suspend");
    });
    let (changes, fresh) = changes_match_a_full_read(&directory, &before).await;
    assert_eq!(ids(&changes.changed), [2, 4].map(id).to_vec());
    let suspended = fresh
        .users
        .iter()
        .find(|u| u.object_id.as_str() == id(2))
        .unwrap();
    assert_eq!(suspended.state, UserState::Disabled);
    // Then back: the next read from the new cursor sees the unsuspension.
    let after = fresh;
    server.with(|s| s.set_status(&id(2), "ACTIVE", "user.lifecycle.unsuspend"));
    let (changes, _) = changes_match_a_full_read(&directory, &after).await;
    assert!(ids(&changes.changed).contains(&id(2)));
}

#[tokio::test]
async fn deactivations_and_deletions_are_deleted_as_okta_says() {
    let server = started(10, 3).await;
    let directory = directory(&config(&server));
    let before = directory.read_users().await.unwrap();
    server.with(|s| {
        s.deactivate(&id(2));
        // An active user deleted: Okta deactivates it first.
        s.delete_user(&id(4));
        s.deactivate(&id(6));
        s.delete_user(&id(6));
        s.update_profile(&id(8), json!({"lastName": "Still here"}));
    });
    let (changes, fresh) = changes_match_a_full_read(&directory, &before).await;
    let mut deleted: Vec<String> = changes.deleted.iter().map(|d| d.to_string()).collect();
    deleted.sort();
    assert_eq!(deleted, [2, 4, 6].map(id).to_vec());
    assert_eq!(ids(&changes.changed), vec![id(8)]);
    assert_eq!(fresh.users.len(), 7);
}

#[tokio::test]
async fn a_user_gone_without_a_deletion_in_the_log_is_not_taken_for_deleted() {
    let server = started(5, 200).await;
    let directory = directory(&config(&server));
    let before = directory.read_users().await.unwrap();
    server.with(|s| {
        s.deactivate(&id(3));
        // Gone, but the log (say, a failed deletion) does not say it was deleted.
        s.log_event("user.lifecycle.delete.initiated", &id(3), "FAILURE");
        s.remove_unlogged(&id(3));
    });
    let error = directory
        .read_changes(before.change_cursor.as_ref().unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(error, DirectoryError::ChangesUnavailable(_)),
        "{error}"
    );
}

#[tokio::test]
async fn a_log_that_no_longer_reaches_back_or_may_not_be_read_is_a_gap() {
    let server = started(5, 200).await;
    let directory = directory(&config(&server));
    let before = directory.read_users().await.unwrap();
    let cursor = before.change_cursor.clone().unwrap();
    // The log keeps less than the overlap reaches back: 400 E0000001.
    server.with(|s| s.log_retention_days = 0);
    let error = directory.read_changes(&cursor).await.unwrap_err();
    assert!(
        matches!(&error, DirectoryError::ChangesUnavailable(m) if m.contains("E0000001")),
        "{error}"
    );
    server.with(|s| {
        s.log_retention_days = 90;
        s.logs_readable = false;
    });
    let error = directory.read_changes(&cursor).await.unwrap_err();
    assert!(
        matches!(error, DirectoryError::ChangesUnavailable(_)),
        "{error}"
    );
    server.with(|s| s.logs_readable = true);
    directory.read_changes(&cursor).await.unwrap();
    // A cursor older than the log keeps is refused before any request.
    let requests = server.with(|s| s.log.len());
    let old = ChangeCursor {
        provider: "okta".into(),
        position: json!({"read_at": "2020-01-01T00:00:00Z"}).to_string(),
    };
    let error = directory.read_changes(&old).await.unwrap_err();
    assert!(
        matches!(error, DirectoryError::ChangesUnavailable(_)),
        "{error}"
    );
    let foreign = ChangeCursor {
        provider: "graph".into(),
        ..cursor.clone()
    };
    let error = directory.read_changes(&foreign).await.unwrap_err();
    assert!(
        matches!(error, DirectoryError::ChangesUnavailable(_)),
        "{error}"
    );
    assert_eq!(server.with(|s| s.log.len()), requests);
}

#[tokio::test]
async fn throttled_pages_are_retried() {
    let server = started(6, 200).await;
    let directory = directory(&config(&server));
    let before = directory.read_users().await.unwrap();
    server.with(|s| {
        s.update_profile(&id(1), json!({"firstName": "One"}));
        s.faults.throttle.insert(0, 1);
    });
    let (changes, _) = changes_match_a_full_read(&directory, &before).await;
    assert_eq!(ids(&changes.changed), vec![id(1)]);
    assert!(server.with(|s| s.log.iter().any(|l| l.status == 429)));
}

#[tokio::test]
async fn a_user_scope_keeps_its_scope_in_the_changes() {
    let server = started(6, 200).await;
    let body = json!({"provider": {"type": "okta", "org_url": server.org_url()},
        "scope": {"type": "users", "users": [id(1), id(2)]}});
    let directory = directory(&body);
    let before = directory.read_users().await.unwrap();
    server.with(|s| {
        s.update_profile(&id(2), json!({"firstName": "Two"}));
        s.update_profile(&id(5), json!({"firstName": "Five"}));
    });
    let (changes, _) = changes_match_a_full_read(&directory, &before).await;
    let scoped: Vec<(String, bool)> = changes
        .changed
        .iter()
        .map(|u| (u.object_id.to_string(), u.in_scope))
        .collect();
    assert_eq!(scoped, vec![(id(2), true), (id(5), false)]);
}

#[tokio::test]
async fn group_scopes_and_extension_groups_are_read_in_full() {
    let mut state = OktaState::new((1..=4).map(|n| okta_user(n, "ACTIVE")).collect());
    state.groups.insert("00g1".into(), vec![id(1), id(2)]);
    let server = OktaServer::start(state).await;
    let scoped = json!({"provider": {"type": "okta", "org_url": server.org_url()},
        "scope": {"type": "groups", "groups": ["00g1"]}});
    let grouped = json!({"provider": {"type": "okta", "org_url": server.org_url()},
        "extension_groups": {"sync": "groups", "groups": ["00g1"]}});
    for body in [scoped, grouped] {
        let directory = directory(&body);
        let snapshot = directory.read_users().await.unwrap();
        assert_eq!(snapshot.change_cursor, None, "{body}");
        let cursor = ChangeCursor {
            provider: "okta".into(),
            position: json!({"read_at": okta_now()}).to_string(),
        };
        let error = directory.read_changes(&cursor).await.unwrap_err();
        assert!(
            matches!(error, DirectoryError::ChangesUnavailable(_)),
            "{error}"
        );
    }
}

#[tokio::test]
async fn the_test_server_refuses_bad_expressions_like_okta() {
    let server = started(3, 200).await;
    let http = reqwest::Client::new();
    let get = |query: &'static str| {
        let url = format!("{}{query}", server.org_url());
        let request = http
            .get(url)
            .header("authorization", format!("SSWS {API_TOKEN}"));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = get("/api/v1/users?limit=200&filter=lastUpdated%20gt%202026").await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("E0000031"))
    );
    let (status, body) = get("/api/v1/logs?since=yesterday").await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("E0000001"))
    );
    let (status, body) = get("/api/v1/logs?since=2020-01-01T00:00:00.000Z").await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("E0000001"))
    );
    let (status, body) = get("/api/v1/logs?filter=eventType%20eq").await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("E0000001"))
    );
    let (status, body) = get("/api/v1/logs?limit=1001").await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (400, Some("E0000001"))
    );
    let (status, body) =
        get("/api/v1/users?limit=200&filter=lastUpdated%20gt%20%222026-01-01T00%3A00%3A00.000Z%22")
            .await;
    assert_eq!((status, body.as_array().map(Vec::len)), (200, Some(0)));
}
