//! `spawn_app()`: the whole local service (API, worker, scheduler, PBX simulator, embedded
//! store) on a random 127.0.0.1 port with its own state, and a small HTTP client for it.

use std::path::PathBuf;

use dirsync::settings::{Deployment, Settings};
use dirsync_local::tokens::{jwt_secret, mint, TokenFor};
use dirsync_local::{LocalOptions, LocalService};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::{ldif, Person};

pub struct TestApp {
    pub service: LocalService,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub http: reqwest::Client,
    pub state: tempfile::TempDir,
    /// The key the service signs and checks tokens with.
    pub jwt: SecretString,
}

/// An answer: status, JSON body (`Null` when empty), and the `x-request-id` header.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
    pub request_id: Option<String>,
}

pub async fn spawn_app() -> TestApp {
    let state = tempfile::tempdir().unwrap();
    let settings = Settings::defaults(Deployment::Local);
    let jwt = jwt_secret(&settings, state.path()).unwrap();
    let service = LocalService::start(
        LocalOptions {
            tick_seconds: 3600,
            ..LocalOptions::with_state(state.path().to_path_buf())
        },
        settings,
    )
    .await
    .expect("local service starts");
    TestApp {
        base: format!("http://{}", service.api_addr),
        service,
        http: reqwest::Client::new(),
        state,
        jwt,
    }
}

impl TestApp {
    pub fn token(&self, tenant: &str) -> String {
        mint(&self.jwt, &TokenFor::Tenant(tenant.into()), 1).unwrap()
    }

    pub fn operator(&self) -> String {
        mint(&self.jwt, &TokenFor::Operator, 1).unwrap()
    }

    /// Sends `body` (JSON) with `token` as bearer, when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the API answers");
        let status = response.status();
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            text,
            request_id,
        }
    }

    /// A call as the tenant's admin.
    pub async fn tenant_call(
        &self,
        method: Method,
        tenant: &str,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let token = self.token(tenant);
        self.call(
            method,
            &format!("/v1/tenants/{tenant}{path}"),
            Some(&token),
            body,
        )
        .await
    }

    /// Writes the tenant's LDIF export of `people` and returns its path.
    pub fn write_directory(&self, tenant: &str, people: &[Person]) -> PathBuf {
        let path = self.state.path().join(format!("{tenant}.ldif"));
        std::fs::write(&path, ldif(people)).unwrap();
        path
    }

    /// A simulator account for the tenant, its PBX endpoint and an LDIF directory of
    /// `people`, all through the API. `overrides` are merged into the directory config.
    pub async fn connect(&self, tenant: &str, people: &[Person], overrides: Value) {
        let pbx_token = format!("pbx-token-of-{tenant}-0123456789");
        self.service
            .simulator
            .add_account(tenant, &pbx_token, 10_000);
        let base_url = self.service.simulator_base_url(tenant);
        let put = self
            .tenant_call(
                Method::PUT,
                tenant,
                "/pbx",
                Some(json!({"base_url": base_url, "credentials": {"token": pbx_token}})),
            )
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.text);
        let path = self.write_directory(tenant, people);
        let mut config = json!({
            "provider": {"type": "ldif", "path": path.display().to_string()},
            "extension_numbers": {"mode": "attribute"},
        });
        if let (Some(config), Some(overrides)) = (config.as_object_mut(), overrides.as_object()) {
            config.extend(overrides.clone());
        }
        let put = self
            .tenant_call(Method::PUT, tenant, "/directory", Some(config))
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    }

    /// Starts a sync through the API and waits for its run to finish; returns the run.
    pub async fn sync(&self, tenant: &str) -> Value {
        let started = self.tenant_call(Method::POST, tenant, "/sync", None).await;
        assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
        let run_id = started.body["run_id"].as_str().unwrap().to_string();
        self.finished_run(tenant, &run_id).await
    }

    /// Polls the run until it is no longer running (bounded: 600 polls of 50 ms).
    pub async fn finished_run(&self, tenant: &str, run_id: &str) -> Value {
        for _ in 0..600 {
            let run = self
                .tenant_call(Method::GET, tenant, &format!("/sync/runs/{run_id}"), None)
                .await;
            if run.status == StatusCode::OK && run.body["outcome"] != "running" {
                return run.body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("run {run_id} did not finish");
    }
}
