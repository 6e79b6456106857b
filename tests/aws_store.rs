//! The store conformance suite against DynamoDB (moto).

use dirsync_integration_tests::moto::Moto;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_store_passes_the_conformance_suite() {
    let moto = Moto::start().await;
    let store = moto.store().await;
    dirsync::store::conformance::run_all(&store).await;
}
