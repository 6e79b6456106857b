//! An Okta test server (axum, 127.0.0.1), as strict as Okta on what dirsync uses: `SSWS` API
//! tokens and OAuth 2.0 service apps with `private_key_jwt` (the client assertion's RS256
//! signature, audience, issuer and expiry are checked), `/api/v1/users` and
//! `/api/v1/groups/{id}/users` with `limit` checks, `/api/v1/groups` and `/api/v1/groups/{id}` and opaque `Link: rel="next"` cursors,
//! `X-Rate-Limit-*` headers over a fixed window, Okta error bodies, and injected faults.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::cloud_server::{epoch_seconds, lock, opaque, serve, Logged, Running};

#[path = "okta_server_groups.rs"]
mod groups;
#[path = "okta_server_write.rs"]
mod write;
use groups::{group, group_not_found, groups, invalid_token};

#[path = "okta_server_authn.rs"]
mod authn;

#[path = "okta_server_changes.rs"]
mod changes;
#[path = "okta_server_filter.rs"]
mod filter;
#[path = "okta_server_tracking.rs"]
mod tracking;
pub use changes::okta_now;

/// An RSA key pair made for this test process: the private key as PKCS#8 PEM (what a tenant
/// pastes as `private_key_pem`) and the public key as SPKI PEM (what the service app holds).
/// Made with `ssh-keygen` (openssh-client, which `scripts/test` installs), so that no private
/// key lives in the repository.
pub struct TestKeyPair {
    pub private_pem: String,
    pub public_pem: String,
}

impl TestKeyPair {
    pub fn generate() -> Self {
        let dir = tempfile::tempdir().expect("key dir");
        let path = dir.path().join("key");
        let run = |command: &mut std::process::Command| {
            let out = command.output().expect("run ssh-keygen");
            assert!(
                out.status.success(),
                "ssh-keygen: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).expect("ssh-keygen prints text")
        };
        run(std::process::Command::new("ssh-keygen")
            .args([
                "-q", "-t", "rsa", "-b", "2048", "-m", "PKCS8", "-N", "", "-f",
            ])
            .arg(&path));
        let public_pem = run(std::process::Command::new("ssh-keygen")
            .args(["-e", "-m", "PKCS8", "-f"])
            .arg(path.with_extension("pub")));
        Self {
            private_pem: std::fs::read_to_string(&path).expect("private key"),
            public_pem,
        }
    }
}

/// The test service app's key pair, made once per test process.
pub fn service_app_key() -> &'static TestKeyPair {
    static KEY: std::sync::OnceLock<TestKeyPair> = std::sync::OnceLock::new();
    KEY.get_or_init(TestKeyPair::generate)
}
pub const SERVICE_APP_CLIENT_ID: &str = "0oa1serviceapp0000001";
pub const OKTA_SCOPES: &str = "okta.users.read okta.groups.read";

/// Misbehaviour, by page index within a listing (0 = first page).
#[derive(Debug, Clone, Default)]
pub struct OktaFaults {
    /// Page -> how many times it answers 429 (E0000047, reset one second ahead) first.
    pub throttle: HashMap<usize, u32>,
    /// A page that always answers 500.
    pub failing_page: Option<usize>,
    /// A page of one listing (its path) that always answers 500.
    pub failing_listing: Option<(String, usize)>,
    /// When this page is first asked for, every OAuth access token expires (401 on it).
    pub expire_tokens_at_page: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct OktaState {
    pub api_token: String,
    /// The service app demands DPoP-bound tokens.
    pub require_dpop: bool,
    /// Requests per fixed window of `rate_window_secs` (aligned on epoch seconds).
    pub rate_limit: u64,
    pub rate_window_secs: u64,
    /// The most users a page holds, whatever `limit` asks.
    pub page_cap: usize,
    /// Users as Okta returns them (`id`, `status`, `profile`, ...), in listing order.
    pub users: Vec<Value>,
    /// Group id -> member user ids (Okta groups do not nest).
    pub groups: HashMap<String, Vec<String>>,
    /// Group id -> `profile.name` (default `Group {id}`).
    pub group_names: HashMap<String, String>,
    pub faults: OktaFaults,
    pub access_tokens: HashSet<String>,
    pub tokens_issued: usize,
    /// The API token's admin may only read (a read-only administrator): writes get 403 E0000006.
    pub read_only: bool,
    /// Custom profile properties of the user type, beyond the base ones the users hold.
    pub custom_properties: Vec<String>,
    /// Partial profile updates applied: (user id, profile sent).
    pub profile_updates: Vec<(String, Value)>,
    /// API requests (not token requests), in arrival order.
    pub log: Vec<Logged>,
    /// User id -> password, for `POST /api/v1/authn`.
    pub passwords: HashMap<String, String>,
    /// `POST /api/v1/authn` requests so far.
    pub authn_requests: usize,
    /// System Log events (`/api/v1/logs`), oldest first.
    pub events: Vec<Value>,
    /// How far back `since` may reach, in days (Okta keeps 90).
    pub log_retention_days: i64,
    /// Whether the credential may read the System Log (403 E0000006 otherwise).
    pub logs_readable: bool,
    log_cursors: HashMap<String, usize>,
    cursors: HashMap<String, (String, usize, usize)>,
    window: (u64, u64),
    expired_once: bool,
    /// What change tracking last saw of `users` (see `okta_server_tracking.rs`).
    seen: Option<tracking::Seen>,
}

/// A user with the usual profile; adjust for odd cases.
pub fn okta_user(n: u32, status: &str) -> Value {
    json!({
        "id": okta_user_id(n),
        "status": status,
        "created": "2026-01-01T00:00:00.000Z",
        "lastUpdated": "2026-01-01T00:00:00.000Z",
        "profile": {
            "login": format!("user{n}@acme.com"),
            "firstName": format!("Given{n}"),
            "lastName": format!("Family{n}"),
            "email": format!("user{n}@acme.com"),
            "mobilePhone": format!("+1 555 02{:02}", n % 100),
            "primaryPhone": format!("{}", 1000 + n),
        },
        "_links": {"self": {"href": format!("https://acme.okta.com/api/v1/users/{}", okta_user_id(n))}}
    })
}

pub fn okta_user_id(n: u32) -> String {
    format!("00u{n:017}")
}

impl OktaState {
    pub fn new(users: Vec<Value>) -> Self {
        Self {
            api_token: "00Okta-api-token-SSWS-very-secret".into(),
            require_dpop: false,
            rate_limit: 600,
            rate_window_secs: 60,
            page_cap: 200,
            users,
            groups: HashMap::new(),
            group_names: HashMap::new(),
            faults: OktaFaults::default(),
            access_tokens: HashSet::new(),
            tokens_issued: 0,
            read_only: false,
            custom_properties: vec!["pbxExtension".into()],
            profile_updates: Vec::new(),
            log: Vec::new(),
            passwords: HashMap::new(),
            authn_requests: 0,
            events: Vec::new(),
            log_retention_days: 90,
            logs_readable: true,
            log_cursors: HashMap::new(),
            cursors: HashMap::new(),
            window: (0, 0),
            expired_once: false,
            seen: None,
        }
    }
}

pub struct OktaServer {
    pub state: Arc<Mutex<OktaState>>,
    running: Running,
}

impl OktaServer {
    pub async fn start(state: OktaState) -> Self {
        let state = Arc::new(Mutex::new(state));
        let router = Router::new()
            .route("/oauth2/v1/token", post(crate::okta_login::token))
            .route("/api/v1/authn", post(authn::authn))
            .route("/api/v1/users", get(users))
            .route("/api/v1/users/me", get(me))
            .route(
                "/api/v1/users/{id}",
                post(write::update_user).get(changes::get_user),
            )
            .route("/api/v1/logs", get(changes::logs))
            .route("/api/v1/groups", get(groups))
            .route("/api/v1/groups/{id}", get(group))
            .route("/api/v1/groups/{id}/users", get(group_users))
            .with_state(state.clone());
        let running = serve(router).await;
        Self { state, running }
    }

    /// The org URL a tenant configures.
    pub fn org_url(&self) -> String {
        format!("http://{}", self.running.addr)
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut OktaState) -> R) -> R {
        f(&mut lock(&self.state))
    }
}

pub(crate) fn okta_error(status: StatusCode, code: &str, summary: &str) -> Response {
    let body = json!({"errorCode": code, "errorSummary": summary, "errorLink": code,
        "errorId": format!("oae{}", opaque()), "errorCauses": []});
    (status, Json(body)).into_response()
}

/// Whether the request carries the API token or a live access token.
pub(crate) fn authorized(s: &OktaState, headers: &HeaderMap) -> bool {
    let value = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match value.split_once(' ') {
        Some(("SSWS", token)) => token == s.api_token,
        Some(("Bearer", token)) => s.access_tokens.contains(token),
        _ => false,
    }
}

/// Counts the request in the fixed window; (limit, remaining, reset epoch, over the limit).
fn count_request(s: &mut OktaState) -> (u64, u64, u64, bool) {
    let now = epoch_seconds();
    let start = now - now % s.rate_window_secs.max(1);
    if s.window.0 != start {
        s.window = (start, 0);
    }
    s.window.1 += 1;
    let used = s.window.1;
    let reset = start + s.rate_window_secs.max(1);
    (
        s.rate_limit,
        s.rate_limit.saturating_sub(used),
        reset,
        used > s.rate_limit,
    )
}

fn with_rate_headers(mut response: Response, limit: u64, remaining: u64, reset: u64) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-rate-limit-limit", limit),
        ("x-rate-limit-remaining", remaining),
        ("x-rate-limit-reset", reset),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            headers.insert(name, v);
        }
    }
    response
}

async fn me(State(state): State<Arc<Mutex<OktaState>>>, headers: HeaderMap) -> Response {
    let s = lock(&state);
    if !authorized(&s, &headers) {
        return okta_error(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        );
    }
    Json(json!({"id": "00uadmin", "status": "ACTIVE", "profile": {"login": "admin@acme.com"}}))
        .into_response()
}

async fn users(
    State(state): State<Arc<Mutex<OktaState>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    // Whatever a test changed straight on the state is a change Okta would show.
    s.catch_up();
    // The unfiltered listing leaves deprovisioned users out, as Okta does.
    let listed = match changes::listed_users(&s, &query) {
        Ok(listed) => listed,
        Err(refused) if authorized(&s, &headers) => return refused.response(),
        // The listing answers 401 first.
        Err(_) => Vec::new(),
    };
    listing(&mut s, "/api/v1/users", &headers, &query, listed)
}

async fn group_users(
    State(state): State<Arc<Mutex<OktaState>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    let path = format!("/api/v1/groups/{id}/users");
    let Some(members) = s.groups.get(&id).cloned() else {
        if !authorized(&s, &headers) {
            return invalid_token();
        }
        return group_not_found(&id);
    };
    let listed: Vec<Value> = members
        .iter()
        .filter_map(|m| s.users.iter().find(|u| u["id"] == json!(m)).cloned())
        .collect();
    listing(&mut s, &path, &headers, &query, listed)
}

fn listing(
    s: &mut OktaState,
    path: &str,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    items: Vec<Value>,
) -> Response {
    let cursor = match query.get("after") {
        Some(after) => s
            .cursors
            .get(after)
            .filter(|c| c.0 == path)
            .cloned()
            .ok_or(()),
        None => Ok((path.to_string(), 0, 0)),
    };
    let page = cursor.as_ref().map_or(0, |c| c.2);
    let mut logged = Logged::now(path, Some(page));
    let (limit, remaining, reset, over) = count_request(s);
    let response = page_response(s, path, headers, query, cursor, items, page, over);
    let (remaining, reset) = if response.status() == StatusCode::TOO_MANY_REQUESTS && !over {
        (0, epoch_seconds() + 1)
    } else {
        (remaining, reset)
    };
    let response = with_rate_headers(response, limit, remaining, reset);
    logged.status = response.status().as_u16();
    logged.reset = Some(reset);
    logged.remaining = Some(remaining);
    s.log.push(logged);
    response
}

#[allow(clippy::too_many_arguments)]
fn page_response(
    s: &mut OktaState,
    path: &str,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    cursor: Result<(String, usize, usize), ()>,
    items: Vec<Value>,
    page: usize,
    over_limit: bool,
) -> Response {
    if over_limit {
        return okta_error(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        );
    }
    if s.faults.expire_tokens_at_page == Some(page) && !s.expired_once {
        s.expired_once = true;
        s.access_tokens.clear();
    }
    if !authorized(s, headers) {
        return okta_error(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        );
    }
    let Ok((_, offset, _)) = cursor else {
        return okta_error(
            StatusCode::BAD_REQUEST,
            "E0000031",
            "Invalid search criteria: the after cursor is not valid.",
        );
    };
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        Some(Ok(limit)) if (1..=200).contains(&limit) => limit,
        _ => {
            return okta_error(
                StatusCode::BAD_REQUEST,
                "E0000001",
                "Api validation failed: limit (this test server requires a limit of 1 to 200)",
            )
        }
    };
    if let Some(left) = s.faults.throttle.get_mut(&page).filter(|n| **n > 0) {
        *left -= 1;
        return okta_error(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        );
    }
    let failing_here = s.faults.failing_listing.as_ref() == Some(&(path.to_string(), page));
    if s.faults.failing_page == Some(page) || failing_here {
        return okta_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "E0000009",
            "Internal Server Error",
        );
    }
    let size = limit.min(s.page_cap);
    let body: Vec<Value> = items.iter().skip(offset).take(size).cloned().collect();
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let mut links = vec![format!("<http://{host}{path}?limit={limit}>; rel=\"self\"")];
    if offset + size < items.len() {
        let after = opaque();
        s.cursors
            .insert(after.clone(), (path.to_string(), offset + size, page + 1));
        let carried = changes::carried(query);
        links.push(format!(
            "<http://{host}{path}?after={after}&limit={limit}{carried}>; rel=\"next\""
        ));
    }
    let mut response = Json(body).into_response();
    for link in links {
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().append("link", value);
        }
    }
    response
}
