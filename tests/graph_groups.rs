//! Issue 13 on Graph: extension groups with transitive members, `department` as
//! organizations, job titles.

use super::*;

const SALES: &str = "aaaaaaaa-0000-0000-0000-00000000000a";
const NESTED: &str = "bbbbbbbb-0000-0000-0000-00000000000b";
const OTHER: &str = "cccccccc-0000-0000-0000-00000000000c";

/// Sales holds users 1-3 and the nested group (users 3-6); Other holds user 7.
fn grouped_state() -> GraphState {
    let mut state = GraphState::new(users(8));
    state.page_cap = 2;
    let user = |n| Member::User(graph_user_id(n));
    state.groups.insert(
        SALES.into(),
        vec![user(1), user(2), user(3), Member::Group(NESTED.into())],
    );
    state
        .groups
        .insert(NESTED.into(), vec![user(3), user(4), user(5), user(6)]);
    state.groups.insert(OTHER.into(), vec![user(7)]);
    state.group_names.insert(SALES.into(), "Sales team".into());
    state.group_names.insert(NESTED.into(), "Sales EMEA".into());
    state.group_names.insert(OTHER.into(), "Other".into());
    state
}

fn member_ids(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    let mut ids: Vec<String> = range.map(graph_user_id).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn extension_groups_read_transitive_members_across_pages() {
    let mut state = grouped_state();
    // Page 1 of the first listing that reaches it (the users) is throttled once.
    state.faults.throttle.insert(1, 1);
    state.faults.retry_after_secs = 1;
    let server = GraphServer::start(state).await;
    let body = json!({"provider": provider(json!({})),
        "extension_groups": {"sync": "groups", "groups": [SALES, OTHER]}});
    let snapshot = read(&server, body).await.unwrap();
    assert_eq!(snapshot.users.len(), 8);
    assert_eq!(snapshot.groups.len(), 2);
    let sales = &snapshot.groups[0];
    assert_eq!(sales.object_id.as_str(), SALES);
    assert_eq!(sales.name, "Sales team");
    let members: Vec<String> = sales.members.iter().map(|m| m.to_string()).collect();
    assert_eq!(members, member_ids(1..=6), "nested, deduplicated, sorted");
    assert_eq!(snapshot.groups[1].name, "Other");
    assert_eq!(snapshot.groups[1].members.len(), 1);
    server.with(|s| {
        let members = format!("/v1.0/groups/{SALES}/transitiveMembers/microsoft.graph.user");
        let pages: Vec<usize> = s
            .log
            .iter()
            .filter(|l| l.path == members && l.status == 200)
            .filter_map(|l| l.page)
            .collect();
        assert_eq!(pages, [0, 1, 2], "6 members, 2 a page");
        assert!(
            s.log.iter().any(|l| l.status == 429),
            "the throttle was met"
        );
        assert!(s.selects.iter().any(|select| select == "id"));
    });
}

#[tokio::test]
async fn sync_all_lists_every_group() {
    let server = GraphServer::start(grouped_state()).await;
    let body = json!({"provider": provider(json!({})), "extension_groups": {"sync": "all"}});
    let snapshot = read(&server, body).await.unwrap();
    let names: Vec<&str> = snapshot.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["Sales team", "Sales EMEA", "Other"]);
    assert_eq!(snapshot.groups[1].members.len(), 4);
}

#[tokio::test]
async fn department_becomes_organizations_and_job_titles_read() {
    let mut state = GraphState::new(users(4));
    state.users[1].insert("department".into(), json!(" sales "));
    state.users[2].insert("department".into(), json!("Support"));
    state.users[3].insert("department".into(), Value::Null);
    state.users[0].insert("jobTitle".into(), json!("Account Executive"));
    let server = GraphServer::start(state).await;
    let body = json!({"provider": provider(json!({})),
        "organizations": {"sync": "attribute", "attribute": "department"}});
    let snapshot = read(&server, body).await.unwrap();
    let names: Vec<&str> = snapshot
        .organizations
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(names, ["Sales", "Support"], "case-insensitively one each");
    let user = |n: u32| {
        snapshot
            .users
            .iter()
            .find(|u| u.object_id.as_str() == graph_user_id(n))
            .unwrap()
    };
    assert_eq!(user(1).organization, user(2).organization);
    assert_eq!(
        user(3).organization.as_ref().map(|o| o.as_str()),
        Some("attribute:support")
    );
    assert_eq!(user(4).organization, None);
    assert_eq!(user(1).job_title.as_deref(), Some("Account Executive"));
    assert_eq!(user(2).job_title, None);
    server.with(|s| {
        assert!(
            s.selects[0].ends_with(",jobTitle,department"),
            "{:?}",
            s.selects
        )
    });
}

#[tokio::test]
async fn a_failing_groups_page_fails_the_read() {
    let mut state = grouped_state();
    let members = format!("/v1.0/groups/{NESTED}/transitiveMembers/microsoft.graph.user");
    state.faults.failing_listing = Some((members, 1));
    let server = GraphServer::start(state).await;
    let body = json!({"provider": provider(json!({})),
        "extension_groups": {"sync": "groups", "groups": [NESTED]}});
    let error = read(&server, body).await.unwrap_err();
    assert!(error.to_string().contains("503"), "{error}");

    // A group that does not exist fails it too, naming where to look.
    let server = GraphServer::start(grouped_state()).await;
    let body = json!({"provider": provider(json!({})),
        "extension_groups": {"sync": "groups", "groups": ["dddddddd-0000-0000-0000-00000000000d"]}});
    let error = read(&server, body).await.unwrap_err();
    assert!(error.to_string().contains("extension_groups"), "{error}");
}
