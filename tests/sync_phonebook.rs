//! `extra_numbers` end to end (issue 14): a directory (LDIF, a real slapd, the Graph and Okta
//! test servers) → the engine → the HTTP PBX client → the simulator's phonebook. Entries
//! "{first} {last} {suffix}" are created, renamed and removed with their user; an admin's
//! entry is never touched; a taken number and a bad number are skips; a re-run writes
//! nothing; an unanswered create is finished with its key, never duplicated.

use dirsync::domain::phonebook::EntrySkipReason;
use dirsync::domain::{
    DirectoryConfig, EndpointPolicy, ObjectId, ObjectKind, ObjectLink, ObjectMapping, Outcome,
};
use dirsync::ports::{Secrets, Store, TenantSecrets};
use dirsync_integration_tests::graph_server::{graph_user, GraphServer, GraphState};
use dirsync_integration_tests::okta_server::{okta_user, OktaServer, OktaState};
use dirsync_integration_tests::slapd::{
    person, Slapd, SlapdOptions, SUFFIX, SYNC_DN, SYNC_PASSWORD,
};
use dirsync_integration_tests::{fast_cloud_options, Harness, ACCOUNT, TOKEN};
use dirsync_pbx_sim::SimPhonebookEntry;
use serde_json::{json, Value};

/// A user of the LDIF directory: n, given name, mobile, home phones.
struct User {
    n: u32,
    given: &'static str,
    mobile: Option<&'static str>,
    home: Vec<String>,
}

fn user(n: u32, given: &'static str, mobile: Option<&'static str>) -> User {
    User {
        n,
        given,
        mobile,
        home: Vec::new(),
    }
}

fn ldif(users: &[User]) -> String {
    let mut out = String::from("version: 1\n\n");
    for u in users {
        let n = u.n;
        out.push_str(&format!(
            "dn: uid=u{n},ou=People,dc=example,dc=com\nobjectClass: inetOrgPerson\n\
             entryUUID: 00000000-0000-4000-8000-{n:012}\ncn: {g} Family{n}\ngivenName: {g}\n\
             sn: Family{n}\nmail: user{n}@example.com\ntelephoneNumber: {ext}\n",
            g = u.given,
            ext = 1000 + n
        ));
        if let Some(mobile) = u.mobile {
            out.push_str(&format!("mobile: {mobile}\n"));
        }
        for home in &u.home {
            out.push_str(&format!("homePhone: {home}\n"));
        }
        out.push('\n');
    }
    out
}

fn numbers_config() -> Value {
    json!({"extra_numbers": [{"attribute": "mobile", "suffix": "M"},
                             {"attribute": "homePhone[1]", "suffix": "H2"}]})
}

async fn harness(users: &[User]) -> Harness {
    let h = Harness::new(&[], numbers_config()).await;
    write(&h, users);
    h
}

fn write(h: &Harness, users: &[User]) {
    std::fs::write(&h.ldif_path, ldif(users)).expect("write ldif");
}

/// (name, number, managed) of every entry, sorted.
fn book(h: &Harness) -> Vec<(String, String, bool)> {
    let mut all: Vec<_> = h
        .simulator
        .phonebook(ACCOUNT)
        .into_iter()
        .map(|e| (e.name, e.number, e.managed_by.is_some()))
        .collect();
    all.sort();
    all
}

fn entry(name: &str, number: &str) -> (String, String, bool) {
    (name.to_string(), number.to_string(), true)
}

fn writes(h: &Harness) -> u64 {
    h.simulator.stats(ACCOUNT).writes
}

#[tokio::test]
async fn entries_are_created_renamed_changed_and_removed_with_their_user() {
    let mut ann = user(1, "Ann", Some("+49 171 555-0101"));
    ann.home = vec!["030 1111".into(), "030 2222".into()];
    let bob = user(2, "Bob", Some("0171 555 0102"));
    let h = harness(&[ann, bob]).await;
    let first = h.synced().await;
    assert_eq!(first.summary.summary, "2 new, 0 updated, 0 removed");
    // The second homePhone (index 1) only; numbers as the PBX takes them.
    assert_eq!(
        book(&h),
        [
            entry("Ann Family1 H2", "0302222"),
            entry("Ann Family1 M", "+491715550101"),
            entry("Bob Family2 M", "01715550102"),
        ]
    );
    let plan = first.plan.expect("plan");
    assert_eq!(plan.phonebook.creates.len(), 3);

    // A re-run changes nothing and writes nothing.
    let before = writes(&h);
    let again = h.synced().await;
    assert!(again.plan.expect("plan").phonebook.is_noop());
    assert_eq!(writes(&h), before);

    // Ann is renamed and loses her home phone; Bob's mobile changes.
    let mut ann = user(1, "Anna", Some("+49 171 555-0101"));
    ann.home = vec!["030 1111".into()];
    write(&h, &[ann, user(2, "Bob", Some("0171 555 0199"))]);
    let changed = h.synced().await;
    // Both extensions change too (Anna's name, Bob's mobile field).
    assert_eq!(changed.summary.summary, "0 new, 2 updated, 0 removed");
    assert_eq!(
        book(&h),
        [
            entry("Anna Family1 M", "+491715550101"),
            entry("Bob Family2 M", "01715550199"),
        ]
    );
    let ph = changed.plan.expect("plan").phonebook;
    assert_eq!((ph.creates.len(), ph.removes.len()), (2, 2), "{ph:?}");

    // Bob leaves the directory: his extension and his entry go, Anna's stay.
    write(
        &h,
        &[{
            let mut ann = user(1, "Anna", Some("+49 171 555-0101"));
            ann.home = vec!["030 1111".into()];
            ann
        }],
    );
    let removed = h.synced().await;
    assert_eq!(removed.summary.summary, "0 new, 0 updated, 1 removed");
    assert_eq!(book(&h), [entry("Anna Family1 M", "+491715550101")]);
    let mappings = h
        .store
        .all_object_mappings(&h.tenant)
        .await
        .expect("mappings");
    assert_eq!(mappings.len(), 1);
    assert_eq!(mappings[0].kind, ObjectKind::PhonebookEntry);

    // Turning the feature off leaves the tenant's entries to clean up: they are removed.
    h.configure(json!({})).await;
    h.synced().await;
    assert!(book(&h).is_empty());
    let before = writes(&h);
    h.synced().await;
    assert_eq!(writes(&h), before);
}

#[tokio::test]
async fn an_admins_entry_is_never_touched_and_bad_numbers_are_skipped() {
    let h = harness(&[
        user(1, "Ann", Some("+49 30 777")),
        user(2, "Bob", Some("+1 555 0100 ext 12")),
        user(3, "Cat", Some("+49 30 888")),
    ])
    .await;
    let admin = h
        .simulator
        .seed_phonebook_entry(ACCOUNT, SimPhonebookEntry::manual("Reception", "+4930777"))
        .expect("account");
    let run = h.synced().await;
    let ph = run.plan.expect("plan").phonebook;
    let mut skips: Vec<_> = ph
        .skipped
        .iter()
        .map(|s| (s.name.as_str(), s.reason, s.holder_id.clone()))
        .collect();
    skips.sort_by_key(|s| s.0.to_string());
    assert_eq!(
        skips,
        [
            (
                "Ann Family1 M",
                EntrySkipReason::NumberTaken,
                Some(admin.clone())
            ),
            ("Bob Family2 M", EntrySkipReason::InvalidNumber, None),
        ]
    );
    assert_eq!(
        book(&h),
        [
            entry("Cat Family3 M", "+4930888"),
            ("Reception".to_string(), "+4930777".to_string(), false),
        ]
    );
    // Everyone leaves: sync's entry goes, the admin's stays as it was.
    write(&h, &[]);
    h.synced().await;
    let left = h.simulator.phonebook(ACCOUNT);
    assert_eq!(left.len(), 1);
    assert_eq!(
        (left[0].id.as_str(), left[0].name.as_str()),
        (admin.as_str(), "Reception")
    );
}

#[tokio::test]
async fn a_create_left_unanswered_is_finished_with_its_key() {
    let h = harness(&[user(1, "Ann", Some("+4930123"))]).await;
    // A run died after posting (the PBX made the entry) but before storing the answer.
    let key = "crashed-run-key";
    let object_id = ObjectId::parse("+4930123@00000000-0000-4000-8000-000000000001").unwrap();
    h.store
        .put_object_mapping(
            &h.tenant,
            &ObjectMapping {
                kind: ObjectKind::PhonebookEntry,
                object_id: object_id.clone(),
                link: ObjectLink::Pending {
                    idempotency_key: key.into(),
                },
                name: "Ann Family1 M".into(),
                last_synced_at: chrono::Utc::now(),
            },
        )
        .await
        .expect("pending");
    let response = reqwest::Client::new()
        .post(format!(
            "{}/v1/phonebook",
            dirsync_pbx_sim::PbxSimulator::base_url(h.simulator_addr, ACCOUNT)
        ))
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", key)
        .json(
            &json!({"name": "Ann Family1 M", "number": "+4930123", "managed_by": "directory-sync"}),
        )
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 201);
    h.synced().await;
    assert_eq!(book(&h), [entry("Ann Family1 M", "+4930123")]);
    let mappings = h
        .store
        .all_object_mappings(&h.tenant)
        .await
        .expect("mappings");
    assert_eq!(mappings.len(), 1);
    let entry_id = h.simulator.phonebook(ACCOUNT)[0].id.clone();
    assert_eq!(mappings[0].pbx_id(), Some(entry_id.as_str()));
}

/// The fields a config with these `extra_numbers` is refused for.
fn refused(extra_numbers: Value) -> Vec<String> {
    let body = json!({"provider": {"type": "ldif", "path": "/tmp/x.ldif"},
        "extra_numbers": extra_numbers});
    DirectoryConfig::from_json(body.to_string().as_bytes(), EndpointPolicy::default())
        .expect_err("refused")
        .0
        .into_iter()
        .map(|e| e.field)
        .collect()
}

#[tokio::test]
async fn bad_extra_numbers_are_refused_with_their_field() {
    assert_eq!(
        refused(json!([{"attribute": "mobile", "suffix": "M"},
                       {"attribute": "mob(ile", "suffix": ""},
                       {"attribute": "mobile", "suffix": "M"},
                       {"attribute": "businessPhones[12]", "suffix": "B"},
                       {"attribute": "homePhone", "suffix": "H", "extra": 1}])),
        [
            "extra_numbers[4].extra",
            "extra_numbers[1].attribute",
            "extra_numbers[1].suffix",
            "extra_numbers[2]",
            "extra_numbers[3].attribute"
        ]
    );
    // A wrong type names the element's field; too many entries name the list.
    assert_eq!(
        refused(json!([{"attribute": "mobile", "suffix": 7}])),
        ["extra_numbers[0].suffix"]
    );
    assert_eq!(refused(json!({"attribute": "mobile"})), ["extra_numbers"]);
    let many: Vec<Value> = (0..11)
        .map(|i| json!({"attribute": "mobile", "suffix": format!("M{i}")}))
        .collect();
    assert_eq!(refused(Value::Array(many)), ["extra_numbers"]);
    // A stored config (a newer release's, say) with an unknown key still reads.
    let stored: DirectoryConfig = serde_json::from_value(json!({
        "provider": {"type": "ldif", "path": "/tmp/x.ldif"},
        "extra_numbers": [{"attribute": "mobile", "suffix": "M", "later": true}]}))
    .expect("stored config");
    assert_eq!(stored.extra_numbers.len(), 1);
}

#[tokio::test]
async fn slapd_mobiles_and_the_second_telephone_number_become_entries() {
    let mut ldif = person(1, "ou=People", "Ann", true);
    // A second telephoneNumber and a mobile for Ann (the first is her extension).
    ldif = ldif.replace(
        "telephoneNumber: 1001\n",
        "telephoneNumber: 1001\ntelephoneNumber: +49 89 555 01\nmobile: +49 171 1\n",
    );
    ldif.push_str(&person(2, "ou=People", "Bob", true));
    let server = Slapd::start(&ldif, SlapdOptions::default());
    let h = Harness::new(&[], json!({})).await;
    let secrets = TenantSecrets {
        pbx_token: Some(TOKEN.to_string().into()),
        bind_password: Some(SYNC_PASSWORD.to_string().into()),
        ..TenantSecrets::default()
    };
    h.secrets.put(&h.tenant, &secrets).await.expect("secrets");
    let body = json!({"provider": {"type": "ldap", "url": format!("ldap://localhost:{}", server.port),
        "starttls": true, "ca_pem": server.ca_pem, "bind_dn": SYNC_DN, "base_dn": SUFFIX},
        "extra_numbers": [{"attribute": "mobile", "suffix": "M"},
                          {"attribute": "telephoneNumber[1]", "suffix": "Office"}]});
    h.use_directory(body).await;
    h.synced().await;
    assert_eq!(
        book(&h),
        [
            entry("Ann Family1 M", "+491711"),
            entry("Ann Family1 Office", "+498955501"),
        ]
    );
    // Renamed in the directory: the entries follow.
    server.modify(&format!(
        "dn: uid=u1,ou=People,{SUFFIX}\nchangetype: modify\nreplace: givenName\ngivenName: Anne\n"
    ));
    h.synced().await;
    assert_eq!(
        book(&h),
        [
            entry("Anne Family1 M", "+491711"),
            entry("Anne Family1 Office", "+498955501"),
        ]
    );
}

#[tokio::test]
async fn graph_mobile_and_second_business_phone_become_entries() {
    let mut ann = graph_user(1);
    ann.insert(
        "businessPhones".into(),
        json!(["1001", "+1 (555) 010-0200"]),
    );
    let server = GraphServer::start(GraphState::new(vec![ann, graph_user(2)])).await;
    let options = fast_cloud_options(Some(server.url()), Some(server.url()));
    let h = Harness::with_cloud(
        json!({"provider": {"type": "azure", "tenant_id": "contoso.onmicrosoft.com",
                "client_id": "11111111-2222-3333-4444-555555555555"},
               "extra_numbers": [{"attribute": "mobilePhone", "suffix": "M"},
                                 {"attribute": "businessPhones[1]", "suffix": "B2"}]}),
        options,
        TenantSecrets {
            client_secret: Some("graph-secret-Zq8~very-secret-value".to_string().into()),
            ..TenantSecrets::default()
        },
    )
    .await;
    h.synced().await;
    assert_eq!(
        book(&h),
        [
            entry("Given1 Family1 B2", "+15550100200"),
            entry("Given1 Family1 M", "+15550101"),
            entry("Given2 Family2 M", "+15550102"),
        ]
    );
    server.with(|s| {
        s.users.remove(0);
    });
    h.synced().await;
    assert_eq!(book(&h), [entry("Given2 Family2 M", "+15550102")]);
}

#[tokio::test]
async fn okta_mobile_phones_become_entries() {
    let server = OktaServer::start(OktaState::new(vec![
        okta_user(1, "ACTIVE"),
        okta_user(2, "SUSPENDED"),
    ]))
    .await;
    let h = Harness::with_cloud(
        json!({"provider": {"type": "okta", "org_url": server.org_url()},
               "extra_numbers": [{"attribute": "mobilePhone", "suffix": "Mobile"}]}),
        fast_cloud_options(None, None),
        TenantSecrets {
            api_token: Some("00Okta-api-token-SSWS-very-secret".to_string().into()),
            ..TenantSecrets::default()
        },
    )
    .await;
    h.synced().await;
    // The suspended user has no extension, so no entry either.
    assert_eq!(book(&h), [entry("Given1 Family1 Mobile", "+15550201")]);
}

#[tokio::test]
async fn a_disconnect_deletes_the_entries_with_the_extensions_and_keeps_the_admins() {
    let h = harness(&[
        user(1, "Ann", Some("+4930111")),
        user(2, "Bob", Some("+4930222")),
    ])
    .await;
    h.simulator
        .seed_phonebook_entry(ACCOUNT, SimPhonebookEntry::manual("Reception", "+4930777"))
        .expect("account");
    h.synced().await;
    assert_eq!(book(&h).len(), 3);
    let mut tenant = h
        .store
        .get_tenant(&h.tenant)
        .await
        .expect("read")
        .expect("tenant");
    tenant.state = dirsync::domain::TenantState::Disconnected;
    h.store.put_tenant(&tenant).await.expect("store");
    let job = dirsync::sync::RunJob::new(h.tenant.clone(), dirsync::domain::Trigger::Disconnect);
    let run = h.engine.run_job(&job).await.expect("run");
    assert_eq!(run.summary.outcome, Outcome::Success, "{:?}", run.errors);
    assert!(h.simulator.extensions(ACCOUNT).is_empty());
    assert_eq!(
        book(&h),
        [("Reception".to_string(), "+4930777".to_string(), false)]
    );
    assert!(h
        .store
        .all_object_mappings(&h.tenant)
        .await
        .expect("mappings")
        .is_empty());
}

#[tokio::test]
async fn faults_and_lost_answers_never_duplicate_an_entry() {
    let users: Vec<User> = (1..=12)
        .map(|n| {
            let mut u = user(n, "Given", None);
            u.home = vec!["030 1".into(), format!("+49 30 {n:04}")];
            u
        })
        .collect();
    let h = harness(&users).await;
    h.simulator.set_options(dirsync_pbx_sim::SimulatorOptions {
        fault_rate: 0.2,
        fault_after_commit_rate: 0.3,
        seed: 11,
        ..dirsync_pbx_sim::SimulatorOptions::default()
    });
    let faulty = h.sync().await;
    let stats = h.simulator.stats(ACCOUNT);
    assert!(stats.injected_5xx + stats.injected_429 > 5, "{stats:?}");
    assert_ne!(
        faulty.summary.outcome,
        Outcome::Failed,
        "{:?}",
        faulty.summary.error
    );
    h.simulator
        .set_options(dirsync_pbx_sim::SimulatorOptions::default());
    h.synced().await;
    let entries = book(&h);
    assert_eq!(entries.len(), 12, "{entries:?}");
    for n in 1..=12 {
        let want = entry(&format!("Given Family{n} H2"), &format!("+4930{n:04}"));
        assert!(entries.contains(&want), "{want:?} in {entries:?}");
    }
    let before = writes(&h);
    h.synced().await;
    assert_eq!(writes(&h), before);
}
