//! A Microsoft Graph and Entra ID login test server (axum, 127.0.0.1), as strict as the real
//! ones on what dirsync uses: the client-credentials token endpoint with Entra's `AADSTS`
//! error bodies, `/v1.0/users` and `/v1.0/groups/{id}/transitiveMembers/microsoft.graph.user`
//! with `$select` / `$top` checks, `/v1.0/groups` and `/v1.0/groups/{id}` (extension groups), opaque `@odata.nextLink` cursors, Graph error bodies, and
//! injected faults; user photos and JSON batching in `graph_server_photos.rs`, change tracking
//! (`users/delta`, `groups/delta`) in `graph_server_delta.rs`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::cloud_server::{lock, opaque, serve, Logged, Running};

#[path = "graph_server_groups.rs"]
mod groups;
#[path = "graph_server_write.rs"]
mod write;
use groups::{bad_select, group, groups, not_found, pick, GROUPS, USERS};
#[path = "graph_server_delta.rs"]
mod delta;
#[path = "graph_server_photos.rs"]
mod photos;
#[path = "graph_server_tracking.rs"]
mod tracking;
pub use delta::{DeltaState, DELTA_PAGE_SIZE, GROUPS_DELTA, USERS_DELTA};
pub use photos::{GraphPhoto, BATCH_LIMIT, BATCH_PATH};
pub use write::USER_WRITE_ROLE;

pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
/// Properties of `microsoft.graph.user` the server knows; any other `$select` is a 400.
pub(crate) const USER_PROPERTIES: [&str; 14] = [
    "id",
    "accountEnabled",
    "userType",
    "givenName",
    "surname",
    "mail",
    "userPrincipalName",
    "mobilePhone",
    "businessPhones",
    "displayName",
    "department",
    "jobTitle",
    "officeLocation",
    "employeeId",
];

/// A member of a group: a user or a nested group.
#[derive(Debug, Clone)]
pub enum Member {
    User(String),
    Group(String),
}

/// Misbehaviour, by page index within a listing (0 = first page).
#[derive(Debug, Clone, Default)]
pub struct GraphFaults {
    /// Page -> how many times it answers 429 with `Retry-After: retry_after_secs` first.
    pub throttle: HashMap<usize, u32>,
    /// Page -> how many times it answers 503 with `Retry-After: retry_after_secs` first.
    pub unavailable: HashMap<usize, u32>,
    pub retry_after_secs: u64,
    /// How many token requests answer 503 (`Retry-After: retry_after_secs`) before one works.
    pub token_unavailable: u32,
    /// The host next-page links name instead of the server's own (a hostile or broken API).
    pub next_link_host: Option<String>,
    /// A page that always answers 503.
    pub failing_page: Option<usize>,
    /// A page of one listing (its path) that always answers 503.
    pub failing_listing: Option<(String, usize)>,
    /// When this page is first asked for, every issued token expires (401 on that request).
    pub expire_tokens_at_page: Option<usize>,
}

/// The directory and the app registration the server holds.
#[derive(Debug, Clone)]
pub struct GraphState {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub secret_expired: bool,
    /// False: the app has no service principal / consent in the tenant (AADSTS7000229).
    pub consented: bool,
    pub token_lifetime_secs: u64,
    /// The most users a page holds, whatever `$top` asks (Graph may send fewer).
    pub page_cap: usize,
    /// Users as Graph holds them: every property, in listing order.
    pub users: Vec<Map<String, Value>>,
    pub groups: HashMap<String, Vec<Member>>,
    /// Group id -> display name (default `Group {id}`).
    pub group_names: HashMap<String, String>,
    pub faults: GraphFaults,
    pub tokens: HashSet<String>,
    pub tokens_issued: usize,
    /// The application permissions (app roles) granted to the app; a token carries those
    /// granted when it was issued.
    pub roles: Vec<String>,
    pub(crate) token_roles: HashMap<String, Vec<String>>,
    /// `PATCH /v1.0/users/{id}` bodies that were applied: (user id, body).
    pub patches: Vec<(String, Value)>,
    /// Listing requests (not token requests), in arrival order.
    pub log: Vec<Logged>,
    /// The `$select` of each first page, as sent.
    pub selects: Vec<String>,
    /// User id -> photo (see `set_photo`).
    pub photos: HashMap<String, GraphPhoto>,
    /// User id -> how many of its photo metadata requests inside a batch answer 429 first.
    pub photo_throttle: HashMap<String, u32>,
    /// The number of requests of each `$batch` accepted.
    pub batch_sizes: Vec<usize>,
    photo_versions: u64,
    /// Change tracking (`users/delta`, `groups/delta`) and the recycle bin.
    pub delta: DeltaState,
    cursors: HashMap<String, Cursor>,
    expired_once: bool,
    /// What change tracking last saw of `users` and `groups` (see `graph_server_tracking.rs`).
    seen: Option<tracking::Seen>,
}

#[derive(Debug, Clone)]
struct Cursor {
    listing: String,
    query: String,
    offset: usize,
    page: usize,
}

/// A user with the usual properties; adjust the map for odd cases.
pub fn graph_user(n: u32) -> Map<String, Value> {
    let user = json!({
        "id": format!("00000000-0000-4000-a000-{n:012}"),
        "accountEnabled": true,
        "userType": "Member",
        "displayName": format!("Given{n} Family{n}"),
        "givenName": format!("Given{n}"),
        "surname": format!("Family{n}"),
        "mail": format!("user{n}@contoso.com"),
        "userPrincipalName": format!("user{n}@contoso.onmicrosoft.com"),
        "mobilePhone": format!("+1 555 01{:02}", n % 100),
        "businessPhones": [format!("{}", 1000 + n)],
        "department": "Sales",
    });
    user.as_object().cloned().unwrap_or_default()
}

pub fn graph_user_id(n: u32) -> String {
    format!("00000000-0000-4000-a000-{n:012}")
}

impl GraphState {
    pub fn new(users: Vec<Map<String, Value>>) -> Self {
        Self {
            tenant_id: "contoso.onmicrosoft.com".into(),
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            client_secret: "graph-secret-Zq8~very-secret-value".into(),
            secret_expired: false,
            consented: true,
            token_lifetime_secs: 3599,
            page_cap: 999,
            users,
            groups: HashMap::new(),
            group_names: HashMap::new(),
            faults: GraphFaults::default(),
            tokens: HashSet::new(),
            tokens_issued: 0,
            roles: vec!["User.Read.All".into(), "GroupMember.Read.All".into()],
            token_roles: HashMap::new(),
            patches: Vec::new(),
            log: Vec::new(),
            selects: Vec::new(),
            photos: HashMap::new(),
            photo_throttle: HashMap::new(),
            batch_sizes: Vec::new(),
            photo_versions: 0,
            delta: DeltaState::default(),
            cursors: HashMap::new(),
            expired_once: false,
            seen: None,
        }
    }
}

pub struct GraphServer {
    pub state: Arc<Mutex<GraphState>>,
    running: Running,
}

impl GraphServer {
    pub async fn start(state: GraphState) -> Self {
        let state = Arc::new(Mutex::new(state));
        let router = Router::new()
            .route(
                "/{tenant}/oauth2/v2.0/token",
                post(crate::graph_login::token),
            )
            .route("/v1.0/users", get(users))
            .route(delta::USERS_DELTA, get(delta::users_delta))
            .route(delta::GROUPS_DELTA, get(delta::groups_delta))
            .route("/v1.0/users/{id}/photo", get(photos::photo))
            .route("/v1.0/users/{id}/photo/$value", get(photos::photo_value))
            .route(photos::BATCH_PATH, post(photos::batch))
            .route(
                "/v1.0/users/{id}",
                patch(write::patch_user).get(delta::get_user),
            )
            .route("/v1.0/groups", get(groups))
            .route("/v1.0/groups/{id}", get(group))
            .route(
                "/v1.0/groups/{id}/transitiveMembers/microsoft.graph.user",
                get(group_users),
            )
            .with_state(state.clone());
        let running = serve(router).await;
        Self { state, running }
    }

    /// What `DIRSYNC_LOGIN_URL` and `DIRSYNC_GRAPH_URL` point at.
    pub fn url(&self) -> String {
        format!("http://{}", self.running.addr)
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut GraphState) -> R) -> R {
        f(&mut lock(&self.state))
    }
}

pub(crate) fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {"code": code, "message": message, "innerError": {
        "date": "2026-01-01T00:00:00", "request-id": uuid::Uuid::new_v4().to_string(),
        "client-request-id": uuid::Uuid::new_v4().to_string()}}});
    (status, Json(body)).into_response()
}

async fn users(
    State(state): State<Arc<Mutex<GraphState>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    let all = s.users.clone();
    listing(&mut s, USERS, &headers, &query, all)
}

async fn group_users(
    State(state): State<Arc<Mutex<GraphState>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    let path = format!("/v1.0/groups/{id}/transitiveMembers/microsoft.graph.user");
    if !s.groups.contains_key(&id) {
        if let Some(denied) = denial(&s, &headers) {
            return denied;
        }
        return not_found(&id);
    }
    let members = transitive_users(&s, &id)
        .into_iter()
        .map(|at| s.users[at].clone())
        .collect();
    listing(&mut s, &path, &headers, &query, members)
}

/// The users of a group and of its nested groups, each once (indices into `users`).
fn transitive_users(s: &GraphState, group: &str) -> Vec<usize> {
    let mut ids: Vec<String> = Vec::new();
    let mut seen_groups = HashSet::from([group.to_string()]);
    let mut queue = VecDeque::from([group.to_string()]);
    while let Some(g) = queue.pop_front() {
        for member in s.groups.get(&g).into_iter().flatten() {
            match member {
                Member::User(id) if !ids.contains(id) => ids.push(id.clone()),
                Member::Group(inner) if seen_groups.insert(inner.clone()) => {
                    queue.push_back(inner.clone())
                }
                _ => {}
            }
        }
    }
    ids.iter()
        .filter_map(|id| s.users.iter().position(|u| u["id"] == json!(id)))
        .collect()
}

/// The 401 a request without a live token gets.
pub(crate) fn denial(s: &GraphState, headers: &HeaderMap) -> Option<Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token {
        None => Some(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        )),
        Some(t) if !s.tokens.contains(t) => Some(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        )),
        Some(_) => None,
    }
}

/// One page of `items` (indices into `users`), after the auth, parameter and fault checks.
fn listing(
    s: &mut GraphState,
    path: &str,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    items: Vec<Map<String, Value>>,
) -> Response {
    let raw_query: String = {
        let mut pairs: Vec<_> = query.iter().filter(|(k, _)| *k != "$skiptoken").collect();
        pairs.sort();
        format!("{pairs:?}")
    };
    let cursor = match query.get("$skiptoken") {
        Some(token) => s
            .cursors
            .get(token)
            .filter(|c| c.listing == path && c.query == raw_query)
            .map(|c| Some(c.clone()))
            .ok_or(()),
        None => Ok(None),
    };
    let page = cursor
        .as_ref()
        .ok()
        .and_then(Option::as_ref)
        .map_or(0, |c| c.page);
    let mut logged = Logged::now(path, Some(page));
    let response = page_response(s, path, headers, query, &raw_query, cursor, items, page);
    logged.status = response.status().as_u16();
    logged.retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    s.log.push(logged);
    response
}

#[allow(clippy::too_many_arguments)]
fn page_response(
    s: &mut GraphState,
    path: &str,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    raw_query: &str,
    cursor: Result<Option<Cursor>, ()>,
    items: Vec<Map<String, Value>>,
    page: usize,
) -> Response {
    if s.faults.expire_tokens_at_page == Some(page) && !s.expired_once {
        s.expired_once = true;
        s.tokens.clear();
    }
    if let Some(denied) = denial(s, headers) {
        return denied;
    }
    let Ok(cursor) = cursor else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "Invalid paging token: the $skiptoken is not one this listing issued.",
        );
    };
    let Some(select) = query.get("$select") else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "dirsync must name the properties it reads: $select is required by this test server.",
        );
    };
    let top = match query.get("$top").map(|t| t.parse::<usize>()) {
        Some(Ok(top)) if (1..=999).contains(&top) => top,
        Some(_) => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "Invalid page size specified. Must be between 1 and 999 inclusive.",
            )
        }
        None => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "$top is required by this test server.",
            )
        }
    };
    // A bad `$select` is a 400 before any page is served.
    if let Some(response) = bad_select(select, path) {
        return response;
    }
    let throttled = [
        (
            &mut s.faults.throttle,
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
        ),
        (
            &mut s.faults.unavailable,
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceNotAvailable",
        ),
    ];
    for (faults, status, code) in throttled {
        if let Some(left) = faults.get_mut(&page).filter(|n| **n > 0) {
            *left -= 1;
            let mut response = graph_error(status, code, "Too many requests, please retry later.");
            let after = s.faults.retry_after_secs.to_string();
            if let Ok(value) = after.parse() {
                response.headers_mut().insert("retry-after", value);
            }
            return response;
        }
    }
    let failing_here = s.faults.failing_listing.as_ref() == Some(&(path.to_string(), page));
    if s.faults.failing_page == Some(page) || failing_here {
        return graph_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceNotAvailable",
            "The service is temporarily unavailable.",
        );
    }
    if cursor.is_none() {
        s.selects.push(select.clone());
    }
    let offset = cursor.as_ref().map_or(0, |c| c.offset);
    let size = top.min(s.page_cap);
    let value = items
        .iter()
        .skip(offset)
        .take(size)
        .map(|object| pick(object, select))
        .collect::<Vec<Value>>();
    let mut body = json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#{}({select})",
            if path == GROUPS { "groups" } else { "users" }),
        "value": value,
    });
    if offset + size < items.len() {
        let token = opaque();
        s.cursors.insert(
            token.clone(),
            Cursor {
                listing: path.to_string(),
                query: raw_query.to_string(),
                offset: offset + size,
                page: page + 1,
            },
        );
        let own_host = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        let host = s.faults.next_link_host.as_deref().unwrap_or(own_host);
        let mut next = url::Url::parse(&format!("http://{host}{path}")).expect("listing url");
        next.query_pairs_mut()
            .append_pair("$select", select)
            .append_pair("$top", &top.to_string())
            .append_pair("$skiptoken", &token);
        body["@odata.nextLink"] = json!(next.to_string());
    }
    Json(body).into_response()
}
