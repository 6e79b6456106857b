//! The store conformance suite against DynamoDB (moto).

use dirsync::store::conformance::records_from_a_newer_release_read;
use dirsync_integration_tests::moto::{DynamoRaw, Moto};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_store_passes_the_conformance_suite() {
    let moto = Moto::start().await;
    let store = moto.store().await;
    dirsync::store::conformance::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_reads_records_from_a_newer_release() {
    let moto = Moto::start().await;
    let store = moto.store().await;
    let raw = DynamoRaw::new(&moto, &store);
    records_from_a_newer_release_read(&store, &raw).await;
}
