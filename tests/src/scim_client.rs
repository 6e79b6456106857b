//! A tenant whose directory is pushed over SCIM (provider `scim`), on the local service of
//! [`spawn_app`](crate::api::spawn_app): its PBX account on the simulator, its config and
//! SCIM token through the API, and requests to `/scim/v2/{t}/` as an identity provider sends
//! them (`application/scim+json`, the SCIM token as bearer).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::api::{Answer, TestApp};

pub struct ScimTenant<'a> {
    pub app: &'a TestApp,
    pub tenant: String,
    token: String,
}

impl TestApp {
    /// A tenant of provider `scim` (`overrides` merged into its config) with a PBX account
    /// and a fresh SCIM token.
    pub async fn scim_tenant(&self, tenant: &str, overrides: Value) -> ScimTenant<'_> {
        let pbx_token = format!("pbx-token-of-{tenant}-0123456789");
        self.service
            .simulator
            .add_account(tenant, &pbx_token, 10_000);
        let base_url = self.service.simulator_base_url(tenant);
        let pbx = json!({"base_url": base_url, "credentials": {"token": pbx_token}});
        let put = self
            .tenant_call(Method::PUT, tenant, "/pbx", Some(pbx))
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.text);
        let mut config = json!({"provider": {"type": "scim"}});
        if let (Some(config), Some(overrides)) = (config.as_object_mut(), overrides.as_object()) {
            config.extend(overrides.clone());
        }
        let put = self
            .tenant_call(Method::PUT, tenant, "/directory", Some(config))
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.text);
        let made = self
            .tenant_call(Method::POST, tenant, "/scim/token", None)
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        ScimTenant {
            app: self,
            tenant: tenant.to_string(),
            token: made.body["token"].as_str().unwrap().to_string(),
        }
    }
}

impl ScimTenant<'_> {
    /// The tenant's SCIM base URL, as an identity provider is given it.
    pub fn base(&self) -> String {
        format!("{}/scim/v2/{}", self.app.base, self.tenant)
    }

    /// One SCIM request; `path` is under the base (`/Users?filter=...`).
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self
            .app
            .http
            .request(method, format!("{}{path}", self.base()))
            .bearer_auth(&self.token)
            .header("accept", "application/scim+json");
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("the SCIM endpoint answers");
        let status = response.status();
        let text = response.text().await.unwrap();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
            request_id: None,
        }
    }

    /// `send`, asserting the status; the answer's body.
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: StatusCode,
    ) -> Value {
        let answer = self.send(method.clone(), path, body).await;
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.text);
        answer.body
    }

    /// A run started through the API once no other run (a push's) holds the tenant, and
    /// waited for: the pushes before it are in its read.
    pub async fn sync(&self) -> Value {
        for _ in 0..1200 {
            let started = self
                .app
                .tenant_call(Method::POST, &self.tenant, "/sync", None)
                .await;
            match started.status {
                StatusCode::ACCEPTED => {
                    let run_id = started.body["run_id"].as_str().unwrap();
                    return self.app.finished_run(&self.tenant, run_id).await;
                }
                StatusCode::CONFLICT => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await
                }
                other => panic!("POST /sync: {other}: {}", started.text),
            }
        }
        panic!("the tenant stayed busy for two minutes");
    }

    /// The tenant's runs, newest first.
    pub async fn runs(&self) -> Vec<Value> {
        let runs = self
            .app
            .tenant_call(Method::GET, &self.tenant, "/sync/runs", None)
            .await;
        assert_eq!(runs.status, StatusCode::OK, "{}", runs.text);
        runs.body["runs"].as_array().cloned().unwrap_or_default()
    }
}
