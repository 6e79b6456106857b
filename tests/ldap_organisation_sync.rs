//! The organisation side synced from a real OpenLDAP `slapd` through the engine into the PBX
//! simulator: nested OUs, groups of groups, an OU renamed and moved and a group renamed (each
//! keeps its PBX object), and groups dropped from the config with and without
//! `delete_when_unused`.

use dirsync::ports::{Secrets, TenantSecrets};
use dirsync_integration_tests::slapd::{
    person, Slapd, SlapdOptions, SUFFIX, SYNC_DN, SYNC_PASSWORD,
};
use dirsync_integration_tests::{Harness, ACCOUNT, TOKEN};
use dirsync_pbx_sim::{SimGroup, SimOrganization};
use serde_json::{json, Value};

fn ou(rdn: &str, name: &str) -> String {
    format!("dn: {rdn},{SUFFIX}\nobjectClass: organizationalUnit\nou: {name}\n\n")
}

fn group(cn: &str, members: &[String]) -> String {
    let mut entry =
        format!("dn: cn={cn},ou=Groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: {cn}\n");
    for member in members {
        entry.push_str(&format!("member: {member}\n"));
    }
    entry + "\n"
}

fn dn(rdn: &str) -> String {
    format!("{rdn},{SUFFIX}")
}

/// Europe > Sales with Ann, Europe with Bob, People with Cat; team = (Ann), all = (team, Bob).
fn start() -> Slapd {
    let mut ldif = ou("ou=Europe", "Europe");
    ldif.push_str(&ou("ou=Sales,ou=Europe", "Sales"));
    ldif.push_str(&person(1, "ou=Sales,ou=Europe", "Ann", true));
    ldif.push_str(&person(2, "ou=Europe", "Bob", true));
    ldif.push_str(&person(3, "ou=People", "Cat", true));
    ldif.push_str(&group("team", &[dn("uid=u1,ou=Sales,ou=Europe")]));
    ldif.push_str(&group(
        "all",
        &[dn("cn=team,ou=Groups"), dn("uid=u2,ou=Europe")],
    ));
    Slapd::start(&ldif, SlapdOptions::default())
}

/// A tenant reading `server` over StartTLS, with `extra` config.
async fn harness(server: &Slapd, extra: Value) -> Harness {
    let h = Harness::new(&[], json!({})).await;
    let secrets = TenantSecrets {
        pbx_token: Some(TOKEN.to_string().into()),
        bind_password: Some(SYNC_PASSWORD.to_string().into()),
        ..TenantSecrets::default()
    };
    h.secrets.put(&h.tenant, &secrets).await.expect("secrets");
    configure(&h, server, extra).await;
    h
}

async fn configure(h: &Harness, server: &Slapd, extra: Value) {
    let mut body = json!({"provider": {"type": "ldap", "url": format!("ldap://localhost:{}", server.port),
        "starttls": true, "ca_pem": server.ca_pem, "bind_dn": SYNC_DN, "base_dn": SUFFIX}});
    body.as_object_mut()
        .expect("object")
        .extend(extra.as_object().expect("object").clone());
    h.use_directory(body).await;
}

fn org(h: &Harness, name: &str) -> SimOrganization {
    let orgs = h.simulator.organizations(ACCOUNT);
    orgs.iter()
        .find(|o| o.name == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} in {orgs:?}"))
}

fn group_named(h: &Harness, name: &str) -> Option<SimGroup> {
    h.simulator
        .groups(ACCOUNT)
        .into_iter()
        .find(|g| g.name == name)
}

fn extension_of(h: &Harness, n: u32) -> dirsync_pbx_sim::SimExtension {
    h.extension(1000 + n)
}

#[tokio::test]
async fn nested_ous_and_groups_of_groups_sync_and_keep_their_objects_through_renames() {
    let server = start();
    let groups = json!({"sync": "groups", "groups": [dn("cn=team,ou=Groups"), dn("cn=all,ou=Groups")],
                        "delete_when_unused": true});
    let h = harness(
        &server,
        json!({"organizations": {"sync": "ous"}, "extension_groups": groups}),
    )
    .await;
    let first = h.synced().await;
    assert_eq!(first.summary.summary, "3 new, 0 updated, 0 removed");
    let (europe, sales) = (org(&h, "Europe"), org(&h, "Sales"));
    assert_eq!(sales.parent_id.as_deref(), Some(europe.id.as_str()));
    assert_eq!(
        extension_of(&h, 1).organization_id.as_deref(),
        Some(sales.id.as_str())
    );
    let team = group_named(&h, "team").expect("team");
    let all = group_named(&h, "all").expect("all");
    let mut members = all.members.clone();
    members.sort();
    let mut expected = vec![extension_of(&h, 1).id, extension_of(&h, 2).id];
    expected.sort();
    assert_eq!(members, expected, "team's Ann counts in all");

    // Sales renamed Vertrieb and moved to the top; team renamed crew.
    server.modify(&format!(
        "dn: ou=Sales,ou=Europe,{SUFFIX}\nchangetype: modrdn\nnewrdn: ou=Vertrieb\ndeleteoldrdn: 1\nnewsuperior: {SUFFIX}\n"
    ));
    server.modify(&format!(
        "dn: cn=team,ou=Groups,{SUFFIX}\nchangetype: modrdn\nnewrdn: cn=crew\ndeleteoldrdn: 1\n"
    ));
    // The config names groups by DN: the renamed one is named by its new DN.
    let groups = json!({"sync": "groups", "groups": [dn("cn=crew,ou=Groups"), dn("cn=all,ou=Groups")],
                        "delete_when_unused": true});
    configure(
        &h,
        &server,
        json!({"organizations": {"sync": "ous"}, "extension_groups": groups}),
    )
    .await;
    let run = h.synced().await;
    let vertrieb = org(&h, "Vertrieb");
    assert_eq!(vertrieb.id, sales.id, "renamed and moved, not recreated");
    assert_eq!(vertrieb.parent_id, None);
    let crew = group_named(&h, "crew").expect("crew");
    assert_eq!(crew.id, team.id, "renamed, not recreated");
    assert_eq!(h.simulator.groups(ACCOUNT).len(), 2);
    assert_eq!(
        run.summary.counts.organizations, 3,
        "Europe, Vertrieb, People"
    );

    let before = h.simulator.stats(ACCOUNT).writes;
    h.synced().await;
    assert_eq!(
        h.simulator.stats(ACCOUNT).writes,
        before,
        "then nothing to do"
    );
}

#[tokio::test]
async fn groups_dropped_from_the_config_are_released_or_deleted() {
    let server = start();
    let both = |delete: bool| {
        json!({"extension_groups": {"sync": "groups", "delete_when_unused": delete,
            "groups": [dn("cn=team,ou=Groups"), dn("cn=all,ou=Groups")]}})
    };
    let h = harness(&server, both(false)).await;
    h.synced().await;
    assert_eq!(h.simulator.groups(ACCOUNT).len(), 2);

    // Without delete_when_unused, a dropped group is released: kept on the PBX, unmapped.
    let team_only =
        json!({"extension_groups": {"sync": "groups", "groups": [dn("cn=team,ou=Groups")]}});
    configure(&h, &server, team_only).await;
    let run = h.synced().await;
    let plan = run.plan.expect("plan");
    assert_eq!(plan.extension_groups.removes.len(), 1);
    assert!(group_named(&h, "all").is_some(), "released, not deleted");
    assert_eq!(run.summary.counts.extension_groups, 1);

    // With it, the group the sync still manages is deleted once the config drops it.
    configure(
        &h,
        &server,
        json!({"extension_groups": {"sync": "none", "delete_when_unused": true}}),
    )
    .await;
    h.synced().await;
    assert!(group_named(&h, "team").is_none(), "deleted");
    assert!(
        group_named(&h, "all").is_some(),
        "the released one is an admin's now"
    );
}
