//! The Graph test server's change tracking, as strict as Graph on what dirsync uses:
//! `GET /v1.0/users/delta` and `/v1.0/groups/delta` rounds (the initial round, `$deltatoken=latest`
//! "sync from now", opaque `$skiptoken` next links and `$deltatoken` delta links that carry the
//! first request's `$select`, at most 200 objects a page), changed users with only `id` and
//! their changed selected properties, `@removed` with reason `changed` or `deleted`,
//! `members@delta` on groups, 410 `resyncRequired` for a token it does not know and 400
//! `syncStateNotFound` for an expired one; `GET /v1.0/users/{id}` (also inside `$batch`), and
//! the mutations tests make between reads.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::groups::{bad_select, not_found, pick};
use super::{denial, graph_error, transitive_users, GraphState, Member};
use crate::cloud_server::{lock, opaque, Logged};

/// Graph's page of a users or groups delta round (it may send fewer).
pub const DELTA_PAGE_SIZE: usize = 200;
pub const USERS_DELTA: &str = "/v1.0/users/delta";
pub const GROUPS_DELTA: &str = "/v1.0/groups/delta";
/// What a groups delta may select.
const GROUP_DELTA_PROPERTIES: [&str; 6] = [
    "id",
    "displayName",
    "description",
    "mail",
    "securityEnabled",
    "members",
];

/// One change, in the order made.
#[derive(Debug, Clone)]
enum Change {
    /// These properties of the user were set (all of them for a new user).
    User { id: String, properties: Vec<String> },
    /// The user left the directory: `deleted` (for good) or `changed` (the recycle bin, or
    /// out of the delta's scope).
    UserRemoved { id: String, reason: &'static str },
    Group {
        id: String,
        added: Vec<Member>,
        removed: Vec<Member>,
    },
}

#[derive(Debug, Clone)]
struct Token {
    users: bool,
    select: String,
    /// Changes after this many are the next round's.
    seen: usize,
    expired: bool,
}

/// A round being paged: its objects fixed when it started.
#[derive(Debug, Clone)]
struct Round {
    users: bool,
    select: String,
    objects: Vec<Value>,
    offset: usize,
    /// The changes made when the round started: its delta link continues from there.
    seen: usize,
    page: usize,
}

/// The change-tracking state of a [`GraphState`].
#[derive(Debug, Clone)]
pub struct DeltaState {
    /// The most objects a delta page holds.
    pub page_cap: usize,
    /// How many delta requests answer 429 (`Retry-After: faults.retry_after_secs`) first.
    pub throttle: u32,
    /// Users in the recycle bin (soft-deleted): not listed, not found, restorable.
    pub recycle_bin: Vec<Map<String, Value>>,
    /// Delta requests, kept apart from the listings' `log` (whose pages tests count).
    pub log: Vec<Logged>,
    changes: Vec<Change>,
    tokens: HashMap<String, Token>,
    rounds: HashMap<String, Round>,
}

impl Default for DeltaState {
    fn default() -> Self {
        Self {
            page_cap: DELTA_PAGE_SIZE,
            throttle: 0,
            recycle_bin: Vec::new(),
            log: Vec::new(),
            changes: Vec::new(),
            tokens: HashMap::new(),
            rounds: HashMap::new(),
        }
    }
}

impl GraphState {
    /// Sets the user's properties (`null` clears one), as an admin or a sync would.
    pub fn update_user(&mut self, id: &str, properties: Value) {
        self.catch_up();
        let Some(user) = self.users.iter_mut().find(|u| u["id"] == id) else {
            panic!("no user {id}");
        };
        let Value::Object(properties) = properties else {
            panic!("properties are an object");
        };
        for (name, value) in &properties {
            user.insert(name.clone(), value.clone());
        }
        self.record_user_change(id, properties.keys().cloned().collect());
        self.mark_seen();
    }

    /// Records that these properties of user `id` changed (a `PATCH` did it).
    pub(crate) fn record_user_change(&mut self, id: &str, properties: Vec<String>) {
        self.delta.changes.push(Change::User {
            id: id.to_string(),
            properties,
        });
    }

    /// Records that user `id` left the delta (`deleted` or `changed`).
    pub(crate) fn record_user_removed(&mut self, id: &str, reason: &'static str) {
        self.delta.changes.push(Change::UserRemoved {
            id: id.to_string(),
            reason,
        });
    }

    /// Records that these direct members came to or left the group.
    pub(crate) fn record_group_change(
        &mut self,
        id: &str,
        added: Vec<Member>,
        removed: Vec<Member>,
    ) {
        self.delta.changes.push(Change::Group {
            id: id.to_string(),
            added,
            removed,
        });
    }

    /// A new user, at the end of the listing.
    pub fn add_user(&mut self, user: Map<String, Value>) {
        self.catch_up();
        let id = user["id"].as_str().unwrap_or_default().to_string();
        let properties = user.keys().cloned().collect();
        self.users.push(user);
        self.delta.changes.push(Change::User { id, properties });
        self.mark_seen();
    }

    /// Deletes the user: into the recycle bin (`@removed` reason `changed`), or for good
    /// (`deleted`). It leaves its groups either way.
    pub fn delete_user(&mut self, id: &str, for_good: bool) {
        self.catch_up();
        let at = self
            .users
            .iter()
            .position(|u| u["id"] == id)
            .unwrap_or_else(|| panic!("no user {id}"));
        let user = self.users.remove(at);
        if !for_good {
            self.delta.recycle_bin.push(user);
        }
        let reason = if for_good { "deleted" } else { "changed" };
        self.record_user_removed(id, reason);
        self.mark_seen();
    }

    /// Graph reports the user `@removed` with reason `changed` although it still exists (as
    /// it does for an object that moved out of the delta's scope).
    pub fn report_removed(&mut self, id: &str) {
        self.catch_up();
        self.record_user_removed(id, "changed");
    }

    /// Replaces the group's direct members.
    pub fn set_members(&mut self, group: &str, members: Vec<Member>) {
        self.catch_up();
        let old = self.groups.insert(group.to_string(), members.clone());
        let old = old.unwrap_or_default();
        self.mark_seen();
        let key = |m: &Member| format!("{m:?}");
        let old_keys: HashSet<String> = old.iter().map(key).collect();
        let new_keys: HashSet<String> = members.iter().map(key).collect();
        self.delta.changes.push(Change::Group {
            id: group.to_string(),
            added: members
                .into_iter()
                .filter(|m| !old_keys.contains(&key(m)))
                .collect(),
            removed: old
                .into_iter()
                .filter(|m| !new_keys.contains(&key(m)))
                .collect(),
        });
    }

    /// Every delta link issued so far expires (as after Graph's seven days).
    pub fn expire_delta_tokens(&mut self) {
        for token in self.delta.tokens.values_mut() {
            token.expired = true;
        }
    }

    /// Every request answered but the token requests, delta ones included, in arrival order.
    pub fn requests(&self) -> Vec<Logged> {
        let mut all: Vec<Logged> = self.log.iter().chain(&self.delta.log).cloned().collect();
        all.sort_by_key(|l| l.at);
        all
    }
}

pub(super) async fn users_delta(
    State(state): State<Arc<Mutex<GraphState>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    delta(&state, true, &headers, &query)
}

pub(super) async fn groups_delta(
    State(state): State<Arc<Mutex<GraphState>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    delta(&state, false, &headers, &query)
}

fn delta(
    state: &Mutex<GraphState>,
    users: bool,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Response {
    let mut s = lock(state);
    // Whatever a test changed straight on the state is a change Graph would report.
    s.catch_up();
    let path = if users { USERS_DELTA } else { GROUPS_DELTA };
    let mut logged = Logged::now(path, None);
    let (response, page) = delta_response(&mut s, users, headers, query);
    logged.page = page;
    logged.status = response.status().as_u16();
    logged.retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    s.delta.log.push(logged);
    response
}

fn bad_request(message: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
}

fn delta_response(
    s: &mut GraphState,
    users: bool,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> (Response, Option<usize>) {
    if let Some(denied) = denial(s, headers) {
        return (denied, None);
    }
    if s.delta.throttle > 0 {
        s.delta.throttle -= 1;
        let mut response = graph_error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests, please retry later.",
        );
        if let Ok(value) = s.faults.retry_after_secs.to_string().parse() {
            response.headers_mut().insert("retry-after", value);
        }
        return (response, None);
    }
    let path = if users { USERS_DELTA } else { GROUPS_DELTA };
    let state_tokens = ["$skiptoken", "$deltatoken"];
    let token = state_tokens
        .iter()
        .find_map(|t| query.get(*t).map(|v| (*t, v)));
    let others = query.keys().filter(|k| !state_tokens.contains(&k.as_str()));
    match token {
        // A state token carries the round's parameters: nothing may be added to it.
        Some((_, value)) if value != "latest" && others.count() > 0 => (
            bad_request("Subsequent delta requests cannot change the query parameters."),
            None,
        ),
        Some(("$skiptoken", value)) => match s.delta.rounds.get(value).cloned() {
            Some(round) if round.users == users => {
                s.delta.rounds.remove(value);
                let page = round.page;
                (serve_page(s, path, headers, round), Some(page))
            }
            _ => (gone(headers, path), None),
        },
        Some((_, value)) if value != "latest" => match s.delta.tokens.get(value).cloned() {
            Some(token) if token.users == users && token.expired => (
                graph_error(
                    StatusCode::BAD_REQUEST,
                    "syncStateNotFound",
                    "The sync state generation is not found. The delta token is expired and \
                     data must be synchronized again.",
                ),
                None,
            ),
            Some(token) if token.users == users => {
                let objects = changes_since(s, users, &token);
                let round = Round {
                    users,
                    select: token.select,
                    objects,
                    offset: 0,
                    seen: s.delta.changes.len(),
                    page: 0,
                };
                (serve_page(s, path, headers, round), Some(0))
            }
            _ => (gone(headers, path), None),
        },
        // The first request of a round: the whole collection, or "sync from now".
        _ => {
            let Some(select) = query.get("$select").cloned() else {
                return (
                    bad_request(
                        "dirsync must name the properties it tracks: $select is required by \
                         this test server.",
                    ),
                    None,
                );
            };
            if let Some(bad) = bad_delta_select(&select, users) {
                return (bad, None);
            }
            let latest = token.is_some();
            let objects = if latest {
                Vec::new()
            } else if users {
                s.users.iter().map(|u| set_properties(u, &select)).collect()
            } else {
                let mut ids: Vec<String> = s.groups.keys().cloned().collect();
                ids.sort();
                ids.iter().map(|id| group_entry(s, id, &select)).collect()
            };
            let round = Round {
                users,
                select,
                objects,
                offset: 0,
                seen: s.delta.changes.len(),
                page: 0,
            };
            (serve_page(s, path, headers, round), Some(0))
        }
    }
}

fn bad_delta_select(select: &str, users: bool) -> Option<Response> {
    if users {
        return bad_select(select, "/v1.0/users");
    }
    let unknown = select
        .split(',')
        .map(str::trim)
        .find(|p| !GROUP_DELTA_PROPERTIES.contains(p))?;
    Some(bad_request(&format!(
        "Could not find a property named '{unknown}' on type 'Microsoft.DirectoryServices.Group'."
    )))
}

/// Graph's synchronization reset: the token means nothing (any more), start again.
fn gone(headers: &HeaderMap, path: &str) -> Response {
    let mut response = graph_error(
        StatusCode::GONE,
        "resyncRequired",
        "Resync required. Replace any local cached copies of the data with a full \
         synchronization, then track changes from the new delta link.",
    );
    if let Ok(location) = format!("http://{}{path}?$deltatoken=", host(headers)).parse() {
        response.headers_mut().insert("location", location);
    }
    response
}

fn host(headers: &HeaderMap) -> String {
    headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string()
}

/// The user's selected properties that are set: Graph leaves out those never set.
fn set_properties(user: &Map<String, Value>, select: &str) -> Value {
    let Value::Object(mut picked) = pick(user, select) else {
        return Value::Null;
    };
    picked.retain(|name, value| name == "id" || user.contains_key(name) && !value.is_null());
    Value::Object(picked)
}

fn group_entry(s: &GraphState, id: &str, select: &str) -> Value {
    let name = s
        .group_names
        .get(id)
        .cloned()
        .unwrap_or(format!("Group {id}"));
    let mut entry = json!({"id": id});
    if select.split(',').any(|p| p.trim() == "displayName") {
        entry["displayName"] = json!(name);
    }
    if select.split(',').any(|p| p.trim() == "members") {
        let members = s.groups.get(id).cloned().unwrap_or_default();
        entry["members@delta"] = json!(members.iter().map(member_ref).collect::<Vec<_>>());
    }
    entry
}

fn member_ref(member: &Member) -> Value {
    match member {
        Member::User(id) => json!({"@odata.type": "#microsoft.graph.user", "id": id}),
        Member::Group(id) => json!({"@odata.type": "#microsoft.graph.group", "id": id}),
    }
}

/// The objects a round from `token` reports: each changed object once, with `id` and its
/// changed selected properties only (all set ones when new), or `@removed`.
fn changes_since(s: &GraphState, users: bool, token: &Token) -> Vec<Value> {
    let selected: Vec<&str> = token.select.split(',').map(str::trim).collect();
    let mut order: Vec<String> = Vec::new();
    let mut changed: HashMap<String, HashSet<String>> = HashMap::new();
    let mut removed: HashMap<String, &'static str> = HashMap::new();
    let mut members: HashMap<String, Vec<Value>> = HashMap::new();
    for change in &s.delta.changes[token.seen.min(s.delta.changes.len())..] {
        let id = match change {
            Change::User { id, .. } | Change::UserRemoved { id, .. } if users => id,
            Change::Group { id, .. } if !users => id,
            _ => continue,
        };
        if !order.contains(id) {
            order.push(id.clone());
        }
        match change {
            Change::User { id, properties } => {
                removed.remove(id);
                changed
                    .entry(id.clone())
                    .or_default()
                    .extend(properties.iter().cloned());
            }
            Change::UserRemoved { id, reason } => {
                removed.insert(id.clone(), reason);
            }
            Change::Group { id, added, removed } => {
                let list = members.entry(id.clone()).or_default();
                list.extend(added.iter().map(member_ref));
                list.extend(removed.iter().map(|m| {
                    let mut gone = member_ref(m);
                    gone["@removed"] = json!({"reason": "deleted"});
                    gone
                }));
            }
        }
    }
    let mut objects = Vec::new();
    for id in order {
        if !users {
            let mut entry = json!({"id": id});
            if selected.contains(&"members") {
                entry["members@delta"] = json!(members.remove(&id).unwrap_or_default());
            }
            objects.push(entry);
            continue;
        }
        let current = s.users.iter().find(|u| u["id"] == id.as_str());
        match (removed.get(&id), current) {
            (Some(reason), _) => objects.push(json!({"id": id, "@removed": {"reason": reason}})),
            (None, Some(user)) => {
                let names = changed.remove(&id).unwrap_or_default();
                let mut entry = Map::from_iter([("id".to_string(), json!(id))]);
                for name in names.iter().filter(|n| selected.contains(&n.as_str())) {
                    entry.insert(name.clone(), user.get(name).cloned().unwrap_or(Value::Null));
                }
                // A change to properties not selected is not tracked.
                if entry.len() > 1 {
                    objects.push(Value::Object(entry));
                }
            }
            (None, None) => {}
        }
    }
    objects
}

/// One page of `round`: a next link while objects remain, else the delta link.
fn serve_page(s: &mut GraphState, path: &str, headers: &HeaderMap, mut round: Round) -> Response {
    let size = s.delta.page_cap.max(1);
    let value: Vec<Value> = round
        .objects
        .iter()
        .skip(round.offset)
        .take(size)
        .cloned()
        .collect();
    let kind = if round.users { "users" } else { "groups" };
    let mut body = json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#{kind}({})", round.select),
        "value": value,
    });
    let base = format!("http://{}{path}", host(headers));
    round.offset += size;
    if round.offset < round.objects.len() {
        let token = opaque();
        round.page += 1;
        s.delta.rounds.insert(token.clone(), round);
        body["@odata.nextLink"] = json!(format!("{base}?$skiptoken={token}"));
    } else {
        let token = opaque();
        s.delta.tokens.insert(
            token.clone(),
            Token {
                users: round.users,
                select: round.select,
                seen: round.seen,
                expired: false,
            },
        );
        body["@odata.deltaLink"] = json!(format!("{base}?$deltatoken={token}"));
    }
    Json(body).into_response()
}

/// `GET /v1.0/users/{id}` with its `$select` (required here): status and body.
pub(super) fn lookup(s: &GraphState, id: &str, select: Option<&str>) -> (StatusCode, Value) {
    let Some(user) = s.users.iter().find(|u| u["id"] == id) else {
        let body = json!({"error": {"code": "Request_ResourceNotFound",
            "message": format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present.")}});
        return (StatusCode::NOT_FOUND, body);
    };
    let Some(select) = select else {
        return (
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "Request_BadRequest",
                "message": "dirsync must name the properties it reads: $select is required by this test server."}}),
        );
    };
    if bad_select(select, "/v1.0/users").is_some() {
        return (
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "Request_BadRequest",
                "message": "Could not find a property named in $select on type 'Microsoft.DirectoryServices.User'."}}),
        );
    }
    let mut body = pick(user, select);
    body["@odata.context"] = json!(format!(
        "https://graph.microsoft.com/v1.0/$metadata#users({select})/$entity"
    ));
    (StatusCode::OK, body)
}

pub(super) async fn get_user(
    State(state): State<Arc<Mutex<GraphState>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    let mut logged = Logged::now(&format!("/v1.0/users/{id}"), None);
    let response = match denial(&s, &headers) {
        Some(denied) => denied,
        None => {
            let (status, body) = lookup(&s, &id, query.get("$select").map(String::as_str));
            if status == StatusCode::NOT_FOUND {
                not_found(&id)
            } else {
                (status, Json(body)).into_response()
            }
        }
    };
    logged.status = response.status().as_u16();
    s.log.push(logged);
    response
}

/// `POST /v1.0/users/{id}/checkMemberGroups` (batched only here): which of the (at most 20)
/// `groupIds` the user is in, nested groups followed.
pub(super) fn check_member_groups(
    s: &GraphState,
    id: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let Some(at) = s.users.iter().position(|u| u["id"] == id) else {
        let body = json!({"error": {"code": "Request_ResourceNotFound",
            "message": format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present.")}});
        return (StatusCode::NOT_FOUND, body);
    };
    let ids = body
        .and_then(|b| b.get("groupIds"))
        .and_then(Value::as_array)
        .filter(|ids| !ids.is_empty() && ids.len() <= 20);
    let Some(ids) = ids else {
        return (
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "Request_BadRequest",
                "message": "groupIds must hold between 1 and 20 group ids."}}),
        );
    };
    let member_of: Vec<&Value> = ids
        .iter()
        .filter(|g| {
            g.as_str()
                .is_some_and(|g| transitive_users(s, g).contains(&at))
        })
        .collect();
    (
        StatusCode::OK,
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)",
               "value": member_of}),
    )
}
