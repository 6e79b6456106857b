//! Issue 13 on Okta: extension groups with their users across pages, `profile.department` as
//! organizations, `profile.title` as job titles.

use super::*;

const SALES: &str = "00g1sales000000000001";
const OTHER: &str = "00g2other000000000002";

/// Sales holds users 1-5 (and an unknown id Okta would not list); Other holds user 6.
fn grouped_state() -> OktaState {
    let mut state = OktaState::new(users(7));
    state.page_cap = 2;
    let mut sales: Vec<String> = (1..=5).map(okta_user_id).collect();
    sales.push("00u-gone".into());
    state.groups.insert(SALES.into(), sales);
    state.groups.insert(OTHER.into(), vec![okta_user_id(6)]);
    state.group_names.insert(SALES.into(), "Sales team".into());
    state.group_names.insert(OTHER.into(), "Other".into());
    state
}

fn with(mut body: Value, section: &str, value: Value) -> Value {
    body[section] = value;
    body
}

#[tokio::test]
async fn extension_groups_read_their_users_across_pages() {
    let mut state = grouped_state();
    state.faults.throttle.insert(1, 1);
    let server = OktaServer::start(state).await;
    let body = with(
        token_config(&server),
        "extension_groups",
        json!({"sync": "groups", "groups": [OTHER, SALES]}),
    );
    let snapshot = read(&body, &api_token(API_TOKEN)).await.unwrap();
    assert_eq!(snapshot.users.len(), 7);
    let names: Vec<&str> = snapshot.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["Other", "Sales team"], "in the configured order");
    let sales: Vec<String> = snapshot.groups[1]
        .members
        .iter()
        .map(|m| m.to_string())
        .collect();
    let mut want: Vec<String> = (1..=5).map(okta_user_id).collect();
    want.sort();
    assert_eq!(sales, want, "deduplicated and sorted");
    server.with(|s| {
        let members = format!("/api/v1/groups/{SALES}/users");
        let pages: Vec<usize> = s
            .log
            .iter()
            .filter(|l| l.path == members && l.status == 200)
            .filter_map(|l| l.page)
            .collect();
        assert_eq!(pages, [0, 1, 2], "5 members, 2 a page");
        assert!(
            s.log.iter().any(|l| l.status == 429),
            "the throttle was met"
        );
    });
}

#[tokio::test]
async fn sync_all_lists_every_group_and_syncs_off_ask_nothing_more() {
    let server = OktaServer::start(grouped_state()).await;
    let body = with(
        token_config(&server),
        "extension_groups",
        json!({"sync": "all"}),
    );
    let snapshot = read(&body, &api_token(API_TOKEN)).await.unwrap();
    let names: Vec<&str> = snapshot.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["Sales team", "Other"]);

    let server = OktaServer::start(grouped_state()).await;
    let snapshot = read(&token_config(&server), &api_token(API_TOKEN))
        .await
        .unwrap();
    assert!(snapshot.groups.is_empty() && snapshot.organizations.is_empty());
    server.with(|s| assert!(s.log.iter().all(|l| l.path == "/api/v1/users")));
}

#[tokio::test]
async fn department_becomes_organizations_and_title_is_the_job_title() {
    let mut state = OktaState::new(users(3));
    state.users[0]["profile"]["department"] = json!("Support");
    state.users[0]["profile"]["title"] = json!("Agent");
    state.users[1]["profile"]["department"] = json!("SUPPORT ");
    let server = OktaServer::start(state).await;
    let body = with(
        token_config(&server),
        "organizations",
        json!({"sync": "attribute", "attribute": "department"}),
    );
    let snapshot = read(&body, &api_token(API_TOKEN)).await.unwrap();
    assert_eq!(snapshot.organizations.len(), 1);
    assert_eq!(snapshot.organizations[0].name, "Support");
    assert_eq!(
        user(&snapshot, 1).organization,
        user(&snapshot, 2).organization
    );
    assert!(user(&snapshot, 1).organization.is_some());
    assert_eq!(user(&snapshot, 3).organization, None);
    assert_eq!(user(&snapshot, 1).job_title.as_deref(), Some("Agent"));
    assert_eq!(user(&snapshot, 2).job_title, None);
}

#[tokio::test]
async fn a_failing_groups_page_fails_the_read() {
    let mut state = grouped_state();
    state.faults.failing_listing = Some((format!("/api/v1/groups/{SALES}/users"), 2));
    let server = OktaServer::start(state).await;
    let body = with(
        token_config(&server),
        "extension_groups",
        json!({"sync": "groups", "groups": [SALES]}),
    );
    let error = read(&body, &api_token(API_TOKEN)).await.unwrap_err();
    assert!(error.to_string().contains("500"), "{error}");

    let server = OktaServer::start(grouped_state()).await;
    let body = with(
        token_config(&server),
        "extension_groups",
        json!({"sync": "groups", "groups": ["00g9missing000000009"]}),
    );
    let error = read(&body, &api_token(API_TOKEN)).await.unwrap_err();
    assert!(error.to_string().contains("extension_groups"), "{error}");
}
