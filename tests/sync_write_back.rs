//! `write_back` against real peers: OpenLDAP `slapd` (an ACL refuses the write until the sync
//! user joins the writers group), and the Graph and Okta test servers.

use dirsync::domain::plan::ConflictReason;
use dirsync::domain::{DirectoryConfig, EndpointPolicy, ObjectId, Outcome, RunRecord};
use dirsync::ports::{Secrets, Store, TenantSecrets};
use dirsync_integration_tests::slapd::{
    person, uuid, writers_group, Slapd, SlapdOptions, SUFFIX, SYNC_DN, SYNC_PASSWORD,
    WRITERS_DN,
};
use dirsync_integration_tests::{Harness, TOKEN};
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
    let policy = EndpointPolicy {
        allow_private: true,
    };
    let config = DirectoryConfig::from_json(body.to_string().as_bytes(), policy).expect("config");
    let mut tenant = h.store.get_tenant(&h.tenant).await.unwrap().unwrap();
    tenant.directory = Some(config);
    h.store.put_tenant(&tenant).await.expect("store tenant");
    h
}

async fn synced(h: &Harness) -> RunRecord {
    let run = h.sync().await;
    assert_eq!(run.summary.outcome, Outcome::Success, "{:?}", run.summary.error);
    run
}

/// The value of `pager` the directory holds for user `n`, as the reader reads it.
async fn pager_of(h: &Harness, n: u32) -> Option<String> {
    let id = ObjectId::parse(uuid(n)).unwrap();
    let explained = h.engine.explain_user(&h.tenant, &id).await.unwrap().unwrap();
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
    let first = synced(&h).await;
    assert_eq!(first.summary.counts.new, 2, "{:?}", first.summary);
    let refused: Vec<_> = first
        .apply_conflicts
        .iter()
        .map(|c| (c.object_id.to_string(), c.reason, c.holder_extension_id.is_some()))
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
    let again = synced(&h).await;
    assert_eq!(again.plan.as_ref().unwrap().write_backs.len(), 2);
    assert_eq!(again.apply_conflicts.len(), 2);

    // The admin fixes the ACL's group: the next run writes both numbers.
    server.modify(&format!(
        "dn: {WRITERS_DN}\nchangetype: modify\nadd: member\nmember: {SYNC_DN}\n"
    ));
    let fixed = synced(&h).await;
    assert!(fixed.apply_conflicts.is_empty(), "{:?}", fixed.apply_conflicts);
    assert_eq!(pager_of(&h, 1).await.as_deref(), Some("1001"));
    assert_eq!(pager_of(&h, 2).await.as_deref(), Some("1002"));

    // Written: nothing more to write.
    let done = synced(&h).await;
    assert!(done.plan.as_ref().unwrap().write_backs.is_empty());
    assert_eq!(done.summary.summary, "Everything is up to date");

    // A directory admin overwrites one: it is written again.
    server.modify(&format!(
        "dn: uid=u2,ou=People,{SUFFIX}\nchangetype: modify\nreplace: pager\npager: 555\n"
    ));
    let rewritten = synced(&h).await;
    assert_eq!(rewritten.plan.as_ref().unwrap().write_backs.len(), 1);
    assert_eq!(pager_of(&h, 2).await.as_deref(), Some("1002"));
}
