//! Photos (`fields.avatar`) synced from the Graph test server through the engine into the PBX
//! simulator: photo metadata read with JSON batching (never more than 20 a batch, a 429
//! inside a batch retried), JPEG and PNG uploaded, an oversized and a GIF photo skipped with
//! their reasons while the run succeeds, unchanged ETags costing no download at all, a
//! changed photo downloaded and uploaded once, and a removed one deleted from the PBX.

use dirsync::domain::avatar::{sha256_hex, MAX_AVATAR_BYTES};
use dirsync::domain::plan::SkipReason;
use dirsync::domain::RunRecord;
use dirsync::ports::TenantSecrets;
use dirsync::sync::EngineOptions;
use dirsync_integration_tests::graph_server::{
    graph_user, graph_user_id, GraphServer, GraphState, BATCH_LIMIT, BATCH_PATH,
};
use dirsync_integration_tests::images::{jpeg, png, GIF};
use dirsync_integration_tests::{fast_cloud_options, Harness, ACCOUNT};
use serde_json::json;
use std::time::Duration;

/// More users than one batch holds.
const USERS: u32 = 25;

async fn harness(server: &GraphServer) -> Harness {
    let provider = json!({"type": "azure", "tenant_id": "contoso.onmicrosoft.com",
        "client_id": "11111111-2222-3333-4444-555555555555"});
    let options = fast_cloud_options(Some(server.url()), Some(server.url()));
    let secrets = TenantSecrets {
        client_secret: Some("graph-secret-Zq8~very-secret-value".to_string().into()),
        ..TenantSecrets::default()
    };
    // A photo change alone is no user change in Graph's delta: it waits for the next full
    // read. These runs are about what a full read does with photos, so every run reads in full.
    let engine = EngineOptions {
        full_read_every: Duration::ZERO,
        ..EngineOptions::default()
    };
    Harness::with_cloud_engine(
        json!({"provider": provider, "fields": {"avatar": true}}),
        options,
        secrets,
        engine,
    )
    .await
}

fn avatar(h: &Harness, n: u32) -> Option<String> {
    h.extension(1000 + n).avatar_sha256
}

fn skips(run: &RunRecord) -> Vec<(String, SkipReason)> {
    let plan = run.plan.as_ref().expect("plan");
    let mut skips: Vec<_> = plan
        .skipped
        .iter()
        .map(|s| (s.object_id.to_string(), s.reason))
        .collect();
    skips.sort();
    skips
}

#[tokio::test]
async fn graph_photos_batch_their_metadata_and_download_only_what_changed() {
    let first = jpeg(1, 2_000);
    let mut state = GraphState::new((1..=USERS).map(graph_user).collect());
    state.set_photo(&graph_user_id(1), first.clone(), "image/jpeg");
    state.set_photo(&graph_user_id(2), png(), "image/png");
    state.set_photo(
        &graph_user_id(3),
        jpeg(2, MAX_AVATAR_BYTES + 5_000),
        "image/jpeg",
    );
    state.set_photo(&graph_user_id(4), GIF.to_vec(), "image/gif");
    // User 1's metadata is throttled twice inside its batch, then answered.
    state.photo_throttle.insert(graph_user_id(1), 2);
    let server = GraphServer::start(state).await;
    let h = harness(&server).await;

    let run = h.synced().await;
    assert_eq!(h.simulator.extensions(ACCOUNT).len(), USERS as usize);
    assert_eq!(avatar(&h, 1), Some(sha256_hex(&first)));
    assert_eq!(avatar(&h, 2), Some(sha256_hex(&png())));
    assert_eq!(avatar(&h, 3), None);
    assert_eq!(avatar(&h, 4), None);
    assert_eq!(avatar(&h, 5), None);
    assert_eq!(
        skips(&run),
        vec![
            (graph_user_id(3), SkipReason::AvatarTooLarge),
            (graph_user_id(4), SkipReason::AvatarUnsupportedType),
        ]
    );
    assert_eq!(h.simulator.stats(ACCOUNT).puts, 2);
    let (sizes, throttled) = server.with(|s| {
        let throttled = s.log.iter().filter(|l| l.path == BATCH_PATH).count();
        (s.batch_sizes.clone(), throttled)
    });
    // 25 users: a batch of 20, user 1 alone twice (throttled), then a batch of 5.
    assert!(sizes.iter().all(|&n| n <= BATCH_LIMIT), "{sizes:?}");
    assert_eq!(sizes, [20, 1, 1, 5]);
    assert_eq!(throttled, 4);
    // Four photos hashed before planning, the two uploaded read again.
    assert_eq!(server.with(|s| s.photo_downloads()), 6);

    // Nothing changed: the ETags are the ones sync saw, so no photo is downloaded or sent.
    server.with(|s| s.log.clear());
    let run = h.synced().await;
    assert!(run.plan.as_ref().expect("plan").updates.is_empty());
    assert_eq!(skips(&run).len(), 2, "the skips are still reported");
    assert_eq!(server.with(|s| s.photo_downloads()), 0);
    assert_eq!(h.simulator.stats(ACCOUNT).puts, 2);

    // A changed photo (new ETag): one download to hash it, one to upload it, one PUT.
    let second = jpeg(9, 3_000);
    server.with(|s| {
        s.log.clear();
        s.set_photo(&graph_user_id(1), second.clone(), "image/jpeg");
    });
    let run = h.synced().await;
    let update = &run.plan.as_ref().expect("plan").updates[0];
    let change = update.changes.avatar.as_ref().expect("avatar change");
    assert_eq!(change.old, Some(sha256_hex(&first)));
    assert_eq!(change.new, Some(sha256_hex(&second)));
    assert_eq!(avatar(&h, 1), Some(sha256_hex(&second)));
    assert_eq!(h.simulator.stats(ACCOUNT).puts, 3);
    let downloads = server.with(|s| {
        s.log
            .iter()
            .filter(|l| l.path.ends_with("/$value"))
            .map(|l| l.path.clone())
            .collect::<Vec<_>>()
    });
    let value = format!("/v1.0/users/{}/photo/$value", graph_user_id(1));
    assert_eq!(downloads, [value.clone(), value]);

    // A photo removed in Graph (404 ImageNotFound) is deleted from the extension.
    let deletes = h.simulator.stats(ACCOUNT).deletes;
    server.with(|s| s.photos.remove(&graph_user_id(2)));
    h.synced().await;
    assert_eq!(avatar(&h, 2), None);
    assert_eq!(h.simulator.stats(ACCOUNT).deletes, deletes + 1);

    // A photo whose metadata Graph keeps throttling is left as it is, never removed.
    server.with(|s| s.photo_throttle.insert(graph_user_id(1), 1_000));
    let run = h.synced().await;
    assert!(run.plan.as_ref().expect("plan").updates.is_empty());
    assert_eq!(avatar(&h, 1), Some(sha256_hex(&second)));
}

#[tokio::test]
async fn avatar_off_reads_no_photo_metadata() {
    let mut state = GraphState::new((1..=3).map(graph_user).collect());
    state.set_photo(&graph_user_id(1), jpeg(1, 100), "image/jpeg");
    let server = GraphServer::start(state).await;
    let provider = json!({"type": "azure", "tenant_id": "contoso.onmicrosoft.com",
        "client_id": "11111111-2222-3333-4444-555555555555"});
    let h = Harness::with_cloud(
        json!({"provider": provider}),
        fast_cloud_options(Some(server.url()), Some(server.url())),
        TenantSecrets {
            client_secret: Some("graph-secret-Zq8~very-secret-value".to_string().into()),
            ..TenantSecrets::default()
        },
    )
    .await;
    h.synced().await;
    assert_eq!(avatar(&h, 1), None);
    assert!(server.with(|s| s
        .log
        .iter()
        .all(|l| !l.path.contains("photo") && l.path != BATCH_PATH)));
}
