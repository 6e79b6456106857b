//! Secrets Manager (moto): round trip, delete with recovery and re-create, and no secret in
//! errors or debug output.

use dirsync::domain::TenantId;
use dirsync::ports::{Secrets, TenantSecrets};
use dirsync::secrets::SecretsManagerSecrets;
use dirsync_integration_tests::moto::Moto;
use secrecy::ExposeSecret;

const TOKEN: &str = "pbx-token-s3cr3t-value";
const PASSWORD: &str = "bind-password-s3cr3t";

fn secrets(token: &str) -> TenantSecrets {
    TenantSecrets {
        pbx_token: Some(token.to_string().into()),
        bind_password: Some(PASSWORD.to_string().into()),
        ..TenantSecrets::default()
    }
}

fn token_of(secrets: &TenantSecrets) -> &str {
    secrets.pbx_token.as_ref().map_or("", |t| t.expose_secret())
}

#[tokio::test]
async fn secrets_round_trip_delete_and_never_leak() {
    let moto = Moto::start().await;
    let store = SecretsManagerSecrets::new(moto.secretsmanager());
    let tenant = TenantId::parse("acme").unwrap();

    assert!(store.get(&tenant).await.unwrap().is_none());
    store.put(&tenant, &secrets(TOKEN)).await.unwrap();
    let got = store.get(&tenant).await.unwrap().expect("stored");
    assert_eq!(token_of(&got), TOKEN);
    assert_eq!(
        got.bind_password.as_ref().map(|p| p.expose_secret()),
        Some(PASSWORD)
    );
    assert!(got.client_secret.is_none());

    // An update writes a new version; the secret's name is the tenant's.
    store.put(&tenant, &secrets("second-token")).await.unwrap();
    let got = store.get(&tenant).await.unwrap().expect("stored");
    assert_eq!(token_of(&got), "second-token");
    let described = moto
        .secretsmanager()
        .describe_secret()
        .secret_id("dirsync/acme")
        .send()
        .await
        .unwrap();
    assert_eq!(described.name(), Some("dirsync/acme"));

    // Disconnect: deleted with a recovery window, then reads as absent; connecting again
    // restores and overwrites it.
    store.delete(&tenant).await.unwrap();
    let described = moto
        .secretsmanager()
        .describe_secret()
        .secret_id("dirsync/acme")
        .send()
        .await
        .unwrap();
    assert!(described.deleted_date().is_some(), "scheduled for deletion");
    assert!(store.get(&tenant).await.unwrap().is_none());
    store.put(&tenant, &secrets("third-token")).await.unwrap();
    assert_eq!(
        token_of(&store.get(&tenant).await.unwrap().unwrap()),
        "third-token"
    );
    store
        .delete(&TenantId::parse("never-stored").unwrap())
        .await
        .unwrap();

    // A secret that is not ours (not JSON) fails clearly without quoting its value.
    moto.secretsmanager()
        .create_secret()
        .name("dirsync/broken")
        .secret_string(format!("{{\"pbx_token\": {TOKEN}}}"))
        .send()
        .await
        .unwrap();
    let error = store
        .get(&TenantId::parse("broken").unwrap())
        .await
        .expect_err("not JSON");
    let message = error.to_string();
    assert!(message.contains("dirsync/broken"), "{message}");
    assert!(!message.contains(TOKEN), "{message}");
    assert!(!format!("{error:?}").contains(TOKEN));
    assert!(!format!("{got:?}").contains("second-token"));
}
