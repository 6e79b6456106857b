//! The Graph test server's groups: `/v1.0/groups` and `/v1.0/groups/{id}` with Graph's
//! `$select` rules, and the `$select` picking shared with the user listings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::{denial, graph_error, listing, GraphState, USER_PROPERTIES};
use crate::cloud_server::{lock, Logged};

/// Properties of `microsoft.graph.group` the server knows.
const GROUP_PROPERTIES: [&str; 5] = [
    "id",
    "displayName",
    "description",
    "mail",
    "securityEnabled",
];

/// Every group, sorted by id (Graph's order is its own).
pub(super) async fn groups(
    State(state): State<Arc<Mutex<GraphState>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    let mut ids: Vec<&String> = s.groups.keys().collect();
    ids.sort();
    let all = ids.into_iter().map(|id| group_object(&s, id)).collect();
    listing(&mut s, GROUPS, &headers, &query, all)
}

/// One group with the `$select`ed properties (required here, as for the listings).
pub(super) async fn group(
    State(state): State<Arc<Mutex<GraphState>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    let mut logged = Logged::now(&format!("/v1.0/groups/{id}"), None);
    let response = match (denial(&s, &headers), query.get("$select")) {
        (Some(denied), _) => denied,
        (None, _) if !s.groups.contains_key(&id) => not_found(&id),
        (None, None) => graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "dirsync must name the properties it reads: $select is required by this test server.",
        ),
        (None, Some(select)) => bad_select(select, &format!("/v1.0/groups/{id}"))
            .unwrap_or_else(|| Json(pick(&group_object(&s, &id), select)).into_response()),
    };
    logged.status = response.status().as_u16();
    s.log.push(logged);
    response
}

fn group_object(s: &GraphState, id: &str) -> Map<String, Value> {
    let name = s
        .group_names
        .get(id)
        .cloned()
        .unwrap_or(format!("Group {id}"));
    let group = json!({"id": id, "displayName": name, "description": null, "mail": null,
        "securityEnabled": true});
    group.as_object().cloned().unwrap_or_default()
}

pub(super) fn not_found(id: &str) -> Response {
    graph_error(StatusCode::NOT_FOUND, "Request_ResourceNotFound",
        &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."))
}

pub(super) const USERS: &str = "/v1.0/users";
pub(super) const GROUPS: &str = "/v1.0/groups";

/// Graph's 400 for a `$select`ed property the listed type (users, or groups on the groups
/// endpoints) does not have.
pub(super) fn bad_select(select: &str, path: &str) -> Option<Response> {
    let groups =
        path == GROUPS || path.starts_with("/v1.0/groups/") && !path.contains("/transitiveMembers");
    let (known, type_name): (&[&str], _) = if groups {
        (&GROUP_PROPERTIES, "Group")
    } else {
        (&USER_PROPERTIES, "User")
    };
    let unknown = select
        .split(',')
        .map(str::trim)
        .find(|p| !known.contains(p))?;
    Some(graph_error(StatusCode::BAD_REQUEST, "Request_BadRequest",
        &format!("Could not find a property named '{unknown}' on type 'Microsoft.DirectoryServices.{type_name}'.")))
}

/// The `$select`ed properties of `object`.
pub(super) fn pick(object: &Map<String, Value>, select: &str) -> Value {
    let selected: Vec<&str> = select.split(',').map(str::trim).collect();
    let picked: Map<String, Value> = selected
        .iter()
        .map(|p| {
            let default = if *p == "businessPhones" {
                json!([])
            } else {
                Value::Null
            };
            (p.to_string(), object.get(*p).cloned().unwrap_or(default))
        })
        .collect();
    Value::Object(picked)
}
