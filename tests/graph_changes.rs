//! Change-only reads of the `azure` provider against the Graph test server's `users/delta` and
//! `groups/delta`: each change read, applied to the last full snapshot (changed users
//! replaced by object id, deleted ones removed), must equal a fresh full read; what cannot
//! be said is `ChangesUnavailable`; and an unchanged read costs one delta call.

use dirsync::directory::GraphDirectory;
use dirsync::domain::avatar::PhotoRef;
use dirsync::domain::{ChangeCursor, DirectoryChanges, DirectoryUser, Snapshot, UserState};
use dirsync::error::DirectoryError;
use dirsync::ports::{Directory, TenantSecrets};
use dirsync_integration_tests::cloud_server::config_of;
use dirsync_integration_tests::graph_server::{
    graph_user, graph_user_id, GraphServer, GraphState, Member, GROUPS_DELTA, USERS_DELTA,
};
use dirsync_integration_tests::{azure_of, fast_cloud_options};
use serde_json::{json, Value};

const GROUP: &str = "aaaaaaaa-0000-4000-a000-000000000001";

fn provider() -> Value {
    json!({"type": "azure", "tenant_id": "contoso.onmicrosoft.com",
        "client_id": "11111111-2222-3333-4444-555555555555"})
}

fn everyone() -> Value {
    json!({"provider": provider()})
}

/// A fresh reader, as each run builds one (so its first request fetches a token).
fn directory(server: &GraphServer, body: &Value) -> GraphDirectory {
    let config = config_of(body.clone());
    let options = fast_cloud_options(Some(server.url()), Some(server.url()));
    let secrets = TenantSecrets {
        client_secret: Some("graph-secret-Zq8~very-secret-value".to_string().into()),
        ..TenantSecrets::default()
    };
    GraphDirectory::new(azure_of(&config), &config, &secrets, &options).unwrap()
}

/// 12 users, listed 5 a page, delta pages of 3 objects.
async fn server() -> GraphServer {
    let mut state = GraphState::new((1..=12).map(graph_user).collect());
    state.page_cap = 5;
    state.delta.page_cap = 3;
    GraphServer::start(state).await
}

async fn full(server: &GraphServer, body: &Value) -> Snapshot {
    directory(server, body).read_users().await.unwrap()
}

async fn changes(
    server: &GraphServer,
    body: &Value,
    cursor: &ChangeCursor,
) -> Result<DirectoryChanges, DirectoryError> {
    directory(server, body).read_changes(cursor).await
}

fn sorted(mut users: Vec<DirectoryUser>) -> Vec<DirectoryUser> {
    users.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    users
}

/// The snapshot's users with the changes applied.
fn applied(snapshot: &Snapshot, changes: &DirectoryChanges) -> Vec<DirectoryUser> {
    let mut users: Vec<DirectoryUser> = snapshot
        .users
        .iter()
        .filter(|u| !changes.deleted.contains(&u.object_id))
        .filter(|u| !changes.changed.iter().any(|c| c.object_id == u.object_id))
        .cloned()
        .collect();
    users.extend(changes.changed.iter().cloned());
    sorted(users)
}

/// Reads the changes since `before`, checks them against a fresh full read and returns them.
async fn converges(server: &GraphServer, body: &Value, before: &Snapshot) -> DirectoryChanges {
    let cursor = before.change_cursor.clone().expect("a cursor");
    let changes = changes(server, body, &cursor).await.unwrap();
    let after = full(server, body).await;
    assert_eq!(applied(before, &changes), sorted(after.users));
    changes
}

fn user(changes: &DirectoryChanges, n: u32) -> &DirectoryUser {
    changes
        .changed
        .iter()
        .find(|u| u.object_id.as_str() == graph_user_id(n))
        .expect("the changed user")
}

fn log_len(server: &GraphServer) -> (usize, usize) {
    server.with(|s| (s.requests().len(), s.tokens_issued))
}

/// The paths asked for since `from` requests.
fn paths_since(server: &GraphServer, from: usize) -> Vec<String> {
    server.with(|s| {
        s.requests()[from..]
            .iter()
            .map(|l| l.path.clone())
            .collect()
    })
}

fn unavailable(result: Result<DirectoryChanges, DirectoryError>) -> String {
    match result {
        Err(DirectoryError::ChangesUnavailable(reason)) => reason,
        other => panic!("expected ChangesUnavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_full_read_leaves_a_cursor_and_an_unchanged_read_is_one_delta_call() {
    let server = server().await;
    let body = everyone();
    let (requests, _) = log_len(&server);
    let before = full(&server, &body).await;
    assert_eq!(before.users.len(), 12);
    let cursor = before.change_cursor.clone().expect("a cursor");
    assert_eq!(cursor.provider, "graph");
    let paths = paths_since(&server, requests);
    assert_eq!(paths[0], USERS_DELTA, "the delta link is asked for first");
    assert_eq!(
        &paths[1..],
        ["/v1.0/users"; 3],
        "then the listing as before"
    );
    let (requests, tokens) = log_len(&server);
    let changes = changes(&server, &body, &cursor).await.unwrap();
    assert!(changes.changed.is_empty() && changes.deleted.is_empty());
    assert_eq!(
        paths_since(&server, requests),
        [USERS_DELTA],
        "one delta call"
    );
    assert_eq!(
        server.with(|s| s.tokens_issued) - tokens,
        1,
        "and the token call"
    );
    assert_eq!(changes.requests, 2);
    // The next cursor goes on from there.
    let next = changes.cursor.expect("the next cursor");
    assert_ne!(next, cursor);
    server.with(|s| s.update_user(&graph_user_id(3), json!({"surname": "Later"})));
    let later = self::changes(&server, &body, &next).await.unwrap();
    assert_eq!(later.changed.len(), 1);
}

#[tokio::test]
async fn a_rename_comes_back_as_the_whole_user() {
    let server = server().await;
    let body = everyone();
    let before = full(&server, &body).await;
    server.with(|s| {
        s.update_user(
            &graph_user_id(4),
            json!({"givenName": "Renamed", "surname": "Person"}),
        )
    });
    let (requests, _) = log_len(&server);
    let changes = converges(&server, &body, &before).await;
    let renamed = user(&changes, 4);
    assert_eq!(renamed.first_name.as_deref(), Some("Renamed"));
    assert_eq!(renamed.last_name.as_deref(), Some("Person"));
    // Graph's delta entry had the two names only: the rest comes from the lookup.
    assert_eq!(renamed.email.as_deref(), Some("user4@contoso.com"));
    assert_eq!(renamed.extension.as_deref(), Some("1004"));
    assert_eq!(changes.changed.len(), 1);
    let paths = paths_since(&server, requests);
    assert_eq!(&paths[..2], [USERS_DELTA, "/v1.0/$batch"]);
}

#[tokio::test]
async fn field_changes_and_cleared_fields_and_new_users_are_read() {
    let server = server().await;
    let body = everyone();
    let before = full(&server, &body).await;
    server.with(|s| {
        s.update_user(
            &graph_user_id(5),
            json!({"mobilePhone": "+1 555 9999", "mail": null}),
        );
        // A property that is not read: Graph does not report it.
        s.update_user(&graph_user_id(6), json!({"department": "Support"}));
        s.add_user(graph_user(13));
    });
    let changes = converges(&server, &body, &before).await;
    let changed = user(&changes, 5);
    assert_eq!(changed.mobile.as_deref(), Some("+1 555 9999"));
    assert_eq!(changed.email, None);
    assert_eq!(user(&changes, 13).first_name.as_deref(), Some("Given13"));
    assert_eq!(changes.changed.len(), 2);
}

#[tokio::test]
async fn a_disabled_user_is_changed_not_deleted() {
    let server = server().await;
    let body = everyone();
    let before = full(&server, &body).await;
    server.with(|s| s.update_user(&graph_user_id(7), json!({"accountEnabled": false})));
    let changes = converges(&server, &body, &before).await;
    assert_eq!(user(&changes, 7).state, UserState::Disabled);
    assert!(changes.deleted.is_empty());
}

#[tokio::test]
async fn only_a_deleted_removal_is_a_deletion() {
    let server = server().await;
    let body = everyone();
    let before = full(&server, &body).await;
    server.with(|s| s.delete_user(&graph_user_id(8), true));
    let changes = converges(&server, &body, &before).await;
    let deleted: Vec<String> = changes.deleted.iter().map(|d| d.to_string()).collect();
    assert_eq!(deleted, [graph_user_id(8)]);
    assert!(changes.changed.is_empty());
}

#[tokio::test]
async fn a_changed_removal_of_a_user_that_exists_is_looked_up() {
    let server = server().await;
    let body = everyone();
    let before = full(&server, &body).await;
    server.with(|s| {
        s.update_user(&graph_user_id(9), json!({"jobTitle": "Lead"}));
        s.report_removed(&graph_user_id(9));
    });
    let changes = converges(&server, &body, &before).await;
    assert!(changes.deleted.is_empty(), "reason changed is no deletion");
    let looked_up = user(&changes, 9);
    assert_eq!(looked_up.job_title.as_deref(), Some("Lead"));
    assert_eq!(looked_up.email.as_deref(), Some("user9@contoso.com"));
}

#[tokio::test]
async fn a_user_in_the_recycle_bin_is_left_to_a_full_read() {
    let server = server().await;
    let body = everyone();
    let before = full(&server, &body).await;
    server.with(|s| s.delete_user(&graph_user_id(10), false));
    let cursor = before.change_cursor.clone().unwrap();
    let reason = unavailable(changes(&server, &body, &cursor).await);
    assert!(reason.contains(&graph_user_id(10)), "{reason}");
}

#[tokio::test]
async fn an_expired_or_unknown_delta_link_is_changes_unavailable() {
    let server = server().await;
    let body = everyone();
    let before = full(&server, &body).await;
    let cursor = before.change_cursor.clone().unwrap();
    server.with(|s| s.expire_delta_tokens());
    let reason = unavailable(changes(&server, &body, &cursor).await);
    assert!(reason.contains("syncStateNotFound"), "{reason}");
    // A link the server never issued: Graph's synchronization reset (410).
    let mut unknown = cursor.clone();
    let position: Value = serde_json::from_str(&cursor.position).unwrap();
    let link = position["users"].as_str().unwrap();
    let forged = format!(
        "{}{}",
        &link[..link.find("deltatoken=").unwrap() + 11],
        "0000"
    );
    unknown.position = json!({"users": forged}).to_string();
    let reason = unavailable(changes(&server, &body, &unknown).await);
    assert!(reason.contains("resyncRequired"), "{reason}");
    server.with(|s| assert!(s.delta.log.iter().any(|l| l.status == 410)));
    // A link to another host is never followed (the token would go with it).
    let mut elsewhere = cursor.clone();
    elsewhere.position =
        json!({"users": "http://graph.example.net/v1.0/users/delta?$deltatoken=x"}).to_string();
    unavailable(changes(&server, &body, &elsewhere).await);
    // Nor another provider's cursor.
    let okta = ChangeCursor {
        provider: "okta".into(),
        position: cursor.position.clone(),
    };
    unavailable(changes(&server, &body, &okta).await);
}

#[tokio::test]
async fn many_changes_page_and_batch_and_throttling_is_waited_out() {
    let server = server().await;
    let body = everyone();
    let before = full(&server, &body).await;
    server.with(|s| {
        for n in 1..=12 {
            s.update_user(&graph_user_id(n), json!({"surname": format!("Changed{n}")}));
        }
        for n in 13..=25 {
            s.add_user(graph_user(n));
        }
        s.delta.throttle = 1;
        s.faults.retry_after_secs = 1;
    });
    let (requests, _) = log_len(&server);
    let changes = converges(&server, &body, &before).await;
    assert_eq!(changes.changed.len(), 25);
    assert_eq!(
        changes.requests,
        1 + 10 + 2,
        "the token, 10 delta calls, 2 batches"
    );
    server.with(|s| {
        let delta: Vec<u16> = s.requests()[requests..]
            .iter()
            .filter(|l| l.path == USERS_DELTA)
            .map(|l| l.status)
            .collect();
        // 25 objects, 3 a page: 9 pages, the first after one 429; then the full read's own.
        assert_eq!(delta.len(), 11);
        assert_eq!(delta[0], 429);
        assert!(delta[1..].iter().all(|&status| status == 200));
        assert_eq!(&s.batch_sizes[s.batch_sizes.len() - 2..], [20, 5]);
    });
}

#[tokio::test]
async fn a_users_scope_reports_a_changed_user_outside_it_as_out_of_scope() {
    let server = server().await;
    let body = json!({"provider": provider(),
        "scope": {"type": "users", "users": [graph_user_id(1), graph_user_id(2)]}});
    let before = full(&server, &body).await;
    server.with(|s| {
        s.update_user(&graph_user_id(2), json!({"givenName": "In"}));
        s.update_user(&graph_user_id(3), json!({"givenName": "Out"}));
    });
    let changes = converges(&server, &body, &before).await;
    assert!(user(&changes, 2).in_scope);
    assert!(!user(&changes, 3).in_scope);
}

#[tokio::test]
async fn changed_users_photos_are_resolved() {
    let server = server().await;
    let body = json!({"provider": provider(), "fields": {"avatar": true}});
    server.with(|s| s.set_photo(&graph_user_id(2), vec![1, 2, 3], "image/jpeg"));
    let before = full(&server, &body).await;
    server.with(|s| {
        s.set_photo(&graph_user_id(2), vec![4, 5, 6], "image/jpeg");
        s.update_user(&graph_user_id(2), json!({"surname": "Newphoto"}));
    });
    let changes = converges(&server, &body, &before).await;
    let etag = server.with(|s| s.photos[&graph_user_id(2)].etag.clone());
    assert_eq!(user(&changes, 2).avatar_ref, Some(PhotoRef::Etag(etag)));
}

#[tokio::test]
async fn group_changes_under_a_group_scope_or_extension_groups_are_read_in_full() {
    let server = server().await;
    server.with(|s| {
        let members = (1..=4).map(|n| Member::User(graph_user_id(n))).collect();
        s.groups.insert(GROUP.into(), members);
    });
    let scoped = json!({"provider": provider(),
        "scope": {"type": "groups", "groups": [GROUP]}});
    let grouped = json!({"provider": provider(),
        "extension_groups": {"sync": "groups", "groups": [GROUP]}});
    for body in [&scoped, &grouped] {
        let before = full(&server, body).await;
        let cursor = before.change_cursor.clone().unwrap();
        // Unchanged: one users and one groups delta call.
        let (requests, _) = log_len(&server);
        let unchanged = changes(&server, body, &cursor).await.unwrap();
        assert!(unchanged.changed.is_empty());
        let paths = paths_since(&server, requests);
        assert_eq!(paths, [USERS_DELTA, GROUPS_DELTA]);
        // A move out of the group: its membership is read in full.
        server.with(|s| {
            let members = (1..=3).map(|n| Member::User(graph_user_id(n))).collect();
            s.set_members(GROUP, members);
        });
        let reason = unavailable(changes(&server, body, &cursor).await);
        assert!(reason.contains("groups changed"), "{reason}");
        let after = full(&server, body).await;
        if body == &scoped {
            assert_eq!(after.users.len(), 3);
        } else {
            assert_eq!(after.groups[0].members.len(), 3);
        }
        server.with(|s| {
            let members = (1..=4).map(|n| Member::User(graph_user_id(n))).collect();
            s.set_members(GROUP, members);
        });
    }
}

#[tokio::test]
async fn changed_users_under_a_group_scope_have_their_memberships_checked() {
    let server = server().await;
    let nested = "bbbbbbbb-0000-4000-a000-000000000002";
    server.with(|s| {
        s.groups.insert(
            GROUP.into(),
            vec![Member::User(graph_user_id(1)), Member::Group(nested.into())],
        );
        s.groups
            .insert(nested.into(), vec![Member::User(graph_user_id(2))]);
    });
    let body = json!({"provider": provider(),
        "scope": {"type": "groups", "groups": [GROUP]}});
    let before = full(&server, &body).await;
    assert_eq!(before.users.len(), 2);
    server.with(|s| {
        s.update_user(&graph_user_id(1), json!({"surname": "Direct"}));
        s.update_user(&graph_user_id(2), json!({"surname": "Nested"}));
        s.update_user(&graph_user_id(3), json!({"surname": "Outside"}));
    });
    let (requests, _) = log_len(&server);
    let cursor = before.change_cursor.clone().unwrap();
    let changes = changes(&server, &body, &cursor).await.unwrap();
    let paths = paths_since(&server, requests);
    assert_eq!(
        paths,
        [USERS_DELTA, GROUPS_DELTA, "/v1.0/$batch", "/v1.0/$batch"],
        "lookups and membership checks, one batch each"
    );
    let after = full(&server, &body).await;
    // A full read of a group scope lists its members only; a changed user outside it is
    // reported out of scope.
    assert!(!user(&changes, 3).in_scope);
    assert!(user(&changes, 3).groups.is_empty());
    let in_scope = DirectoryChanges {
        changed: changes
            .changed
            .iter()
            .filter(|u| u.in_scope)
            .cloned()
            .collect(),
        ..changes.clone()
    };
    assert_eq!(applied(&before, &in_scope), sorted(after.users));
    assert_eq!(user(&changes, 2).groups, [GROUP]);
}

/// The test server's delta rounds, seen raw: what the reader above relies on it to be strict
/// about.
#[tokio::test]
async fn the_test_server_answers_delta_rounds_as_graph_does() {
    let server = server().await;
    let client = reqwest::Client::new();
    let token: Value = client
        .post(format!(
            "{}/contoso.onmicrosoft.com/oauth2/v2.0/token",
            server.url()
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "11111111-2222-3333-4444-555555555555"),
            ("client_secret", "graph-secret-Zq8~very-secret-value"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let get = |url: String| {
        let request = client.get(url).header("authorization", bearer.clone());
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let select = "id,givenName,surname,mail";
    // The initial round: every user, 3 a page, only the selected properties that are set.
    let mut link = format!("{}{USERS_DELTA}?$select={select}", server.url());
    let mut seen = 0;
    let delta_link = loop {
        let (status, page) = get(link.clone()).await;
        assert_eq!(status, 200);
        let value = page["value"].as_array().unwrap();
        assert!(value.len() <= 3);
        for user in value {
            let names: Vec<&String> = user.as_object().unwrap().keys().collect();
            assert_eq!(names, ["givenName", "id", "mail", "surname"]);
        }
        seen += value.len();
        if let Some(next) = page["@odata.nextLink"].as_str() {
            assert!(next.contains("$skiptoken=") && !next.contains("$select"));
            link = next.to_string();
        } else {
            break page["@odata.deltaLink"].as_str().unwrap().to_string();
        }
    };
    assert_eq!(seen, 12);
    server.with(|s| {
        s.update_user(&graph_user_id(1), json!({"surname": "Changed"}));
        s.update_user(&graph_user_id(2), json!({"mobilePhone": "+1 555 0000"}));
        s.delete_user(&graph_user_id(3), true);
        s.delete_user(&graph_user_id(4), false);
    });
    let (status, page) = get(delta_link.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(
        page["value"],
        json!([{"id": graph_user_id(1), "surname": "Changed"},
               {"id": graph_user_id(3), "@removed": {"reason": "deleted"}},
               {"id": graph_user_id(4), "@removed": {"reason": "changed"}}]),
        "only changed selected properties; an unselected change is not tracked"
    );
    let (status, error) = get(format!("{delta_link}&$top=5")).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("Request_BadRequest"))
    );
    let unknown = format!("{}{USERS_DELTA}?$deltatoken=nonsense", server.url());
    let (status, error) = get(unknown).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (410, Some("resyncRequired"))
    );
    server.with(|s| s.expire_delta_tokens());
    let (status, error) = get(delta_link).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("syncStateNotFound"))
    );
}

#[tokio::test]
async fn a_change_made_while_the_full_read_pages_is_in_the_next_change_read() {
    let server = server().await;
    // The listing's second page is throttled for a second: user 1 (on the first page, already
    // read) changes meanwhile.
    server.with(|s| {
        s.faults.throttle.insert(1, 1);
        s.faults.retry_after_secs = 1;
    });
    let body = everyone();
    let reader = directory(&server, &body);
    let read = tokio::spawn(async move { reader.read_users().await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    server.with(|s| {
        assert!(s.log.iter().any(|l| l.status == 429), "the read is waiting");
        s.update_user(&graph_user_id(1), json!({"surname": "During"}));
    });
    let before = read.await.unwrap().unwrap();
    let stale = before
        .users
        .iter()
        .find(|u| u.object_id.as_str() == graph_user_id(1))
        .unwrap();
    assert_eq!(
        stale.last_name.as_deref(),
        Some("Family1"),
        "read before the change"
    );
    let changes = converges(&server, &body, &before).await;
    assert_eq!(user(&changes, 1).last_name.as_deref(), Some("During"));
}
