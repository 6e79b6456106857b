//! `list_extensions_if_changed` against the simulator: 304 for the kept ETag, every page
//! otherwise, no ETag for a listing that changed part-way or a PBX without ETags, retries.

use dirsync::ports::ExtensionListing;

use super::*;

fn seeded(sim: &PbxSimulator, count: usize) {
    for n in 0..count {
        sim.seed("acme", SimExtension::manual(&format!("1{n:03}"), None));
    }
}

fn paged(page_size: u32) -> PbxClientOptions {
    PbxClientOptions {
        page_size,
        ..fast()
    }
}

/// The extensions and ETag of a listing that was not a 304.
fn listed(listing: ExtensionListing) -> (Vec<String>, Option<String>) {
    match listing {
        ExtensionListing::Listed { extensions, etag } => {
            (extensions.iter().map(|e| e.id.to_string()).collect(), etag)
        }
        ExtensionListing::NotModified => panic!("expected a listing, got 304"),
    }
}

fn ids(sim: &PbxSimulator) -> Vec<String> {
    sim.extensions("acme").into_iter().map(|e| e.id).collect()
}

#[tokio::test]
async fn the_kept_etag_costs_one_call_until_something_changes() {
    let (sim, server) = start(SimulatorOptions::default(), 100).await;
    seeded(&sim, 25);
    let pbx = client(&server, paged(10));
    let (first, etag) = listed(pbx.list_extensions_if_changed(None).await.unwrap());
    assert_eq!(first, ids(&sim));
    let etag = etag.expect("the simulator sends ETags");
    assert_eq!(pbx.calls().get, 3);

    let unchanged = pbx.list_extensions_if_changed(Some(&etag)).await.unwrap();
    assert_eq!(unchanged, ExtensionListing::NotModified);
    assert_eq!(pbx.calls().get, 4, "a 304 is one call");
    assert_eq!(sim.stats("acme").not_modified, 1);

    // A change through the API moves the ETag: every page again, a new ETag.
    let created = pbx
        .create_extension(&new_ext("300", "new@x.io"), "key-300")
        .await
        .unwrap();
    let (after, new_etag) = listed(pbx.list_extensions_if_changed(Some(&etag)).await.unwrap());
    assert_eq!(after, ids(&sim));
    assert!(after.contains(&created.id.to_string()));
    let new_etag = new_etag.unwrap();
    assert_ne!(new_etag, etag);
    assert_eq!(pbx.calls().get, 7);
    assert_eq!(
        pbx.list_extensions_if_changed(Some(&new_etag))
            .await
            .unwrap(),
        ExtensionListing::NotModified
    );
    // A deletion too.
    pbx.delete_extension(&created.id).await.unwrap();
    let (after_delete, _) = listed(
        pbx.list_extensions_if_changed(Some(&new_etag))
            .await
            .unwrap(),
    );
    assert_eq!(after_delete, first);
}

#[tokio::test]
async fn a_listing_that_changed_part_way_keeps_no_etag() {
    let slow = SimulatorOptions {
        latency: Duration::from_millis(30),
        ..SimulatorOptions::default()
    };
    let (sim, server) = start(slow, 100).await;
    seeded(&sim, 6);
    let pbx = Arc::new(client(&server, paged(1)));
    let listing = tokio::spawn({
        let pbx = pbx.clone();
        async move { pbx.list_extensions_if_changed(None).await }
    });
    // Once the second page is asked for, the first was answered: change the collection.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim.stats("acme").gets < 2 {
        assert!(Instant::now() < deadline, "the listing never started");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    sim.seed("acme", SimExtension::manual("9999", None));
    let (_, etag) = listed(listing.await.unwrap().unwrap());
    assert_eq!(etag, None, "the pages disagreed on the version");
    // The next listing, with no change during it, has one again.
    let (_, etag) = listed(pbx.list_extensions_if_changed(None).await.unwrap());
    assert!(etag.is_some());
}

#[tokio::test]
async fn a_pbx_without_etags_is_listed_in_full() {
    let plain = SimulatorOptions {
        etags: false,
        ..SimulatorOptions::default()
    };
    let (sim, server) = start(plain, 100).await;
    seeded(&sim, 15);
    let pbx = client(&server, paged(10));
    let (all, etag) = listed(pbx.list_extensions_if_changed(None).await.unwrap());
    assert_eq!(all, ids(&sim));
    assert_eq!(etag, None);
    // An ETag kept from before (say, from a PBX that had them) changes nothing.
    let (again, etag) = listed(
        pbx.list_extensions_if_changed(Some("\"old\""))
            .await
            .unwrap(),
    );
    assert_eq!((again, etag), (all, None));
    assert_eq!(pbx.calls().get, 4);
}

#[tokio::test]
async fn a_kept_value_that_is_no_entity_tag_is_not_sent() {
    let (sim, server) = start(SimulatorOptions::default(), 100).await;
    seeded(&sim, 3);
    let pbx = client(&server, fast());
    let (_, etag) = listed(pbx.list_extensions_if_changed(None).await.unwrap());
    let etag = etag.unwrap();
    let bare = etag.trim_matches('"').to_string();
    // The simulator refuses a malformed If-None-Match with 400: a full listing shows that
    // none was sent.
    for kept in [bare.as_str(), "", "\"a\"\r\nX-Evil: 1", "*"] {
        let (all, fresh) = listed(pbx.list_extensions_if_changed(Some(kept)).await.unwrap());
        assert_eq!(all, ids(&sim), "{kept:?}");
        assert_eq!(fresh.as_deref(), Some(etag.as_str()));
    }
    assert_eq!(sim.stats("acme").not_modified, 0);
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_with_the_condition() {
    let faulty = SimulatorOptions {
        fault_rate: 0.5,
        seed: 7,
        ..SimulatorOptions::default()
    };
    let (sim, server) = start(SimulatorOptions::default(), 100).await;
    seeded(&sim, 25);
    let pbx = client(
        &server,
        PbxClientOptions {
            max_attempts: 20,
            ..paged(10)
        },
    );
    let (_, etag) = listed(pbx.list_extensions_if_changed(None).await.unwrap());
    let etag = etag.unwrap();
    sim.set_options(faulty);
    for _ in 0..5 {
        assert_eq!(
            pbx.list_extensions_if_changed(Some(&etag)).await.unwrap(),
            ExtensionListing::NotModified
        );
    }
    let stats = sim.stats("acme");
    assert!(stats.injected_429 + stats.injected_5xx > 0, "{stats:?}");
    assert_eq!(stats.not_modified, 5);
    // A listing of a changed collection through the same faults is whole and versioned.
    sim.seed("acme", SimExtension::manual("7777", None));
    let (all, fresh) = listed(pbx.list_extensions_if_changed(Some(&etag)).await.unwrap());
    assert_eq!(all, ids(&sim));
    assert!(fresh.is_some_and(|fresh| fresh != etag));
}
