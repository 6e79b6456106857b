//! Change tracking for mutations a test makes straight on [`OktaState`]'s `users` (as older
//! tests do): before answering, the server compares them with what it last saw and makes each
//! difference visible as Okta would: a new user gets `lastUpdated` and `user.lifecycle.create`;
//! a changed profile (or any field but the status) `lastUpdated` and
//! `user.account.update_profile`; a status change its lifecycle event; a user gone from
//! `users` `user.lifecycle.delete.initiated` and `.completed`. The change is stamped just
//! after the server last looked: it happened between then and now, and a change read that
//! started since then must see it.

use std::collections::HashMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::OktaState;

/// What the server last saw of the users, and when.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    users: Vec<Value>,
    at: DateTime<Utc>,
}

/// The lifecycle event Okta logs for a move to `status`, if it has one.
fn status_event(from: &Value, to: &Value) -> Option<&'static str> {
    match (from.as_str()?, to.as_str()?) {
        (_, "SUSPENDED") => Some("user.lifecycle.suspend"),
        (_, "DEPROVISIONED") => Some("user.lifecycle.deactivate"),
        ("SUSPENDED", "ACTIVE") => Some("user.lifecycle.unsuspend"),
        ("DEPROVISIONED", _) => Some("user.lifecycle.reactivate"),
        (_, "ACTIVE") => Some("user.lifecycle.activate"),
        _ => None,
    }
}

impl OktaState {
    /// Records the changes made to `users` since the server last looked.
    pub(crate) fn catch_up(&mut self) {
        let Some(seen) = self.seen.take() else {
            self.mark_seen();
            return;
        };
        let stamp = (seen.at + Duration::milliseconds(1)).min(Utc::now());
        let stamp_text = stamp.to_rfc3339_opts(SecondsFormat::Millis, true);
        let id_of = |u: &Value| u["id"].as_str().unwrap_or_default().to_string();
        let before: HashMap<String, &Value> = seen.users.iter().map(|u| (id_of(u), u)).collect();
        let mut events: Vec<(&'static str, String)> = Vec::new();
        for user in &mut self.users {
            let id = id_of(user);
            let Some(old) = before.get(&id) else {
                user["lastUpdated"] = json!(stamp_text);
                events.push(("user.lifecycle.create", id));
                continue;
            };
            let status_changed = old["status"] != user["status"];
            let mut rest_old = (*old).clone();
            let mut rest_new = user.clone();
            for fields in [&mut rest_old, &mut rest_new] {
                if let Some(fields) = fields.as_object_mut() {
                    fields.remove("status");
                    fields.remove("lastUpdated");
                }
            }
            // A test that set `lastUpdated` itself keeps it.
            let stamped_by_test = old["lastUpdated"] != user["lastUpdated"];
            let event = status_event(&old["status"], &user["status"]);
            if (rest_old != rest_new || (status_changed && event.is_none())) && !stamped_by_test {
                user["lastUpdated"] = json!(stamp_text);
            }
            if rest_old != rest_new {
                events.push(("user.account.update_profile", id.clone()));
            }
            if let Some(event) = event.filter(|_| status_changed) {
                events.push((event, id));
            }
        }
        for old in &seen.users {
            let id = id_of(old);
            if !self.users.iter().any(|u| id_of(u) == id) {
                events.push(("user.lifecycle.delete.initiated", id.clone()));
                events.push(("user.lifecycle.delete.completed", id));
            }
        }
        for (event_type, id) in events {
            self.log_event_at(event_type, &id, &stamp_text);
        }
        self.mark_seen();
    }

    /// The users as they are now are what the server has recorded.
    pub(crate) fn mark_seen(&mut self) {
        self.seen = Some(Seen {
            users: self.users.clone(),
            at: Utc::now(),
        });
    }
}
