//! The organisation side end to end: an LDIF directory with OUs and groups → the engine →
//! the HTTP PBX client → the PBX simulator, with the embedded store. OUs become nested
//! organizations, groups become extension groups; renames and moves keep the PBX object;
//! sources that go are deleted or released; a manual namesake is a conflict; 63 groups at most.

use dirsync::domain::object_plan::{ObjectConflictReason, ObjectSkipReason};
use dirsync::domain::Outcome;
use dirsync::ports::Store;
use dirsync_integration_tests::{Harness, ACCOUNT};
use dirsync_pbx_sim::{SimExtension, SimGroup, SimOrganization};
use serde_json::json;

/// A directory written as LDIF: OUs (`ou=Name,...` under `dc=example,dc=com`), users in them
/// and groups of users and groups.
#[derive(Default, Clone)]
struct Directory {
    /// (entryUUID, DN) of each OU, parents before children.
    ous: Vec<(String, String)>,
    /// (n, DN of its container, title).
    users: Vec<(u32, String, Option<String>)>,
    /// (entryUUID, cn, member DNs).
    groups: Vec<(String, String, Vec<String>)>,
}

const BASE: &str = "dc=example,dc=com";

fn uuid(kind: u32, n: u32) -> String {
    format!("00000000-0000-4000-{kind:04}-{n:012}")
}

fn user_dn(n: u32, container: &str) -> String {
    format!("uid=user{n},{container}")
}

impl Directory {
    fn ou(&mut self, n: u32, dn: &str) -> &mut Self {
        self.ous.push((uuid(1, n), dn.to_string()));
        self
    }

    fn user(&mut self, n: u32, container: &str, title: Option<&str>) -> &mut Self {
        self.users
            .push((n, container.to_string(), title.map(str::to_string)));
        self
    }

    fn group(&mut self, n: u32, cn: &str, members: Vec<String>) -> &mut Self {
        self.groups.push((uuid(2, n), cn.to_string(), members));
        self
    }

    fn ldif(&self) -> String {
        let mut out = String::from("version: 1\n\n");
        for (id, dn) in &self.ous {
            let name = dn
                .split(',')
                .next()
                .and_then(|rdn| rdn.strip_prefix("ou="))
                .unwrap_or("?");
            out.push_str(&format!(
                "dn: {dn}\nobjectClass: organizationalUnit\nentryUUID: {id}\nou: {name}\n\n"
            ));
        }
        for (n, container, title) in &self.users {
            out.push_str(&format!(
                "dn: {dn}\nobjectClass: inetOrgPerson\nentryUUID: {id}\ncn: Given{n} Family{n}\n\
                 givenName: Given{n}\nsn: Family{n}\nmail: user{n}@example.com\n\
                 telephoneNumber: {number}\n",
                dn = user_dn(*n, container),
                id = uuid(0, *n),
                number = 1000 + n
            ));
            if let Some(title) = title {
                out.push_str(&format!("title: {title}\n"));
            }
            out.push('\n');
        }
        for (id, cn, members) in &self.groups {
            out.push_str(&format!(
                "dn: cn={cn},ou=Groups,{BASE}\nobjectClass: groupOfNames\nentryUUID: {id}\ncn: {cn}\n"
            ));
            for member in members {
                out.push_str(&format!("member: {member}\n"));
            }
            out.push('\n');
        }
        out
    }
}

async fn harness(directory: &Directory, overrides: serde_json::Value) -> Harness {
    let h = Harness::new(&[], overrides).await;
    write(&h, directory);
    h
}

fn write(h: &Harness, directory: &Directory) {
    std::fs::write(&h.ldif_path, directory.ldif()).expect("write ldif");
}

fn writes(h: &Harness) -> u64 {
    h.simulator.stats(ACCOUNT).writes
}

fn org<'a>(orgs: &'a [SimOrganization], name: &str) -> &'a SimOrganization {
    orgs.iter()
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("organization {name} in {orgs:?}"))
}

fn ext(h: &Harness, n: u32) -> SimExtension {
    h.extension(1000 + n)
}

fn europe() -> Directory {
    let mut d = Directory::default();
    d.ou(1, &format!("ou=Europe,{BASE}"))
        .ou(2, &format!("ou=Sales,ou=Europe,{BASE}"))
        .ou(3, &format!("ou=Empty,{BASE}"))
        .user(
            1,
            &format!("ou=Sales,ou=Europe,{BASE}"),
            Some("Account Manager"),
        )
        .user(2, &format!("ou=Europe,{BASE}"), None)
        .user(3, &format!("ou=People,{BASE}"), Some("Engineer"));
    d
}

#[tokio::test]
async fn ous_become_nested_organizations_and_extensions_join_their_nearest() {
    let h = harness(&europe(), json!({"organizations": {"sync": "ous"}})).await;
    let run = h.sync().await;
    assert_eq!(
        run.summary.outcome,
        Outcome::Success,
        "{:?}",
        run.summary.error
    );
    assert_eq!(run.summary.summary, "3 new, 0 updated, 0 removed");
    let orgs = h.simulator.organizations(ACCOUNT);
    assert_eq!(
        orgs.len(),
        2,
        "an OU without synced users is no organization: {orgs:?}"
    );
    let europe = org(&orgs, "Europe");
    let sales = org(&orgs, "Sales");
    assert_eq!(europe.parent_id, None);
    assert_eq!(sales.parent_id.as_deref(), Some(europe.id.as_str()));
    assert_eq!(europe.managed_by.as_deref(), Some("directory-sync"));
    assert_eq!(
        ext(&h, 1).organization_id.as_deref(),
        Some(sales.id.as_str())
    );
    assert_eq!(
        ext(&h, 2).organization_id.as_deref(),
        Some(europe.id.as_str())
    );
    assert_eq!(
        ext(&h, 3).organization_id,
        None,
        "ou=People is not in the export"
    );
    assert_eq!(ext(&h, 1).job_title.as_deref(), Some("Account Manager"));
    assert_eq!(run.summary.counts.organizations, 2);
    let plan = run.plan.expect("plan");
    let created: Vec<&str> = plan
        .organizations
        .creates
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(created, ["Europe", "Sales"], "parents first");

    let before = writes(&h);
    let again = h.sync().await;
    assert_eq!(again.summary.summary, "Everything is up to date");
    assert_eq!(writes(&h), before, "a no-op run makes no PBX write");
}

#[tokio::test]
async fn a_renamed_or_moved_ou_keeps_its_organization_and_an_emptied_one_goes() {
    let mut d = europe();
    let h = harness(
        &d,
        json!({"organizations": {"sync": "ous", "delete_when_unused": true}}),
    )
    .await;
    h.sync().await;
    let sales_id = org(&h.simulator.organizations(ACCOUNT), "Sales").id.clone();

    // Sales is renamed Vertrieb and moved to the top; its entryUUID stays.
    d.ous[1].1 = format!("ou=Vertrieb,{BASE}");
    d.users[0].1 = format!("ou=Vertrieb,{BASE}");
    write(&h, &d);
    let run = h.sync().await;
    assert_eq!(
        run.summary.outcome,
        Outcome::Success,
        "{:?}",
        run.summary.error
    );
    let orgs = h.simulator.organizations(ACCOUNT);
    let vertrieb = org(&orgs, "Vertrieb");
    assert_eq!(vertrieb.id, sales_id, "renamed and moved, not recreated");
    assert_eq!(vertrieb.parent_id, None);
    let plan = run.plan.expect("plan");
    assert_eq!(plan.organizations.updates.len(), 1);
    assert!(plan.organizations.creates.is_empty() && plan.organizations.removes.is_empty());

    // Europe's only user leaves: with delete_when_unused it is deleted.
    d.users.remove(1);
    write(&h, &d);
    let run = h.sync().await;
    assert_eq!(
        run.summary.outcome,
        Outcome::Success,
        "{:?}",
        run.summary.error
    );
    let orgs = h.simulator.organizations(ACCOUNT);
    assert_eq!(orgs.len(), 1, "{orgs:?}");
    assert_eq!(run.summary.counts.organizations, 1);
}

#[tokio::test]
async fn without_delete_when_unused_an_unused_organization_is_released() {
    let mut d = europe();
    let h = harness(&d, json!({"organizations": {"sync": "ous"}})).await;
    h.sync().await;
    d.users.truncate(0);
    write(&h, &d);
    let run = h.sync().await;
    assert_eq!(
        run.summary.outcome,
        Outcome::Success,
        "{:?}",
        run.summary.error
    );
    assert_eq!(
        h.simulator.organizations(ACCOUNT).len(),
        2,
        "released, not deleted"
    );
    assert_eq!(run.summary.counts.organizations, 0);
    assert!(h
        .store
        .all_object_mappings(&h.tenant)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_manual_namesake_organization_is_a_conflict_never_taken_over() {
    let h = harness(&europe(), json!({"organizations": {"sync": "ous"}})).await;
    let manual = h
        .simulator
        .seed_organization(ACCOUNT, SimOrganization::manual("Europe", None))
        .expect("seeded");
    let run = h.sync().await;
    let plan = run.plan.expect("plan");
    let conflicts = &plan.organizations.conflicts;
    assert_eq!(conflicts[0].reason, ObjectConflictReason::NameTaken);
    assert_eq!(conflicts[0].holder_id.as_deref(), Some(manual.as_str()));
    assert_eq!(
        conflicts[1].reason,
        ObjectConflictReason::ParentNotSynced,
        "Sales under it"
    );
    let orgs = h.simulator.organizations(ACCOUNT);
    assert_eq!(
        orgs.len(),
        1,
        "nothing created under or beside it: {orgs:?}"
    );
    assert_eq!(orgs[0].managed_by, None);
    assert_eq!(
        ext(&h, 1).organization_id,
        None,
        "not put into the manual one"
    );
}

fn with_groups() -> Directory {
    let mut d = europe();
    let people = format!("ou=People,{BASE}");
    d.user(4, &people, None);
    d.group(
        1,
        "Sales Team",
        vec![user_dn(1, &d.users[0].1), user_dn(4, &people)],
    )
    .group(
        2,
        "Everyone",
        vec![
            format!("cn=Sales Team,ou=Groups,{BASE}"),
            user_dn(3, &people),
        ],
    )
    .group(3, "Unused", vec![]);
    d
}

#[tokio::test]
async fn groups_become_extension_groups_with_nested_members() {
    let d = with_groups();
    let h = harness(
        &d,
        json!({"extension_groups": {"sync": "all", "delete_when_unused": true}}),
    )
    .await;
    let run = h.sync().await;
    assert_eq!(
        run.summary.outcome,
        Outcome::Success,
        "{:?}",
        run.summary.error
    );
    let groups = h.simulator.groups(ACCOUNT);
    assert_eq!(groups.len(), 3, "{groups:?}");
    let members = |name: &str| {
        let mut m = groups
            .iter()
            .find(|g| g.name == name)
            .expect("group")
            .members
            .clone();
        m.sort();
        m
    };
    let id = |n| ext(&h, n).id;
    let mut sales = vec![id(1), id(4)];
    sales.sort();
    let mut everyone = vec![id(1), id(3), id(4)];
    everyone.sort();
    assert_eq!(members("Sales Team"), sales);
    assert_eq!(
        members("Everyone"),
        everyone,
        "a group of groups counts nested members"
    );
    assert_eq!(run.summary.counts.extension_groups, 3);

    let before = writes(&h);
    assert_eq!(h.sync().await.summary.summary, "Everything is up to date");
    assert_eq!(writes(&h), before);
}

#[tokio::test]
async fn a_renamed_group_keeps_its_pbx_group_and_manual_members_stay() {
    let mut d = with_groups();
    let h = harness(&d, json!({"extension_groups": {"sync": "all"}})).await;
    h.sync().await;
    let groups = h.simulator.groups(ACCOUNT);
    let sales = groups
        .iter()
        .find(|g| g.name == "Sales Team")
        .expect("group")
        .clone();
    let manual = h
        .simulator
        .seed(
            ACCOUNT,
            SimExtension::manual("2000", Some("desk@example.com")),
        )
        .expect("manual extension");
    // An admin adds a desk phone to the synced group by hand.
    let mut with_desk = sales.members.clone();
    with_desk.push(manual.clone());
    patch_members(&h, &sales.id, &with_desk).await;

    d.groups[0].1 = "Vertrieb".into();
    d.groups[0].2.pop();
    write(&h, &d);
    let run = h.sync().await;
    assert_eq!(
        run.summary.outcome,
        Outcome::Success,
        "{:?}",
        run.summary.error
    );
    let now = h.simulator.groups(ACCOUNT);
    let renamed = now.iter().find(|g| g.id == sales.id).expect("same group");
    assert_eq!(renamed.name, "Vertrieb");
    let mut expected = vec![ext(&h, 1).id, manual];
    expected.sort();
    let mut members = renamed.members.clone();
    members.sort();
    assert_eq!(members, expected, "user 4 left, the desk phone stays");
    let plan = run.plan.expect("plan");
    let update = &plan.extension_groups.updates[0];
    assert_eq!(update.members_removed, ["Given4 Family4"]);
}

/// The group's members set through the PBX's own API, as an admin would.
async fn patch_members(h: &Harness, group: &str, members: &[String]) {
    let base = dirsync_pbx_sim::PbxSimulator::base_url(h.simulator_addr, ACCOUNT);
    let url = format!("{base}/v1/extension-groups/{group}");
    let answer = reqwest::Client::new()
        .patch(url)
        .bearer_auth(dirsync_integration_tests::TOKEN)
        .json(&json!({"members": members}))
        .send()
        .await
        .expect("patch");
    assert!(answer.status().is_success(), "{}", answer.status());
}

#[tokio::test]
async fn a_group_dropped_from_the_config_is_deleted_or_released() {
    let d = with_groups();
    let sales = uuid(2, 1);
    for (delete, left) in [(true, 0), (false, 1)] {
        let config = json!({"sync": "groups", "groups": [sales], "delete_when_unused": delete});
        let h = harness(&d, json!({"extension_groups": config})).await;
        h.sync().await;
        assert_eq!(h.simulator.groups(ACCOUNT).len(), 1);
        let everyone =
            json!({"sync": "groups", "groups": [uuid(2, 2)], "delete_when_unused": delete});
        h.configure(json!({"extension_groups": everyone})).await;
        let run = h.sync().await;
        assert_eq!(
            run.summary.outcome,
            Outcome::Success,
            "{:?}",
            run.summary.error
        );
        let groups = h.simulator.groups(ACCOUNT);
        let kept: Vec<&SimGroup> = groups.iter().filter(|g| g.name == "Sales Team").collect();
        assert_eq!(kept.len(), left, "delete_when_unused {delete}: {groups:?}");
        assert_eq!(run.summary.counts.extension_groups, 1);
    }
}

#[tokio::test]
async fn sixty_six_groups_fill_the_sixty_three_places_the_same_way_every_run() {
    let mut d = Directory::default();
    let people = format!("ou=People,{BASE}");
    d.user(1, &people, None);
    for n in 1..=66 {
        d.group(n, &format!("Team {n:02}"), vec![user_dn(1, &people)]);
    }
    let h = harness(&d, json!({"extension_groups": {"sync": "all"}})).await;
    let first = h.sync().await;
    assert_eq!(
        first.summary.outcome,
        Outcome::Success,
        "{:?}",
        first.summary.error
    );
    let names = |h: &Harness| {
        let mut names: Vec<String> = h
            .simulator
            .groups(ACCOUNT)
            .into_iter()
            .map(|g| g.name)
            .collect();
        names.sort();
        names
    };
    let synced = names(&h);
    assert_eq!(synced.len(), 63);
    assert_eq!(
        synced.last().map(String::as_str),
        Some("Team 63"),
        "object id order"
    );
    let skipped = |run: &dirsync::domain::RunRecord| {
        let plan = run.plan.as_ref().expect("plan");
        let skips = &plan.extension_groups.skipped;
        assert!(skips
            .iter()
            .all(|s| s.reason == ObjectSkipReason::GroupLimit));
        skips.iter().map(|s| s.name.clone()).collect::<Vec<_>>()
    };
    assert_eq!(skipped(&first), ["Team 64", "Team 65", "Team 66"]);
    for _ in 0..2 {
        let again = h.sync().await;
        assert_eq!(names(&h), synced, "the same 63");
        assert_eq!(skipped(&again), ["Team 64", "Team 65", "Team 66"]);
        assert_eq!(again.summary.counts.extension_groups, 63);
    }
    // A group of the 63 is dropped: one place frees, and the next in order takes it.
    d.groups.remove(0);
    write(&h, &d);
    h.configure(json!({"extension_groups": {"sync": "all", "delete_when_unused": true}}))
        .await;
    h.sync().await;
    let run = h.sync().await;
    assert!(names(&h).contains(&"Team 64".to_string()));
    assert_eq!(skipped(&run), ["Team 65", "Team 66"]);
}

#[tokio::test]
async fn a_failed_read_changes_no_organization_and_no_group() {
    let d = with_groups();
    let h = harness(
        &d,
        json!({"organizations": {"sync": "ous", "delete_when_unused": true},
               "extension_groups": {"sync": "all", "delete_when_unused": true}}),
    )
    .await;
    h.sync().await;
    let (orgs, groups) = (
        h.simulator.organizations(ACCOUNT),
        h.simulator.groups(ACCOUNT),
    );
    std::fs::write(&h.ldif_path, "version: 1\n\ndn: broken\nthis is not ldif\n").expect("write");
    let run = h.sync().await;
    assert_eq!(run.summary.outcome, Outcome::Failed);
    assert_eq!(h.simulator.organizations(ACCOUNT), orgs);
    assert_eq!(h.simulator.groups(ACCOUNT), groups);
}
