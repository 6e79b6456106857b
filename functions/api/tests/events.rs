//! The Lambda handler fed recorded API Gateway HTTP API (payload v2) events, JWT authorizer
//! context included, through `lambda_http`'s own request parsing.

use std::sync::Arc;
use std::time::Duration;

use axum::body::to_bytes;
use chrono::Utc;
use dirsync::api::{ApiState, Auth};
use dirsync::domain::{EndpointPolicy, Tenant, TenantId, TenantState};
use dirsync::secrets::MemorySecrets;
use dirsync::store::SqliteStore;
use dirsync::sync::{Connector, DefaultConnector, EngineOptions, InProcessQueue, SyncEngine};
use serde_json::Value;
use tower::ServiceExt;

struct Lambda {
    state: ApiState,
    _dir: tempfile::TempDir,
}

fn lambda() -> Lambda {
    lambda_with(Arc::new(DefaultConnector::default()))
}

fn lambda_with(connector: Arc<dyn Connector>) -> Lambda {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
    let secrets = Arc::new(MemorySecrets::new());
    let engine = SyncEngine::new(
        store.clone(),
        secrets.clone(),
        connector,
        EngineOptions::default(),
    );
    let (queue, _jobs) = InProcessQueue::new();
    let state = ApiState {
        store,
        secrets,
        engine,
        queue: Arc::new(queue),
        policy: EndpointPolicy::default(),
        ldif_root: None,
        auth: Arc::new(Auth::Gateway),
        test_timeout: Duration::from_millis(300),
    };
    Lambda { state, _dir: dir }
}

/// A recorded event, optionally with its authorizer claims replaced.
fn event(name: &str, claims: Option<Value>) -> lambda_http::Request {
    let path = format!("{}/tests/events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    match claims {
        Some(Value::Null) => {
            event["requestContext"]
                .as_object_mut()
                .unwrap()
                .remove("authorizer");
        }
        Some(claims) => event["requestContext"]["authorizer"]["jwt"]["claims"] = claims,
        None => {}
    }
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
}

async fn handle(lambda: &Lambda, request: lambda_http::Request) -> (u16, Value) {
    let response = dirsync_api::app(lambda.state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn seed_tenant(lambda: &Lambda, id: &str) {
    let mut tenant = Tenant::new(TenantId::parse(id).unwrap(), Utc::now());
    tenant.state = TenantState::Paused;
    lambda.state.store.put_tenant(&tenant).await.unwrap();
}

#[tokio::test]
async fn a_tenant_claim_reads_its_own_tenant_only() {
    let lambda = lambda();
    seed_tenant(&lambda, "acme").await;
    let (status, body) = handle(&lambda, event("status_as_tenant", None)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "paused");

    let other = serde_json::json!({"tenant": "globex", "sub": "admin@globex.example.com"});
    let (status, body) = handle(&lambda, event("status_as_tenant", Some(other))).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("forbidden")));
}

#[tokio::test]
async fn without_authorizer_claims_the_request_is_refused() {
    let lambda = lambda();
    seed_tenant(&lambda, "acme").await;
    // The bearer header alone is not trusted: on AWS only the authorizer's claims count.
    let (status, body) = handle(&lambda, event("status_as_tenant", Some(Value::Null))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized"))
    );
    let no_tenant = serde_json::json!({"sub": "someone"});
    let (status, _) = handle(&lambda, event("status_as_tenant", Some(no_tenant))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_operator_scope_lists_tenants() {
    let lambda = lambda();
    seed_tenant(&lambda, "acme").await;
    seed_tenant(&lambda, "globex").await;
    let (status, body) = handle(&lambda, event("list_tenants_as_operator", None)).await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> = body["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acme", "globex"]);
    // A token whose `scope` is an array: API Gateway passes the claim flattened to `[a b]`.
    let array_scope = serde_json::json!({"scope": "[openid dirsync:operator]"});
    let (status, body) = handle(
        &lambda,
        event("list_tenants_as_operator", Some(array_scope)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let tenant_only = serde_json::json!({"tenant": "acme"});
    let (status, _) = handle(
        &lambda,
        event("list_tenants_as_operator", Some(tenant_only)),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_base64_body_is_decoded_and_the_token_goes_to_the_secret_store() {
    let lambda = lambda();
    let (status, body) = handle(&lambda, event("put_pbx_base64_body", None)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["base_url"], "https://pbx.example.com/api");
    assert!(!body.to_string().contains("pbx-token-from-lambda"));
    let acme = TenantId::parse("acme").unwrap();
    let secrets = lambda.state.secrets.get(&acme).await.unwrap().unwrap();
    assert!(secrets.pbx_token.is_some());
}

/// A directory that never answers, as a firewall that drops packets makes it look.
struct Silent;

#[async_trait::async_trait]
impl dirsync::ports::Directory for Silent {
    async fn read_users(
        &self,
    ) -> Result<dirsync::domain::Snapshot, dirsync::error::DirectoryError> {
        std::future::pending().await
    }
}

struct SilentConnector;

impl Connector for SilentConnector {
    fn directory(
        &self,
        _: &dirsync::domain::DirectoryConfig,
        _: &dirsync::ports::TenantSecrets,
    ) -> Result<Box<dyn dirsync::ports::Directory>, dirsync::error::DirectoryError> {
        Ok(Box::new(Silent))
    }
    fn pbx(
        &self,
        endpoint: &dirsync::domain::PbxEndpoint,
        secrets: &dirsync::ports::TenantSecrets,
    ) -> Result<Arc<dyn dirsync::ports::Pbx>, dirsync::error::PbxError> {
        DefaultConnector::default().pbx(endpoint, secrets)
    }
}

#[tokio::test]
async fn a_connection_test_that_hangs_ends_at_the_set_timeout_with_a_message() {
    let lambda = lambda_with(Arc::new(SilentConnector));
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/tests/events/status_as_tenant.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    event["rawPath"] = "/v1/tenants/acme/directory/test".into();
    event["requestContext"]["http"]["method"] = "POST".into();
    event["requestContext"]["http"]["path"] = "/v1/tenants/acme/directory/test".into();
    event["body"] = r#"{"provider": {"type": "ldif", "path": "x.ldif"}}"#.into();
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let (status, body) = handle(&lambda, request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], false);
    assert_eq!(body["checks"][0]["name"], "connect");
    assert!(body["checks"][0]["message"]
        .as_str()
        .unwrap()
        .contains("no answer within"));
}

/// The Directory Sync page through the Lambda, on its route without the authorizer.
#[tokio::test]
async fn the_console_page_is_served_without_authorizer_claims() {
    let lambda = lambda();
    let response = dirsync_api::app(lambda.state.clone())
        .oneshot(event("console_page", None))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok());
    assert_eq!(header("content-type"), Some("text/html; charset=utf-8"));
    assert!(header("content-security-policy").is_some_and(|p| p.starts_with("default-src 'none'")));
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains("/console/console.js"));
}
