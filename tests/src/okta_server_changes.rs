//! What the Okta test server serves for change-only reads, as strictly as Okta: `filter` (and
//! `search`) expressions on `/api/v1/users` (`lastUpdated gt "..."`, `status eq "..."`, ...;
//! bad syntax is 400 E0000031), and the System Log `/api/v1/logs` with `since`/`until`
//! (ISO 8601, inside the retention: 400 E0000001 otherwise), an `eventType eq "..."` filter,
//! `limit` 1 to 1000, `sortOrder`, and `Link: rel="next"` paging (always a next link while
//! polling without `until`, as Okta does). Also the directory changes a test makes: profile
//! updates, suspensions, deactivations and deletions, each with the events Okta logs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::filter::{matches, okta_time, parse, EVENT_ATTRIBUTES, USER_ATTRIBUTES};
use super::{authorized, count_request, okta_error, with_rate_headers, OktaState};
use crate::cloud_server::{lock, opaque, Logged};

/// Okta's time format: UTC with milliseconds.
pub fn okta_now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The users a `/api/v1/users` request lists: without `filter`/`search` all but the
/// DEPROVISIONED (as Okta lists them); with one, every user it matches, DEPROVISIONED too.
pub(super) fn listed_users(
    s: &OktaState,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, Refused> {
    let expression = match (query.get("filter"), query.get("search")) {
        (None, None) => {
            return Ok(s
                .users
                .iter()
                .filter(|u| u["status"] != json!("DEPROVISIONED"))
                .cloned()
                .collect())
        }
        (Some(text), None) | (None, Some(text)) => text,
        (Some(_), Some(_)) => {
            return Err(invalid_search("filter and search cannot be combined"));
        }
    };
    let expression =
        parse(expression, USER_ATTRIBUTES).ok_or_else(|| invalid_search(expression))?;
    Ok(s.users
        .iter()
        .filter(|u| matches(&expression, u))
        .cloned()
        .collect())
}

/// A 400 with Okta's error code and summary.
pub(super) struct Refused {
    code: &'static str,
    summary: String,
}

impl Refused {
    pub(super) fn response(&self) -> Response {
        okta_error(StatusCode::BAD_REQUEST, self.code, &self.summary)
    }
}

fn invalid_search(what: &str) -> Refused {
    Refused {
        code: "E0000031",
        summary: format!("Invalid search criteria. {what}"),
    }
}

fn validation_failed(what: &str) -> Refused {
    Refused {
        code: "E0000001",
        summary: format!("Api validation failed: {what}"),
    }
}

/// `GET /api/v1/logs`.
pub(super) async fn logs(
    State(state): State<Arc<Mutex<OktaState>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    s.catch_up();
    let mut logged = Logged::now("/api/v1/logs", None);
    let (limit, remaining, reset, over) = count_request(&mut s);
    let response = if over {
        okta_error(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        )
    } else if !authorized(&s, &headers) {
        okta_error(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        )
    } else if !s.logs_readable {
        okta_error(
            StatusCode::FORBIDDEN,
            "E0000006",
            "You do not have permission to perform the requested action",
        )
    } else {
        log_page(&mut s, &headers, &query).unwrap_or_else(|refused| refused.response())
    };
    let response = with_rate_headers(response, limit, remaining, reset);
    logged.status = response.status().as_u16();
    logged.reset = Some(reset);
    logged.remaining = Some(remaining);
    s.log.push(logged);
    response
}

fn log_page(
    s: &mut OktaState,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Response, Refused> {
    let now = Utc::now();
    let time = |name: &str| -> Result<Option<DateTime<Utc>>, Refused> {
        query
            .get(name)
            .map(|v| okta_time(v).ok_or_else(|| validation_failed(name)))
            .transpose()
    };
    let since = time("since")?.unwrap_or(now - chrono::Duration::days(7));
    let until = time("until")?;
    if now - since > chrono::Duration::days(s.log_retention_days) {
        return Err(validation_failed(
            "since: the date is before the System Log's retention",
        ));
    }
    if until.is_some_and(|until| until < since) {
        return Err(validation_failed("until must not be before since"));
    }
    let expression = query
        .get("filter")
        .map(|f| parse(f, EVENT_ATTRIBUTES).ok_or_else(|| validation_failed("filter")))
        .transpose()?;
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(limit)) if (1..=1000).contains(&limit) => limit,
        _ => return Err(validation_failed("limit must be between 1 and 1000")),
    };
    let descending = match query.get("sortOrder").map(String::as_str) {
        None | Some("ASCENDING") => false,
        Some("DESCENDING") => true,
        Some(_) => return Err(validation_failed("sortOrder")),
    };
    let offset = match query.get("after") {
        None => 0,
        Some(after) => *s
            .log_cursors
            .get(after)
            .ok_or_else(|| validation_failed("after"))?,
    };
    let mut events: Vec<Value> = s
        .events
        .iter()
        .filter(|e| {
            let published = e["published"].as_str().and_then(okta_time);
            published.is_some_and(|p| p >= since && until.is_none_or(|until| p < until))
        })
        .filter(|e| expression.as_ref().is_none_or(|x| matches(x, e)))
        .cloned()
        .collect();
    if descending {
        events.reverse();
    }
    let page: Vec<Value> = events
        .iter()
        .skip(offset)
        .take(limit.min(s.page_cap))
        .cloned()
        .collect();
    let end = offset + page.len();
    let mut response = Json(page).into_response();
    // Polling (no `until`) always has a next link; a bounded read only while more remain.
    if until.is_none() || end < events.len() {
        let after = opaque();
        s.log_cursors.insert(after.clone(), end);
        let host = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        let mut next = url::Url::parse(&format!("http://{host}/api/v1/logs"))
            .map_err(|_| validation_failed("host"))?;
        {
            let mut pairs = next.query_pairs_mut();
            for (key, value) in query.iter().filter(|(k, _)| k.as_str() != "after") {
                pairs.append_pair(key, value);
            }
            pairs.append_pair("after", &after);
        }
        if let Ok(value) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")) {
            response.headers_mut().append("link", value);
        }
    }
    Ok(response)
}

/// `GET /api/v1/users/{id}`: any user, DEPROVISIONED too; 404 E0000007 for one that is gone.
pub(super) async fn get_user(
    State(state): State<Arc<Mutex<OktaState>>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut s = lock(&state);
    s.catch_up();
    let mut logged = Logged::now(&format!("/api/v1/users/{id}"), None);
    let (limit, remaining, reset, over) = count_request(&mut s);
    let response = if over {
        okta_error(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        )
    } else if !authorized(&s, &headers) {
        okta_error(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        )
    } else {
        match s.users.iter().find(|u| u["id"] == json!(id)) {
            Some(user) => Json(user.clone()).into_response(),
            None => okta_error(
                StatusCode::NOT_FOUND,
                "E0000007",
                &format!("Not found: Resource not found: {id} (User)"),
            ),
        }
    };
    let response = with_rate_headers(response, limit, remaining, reset);
    logged.status = response.status().as_u16();
    s.log.push(logged);
    response
}

/// The query string a next-page link of a filtered user listing carries on.
pub(super) fn carried(query: &HashMap<String, String>) -> String {
    ["filter", "search"]
        .iter()
        .filter_map(|key| {
            let value = query.get(*key)?;
            let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            Some(format!("&{key}={encoded}"))
        })
        .collect()
}

impl OktaState {
    fn user_mut(&mut self, id: &str) -> &mut Value {
        self.users
            .iter_mut()
            .find(|u| u["id"] == json!(id))
            .unwrap_or_else(|| panic!("no user {id}"))
    }

    /// Logs an event of `event_type` about the user `id`, as Okta would.
    pub fn log_event(&mut self, event_type: &str, id: &str, result: &str) {
        self.log_event_result_at(event_type, id, result, &okta_now());
    }

    /// A successful event of `event_type` about the user `id`, published at `published`.
    pub(crate) fn log_event_at(&mut self, event_type: &str, id: &str, published: &str) {
        self.log_event_result_at(event_type, id, "SUCCESS", published);
    }

    fn log_event_result_at(&mut self, event_type: &str, id: &str, result: &str, published: &str) {
        self.events.push(json!({
            "uuid": opaque(),
            "published": published,
            "eventType": event_type,
            "displayMessage": event_type,
            "severity": "INFO",
            "outcome": {"result": result},
            "actor": {"id": "00uadmin", "type": "User", "alternateId": "admin@acme.com"},
            "target": [{"id": id, "type": "User", "alternateId": format!("{id}@acme.com"),
                        "displayName": id}],
        }));
    }

    /// A profile update: the properties set, `lastUpdated` now (Okta logs
    /// `user.account.update_profile`, which change reads need not follow).
    pub fn update_profile(&mut self, id: &str, profile: Value) {
        self.catch_up();
        let user = self.user_mut(id);
        if let (Some(have), Some(set)) = (user["profile"].as_object_mut(), profile.as_object()) {
            for (key, value) in set {
                have.insert(key.clone(), value.clone());
            }
        }
        user["lastUpdated"] = json!(okta_now());
        self.log_event("user.account.update_profile", id, "SUCCESS");
        self.mark_seen();
    }

    /// A new user, created now.
    pub fn create_user(&mut self, mut user: Value) {
        self.catch_up();
        let id = user["id"].as_str().unwrap_or_default().to_string();
        user["lastUpdated"] = json!(okta_now());
        self.users.push(user);
        self.log_event("user.lifecycle.create", &id, "SUCCESS");
        self.mark_seen();
    }

    /// A status change with its lifecycle event. `lastUpdated` is left as it was: a change
    /// read must find the user through the log.
    pub fn set_status(&mut self, id: &str, status: &str, event_type: &str) {
        self.catch_up();
        self.user_mut(id)["status"] = json!(status);
        self.log_event(event_type, id, "SUCCESS");
        self.mark_seen();
    }

    /// Deactivation: DEPROVISIONED, `user.lifecycle.deactivate`.
    pub fn deactivate(&mut self, id: &str) {
        self.set_status(id, "DEPROVISIONED", "user.lifecycle.deactivate");
    }

    /// The user is gone without any event saying so (as after a deletion the log reports as
    /// failed): change tracking logs nothing for it.
    pub fn remove_unlogged(&mut self, id: &str) {
        self.catch_up();
        self.users.retain(|u| u["id"] != json!(id));
        self.mark_seen();
    }

    /// Deletion, as Okta does it: deactivated first when it is not, then gone (from its
    /// groups too), with `user.lifecycle.delete.initiated` and `.completed`.
    pub fn delete_user(&mut self, id: &str) {
        self.catch_up();
        if self.user_mut(id)["status"] != json!("DEPROVISIONED") {
            self.deactivate(id);
        }
        self.log_event("user.lifecycle.delete.initiated", id, "SUCCESS");
        self.users.retain(|u| u["id"] != json!(id));
        for members in self.groups.values_mut() {
            members.retain(|m| m != id);
        }
        self.log_event("user.lifecycle.delete.completed", id, "SUCCESS");
        self.mark_seen();
    }
}
