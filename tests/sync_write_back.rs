//! `write_back` against real peers: OpenLDAP `slapd` (an ACL refuses the write until the sync
//! user joins the writers group), and the Graph and Okta test servers.

use dirsync::domain::plan::ConflictReason;
use dirsync::domain::{DirectoryConfig, EndpointPolicy, ObjectId};
use dirsync::ports::{Secrets, TenantSecrets};
use dirsync_integration_tests::graph_server::{
    graph_user, graph_user_id, GraphServer, GraphState, USER_WRITE_ROLE,
};
use dirsync_integration_tests::okta_server::{okta_user, okta_user_id, OktaServer, OktaState};
use dirsync_integration_tests::slapd::{
    person, uuid, writers_group, Slapd, SlapdOptions, SUFFIX, SYNC_DN, SYNC_PASSWORD, WRITERS_DN,
};
use dirsync_integration_tests::{fast_cloud_options, Harness, TOKEN};
use serde_json::json;

/// A tenant reading `server` over StartTLS, writing numbers back to `pager`.
async fn harness(server: &Slapd) -> Harness {
    let h = Harness::new(&[], json!({})).await;
    let secrets = TenantSecrets {
        pbx_token: Some(TOKEN.to_string().into()),
        bind_password: Some(SYNC_PASSWORD.to_string().into()),
        ..TenantSecrets::default()
    };
    h.secrets.put(&h.tenant, &secrets).await.expect("secrets");
    let body = json!({"provider": {"type": "ldap", "url": format!("ldap://localhost:{}", server.port),
        "starttls": true, "ca_pem": server.ca_pem, "bind_dn": SYNC_DN, "base_dn": SUFFIX},
        "write_back": {"attribute": "pager"}});
    h.use_directory(body).await;
    h
}

/// The value of `pager` the directory holds for user `n`, as the reader reads it.
async fn pager_of(h: &Harness, n: u32) -> Option<String> {
    let id = ObjectId::parse(uuid(n)).unwrap();
    let explained = h
        .engine
        .explain_user(&h.tenant, &id)
        .await
        .unwrap()
        .unwrap();
    explained.directory.unwrap().write_back
}

#[tokio::test]
async fn a_refused_write_back_is_a_conflict_and_the_next_run_retries_it() {
    let mut ldif = writers_group();
    ldif.push_str(&person(1, "ou=People", "Ann", true));
    ldif.push_str(&person(2, "ou=People", "Bob", true));
    let options = SlapdOptions {
        writable_by_writers: Some("pager".into()),
        ..SlapdOptions::default()
    };
    let server = Slapd::start(&ldif, options);
    let h = harness(&server).await;

    // The ACL lets only the writers group write `pager`: both writes are refused, the
    // extensions stand and the run succeeds.
    let first = h.synced().await;
    assert_eq!(first.summary.counts.new, 2, "{:?}", first.summary);
    let refused: Vec<_> = first
        .apply_conflicts
        .iter()
        .map(|c| {
            (
                c.object_id.to_string(),
                c.reason,
                c.holder_extension_id.is_some(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        vec![
            (uuid(1), ConflictReason::WriteBackFailed, true),
            (uuid(2), ConflictReason::WriteBackFailed, true)
        ]
    );
    assert_eq!(h.extension(1001).number, "1001");
    assert_eq!(pager_of(&h, 1).await, None);

    // Still not allowed: the next run tries again and is refused again.
    let again = h.synced().await;
    assert_eq!(again.plan.as_ref().unwrap().write_backs.len(), 2);
    assert_eq!(again.apply_conflicts.len(), 2);

    // The admin fixes the ACL's group: the next run writes both numbers.
    server.modify(&format!(
        "dn: {WRITERS_DN}\nchangetype: modify\nadd: member\nmember: {SYNC_DN}\n"
    ));
    let fixed = h.synced().await;
    assert!(
        fixed.apply_conflicts.is_empty(),
        "{:?}",
        fixed.apply_conflicts
    );
    assert_eq!(pager_of(&h, 1).await.as_deref(), Some("1001"));
    assert_eq!(pager_of(&h, 2).await.as_deref(), Some("1002"));

    // Written: nothing more to write.
    let done = h.synced().await;
    assert!(done.plan.as_ref().unwrap().write_backs.is_empty());
    assert_eq!(done.summary.summary, "Everything is up to date");

    // A directory admin overwrites one: it is written again.
    server.modify(&format!(
        "dn: uid=u2,ou=People,{SUFFIX}\nchangetype: modify\nreplace: pager\npager: 555\n"
    ));
    let rewritten = h.synced().await;
    assert_eq!(rewritten.plan.as_ref().unwrap().write_backs.len(), 1);
    assert_eq!(pager_of(&h, 2).await.as_deref(), Some("1002"));
}

/// Graph: without `User.ReadWrite.All` the PATCH is refused (403 Authorization_RequestDenied)
/// and each create leaves a conflict; once granted (a new token), the numbers are written.
#[tokio::test]
async fn graph_write_back_needs_user_read_write_all() {
    let mut state = GraphState::new((1..=2).map(graph_user).collect());
    state.users[1].insert("officeLocation".into(), json!("1002"));
    let server = GraphServer::start(state).await;
    let body = json!({"provider": {"type": "azure", "tenant_id": "contoso.onmicrosoft.com",
        "client_id": "11111111-2222-3333-4444-555555555555"},
        "write_back": {"attribute": "officeLocation"}});
    let secrets = TenantSecrets {
        client_secret: Some(GraphState::new(vec![]).client_secret.into()),
        ..TenantSecrets::default()
    };
    let options = fast_cloud_options(Some(server.url()), Some(server.url()));
    let h = Harness::with_cloud(body, options, secrets).await;

    let first = h.synced().await;
    assert_eq!(first.summary.counts.new, 2);
    let reasons: Vec<_> = first
        .apply_conflicts
        .iter()
        .map(|c| (c.object_id.to_string(), c.reason))
        .collect();
    assert_eq!(
        reasons,
        vec![(graph_user_id(1), ConflictReason::WriteBackFailed)],
        "user 2 already holds its number: no write"
    );
    assert!(server.with(|s| s.patches.is_empty()));

    server.with(|s| {
        s.roles.push(USER_WRITE_ROLE.into());
        // Tokens issued before the grant keep their roles, as Entra's do until they expire.
        s.tokens.clear();
    });
    let second = h.synced().await;
    assert!(
        second.apply_conflicts.is_empty(),
        "{:?}",
        second.apply_conflicts
    );
    let patches = server.with(|s| s.patches.clone());
    assert_eq!(
        patches,
        vec![(graph_user_id(1), json!({"officeLocation": "1001"}))]
    );
    let third = h.synced().await;
    assert!(third.plan.unwrap().write_backs.is_empty());
}

/// Okta: a partial profile update; a read-only admin's token is refused (403 E0000006).
#[tokio::test]
async fn okta_write_back_is_a_partial_profile_update() {
    let mut state = OktaState::new(vec![okta_user(1, "ACTIVE")]);
    state.read_only = true;
    let server = OktaServer::start(state).await;
    let body = json!({"provider": {"type": "okta", "org_url": server.org_url()},
        "write_back": {"attribute": "pbxExtension"}});
    let secrets = TenantSecrets {
        api_token: Some(OktaState::new(vec![]).api_token.into()),
        ..TenantSecrets::default()
    };
    let h = Harness::with_cloud(body, fast_cloud_options(None, None), secrets).await;

    let refused = h.synced().await;
    assert_eq!(refused.apply_conflicts.len(), 1);
    assert_eq!(
        refused.apply_conflicts[0].reason,
        ConflictReason::WriteBackFailed
    );

    server.with(|s| s.read_only = false);
    let written = h.synced().await;
    assert!(
        written.apply_conflicts.is_empty(),
        "{:?}",
        written.apply_conflicts
    );
    let updates = server.with(|s| s.profile_updates.clone());
    assert_eq!(
        updates,
        vec![(okta_user_id(1), json!({"pbxExtension": "1001"}))],
        "only the one property"
    );
    let profile = server.with(|s| s.users[0]["profile"].clone());
    assert_eq!(
        profile["firstName"], "Given1",
        "the rest of the profile stays"
    );
    assert!(h.synced().await.plan.unwrap().write_backs.is_empty());
}

#[tokio::test]
async fn write_back_to_an_ldif_file_or_a_bad_attribute_is_refused() {
    let policy = EndpointPolicy {
        allow_private: true,
    };
    let fields = |body: serde_json::Value| -> Vec<String> {
        let error = DirectoryConfig::from_json(body.to_string().as_bytes(), policy).unwrap_err();
        error.0.into_iter().map(|e| e.field).collect()
    };
    let ldif = json!({"provider": {"type": "ldif", "path": "x.ldif"},
        "write_back": {"attribute": "pager"}});
    assert_eq!(fields(ldif), vec!["write_back.attribute"]);
    let graph = json!({"provider": {"type": "azure", "tenant_id": "contoso.onmicrosoft.com",
        "client_id": "11111111-2222-3333-4444-555555555555"},
        "write_back": {"attribute": "businessPhones"}});
    assert_eq!(fields(graph), vec!["write_back.attribute"]);
    let unknown = json!({"provider": {"type": "ldif", "path": "x.ldif"},
        "write_back": {"attribute": "pager", "extra": 1}});
    assert!(fields(unknown).iter().all(|f| f.starts_with("write_back")));
}
