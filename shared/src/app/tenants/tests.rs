use secrecy::ExposeSecret;

use super::*;
use crate::domain::EndpointPolicy;
use crate::secrets::MemorySecrets;
use crate::store::SqliteStore;

fn config(body: serde_json::Value) -> (DirectoryConfig, Option<DirectoryCredentials>) {
    let policy = EndpointPolicy {
        allow_private: true,
    };
    let mut config = DirectoryConfig::from_json(body.to_string().as_bytes(), policy).unwrap();
    let credentials = config.take_credentials();
    (config, credentials)
}

fn ldap(password: &str) -> (DirectoryConfig, Option<DirectoryCredentials>) {
    config(serde_json::json!({
        "provider": {"type": "ldap", "url": "ldaps://dc1.corp.example", "bind_dn": "cn=sync",
                     "base_dn": "dc=corp,dc=example"},
        "credentials": {"bind_password": password}
    }))
}

fn azure() -> (DirectoryConfig, Option<DirectoryCredentials>) {
    config(serde_json::json!({
        "provider": {"type": "azure", "tenant_id": "contoso.onmicrosoft.com",
                     "client_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
        "credentials": {"client_secret": "new-secret"}
    }))
}

fn exposed(secret: &Option<SecretString>) -> Option<&str> {
    secret.as_ref().map(|s| s.expose_secret())
}

/// A service on its own store and secrets, with an LDAP tenant connected (password "old-password").
async fn connected() -> (
    TenantService,
    Arc<SqliteStore>,
    Arc<MemorySecrets>,
    TenantId,
) {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let secrets = Arc::new(MemorySecrets::default());
    let service = TenantService::new(store.clone(), secrets.clone());
    let id = TenantId::parse("acme").unwrap();
    let (config, credentials) = ldap("old-password");
    service
        .connect_directory(&id, config, credentials)
        .await
        .unwrap();
    (service, store, secrets, id)
}

/// A connected tenant whose store then refuses every tenant write (a real SQLite failure,
/// raised by a trigger), as a throttled or unreachable table would.
async fn connected_then_failing() -> (
    TenantService,
    Arc<SqliteStore>,
    Arc<MemorySecrets>,
    TenantId,
) {
    let (service, store, secrets, id) = connected().await;
    store
        .execute_for_tests(
            "CREATE TRIGGER refuse BEFORE UPDATE ON tenants
             BEGIN SELECT RAISE(FAIL, 'the store is unavailable'); END",
        )
        .await;
    (service, store, secrets, id)
}

#[tokio::test]
async fn a_failed_tenant_write_after_a_provider_switch_leaves_config_and_credentials() {
    let (service, store, secrets, id) = connected_then_failing().await;
    let (config, credentials) = azure();
    let error = service.connect_directory(&id, config, credentials).await;
    assert!(matches!(error, Err(TenantError::Store(_))), "{error:?}");

    let tenant = store.get_tenant(&id).await.unwrap().unwrap();
    assert_eq!(tenant.directory.unwrap().provider.kind(), "ldap");
    let kept = secrets.get(&id).await.unwrap().unwrap();
    assert_eq!(exposed(&kept.bind_password), Some("old-password"));
    assert_eq!(exposed(&kept.client_secret), None);
}

#[tokio::test]
async fn a_failed_tenant_write_keeps_the_old_password_of_the_same_provider() {
    let (service, _store, secrets, id) = connected_then_failing().await;
    let (config, credentials) = ldap("new-password");
    assert!(service
        .connect_directory(&id, config, credentials)
        .await
        .is_err());
    let kept = secrets.get(&id).await.unwrap().unwrap();
    assert_eq!(exposed(&kept.bind_password), Some("old-password"));
}

#[tokio::test]
async fn a_provider_switch_drops_the_old_credentials_once_the_config_is_stored() {
    let (service, _store, secrets, id) = connected().await;
    let (config, credentials) = azure();
    let (tenant, shown) = service
        .connect_directory(&id, config, credentials)
        .await
        .unwrap();
    assert_eq!(tenant.revision, 2);
    assert_eq!(exposed(&shown.client_secret), Some("new-secret"));
    let kept = secrets.get(&id).await.unwrap().unwrap();
    assert_eq!(exposed(&kept.bind_password), None);
    assert_eq!(exposed(&kept.client_secret), Some("new-secret"));
}

#[tokio::test]
async fn a_run_end_keeps_the_settings_an_admin_wrote_while_it_ran() {
    let (service, store, _secrets, id) = connected().await;
    // The admin pauses while a run goes; then the run ends.
    service.set_state(&id, TenantState::Paused).await.unwrap();
    let summary = RunSummary::started(
        crate::domain::RunId::new(),
        crate::domain::Trigger::Manual,
        Utc::now(),
    );
    service.record_last_run(&id, &summary).await.unwrap();
    let tenant = store.get_tenant(&id).await.unwrap().unwrap();
    assert_eq!(tenant.state, TenantState::Paused);
    assert_eq!(tenant.last_run, Some(summary));
}

#[tokio::test]
async fn a_config_from_a_newer_release_is_neither_synced_nor_lost() {
    let (service, store, _secrets, id) = connected().await;
    store
        .execute_for_tests(
            "UPDATE tenants SET body = json_set(body, '$.directory.provider.type', 'workday')",
        )
        .await;
    let refused = service.connected(&id).await;
    assert!(
        matches!(refused, Err(TenantError::NewerConfig)),
        "{refused:?}"
    );
    let error = crate::error::SyncError::from(TenantError::NewerConfig);
    assert_eq!(error.disposition(), crate::error::Disposition::Retry);
    // Pausing works and writes the newer config back as it was.
    service.set_state(&id, TenantState::Paused).await.unwrap();
    let tenant = store.get_tenant(&id).await.unwrap().unwrap();
    assert_eq!(tenant.state, TenantState::Paused);
    let kept = tenant.unreadable_directory.expect("kept");
    assert_eq!(kept["provider"]["type"], "workday");
    assert_eq!(kept["provider"]["bind_dn"], "cn=sync");
}
