//! Listing, creating, updating, deleting and the error mapping.

use super::*;

#[tokio::test]
async fn lists_every_page() {
    let (sim, server) = start(SimulatorOptions::default(), 100).await;
    for n in 0..45 {
        sim.seed("acme", SimExtension::manual(&format!("1{n:03}"), None));
    }
    let pbx = client(
        &server,
        PbxClientOptions {
            page_size: 10,
            ..fast()
        },
    );
    let listed = pbx.list_extensions().await.unwrap();
    let expected: Vec<String> = sim.extensions("acme").into_iter().map(|e| e.id).collect();
    let got: Vec<String> = listed.iter().map(|e| e.id.to_string()).collect();
    assert_eq!(got, expected);
    assert_eq!(pbx.calls().get, 5);
    assert_eq!(sim.stats("acme").gets, 5);
}

#[tokio::test]
async fn creates_updates_and_deletes_without_touching_telephony() {
    let (sim, server) = start(SimulatorOptions::default(), 10).await;
    let pbx = client(&server, fast());
    let created = pbx
        .create_extension(&new_ext("200", "ada@x.io"), "key-200")
        .await
        .unwrap();
    assert_eq!(created.number, "200");
    assert_eq!(created.managed_by.as_deref(), Some(MANAGED_BY));

    let mut manual = SimExtension::manual("201", Some("m@x.io"));
    manual.forwarding = Forwarding {
        enabled: true,
        to: Some("+15550100".into()),
    };
    let manual_id = sim.seed("acme", manual.clone()).unwrap();
    let before = sim.extensions("acme")[0].clone();
    let updated = pbx
        .update_extension(
            &created.id,
            &ExtensionPatch {
                last_name: Some(Some("King".into())),
                mobile: Some(Some("+1 555 0101".into())),
                ..ExtensionPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.last_name.as_deref(), Some("King"));
    assert_eq!(updated.first_name.as_deref(), Some("Ada"));
    let after = sim.extensions("acme")[0].clone();
    assert_eq!(after.voicemail, before.voicemail);
    assert_eq!(after.forwarding, before.forwarding);
    assert_eq!(after.mobile.as_deref(), Some("+1 555 0101"));

    pbx.delete_extension(&created.id).await.unwrap();
    // Already gone counts as deleted.
    pbx.delete_extension(&created.id).await.unwrap();
    let left = sim.extensions("acme");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, manual_id);
    assert_eq!(left[0].forwarding, manual.forwarding);
    assert_eq!(
        pbx.calls(),
        CallCounts {
            get: 0,
            post: 1,
            patch: 1,
            put: 0,
            delete: 2
        }
    );
}

#[tokio::test]
async fn a_create_retried_after_a_lost_answer_is_not_duplicated() {
    let lost = SimulatorOptions {
        fault_after_commit_rate: 1.0,
        ..SimulatorOptions::default()
    };
    let (sim, server) = start(lost, 10).await;
    let pbx = client(
        &server,
        PbxClientOptions {
            max_attempts: 3,
            ..fast()
        },
    );
    // The first attempt is applied but answered 500; the retry, with the same key, is a
    // replay (no new write, so no new fault) and returns the extension the first one made.
    let created = pbx
        .create_extension(&new_ext("300", "a@x.io"), "key-300")
        .await
        .unwrap();
    let stored = sim.extensions("acme");
    assert_eq!(stored.len(), 1);
    assert_eq!(created.id.as_str(), stored[0].id);
    assert_eq!(pbx.calls().post, 2);
    let stats = sim.stats("acme");
    assert_eq!((stats.writes, stats.injected_5xx), (1, 1));

    // A later run retrying the same key still gets the same extension.
    sim.set_options(SimulatorOptions::default());
    let again = pbx
        .create_extension(&new_ext("300", "a@x.io"), "key-300")
        .await
        .unwrap();
    assert_eq!(again.id, created.id);
    assert_eq!(sim.extensions("acme").len(), 1);
}

#[tokio::test]
async fn creates_under_random_faults_land_exactly_once() {
    let faulty = SimulatorOptions {
        fault_rate: 0.3,
        fault_after_commit_rate: 0.3,
        seed: 7,
        ..SimulatorOptions::default()
    };
    let (sim, server) = start(faulty, 100).await;
    let pbx = client(
        &server,
        PbxClientOptions {
            max_attempts: 30,
            ..fast()
        },
    );
    let mut ids = Vec::new();
    for n in 0..20 {
        let ext = new_ext(&format!("4{n:02}"), &format!("u{n}@x.io"));
        ids.push(
            pbx.create_extension(&ext, &format!("key-{n}"))
                .await
                .unwrap()
                .id,
        );
    }
    let stored: Vec<String> = sim.extensions("acme").into_iter().map(|e| e.id).collect();
    let returned: Vec<String> = ids.iter().map(ToString::to_string).collect();
    assert_eq!(stored, returned);
    let stats = sim.stats("acme");
    assert_eq!(stats.writes, 20);
    assert!(
        stats.injected_429 > 0 && stats.injected_5xx > 0,
        "{stats:?}"
    );
    assert!(pbx.calls().post > 20);
}

#[tokio::test]
async fn error_answers_map_to_pbx_errors() {
    let (sim, server) = start(SimulatorOptions::default(), 2).await;
    sim.seed("acme", SimExtension::manual("500", Some("held@x.io")));
    let pbx = client(&server, fast());
    let err = |r: Result<_, PbxError>| r.unwrap_err();
    assert!(matches!(
        err(pbx.create_extension(&new_ext("500", "n@x.io"), "a").await),
        PbxError::Conflict(ConflictReason::NumberTaken)
    ));
    assert!(matches!(
        err(pbx
            .create_extension(&new_ext("501", "HELD@x.io"), "b")
            .await),
        PbxError::Conflict(ConflictReason::EmailTaken)
    ));
    assert!(matches!(
        err(pbx.create_extension(&new_ext("502", "bad email"), "c").await),
        PbxError::Rejected(m) if m.contains("email")
    ));
    pbx.create_extension(&new_ext("503", "ok@x.io"), "d")
        .await
        .unwrap();
    assert!(matches!(
        err(pbx
            .create_extension(&new_ext("504", "full@x.io"), "e")
            .await),
        PbxError::LimitReached
    ));
    let gone = ExtensionId::parse("ext-999").unwrap();
    assert!(matches!(
        err(pbx
            .update_extension(&gone, &ExtensionPatch::disable())
            .await),
        PbxError::NotFound
    ));
    let wrong = HttpPbx::new(&server.base_url("acme"), SecretString::from("nope"), fast()).unwrap();
    assert!(matches!(
        wrong.list_extensions().await.unwrap_err(),
        PbxError::Unauthorized
    ));
    // None of these was retried.
    assert_eq!(pbx.calls().total(), 6);
}

#[tokio::test]
async fn a_host_that_resolves_to_a_private_address_is_never_contacted() {
    let (sim, server) = start(SimulatorOptions::default(), 10).await;
    // A name, not a literal address: only the resolver can tell where it points.
    let url = format!("http://localhost:{}/acme", server.addr().port());
    let strict = PbxClientOptions {
        endpoint_policy: EndpointPolicy::default(),
        ..fast()
    };
    let pbx = HttpPbx::new(&url, SecretString::from(TOKEN), strict).unwrap();
    let error = pbx.list_extensions().await.unwrap_err();
    assert!(matches!(error, PbxError::Transport(_)), "{error}");
    assert!(
        error.to_string().contains("loopback"),
        "the cause is shown: {error}"
    );
    assert_eq!(sim.stats("acme").gets, 0, "no request reached the PBX");
    // The operator's setting (local mode, tests) lets the same name through.
    let open = HttpPbx::new(&url, SecretString::from(TOKEN), fast()).unwrap();
    assert!(open.list_extensions().await.is_ok());
}
